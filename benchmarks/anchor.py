"""An anchor for the drawing figures: pyqtgraph's own ``MultiPlotSpeedTest`` example, unmodified,
run in the same ``make bench`` as the station (the same machine, the same neighbours).

The example (100 curves x 500 points, one ``setData`` per curve per update, a zero-interval
timer) ships with pyqtgraph and takes ``--iterations``. It is run as a subprocess, offscreen,
for ``short`` and ``long`` iterations, ``repeat`` times each in alternation; the difference of
the median wall times (and of the median CPU times, from ``os.wait4``) over the difference of
iterations is its frame rate and CPU per frame with start-up and imports taken out. A single
pair could make a slow short start look like an absurd frame rate; when the medians differ by
less than a few frames' worth, the rate is reported as not measured, not as a number.
"""

from __future__ import annotations

import os
import statistics
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


#: The example cannot draw faster than this (its frames are CPU-bound, ~10 ms and more): a
#: wall-time difference implying more is start-up noise, not a frame rate.
MAX_PLAUSIBLE_FPS = 1000.0


def bench_anchor(short: int = 50, long: int = 350, repeat: int = 3) -> dict | None:
    """Frames per second and CPU ms per frame of pyqtgraph's MultiPlotSpeedTest; None where
    pyqtgraph was installed without its examples. ``fps`` is None when the wall times could
    not separate the frames from the start-up (see the module docstring)."""
    path = _example()
    if not path.exists():
        return None
    walls: dict[int, list[float]] = {short: [], long: []}
    cpus: dict[int, list[float]] = {short: [], long: []}
    for i in range(repeat):
        for n in ((short, long) if i % 2 == 0 else (long, short)):
            w, c = _run(path, n)
            walls[n].append(w)
            cpus[n].append(c)
    frames = long - short
    dw = statistics.median(walls[long]) - statistics.median(walls[short])
    dc = statistics.median(cpus[long]) - statistics.median(cpus[short])
    fps = frames / dw if dw > 0 and frames / dw <= MAX_PLAUSIBLE_FPS else None
    return {
        "example": "MultiPlotSpeedTest",
        "curves": 100,
        "points": 500,
        "frames": frames,
        "repeat": repeat,
        "fps": fps,
        "cpu_ms_per_frame": 1000.0 * dc / frames if dc > 0 else None,
    }
