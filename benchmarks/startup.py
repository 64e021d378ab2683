"""Cold start to the first painted frame, and peak memory, of ``nursestation --demo --chairs N``.

Each run is a fresh process of the command, offscreen, with a fresh data directory (so the demo
database is created, migrated and seeded: the first start on a new machine) or, for the "warm"
runs, the data directory of the previous run (the usual start of a day). The demo's simulated
devices run in a process of their own (``simproc``; the station is started through
``appproc``), as devices are other machines in a clinic: they are neither in the station's
memory nor in its start. The time is from just before the process is spawned to the end of the
first paint after the first ``LiveBridge`` frame: the main window prints that wall time when
``NURSESTATION_MARK_FIRST_FRAME`` is set. Peak memory is the child's ``ru_maxrss``
(``os.wait4``). The package is byte-compiled first, as an installed one is.
"""

from __future__ import annotations

import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARK = "nursestation: first frame at "
ONLINE = re.compile(r"nursestation: (\d+) devices online at ([0-9.]+)")


def _cpu_seconds(pid: int) -> float | None:
    """The process's CPU time so far (user + system), from /proc (Linux); None elsewhere.
    On a shared host the wall time to the first frame waits on the neighbours too; the CPU
    it took is the station's own."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


ROOT = Path(__file__).resolve().parent.parent


def start_once(chairs: int, data_dir: str, urls_file: str, *, quit_after: float = 3.0,
               timeout: float = 60.0) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NURSESTATION_DATA_DIR=data_dir,
               NURSESTATION_CONFIG=str(Path(data_dir) / "absent.toml"),
               NURSESTATION_MARK_FIRST_FRAME="1")
    cmd = [sys.executable, "-m", "benchmarks.appproc", urls_file,
           "--demo", "--chairs", str(chairs), "--quit-after", str(quit_after)]
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    first = online = first_cpu = None
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    lines = []
    for line in proc.stderr:  # ends when the process closes stderr (exits)
        lines.append(line)
        if line.startswith(MARK) and first is None:
            first = float(line[len(MARK):].strip())
            first_cpu = _cpu_seconds(proc.pid)
        m = ONLINE.match(line)
        if m and online is None:
            online = float(m.group(2))
        if time.monotonic() > deadline:
            proc.kill()
            break
    proc.stderr.close()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if first is None:
        raise RuntimeError("no first frame; the station said:\n" + "".join(lines[-20:]))
    return {
        "start_s": first - t0,
        # CPU the process had used when it printed the mark (a tick or so after the paint)
        "start_cpu_s": first_cpu,
        # the devices start after the first frame; when the last of them is online (None: not
        # within quit_after)
        "online_s": None if online is None else online - t0,
        # Linux reports ru_maxrss in KiB
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        "exit_code": proc.returncode,
    }


def _median_or_none(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.median(got) if len(got) == len(values) else None


def bench_startup(chairs: int = 32, *, runs: int = 3, quit_after: float = 6.0) -> dict:
    """Median of ``runs`` cold starts (fresh data directory) and ``runs`` warm starts."""
    import json

    from benchmarks.simproc import SimProcess

    # As installed: pip byte-compiles a package when it installs it, and an editable checkout
    # writes its bytecode on its first start, unless PYTHONDONTWRITEBYTECODE is set (as on
    # some build hosts), when every start would compile the whole package again (~0.1 s).
    compileall.compile_dir(str(ROOT / "nursestation"), quiet=1)
    cold, warm = [], []
    sims = SimProcess(chairs)
    urls = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    try:
        json.dump(sims.urls, urls)
        urls.close()
        for _ in range(max(1, runs)):
            d = tempfile.mkdtemp(prefix="nursestation-start-")
            try:
                cold.append(start_once(chairs, d, urls.name, quit_after=quit_after))
                warm.append(start_once(chairs, d, urls.name, quit_after=quit_after))
            finally:
                shutil.rmtree(d, ignore_errors=True)
    finally:
        sims.stop()
        os.unlink(urls.name)
    return {
        "chairs": chairs,
        "runs": len(cold),
        "cold_start_s": statistics.median(r["start_s"] for r in cold),
        "warm_start_s": statistics.median(r["start_s"] for r in warm),
        "warm_start_cpu_s": _median_or_none([r["start_cpu_s"] for r in warm]),
        "warm_online_s": _median_or_none([r["online_s"] for r in warm]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in cold + warm),
        "exit_codes": sorted({r["exit_code"] for r in cold + warm}),
    }
