"""An anchor for the drawing figures: pyqtgraph's own ``MultiPlotSpeedTest`` example, unmodified,
run in the same ``make bench`` as the station (the same machine, the same neighbours).

The example (100 curves x 500 points, one ``setData`` per curve per update, a zero-interval
timer) ships with pyqtgraph and takes ``--iterations``. It is run twice as a subprocess,
offscreen, for ``short`` and ``long`` iterations; the difference of the two wall times (and of
the two processes' CPU times, from ``os.wait4``) over the difference of iterations is its frame
rate and CPU per frame with start-up and imports taken out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def _example() -> Path:
    import pyqtgraph

    return Path(pyqtgraph.__file__).resolve().parent / "examples" / "MultiPlotSpeedTest.py"


def _run(path: Path, iterations: int) -> tuple[float, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, path.name, "--iterations", str(iterations)],
                            cwd=path.parent, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{path.name} exited with {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def bench_anchor(short: int = 50, long: int = 350) -> dict | None:
    """Frames per second and CPU ms per frame of pyqtgraph's MultiPlotSpeedTest; None where
    pyqtgraph was installed without its examples."""
    path = _example()
    if not path.exists():
        return None
    w0, c0 = _run(path, short)
    w1, c1 = _run(path, long)
    frames = long - short
    return {
        "example": "MultiPlotSpeedTest",
        "curves": 100,
        "points": 500,
        "frames": frames,
        "fps": frames / max(1e-9, w1 - w0),
        "cpu_ms_per_frame": 1000.0 * (c1 - c0) / frames,
    }
