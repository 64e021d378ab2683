"""Each benchmark runs for a moment and returns figures of the right shape.

Smoke only: ``make bench`` gives the figures; nothing here looks at how fast anything was.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.slow


def _number(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x >= 0


def test_decoder_throughput_figures() -> None:
    from benchmarks.decoders import bench_decoder, device_stream

    assert len(device_stream("masimo", 5.0)) > 0
    for protocol in ("intellivue", "masimo", "alaris"):
        d = bench_decoder(protocol, 5.0, min_time=0.0)
        assert d["protocol"] == protocol
        assert d["frames"] > 0 and d["frames_rejected"] == 0
        for key in ("mb_per_s", "x_line_rate", "x_actual_rate", "stream_bps"):
            assert _number(d[key]), key


def test_wake_cost_figures() -> None:
    from benchmarks.wakes import bench_wakes

    r = bench_wakes(32, pause=0.001, device_seconds=4.0)
    assert [p["protocol"] for p in r["protocols"]] == ["intellivue", "masimo", "alaris"]
    for p in r["protocols"]:
        assert p["readings"] > 0, p["protocol"]  # the replay decoded the device's output
        for key in ("reads_per_s", "warm_us", "paced_us"):
            assert _number(p[key]) and p[key] > 0, (p["protocol"], key)
    assert _number(r["warm_ingest_pct"]) and _number(r["paced_ingest_pct"])


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_latency_figures(qapp) -> None:
    pytest.importorskip("psutil")  # the bench extra
    from benchmarks.latency import bench_latency

    r = bench_latency(2.0, warmup=2.0)
    assert r["samples"] > 0
    assert _number(r["p50_ms"]) and _number(r["p99_ms"])


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_station_figures(qapp) -> None:
    pytest.importorskip("psutil")  # the bench extra
    from benchmarks.station import run_station

    r = run_station(2, 1.0, warmup=2.0, size=(800, 600))
    assert r["chairs"] == 2 and r["devices"] == 6
    for key in ("fps_drawn", "fps_ticks", "cpu_process_pct", "cpu_gui_pct", "cpu_ingest_pct",
                "cpu_writer_pct", "cpu_simulators_pct", "readings_written_per_s"):
        assert _number(r[key]), key
    assert r["latency_samples"] == 0 or _number(r["latency_p99_ms"])


@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_gui_only_figures(qapp) -> None:
    pytest.importorskip("psutil")  # the bench extra
    from benchmarks.station import run_gui_only

    r = run_gui_only(2, 0.5, size=(800, 600))
    assert r["chairs"] == 2
    for key in ("fps_ticks", "fps_drawn", "cpu_gui_pct"):
        assert _number(r[key]), key


def test_pdf_figure() -> None:
    from benchmarks.report import bench_pdf

    r = bench_pdf(600.0, repeat=1)
    assert _number(r["median_s"]) and r["median_s"] > 0


def test_startup_figures() -> None:
    pytest.importorskip("psutil")  # the bench extra
    from benchmarks.startup import bench_startup

    r = bench_startup(1, runs=1, quit_after=0.5)
    assert r["exit_codes"] == [0]
    for key in ("cold_start_s", "warm_start_s", "peak_rss_mb"):
        assert _number(r[key]) and r[key] > 0, key
    cpu = r["warm_start_cpu_s"]  # read from /proc: Linux only
    assert cpu is None or (_number(cpu) and cpu > 0)


def test_table_shape() -> None:
    from benchmarks.__main__ import block_md, machine, rows

    res = {"pdf": {"visit_hours": 3.0, "repeat": 1, "median_s": 0.1},
           "latency": {"chairs": 1, "samples": 3, "p50_ms": 10.0, "p99_ms": None}}
    assert [r[0].split(",")[0] for r in rows(res)] == ["Latency", "Summary PDF"]

    class Args:
        quick = True

    text = block_md(res, machine(), 1.0, Args())
    assert "| Summary PDF" in text and "n/a" in text


def test_anchor_figures() -> None:
    from benchmarks.anchor import bench_anchor

    r = bench_anchor(short=5, long=25, repeat=1)
    if r is None:
        pytest.skip("pyqtgraph was installed without its examples")
    assert r["frames"] == 20 and r["repeat"] == 1
    # fps comes from wall times, which a busy machine makes anything: only its shape here
    # (a number, or None when start-up noise swamped the frames; never an absurd rate).
    assert r["fps"] is None or (_number(r["fps"]) and 0 < r["fps"] <= 1000)
    assert r["cpu_ms_per_frame"] is None or _number(r["cpu_ms_per_frame"])


def test_anchor_reports_no_rate_when_start_up_noise_swamps_the_frames(monkeypatch) -> None:
    """The flaw this guards: a slow short start and a quick long one made the difference of two
    wall times tiny, and the table printed thousands of frames a second."""
    import benchmarks.anchor as anchor

    if not anchor._example().exists():
        pytest.skip("pyqtgraph was installed without its examples")
    times = {50: [(3.0, 2.0), (2.1, 2.0), (2.2, 2.0)], 350: [(2.15, 6.0), (2.2, 6.1), (2.3, 6.0)]}
    monkeypatch.setattr(anchor, "_run", lambda _path, n: times[n].pop(0))
    r = anchor.bench_anchor(short=50, long=350, repeat=3)
    assert r is not None and r["fps"] is None  # medians 2.2 s and 2.2 s: not a frame rate
    assert r["cpu_ms_per_frame"] > 0  # CPU still separates: 4 s over 300 frames
    times = {50: [(2.0, 2.0), (9.0, 2.0), (2.1, 2.0)], 350: [(7.0, 6.0), (7.2, 6.0), (7.1, 6.0)]}
    r = anchor.bench_anchor(short=50, long=350, repeat=3)
    assert r is not None and r["fps"] == pytest.approx(300 / (7.1 - 2.1))  # the 9 s start is out
