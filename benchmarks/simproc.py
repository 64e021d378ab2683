"""The demo's simulated devices in a process of their own, for the station benchmarks.

In a clinic the devices are other machines; in ``nursestation --demo`` their simulators are
threads of the station's process. For the station's own CPU figures the benchmark runs them
here instead: ``python -m benchmarks.simproc CHAIRS`` starts ``DemoDevices`` for the same demo
plan the station uses (simulators on pseudo-terminals, with write-time logs), prints one JSON
line ``{"urls": {device id: path}}`` and then obeys commands on stdin, one a line:

* ``pause`` — hold all output (the latency probe's drain), answer with the write logs;
* ``cpu`` — answer with this process's CPU seconds so far;
* ``stop`` (or end of input) — stop the simulators and exit.

``time.monotonic()`` is the system's monotonic clock on Linux, so the write times logged here
compare with the station's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.probes import probed_demo


def main(argv: list[str]) -> int:
    from nursestation.config import demo_chairs
    from nursestation.demo import DemoDevices, plan_demo

    chairs = int(argv[0])
    with probed_demo():
        devices = DemoDevices(plan_demo(demo_chairs(chairs)))
        configured = devices.start()
    urls = {d.id: d.url for c in configured for d in c.devices}
    print(json.dumps({"urls": urls}), flush=True)
    try:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "pause":
                for h in devices.hosts.values():
                    h.paused = True
                time.sleep(0.05)
                logs = {dev: {"sent": h.bytes_sent, "times": h.write_times, "ends": h.write_ends}
                        for dev, h in devices.hosts.items()}
                print(json.dumps({"logs": logs}), flush=True)
            elif cmd == "cpu":
                t = time.process_time()
                print(json.dumps({"cpu_s": t, "mono": time.monotonic()}), flush=True)
            elif cmd == "stop":
                break
    finally:
        devices.stop()
    return 0


class SimProcess:
    """The parent's handle on a ``benchmarks.simproc`` child."""

    def __init__(self, chairs: int) -> None:
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.simproc", str(chairs)], cwd=root,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.urls: dict[str, str] = self._answer()["urls"]

    def _answer(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process ended early")
        return json.loads(line)

    def _ask(self, cmd: str) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def cpu_seconds(self) -> float:
        return self._ask("cpu")["cpu_s"]

    def pause(self) -> dict:
        return self._ask("pause")["logs"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("stop\n")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
