"""The whole-visit trend as a nurse reads it: NBP as narrow dia-sys I-beams at any zoom."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from PySide6.QtGui import QColor

from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore
from nursestation.core.vocabulary import Code
from nursestation.ui import style
from nursestation.ui.trend import TrendView, nbp_measurements

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")

START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC).timestamp()
NBP = [(600.0, 128.0, 82.0, 97.0), (1200.0, 141.0, 92.0, 108.0), (1800.0, 134.0, 85.0, 101.0),
       (2400.0, 122.0, 78.0, 93.0)]


@pytest.fixture
def trend(qtbot):
    def history(_source, t0, t1):
        ts = np.arange(max(t0, START), t1, 5.0)
        out = {Code.HR: (ts, np.full(ts.size, 75.0))}
        for i, code in enumerate((Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN), start=1):
            out[code] = (np.array([START + m[0] for m in NBP]), np.array([m[i] for m in NBP]))
        return out

    view = TrendView()
    qtbot.addWidget(view)
    view.resize(1600, 600)
    view.set_source("visit", datetime.fromtimestamp(START, UTC), history)
    view.show()
    qtbot.waitExposed(view)
    view.update_live(LiveStore(FakeClock()), "Chair 1", START + 3000)
    return view


def _columns(view: TrendView, colours: tuple[str, ...], t: float, y_lo: float, y_hi: float,
             half_px: int = 80) -> tuple[int, int, np.ndarray]:
    """Pixels of any of ``colours`` near epoch ``t`` in the HR/NBP pane: (widest row run, tallest
    column run, rows hit), in device pixels."""
    img = view.glw.grab().toImage()
    vb = view.vitals_plot.getViewBox()
    centre = view.glw.mapFromScene(vb.mapViewToScene(pg_point(t, (y_lo + y_hi) / 2)))
    top = view.glw.mapFromScene(vb.mapViewToScene(pg_point(t, 200)))
    bottom = view.glw.mapFromScene(vb.mapViewToScene(pg_point(t, 30)))
    want = [QColor(c) for c in colours]
    x0 = max(0, centre.x() - half_px)
    x1 = min(img.width(), centre.x() + half_px)
    hit = np.zeros((bottom.y() - top.y(), x1 - x0), bool)
    for r in range(hit.shape[0]):
        for c in range(hit.shape[1]):
            hit[r, c] = any(_near(img.pixelColor(x0 + c, top.y() + r), w) for w in want)
    widest = max((_run(row) for row in hit), default=0)
    tallest = max((_run(col) for col in hit.T), default=0)
    rows = np.nonzero(hit.any(axis=1))[0] + top.y()
    return widest, tallest, rows


def _near(a: QColor, b: QColor, tol: int = 40) -> bool:
    """The same colour give or take the faint grid drawn across it."""
    return max(abs(a.red() - b.red()), abs(a.green() - b.green()),
               abs(a.blue() - b.blue())) <= tol


def pg_point(x, y):
    import pyqtgraph as pg

    return pg.Point(x, y)


def _run(v: np.ndarray) -> int:
    best = cur = 0
    for b in v:
        cur = cur + 1 if b else 0
        best = max(best, cur)
    return best


@pytest.mark.parametrize("zoom", ["whole visit", "zoomed in"])
def test_nbp_is_a_narrow_beam_from_dia_to_sys_with_the_mean(trend, qtbot, zoom):
    if zoom == "whole visit":
        trend.show_whole_visit()
    else:  # five minutes around one measurement
        t = START + NBP[1][0]
        trend._set_x(t - 150, t + 150)
    qtbot.wait(20)
    vb = trend.vitals_plot.getViewBox()
    for t_rel, sys_, dia, mean in NBP:
        t = START + t_rel
        a, b = trend.x_range()
        if not a <= t <= b:
            continue
        # the beam (red) with its mean tick (white) across it
        widest, tallest, rows = _columns(trend, (style.NBP, style.NBP_LIGHT), t, dia, sys_)
        assert 0 < widest <= 14, f"NBP at {t_rel:.0f} s drawn {widest} px wide ({zoom})"
        y_sys = trend.glw.mapFromScene(vb.mapViewToScene(pg_point(t, sys_))).y()
        y_dia = trend.glw.mapFromScene(vb.mapViewToScene(pg_point(t, dia))).y()
        assert tallest >= (y_dia - y_sys) - 2  # one stroke from dia to sys
        assert rows.min() >= y_sys - 4 and rows.max() <= y_dia + 4
        mw, _mt, mrows = _columns(trend, (style.NBP_LIGHT,), t, dia, sys_)
        y_mean = trend.glw.mapFromScene(vb.mapViewToScene(pg_point(t, mean))).y()
        assert 3 <= mw <= 14 and abs(np.median(mrows) - y_mean) <= 2  # the mean tick


def test_nbp_pairs_sys_with_its_own_dia_and_mean():
    data = {Code.NBP_SYS: (np.array([10.0, 20.0, 30.0]), np.array([120.0, 130.0, 140.0])),
            Code.NBP_DIA: (np.array([10.0, 30.0]), np.array([80.0, 90.0])),  # 20 s lost
            Code.NBP_MEAN: (np.array([30.0]), np.array([107.0]))}
    got = nbp_measurements(data)
    assert [g[:3] for g in got] == [(10.0, 120.0, 80.0), (30.0, 140.0, 90.0)]
    assert np.isnan(got[0][3]) and got[1][3] == 107.0


def test_hovering_an_nbp_beam_tells_its_values(trend):
    assert "NBP 141/92 (108) mmHg" in trend._nbp_tip(0, 0, trend.nbp_caps.data["data"][1])


def _opened(qtbot, visit_age_s: float):
    now = START + visit_age_s

    def history(_source, t0, t1):
        ts = np.arange(max(t0, START), t1, 5.0)
        return {Code.HR: (ts, np.full(ts.size, 75.0)), Code.SPO2: (ts, np.full(ts.size, 97.0))}

    view = TrendView()
    qtbot.addWidget(view)
    view.resize(1366, 500)
    view.set_source("visit", datetime.fromtimestamp(START, UTC), history,
                    now=datetime.fromtimestamp(now, UTC))
    view.show()
    qtbot.waitExposed(view)
    return view, now


def test_the_trend_opens_on_the_last_30_minutes_ending_now(qtbot):
    view, now = _opened(qtbot, 2 * 3600)
    a, b = view.x_range()
    assert b >= now and abs(a - (now - 30 * 60)) < 5 and b - now < 120
    # live data arriving keeps "now" at the right edge: the range never jumps to the visit start
    view.update_live(LiveStore(FakeClock()), "Chair 1", now + 10)
    a2, b2 = view.x_range()
    assert b2 >= now + 10 and abs((b2 - a2) - (b - a)) < 5 and a2 > START + 3600
    assert view.range_label.text()  # the range is named in local time


def test_a_short_visit_opens_whole_and_never_on_a_zero_width_range(qtbot):
    view, now = _opened(qtbot, 90)  # a visit 90 s old
    a, b = view.x_range()
    assert a <= START + 1 and b >= now  # the whole visit is in view
    assert b - a >= 5 * 60 - 1  # but never a sliver
    view._set_x(now, now)  # even when asked for nothing
    a, b = view.x_range()
    assert b - a >= 60


def test_alarms_are_marked_on_the_trend_in_a_nurses_words(qtbot):
    from nursestation.ui.trend import TrendEvent

    view, now = _opened(qtbot, 3600)
    at = datetime.fromtimestamp(now - 600, UTC)
    view.set_events([TrendEvent(at, "alarm", "*** SpO\u2082",
                                "SpO\u2082 86 % — below 90 — condition ended")])
    (spot,) = view.markers.points()
    assert spot.pos().x() == pytest.approx(now - 600)
    assert "SpO\u2082 86 % — below 90" in view.event_list.item(0).text() + view._tip(
        0, 0, spot.data())
