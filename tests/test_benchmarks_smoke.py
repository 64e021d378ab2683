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

    r = bench_anchor(short=5, long=25)
    if r is None:
        pytest.skip("pyqtgraph was installed without its examples")
    assert r["frames"] == 20
    # fps comes from wall times, which a busy machine makes anything: only its shape here.
    # The CPU per frame is the processes' own CPU time (20 frames of 100 curves), positive.
    assert _number(r["fps"])
    assert _number(r["cpu_ms_per_frame"]) and r["cpu_ms_per_frame"] > 0
