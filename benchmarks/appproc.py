"""``nursestation --demo`` whose simulated devices run in another process, for the start and
memory figures.

In a clinic the devices are other machines; in ``nursestation --demo`` their 96 simulators are
threads of the station's process, and their scenarios and buffers were part of its peak memory
and its start. ``python -m benchmarks.appproc URLS.json ARGS...`` runs the ``nursestation``
command with ``ARGS`` exactly as installed, except that the demo's chairs are given the ports
of a ``benchmarks.simproc`` process (``URLS.json``: device id -> port) instead of starting
simulators of their own. The demo database is created and seeded as usual.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path


def main(argv: list[str]) -> int:
    urls: dict[str, str] = json.loads(Path(argv[0]).read_text())
    from nursestation.ui import app as app_mod

    def start_demo(self, **_kw):
        from nursestation.demo import seed_demo_database

        plan = self.demo_plan
        self.writer.submit(seed_demo_database, plan, self.protocol, self.clock.now()).result()
        return tuple(replace(dc.config, devices=tuple(replace(d, url=urls[d.id])
                                                      for d in dc.config.devices))
                     for dc in plan)

    app_mod.Station._start_demo = start_demo
    from nursestation.cli import main as cli_main

    return cli_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
