"""Summary PDF of a 3-hour visit (issue 8): wraps ``nursestation.report.bench.bench_report``."""

from __future__ import annotations


def bench_pdf(seconds: float = 3 * 3600, *, repeat: int = 5) -> dict:
    from nursestation.report.bench import bench_report

    return {"visit_hours": seconds / 3600.0, "repeat": repeat,
            "median_s": bench_report(seconds, repeat=repeat)}
