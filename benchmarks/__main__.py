"""``make bench``: run every benchmark, print the table, write it into docs/PERFORMANCE.md.

    python -m benchmarks                # everything, as the issue asks (a few minutes)
    python -m benchmarks --quick        # short runs, to try the harness (figures are rough)
    python -m benchmarks --only station --chairs 32 --seconds 10 --no-write

Figures only: nothing here is a test, nothing asserts on time. Run it offscreen
(``QT_QPA_PLATFORM=offscreen``; ``make bench`` does).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

from nursestation.ui.sweep import PLAYOUT_DELAY_S

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "PERFORMANCE.md"
BEGIN = "<!-- bench:begin (written by python -m benchmarks; edit outside these markers) -->"
END = "<!-- bench:end -->"
ALL = ("decoders", "wakes", "latency", "station", "anchor", "pdf", "startup")
#: the station's targets (issue 19): every tile's waves sweep at this many drawn frames a
#: second at 32 chairs, the whole process within this share of one core
DRAWN_FPS_TARGET = 50.0
PROCESS_CPU_TARGET = 60.0


def machine() -> dict:
    import psutil
    import pyqtgraph
    import PySide6

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    rev, dirty = revision()
    return {
        "cpu": cpu or "unknown",
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": psutil.virtual_memory().total / 2**30,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pyside6": PySide6.__version__,
        "qt": PySide6.QtCore.qVersion(),
        "pyqtgraph": pyqtgraph.__version__,
        "qpa": os.environ.get("QT_QPA_PLATFORM", "(default)"),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load,
        "revision": rev or "unknown",
        "dirty": dirty,
    }


def revision() -> tuple[str, bool]:
    """(short commit, whether tracked files differ from it). ``git describe --dirty`` compares
    the index's cached file times without refreshing them, so a tree whose files were only
    touched (a checkout, a copy) read as dirty; ``git status`` compares contents."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, text=True,
                              capture_output=True, timeout=30).stdout.strip()

    try:
        rev = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return "", False
    return rev, dirty


def _fmt(v, spec: str = ".1f", none: str = "n/a") -> str:
    return none if v is None else format(v, spec)


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("meets" if ok else "**misses**")


def rows(res: dict) -> list[tuple[str, str, str, str]]:
    """(measure, figure, target, verdict) for the table."""
    out: list[tuple[str, str, str, str]] = []
    for d in res.get("decoders", []):
        out.append(((f"Decoder {d['protocol']} ({d['stream_bytes'] / 1024:.0f} KiB, "
                    f"{d['device_seconds'] / 60:.0f} min of device output)"),
                    (f"{d['mb_per_s']:.2f} MB/s = {d['x_line_rate']:.1f}x line rate of "
                    f"{d['chairs']} devices ({d['x_actual_rate']:.0f}x their actual output)"),
                    "> 1x", _verdict(d["x_line_rate"] > 1)))
    w = res.get("wakes")
    if w:
        out.append(((f"One read, decoded and handed to the live store: back to back / after "
                     f"{w['pause_ms']:g} ms asleep (what a wake costs on this machine)"),
                    ", ".join(f"{p['protocol']} {p['warm_us']:.0f} / {p['paced_us']:.0f} µs"
                              for p in w["protocols"]), "", ""))
    lat = res.get("latency")
    if lat:
        out.append(((f"Latency, write -> GUI frame, {lat['chairs']} chair, idle station "
                    f"({lat['samples']} readings)"),
                    f"p50 {_fmt(lat['p50_ms'])} ms, p99 {_fmt(lat['p99_ms'])} ms",
                    "p99 < 100 ms (aim 50)",
                    _verdict(None if lat["p99_ms"] is None else lat["p99_ms"] < 100)))
    for s in res.get("station", []):
        n = s["chairs"]
        judged = n == 32
        out.append(((f"Station {n} chairs ({s['devices_online']}/{s['devices']} devices "
                     "online): wave frames painted per tile, median (slowest tile) / frame "
                     "ticks"),
                    (f"{s['fps_drawn']:.1f} ({s['fps_drawn_min']:.1f}) / "
                     f"{s['fps_ticks']:.1f} per s"),
                    f">= {DRAWN_FPS_TARGET:.0f} painted, every tile" if judged else "",
                    _verdict(s["fps_drawn_min"] >= DRAWN_FPS_TARGET) if judged else ""))
        out.append((f"Station {n} chairs: CPU of the process (GUI thread)",
                    f"{s['cpu_process_pct']:.0f} % of a core ({s['cpu_gui_pct']:.0f} %)",
                    f"<= {PROCESS_CPU_TARGET:.0f} %" if judged else "",
                    _verdict(s["cpu_process_pct"] <= PROCESS_CPU_TARGET) if judged else ""))
        out.append((f"Station {n} chairs: ingest (the link reactor and any link threads)",
                    f"{s['cpu_ingest_pct']:.1f} % of a core", "< 5 %",
                    _verdict(s["cpu_ingest_pct"] < 5)))
        if n == 32:
            out.append(((f"Station {n} chairs: database writer thread "
                        f"({s['readings_written_per_s']:.0f} readings/s recorded)"),
                        f"{s['cpu_writer_pct']:.1f} % of a core", "", ""))
            out.append(((f"Latency under load, {n} chairs, write -> sample in the live "
                         f"store's ring buffer (issue 9) ({s['latency_samples']} readings)"),
                        (f"p50 {_fmt(s.get('latency_store_p50_ms'))} ms, "
                         f"p99 {_fmt(s.get('latency_store_p99_ms'))} ms"),
                        "p99 < 50 ms",
                        _verdict(None if s.get("latency_store_p99_ms") is None
                                 else s["latency_store_p99_ms"] < 50)))
            out.append(((f"Latency under load, {n} chairs, write -> end of the first GUI frame "
                         "that read it (numerics are drawn in it; waves are played out "
                         f"{PLAYOUT_DELAY_S * 1000:.0f} ms behind their newest sample, by "
                         "design)"),
                        f"p50 {_fmt(s['latency_p50_ms'])} ms, p99 {_fmt(s['latency_p99_ms'])} ms",
                        "p99 < 50 ms",
                        _verdict(None if s["latency_p99_ms"] is None
                                 else s["latency_p99_ms"] < 50)))
            out.append(("Simulators of those devices (separate process; not the station)",
                        f"{s['cpu_simulators_pct']:.0f} % of a core", "", ""))
    cap = res.get("capacity")
    if cap:
        per = cap["gui_ms_per_frame"]
        out.append(((f"Capacity, {cap['chairs']} chairs, every tile's waves copied and painted "
                     "whole on every frame, timer at 60 Hz: wave frames painted per tile / "
                     "process CPU / GUI CPU per frame"),
                    (f"{cap['fps_drawn']:.1f} per s / {cap['cpu_process_pct']:.0f} % of a core "
                     f"/ {_fmt(per)} ms"), "", ""))
    g = res.get("gui_only")
    if g:
        per = g["gui_ms_per_frame"]
        out.append(((f"Drawing alone (no devices, threads or database), {g['chairs']} tiles, every "
                    "tile painted whole on every frame at 60 Hz: frames painted / GUI CPU per "
                    "frame"),
                    f"{g['fps_drawn']:.1f} per s / {_fmt(per)} ms", "", ""))
    a = res.get("anchor")
    if a:
        fps = "not measured (start-up noise)" if a["fps"] is None else f"{a['fps']:.1f} per s"
        cpu = "n/a" if a["cpu_ms_per_frame"] is None else f"{a['cpu_ms_per_frame']:.1f} ms"
        out.append(((f"Anchor, same run: pyqtgraph's own {a['example']} example ({a['curves']} "
                     f"curves x {a['points']} points, unmodified, offscreen; medians of "
                     f"{a['repeat']} runs each): frames / CPU per frame"),
                    f"{fps} / {cpu}", "", ""))
    pdf = res.get("pdf")
    if pdf:
        out.append(((f"Summary PDF, {pdf['visit_hours']:.0f}-hour visit (median of "
                    f"{pdf['repeat']})"), f"{pdf['median_s']:.3f} s", "< 1 s",
                    _verdict(pdf["median_s"] < 1)))
    st = res.get("startup")
    if st:
        n = st["chairs"]
        out.append(((f"Start to first painted frame, --demo --chairs {n}, existing demo "
                     f"database (median of {st['runs']})"), f"{st['warm_start_s']:.2f} s",
                     "< 1 s", _verdict(st["warm_start_s"] < 1)))
        if st.get("warm_start_cpu_s") is not None:
            out.append((("CPU the process used to its first painted frame, same starts "
                         "(median; on a shared host the wall time also waits on others)"),
                        f"{st['warm_start_cpu_s']:.2f} s", "", ""))
        online = st.get("warm_online_s")
        out.append(((f"Start to every device online, --demo --chairs {n}, existing demo "
                    "database (the devices start after the first frame; IntelliVue needs an "
                    "association)"), _fmt(online, ".2f") + " s" if online is not None
                    else "not within the run", "", ""))
        out.append(((f"Start to first painted frame, --demo --chairs {n}, first run (creates "
                     "and seeds the demo database)"), f"{st['cold_start_s']:.2f} s", "", ""))
        out.append(((f"Peak memory (ru_maxrss), --demo --chairs {n}, the simulated devices in "
                     "a process of their own"), f"{st['peak_rss_mb']:.0f} MB", "", ""))
    return out


def table_md(res: dict) -> str:
    lines = ["| Measure | Figure | Target | |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(res)]
    return "\n".join(lines)


def table_text(res: dict) -> str:
    r = rows(res)
    w = [max(len(x[i]) for x in r) if r else 0 for i in range(4)]
    return "\n".join(f"{a:<{w[0]}}  {b:<{w[1]}}  {c:<{w[2]}}  {d.strip('*')}" for a, b, c, d in r)


def station_detail_md(res: dict) -> str:
    st = res.get("station")
    if not st:
        return ""
    head = ("| Chairs | Devices online | Wave frames painted per tile (slowest) | Frame ticks "
            "| Process CPU | GUI (ms/frame) | Ingest | DB writer | Other | Latency p50 / p99 |")
    lines = [head, "|" + "---|" * 10]
    for s in st + ([res["capacity"]] if res.get("capacity") else []):
        lines.append(
            f"| {s['chairs']}{' (capacity: forced redraw)' if s.get('forced_fps') else ''} "
            f"| {s['devices_online']}/{s['devices']} | {s['fps_drawn']:.1f} "
            f"({s['fps_drawn_min']:.1f}) | {s['fps_ticks']:.1f} | {s['cpu_process_pct']:.0f} % "
            f"| {s['cpu_gui_pct']:.0f} % ({_fmt(s['gui_ms_per_frame'])}) "
            f"| {s['cpu_ingest_pct']:.1f} % | "
            f"{s['cpu_writer_pct']:.1f} % | {s['cpu_other_pct']:.1f} % | "
            f"{_fmt(s['latency_p50_ms'], '.0f')} / {_fmt(s['latency_p99_ms'], '.0f')} ms |")
    return "\n".join(lines)


def block_md(res: dict, m: dict, elapsed: float, args) -> str:
    load = ", ".join(f"{x:.2f}" for x in m["load"])
    parts = [
        BEGIN,
        f"Measured {m['date']} with `python -m benchmarks"
        + (" --quick" if args.quick else "") + f"` ({elapsed / 60:.1f} min) at "
        f"`{m['revision']}{'-dirty' if m['dirty'] else ''}`"
        + (" (`-dirty`: tracked files differed from that commit)." if m["dirty"] else "."),
        "",
        (f"- CPU: {m['cpu']}, {m['cores']} logical cores ({m['physical_cores']} physical), "
        f"{m['memory_gb']:.1f} GiB; {m['os']}"),
        (f"- Python {m['python']}, PySide6 {m['pyside6']} (Qt {m['qt']}), pyqtgraph "
        f"{m['pyqtgraph']}; Qt platform `{m['qpa']}`"),
        f"- Load average when it finished: {load}"
        + (" — a shared machine: other work ran at the same time, so the figures are noisy"
           if max(m["load"]) > 1.0 else ""),
        "",
        table_md(res),
        "",
    ]
    detail = station_detail_md(res)
    if detail:
        parts += ["Station runs (CPU as % of one core, per thread group):", "", detail, ""]
    parts.append(END)
    return "\n".join(parts)


def write_doc(block: str) -> None:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = ("# Performance\n\nWritten by `make bench` (`python -m benchmarks`).\n\n"
                + block + "\n" + text)
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short runs (rough figures)")
    p.add_argument("--only", nargs="+", choices=ALL, default=list(ALL))
    p.add_argument("--chairs", nargs="+", type=int, default=[8, 16, 32, 64],
                   help="station runs (default 8 16 32 64)")
    p.add_argument("--seconds", type=float, default=None,
                   help="seconds per station run (default 30; --quick 5)")
    p.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    quick = args.quick
    station_s = args.seconds or (5.0 if quick else 30.0)

    t0 = time.monotonic()
    res: dict = {}

    def step(name: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f} s] {name}…", file=sys.stderr, flush=True)

    if "decoders" in args.only:
        from benchmarks.decoders import bench_decoders

        step("decoder throughput")
        res["decoders"] = bench_decoders(60.0 if quick else 300.0,
                                         min_time=0.5 if quick else 3.0)
    if "wakes" in args.only:
        from benchmarks.wakes import bench_wakes

        step("cost of a reader thread's wake")
        res["wakes"] = bench_wakes(device_seconds=10.0 if quick else 30.0)
    if "latency" in args.only:
        from benchmarks.latency import bench_latency

        step("latency, one chair")
        res["latency"] = bench_latency(5.0 if quick else 20.0, warmup=3.0)
    if "station" in args.only:
        from benchmarks.station import run_station

        res["station"] = []
        for n in args.chairs:
            step(f"station, {n} chairs, {station_s:g} s")
            res["station"].append(run_station(n, station_s, warmup=3.0 if quick else 5.0))
        n = 32 if 32 in args.chairs else max(args.chairs)
        cap_s = station_s / 2
        step(f"station capacity, {n} chairs, every tile redrawn on every frame at 60 Hz, "
             f"{cap_s:g} s")
        res["capacity"] = run_station(n, cap_s, warmup=3.0, force_fps=60.0)
        from benchmarks.station import run_gui_only

        step(f"drawing alone, {n} tiles, every tile redrawn on every frame at 60 Hz")
        res["gui_only"] = run_gui_only(n, 5.0 if quick else 10.0)
    if "anchor" in args.only:
        from benchmarks.anchor import bench_anchor

        step("anchor: pyqtgraph's MultiPlotSpeedTest")
        res["anchor"] = bench_anchor(short=20 if quick else 50, long=120 if quick else 350)
    if "pdf" in args.only:
        from benchmarks.report import bench_pdf

        step("summary PDF")
        res["pdf"] = bench_pdf(repeat=3 if quick else 5)
    if "startup" in args.only:
        from benchmarks.startup import bench_startup

        step("start to first frame")
        res["startup"] = bench_startup(32, runs=1 if quick else 3)
    elapsed = time.monotonic() - t0
    m = machine()
    print()
    print(f"CPU: {m['cpu']}, {m['cores']} cores; Python {m['python']}, Qt {m['qt']}; "
          f"{m['date']}; {m['revision']}{'-dirty' if m['dirty'] else ''}; "
          f"load {', '.join(f'{x:.2f}' for x in m['load'])}")
    print(table_text(res))
    if not args.no_write:
        write_doc(block_md(res, m, elapsed, args))
        print(f"\nwritten to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
