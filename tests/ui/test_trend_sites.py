"""A second SpO2 probe on the detail view's trend: its own dashed line, named with its site in the
pane's legend, following the record as it grows (it is not in the live buffers)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nursestation.core.clock import FakeClock
from nursestation.core.livestate import LiveStore
from nursestation.core.vocabulary import Code
from nursestation.ui.trend import OTHER_SITES_EVERY_S, TrendView, series_key

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints")

START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC).timestamp()
RIGHT = series_key(Code.SPO2, "right", primary=False)


def test_another_sites_spo2_is_its_own_named_dashed_line_that_keeps_up(qtbot):
    recorded_until = {"t": START + 600}
    asked: list[tuple[float, float]] = []

    def history(_source, t0, t1):
        asked.append((t0, t1))
        ts = np.arange(max(t0, START), min(t1, recorded_until["t"]), 5.0)
        return {Code.SPO2: (ts, np.full(ts.size, 97.0)), RIGHT: (ts, np.full(ts.size, 91.0))}

    view = TrendView()
    qtbot.addWidget(view)
    view.resize(1400, 600)
    view.set_source("visit", datetime.fromtimestamp(START, UTC), history)
    view.show()
    qtbot.waitExposed(view)
    store = LiveStore(FakeClock())
    view.update_live(store, "Chair 1", START + 600)

    assert RIGHT in view.other_lines and Code.SPO2 not in view.other_lines
    item, name = view.other_lines[RIGHT]
    assert name == "SpO\u2082 (right)"
    assert item.opts["pen"].style() == Qt.PenStyle.DashLine
    legend = [label.text for _sample, label in view.spo2_plot.legend.items]
    assert legend == ["SpO\u2082 (right)"]  # the primary line is the pane's own, unnamed
    _t, v = item.getData()
    assert set(np.unique(v)) == {91.0}
    first_end = float(item.getData()[0][-1])

    # the record grows: within the re-read interval the right-hand line follows it
    recorded_until["t"] = START + 700
    view.update_live(store, "Chair 1", START + 600 + OTHER_SITES_EVERY_S)
    assert float(item.getData()[0][-1]) > first_end
    assert float(view.lines[Code.SPO2].getData()[0][-1]) > first_end
    assert len(asked) == 2


def test_a_primary_only_history_draws_no_extra_line(qtbot):
    def history(_source, t0, t1):
        ts = np.arange(max(t0, START), t1, 5.0)
        return {Code.SPO2: (ts, np.full(ts.size, 97.0))}

    view = TrendView()
    qtbot.addWidget(view)
    view.set_source("visit", datetime.fromtimestamp(START, UTC), history)
    view.update_live(LiveStore(FakeClock()), "Chair 1", START + 600)
    assert view.other_lines == {} and view.spo2_plot.legend is None
