"""How long the printed summary takes to make (for ``make bench``; never asserted in tests).

The figure covers what happens when a nurse presses Print or Export: laying out the tables,
reducing the vitals (1 Hz HR and SpO2, RR every 5 s, NBP on schedule) for the chart and writing
the PDF. Making the sample data is not timed.
"""

from __future__ import annotations

import io
import statistics
import time

from nursestation.report.render import render_pdf
from nursestation.report.sample import sample_summary


def bench_report(seconds: float = 3 * 3600, *, repeat: int = 3) -> float:
    """Median wall-clock seconds to render the PDF of a visit lasting ``seconds``."""
    summary = sample_summary(duration_s=seconds)
    render_pdf(summary, io.BytesIO())  # warm-up: imports and font metrics
    times = []
    for _ in range(max(1, repeat)):
        buf = io.BytesIO()
        t = time.perf_counter()
        render_pdf(summary, buf)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


if __name__ == "__main__":
    s = sample_summary()
    print(f"3-hour visit summary PDF ({len(s.vitals)} vitals samples): "
          f"{bench_report():.3f} s (median of 3)")
