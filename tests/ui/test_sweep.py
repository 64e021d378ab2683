"""The tiles' sweep panel: what it paints, read back from its pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

from nursestation.core.livestate import Shown, WaveView
from nursestation.core.vocabulary import Code
from nursestation.ui import style
from nursestation.ui.sweep import DEFAULT_RANGES, ERASE_S, SweepPanel

W, H = 400, 200


def wave(code: str, rate: float, seconds: float, write_s: float, *, gap=None) -> WaveView:
    n = int(rate * seconds)
    t = np.arange(n) / rate
    lo, hi = DEFAULT_RANGES[code].lo, DEFAULT_RANGES[code].hi
    y = (lo + (hi - lo) * (0.5 + 0.45 * np.sin(2 * np.pi * 1.2 * t))).astype(np.float32)
    if gap is not None:
        y[int(gap[0] * rate):int(gap[1] * rate)] = np.nan
    return WaveView(code, rate, y, int(write_s * rate), version=1, shown=Shown.LIVE)


def columns_with(image, colour: str, y0: int, y1: int) -> np.ndarray:
    """x positions where ``colour`` is painted between rows y0 and y1."""
    want = QColor(colour).rgb()
    return np.array([x for x in range(image.width())
                     if any(image.pixel(x, y) == want for y in range(y0, y1))])


@pytest.fixture
def panel(qtbot):
    p = SweepPanel([DEFAULT_RANGES[Code.ECG], DEFAULT_RANGES[Code.PLETH]], labels=False)
    qtbot.addWidget(p)
    p.resize(W, H)
    p.show()
    qtbot.waitExposed(p)
    return p


def test_each_wave_is_painted_in_its_own_band_in_its_colour(panel):
    panel.show_wave(wave(Code.ECG, 500.0, 10.0, 6.0))
    panel.show_wave(wave(Code.PLETH, 125.0, 10.0, 6.0))
    img = panel.grab().toImage()
    ecg_top = columns_with(img, style.colour(Code.ECG), 0, H // 2)
    pleth_bottom = columns_with(img, style.colour(Code.PLETH), H // 2, H)
    assert ecg_top.size > 0.8 * W and pleth_bottom.size > 0.8 * W
    # never in the other's band
    assert columns_with(img, style.colour(Code.ECG), H // 2 + 2, H).size == 0
    assert columns_with(img, style.colour(Code.PLETH), 0, H // 2 - 2).size == 0


def test_the_erase_bar_ahead_of_the_write_head_is_blank(panel):
    panel.show_wave(wave(Code.ECG, 500.0, 10.0, 6.0))
    img = panel.grab().toImage()
    xs = set(columns_with(img, style.colour(Code.ECG), 0, H // 2).tolist())
    head = int(6.0 / 10.0 * W)
    bar = range(head + 2, head + int(ERASE_S / 10.0 * W) - 1)
    assert bar and not xs & set(bar)
    assert head - 3 in xs and head + int(ERASE_S / 10.0 * W) + 3 in xs


def test_a_dropout_is_drawn_as_a_hole_not_bridged(panel):
    panel.show_wave(wave(Code.ECG, 500.0, 10.0, 9.5, gap=(2.0, 4.0)))
    img = panel.grab().toImage()
    xs = set(columns_with(img, style.colour(Code.ECG), 0, H // 2).tolist())
    assert not xs & set(range(int(0.2 * W) + 2, int(0.4 * W) - 2))
    assert int(0.1 * W) in xs and int(0.5 * W) in xs


def test_a_cleared_channel_paints_nothing(panel):
    panel.show_wave(wave(Code.ECG, 500.0, 10.0, 6.0))
    panel.clear_channel(Code.ECG)
    img = panel.grab().toImage()
    assert columns_with(img, style.colour(Code.ECG), 0, H).size == 0
    assert panel.curves[Code.ECG].getData()[0].size == 0


# -- the sweep plays out behind the data, moving on every frame -------------------------------

class PaintLog:
    """The regions a widget was asked to paint."""

    def __init__(self, widget) -> None:
        from PySide6.QtCore import QEvent, QObject

        self.regions: list = []  # bounding rects
        self.areas: list[int] = []  # pixels in the region itself (a wrapped strip is two)
        log, areas = self.regions, self.areas

        class Filter(QObject):
            def eventFilter(self, obj, ev):
                if ev.type() == QEvent.Type.Paint:
                    log.append(ev.region().boundingRect())
                    areas.append(sum(r.width() * r.height() for r in ev.region()))
                return False

        self.filter = Filter()
        widget.installEventFilter(self.filter)


def received(code: str, rate: float, write_s: float, at: float) -> WaveView:
    """A 10 s ring written up to ``write_s``, its newest sample received at monotonic ``at``."""
    w = wave(code, rate, 10.0, write_s)
    return WaveView(w.code, w.rate_hz, w.samples, w.write_index, 1, Shown.LIVE, last_end=at)


def head_x(panel, code=Code.ECG) -> float:
    """Where the drawn trace ends before the erase bar: the last finite point before a gap."""
    x, y = panel.curves[code].getData()
    finite = np.isfinite(y)
    gaps = np.flatnonzero(finite[:-1] & ~finite[1:])
    return float(x[gaps[0]])


def test_the_sweep_head_moves_on_between_blocks_a_fixed_delay_behind_the_data(panel):
    from nursestation.ui.sweep import PLAYOUT_DELAY_S

    t = 1000.0
    panel.show_wave(received(Code.ECG, 500.0, 6.0, t), t)
    # the newest sample (at 6.0 s of the ring) is played out PLAYOUT_DELAY_S later
    assert head_x(panel) == pytest.approx(6.0 - PLAYOUT_DELAY_S, abs=0.1)
    xs = []
    for i in range(1, 6):  # five frames, no new block: the head keeps moving
        panel.advance(Code.ECG, t + i * 0.06)
        xs.append(head_x(panel))
    assert all(b > a for a, b in zip(xs, xs[1:], strict=False)), xs
    assert xs[-1] == pytest.approx(6.0 - PLAYOUT_DELAY_S + 0.3, abs=0.1)
    # never past the newest sample: without new data the sweep stops there
    panel.advance(Code.ECG, t + 5.0)
    assert head_x(panel) == pytest.approx(6.0, abs=0.1)


def test_a_frame_repaints_only_the_strips_the_sweep_moved_over(panel, qtbot):
    t = 1000.0
    panel.show_wave(received(Code.ECG, 500.0, 6.0, t), t)
    panel.show_wave(received(Code.PLETH, 125.0, 6.0, t), t)
    qtbot.wait(50)
    log = PaintLog(panel)
    panel.advance(Code.ECG, t + 0.1)
    panel.advance(Code.PLETH, t + 0.1)
    qtbot.waitUntil(lambda: bool(log.regions), timeout=2000)
    assert all(r.width() < W / 4 for r in log.regions)
    # the pixels there are what a full repaint paints
    part = panel.grab().toImage()
    panel.update()
    full = panel.grab().toImage()
    assert part == full


def test_nothing_is_repainted_when_the_sweep_did_not_move(panel, qtbot):
    t = 1000.0
    panel.show_wave(received(Code.ECG, 500.0, 6.0, t), t)
    panel.advance(Code.ECG, t + 0.1)
    qtbot.wait(50)
    log = PaintLog(panel)
    panel.advance(Code.ECG, t + 0.1)  # the same moment again
    panel.advance(Code.ECG, t + 9.0)  # long after the newest sample: stopped at it
    panel.advance(Code.ECG, t + 9.5)
    qtbot.wait(100)
    assert len(log.regions) <= 1  # the move to the newest sample, then nothing


# -- a new block redoes only its own samples: the same picture as rebuilding the whole ring ---

class _Ring:
    """A wave ring as the live store keeps one (the writes, the count, the version)."""

    def __init__(self, code: str, rate: float, seconds: float = 10.0) -> None:
        self.code, self.rate = code, rate
        self.buf = np.full(int(rate * seconds), np.nan, np.float32)
        self.idx = self.written = self.version = 0

    def write(self, data: np.ndarray) -> None:
        n = self.buf.size
        self.written += data.size
        self.version += 1
        if data.size >= n:
            self.buf[:] = np.roll(data[-n:], self.idx)
            return
        end = self.idx + data.size
        if end <= n:
            self.buf[self.idx:end] = data
        else:
            self.buf[self.idx:] = data[:n - self.idx]
            self.buf[:end - n] = data[n - self.idx:]
        self.idx = end % n

    def view(self) -> WaveView:
        return WaveView(self.code, self.rate, self.buf.copy(), self.idx, self.version,
                        Shown.LIVE, written=self.written)


def _blocks():
    from hypothesis import strategies as st
    block = st.tuples(st.integers(1, 700),  # samples in the block (the ring holds 1250)
                      st.floats(-2.0, 3.0),  # its level: some leave the fitted gain
                      st.booleans())  # a dropout (NaN)
    return st.lists(block, min_size=1, max_size=25)


@pytest.mark.parametrize("code,rate", [(Code.ECG, 125.0), (Code.PLETH, 125.0)])
def test_a_block_redraws_the_same_picture_as_a_whole_rebuild(qtbot, code, rate):
    """Issue 19: the panel redoes only the new block's samples and bins; what it shows must
    be what rebuilding the whole ring shows, block after block, gain refits included."""
    from hypothesis import given, settings

    def panel() -> SweepPanel:
        p = SweepPanel([DEFAULT_RANGES[code]], labels=False)
        qtbot.addWidget(p)
        p.resize(W, H)
        return p

    @settings(max_examples=60, deadline=None)
    @given(_blocks())
    def check(blocks):
        fast, whole = panel(), panel()
        whole._update = lambda *a: False  # the reference: every block rebuilds the ring
        ring = _Ring(code, rate)
        t = 0
        for size, level, dropout in blocks:
            x = np.arange(t, t + size)
            data = (level + 0.4 * np.sin(x / 7.0)).astype(np.float32)
            if dropout:
                data[size // 3: size // 2] = np.nan
            t += size
            ring.write(data)
            fast.show_wave(ring.view())
            whole.show_wave(ring.view())
            a, b = fast.curves[code], whole.curves[code]
            np.testing.assert_array_equal(a.xData, b.xData)
            np.testing.assert_allclose(a.yData, b.yData, rtol=1e-6, atol=1e-6)
        fast.deleteLater()
        whole.deleteLater()

    check()
