"""Sweep-mode waveforms: what a channel shows (shared by every wave display) and the tiles' panel.

``SweepLogic`` turns the live store's rings into what a monitor's sweep shows: the ring as it
lies, blanked for ``ERASE_S`` ahead of the write head, min/max-decimated to about two points per
pixel so R waves keep their height, each channel in its fixed band (auto-gain for arbitrary-unit
waves such as pleth), and a channel whose device is not live cleared, never left frozen. It
draws through ``_set_trace``/``_clear_trace``, which the displays implement.

``SweepPanel`` is every wave display, the tiles' and the detail view's: a plain widget painting
its traces with ``QPainter`` polylines, no scene graph, repainting only the strip the sweep head
and the erase bar moved over. Thirty-two tiles of pyqtgraph views cost ~0.2 s to build and
pyqtgraph's import ~0.25 s before the first frame (make bench); a pyqtgraph view for the detail
view's waves repainted the whole view on every frame the head moved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from nursestation.core.livestate import ChairSnapshot, LiveStore, Shown, WaveView
from nursestation.core.vocabulary import Code
from nursestation.ui import style

#: s: how far behind the newest sample the sweep plays out. The monitor sends its waves in
#: 256 ms blocks; drawn as they arrived, the trace jumped four times a second. Played out this
#: far behind the data, the next block is nearly always there before the sweep needs it (a
#: block and its jitter), so the head advances at the display rate, as a bedside monitor's
#: does. Numerics are not delayed.
PLAYOUT_DELAY_S = 0.35
#: Seconds blanked ahead of the sweep head, as a monitor's erase bar. At least the playout
#: delay: every sample received but not yet played lies under the bar, never beyond it.
ERASE_S = 0.4
#: Auto-gain (pleth): fit only on at least this much signal (a whole pulse even at 30 bpm) —
#: a fit on the first fraction of a beat makes the whole pulse several bands tall.
GAIN_MIN_S = 2.0
#: ... and refit after this much new signal (seconds of samples, not frames: the frame rate
#: and the devices' batch cadence must not change how fast the gain follows).
GAIN_REFIT_S = 2.0
#: Refit at once when the signal leaves the fitted range by more than this share of it.
GAIN_ESCAPE = 0.1


@dataclass(frozen=True)
class Channel:
    code: str
    lo: float  # fixed display range, in the wave's units
    hi: float
    auto_gain: bool = False  # arbitrary-unit waves (pleth): gain follows the signal, slowly


DEFAULT_RANGES = {
    Code.ECG: Channel(Code.ECG, -0.7, 1.5),
    Code.PLETH: Channel(Code.PLETH, 0.0, 1.05, auto_gain=True),
    Code.RESP: Channel(Code.RESP, 0.0, 1.0, auto_gain=True),
    Code.CO2: Channel(Code.CO2, 0.0, 50.0),
}

#: x spans of a display that changed, in view seconds; None: all of it
Dirty = list[tuple[float, float]] | None


class _Trace:
    """One channel's ring as the sweep shows it: two points (min, max) per bin of ``k``
    samples, already scaled into the channel's band. A new block redoes only its own samples
    and bins (``SweepLogic._update``); the frames between blocks only move the head
    (``SweepLogic._play``)."""

    __slots__ = ("bins", "head", "k", "last_end", "n", "rate", "samples", "scaling", "version",
                 "width", "write_index", "written", "x", "y")

    def __init__(self, wave: WaveView, samples: np.ndarray, y: np.ndarray, x: np.ndarray,
                 k: int, width: int, scaling: tuple[float, float, float, float]) -> None:
        self.version = wave.version
        self.rate = wave.rate_hz
        self.write_index = wave.write_index
        self.last_end = wave.last_end
        self.written = wave.written
        self.scaling = scaling  # (lo, scale, band bottom, band top): raw -> view y
        self.n = samples.size
        self.samples = samples  # scaled into the band (the head bin is cut from these)
        self.k = k
        self.bins = y.size // 2
        self.x, self.y = x, y
        self.width = width
        self.head: tuple[int, int] | None = None  # (head sample, erase end bin) last shown


def _decimate(y: np.ndarray, k: int) -> np.ndarray:
    """min/max pairs of bins of ``k`` samples (the last bin padded with gaps); an all-NaN bin
    stays NaN (a gap); fmin/fmax ignore NaN without warnings."""
    n = y.size
    nb = -(-n // k)
    if nb * k != n:
        y = np.concatenate((y, np.full(nb * k - n, np.nan, np.float32)))
    bins = y.reshape(nb, k)
    out = np.empty(nb * 2, dtype=np.float32)
    out[0::2] = np.fmin.reduce(bins, axis=1)
    out[1::2] = np.fmax.reduce(bins, axis=1)
    return out


def _scaled(raw: np.ndarray, scaling: tuple[float, float, float, float]) -> np.ndarray:
    """Raw samples into a channel's band: (lo, scale, band bottom, band top); like a
    monitor's channel, a wave never leaves its band (NaN gaps stay NaN)."""
    lo, scale, b0, b1 = scaling
    y = (raw - np.float32(lo)) * np.float32(scale) + np.float32(b0 + 0.05)
    y = y.astype(np.float32, copy=False)
    np.clip(y, np.float32(b0), np.float32(b1), out=y)
    return y


def _escapes(fit: tuple[float, float], lo: float, hi: float) -> bool:
    """Auto-gain: does a signal spanning ``lo``..``hi`` leave the fitted range by more than
    ``GAIN_ESCAPE`` of it (refit at once)?"""
    margin = GAIN_ESCAPE * (fit[1] - fit[0])
    return lo < fit[0] - margin or hi > fit[1] + margin


def _refit_due(samples: int, rate_hz: float) -> bool:
    """Auto-gain: has ``GAIN_REFIT_S`` of new signal arrived since the last fit?"""
    return samples >= GAIN_REFIT_S * rate_hz


def sweep_head(wave: WaveView | _Trace, now: float | None,
               delay: float = PLAYOUT_DELAY_S) -> int:
    """The ring index the sweep has reached at ``now``: ``delay`` seconds behind the newest
    sample (received at ``last_end``), never ahead of it, never more than a ring behind. A
    wave without a receive time (or no ``now``) is shown up to its newest sample."""
    n = wave.samples.size
    last_end = wave.last_end
    if last_end is None or now is None:
        return wave.write_index
    lag = (last_end - (now - delay)) * (wave.rate_hz if isinstance(wave, WaveView)
                                        else wave.rate)
    lag = int(min(max(lag, 0.0), n - 1))
    return (wave.write_index - lag) % n


class SweepLogic:
    """What each channel of a sweep display shows. Mixed into a widget that implements
    ``_set_trace(code, x, y, dirty)`` (view coordinates: x in seconds, y in bands, NaN = gap;
    ``dirty``: the x spans that changed since the last call, None for all),
    ``_clear_trace(code)`` (empty the channel if it shows anything) and ``width()``.

    Each frame the sweep head moves on with the clock, ``PLAYOUT_DELAY_S`` behind the data: the
    bins it passed since the last frame are revealed and the erase bar ahead of it moves on.
    Only those spans are reported dirty; a channel whose head did not move is not redrawn."""

    channels: list[Channel]
    seconds: float

    def _init_sweep(self, channels: list[Channel], seconds: float) -> None:
        self.channels = channels
        self.seconds = seconds
        self._rows = {c.code: i for i, c in enumerate(channels)}
        self._gain: dict[str, tuple[float, float]] = {}
        self._gain_new: dict[str, int] = {}  # samples written since the last fit
        self._gain_idx: dict[str, int] = {}  # write index when last looked
        self._traces: dict[str, _Trace] = {}
        self._waves: dict[str, WaveView] = {}  # the latest copy (to rebuild on a resize)
        self._gain_kept = True  # the last _build kept the channel's gain

    def _set_trace(self, code: str, x: np.ndarray, y: np.ndarray, dirty: Dirty = None) -> None:
        raise NotImplementedError

    def _clear_trace(self, code: str) -> None:
        raise NotImplementedError

    def band(self, code: str) -> tuple[float, float]:
        """The y interval of ``code``'s band in view coordinates (the first channel on top)."""
        n = len(self.channels)
        row = self._rows[code]
        return n - row - 1, n - row

    def refresh_from(self, store: LiveStore, chair: str, snap: ChairSnapshot | None,
                     codes: Iterable[str], now: float) -> None:
        """One frame: take what arrived for each wave channel, move its sweep head on; a
        channel whose device is not live (offline, sensor off...) is cleared, never left
        frozen."""
        for code in codes:
            status = snap.wave_status.get(code) if snap else None
            if status is None or status[0] not in (Shown.LIVE, Shown.QUESTIONABLE):
                self.clear_channel(code)
                continue
            seen = self.last_version(code)
            wave = None
            if store.wave_version(chair, code) != seen:
                wave = store.wave(chair, code, seen, now)
            if wave is not None:
                self.show_wave(wave, now)
            else:
                self.advance(code, now)

    def clear_channel(self, code: str) -> None:
        if code in self._rows:
            self._clear_trace(code)
        self._traces.pop(code, None)
        self._waves.pop(code, None)
        # a sensor that comes back (or a new patient) starts a fresh gain
        self._gain.pop(code, None)
        self._gain_new.pop(code, None)
        self._gain_idx.pop(code, None)

    def last_version(self, code: str) -> int:
        trace = self._traces.get(code)
        return -1 if trace is None else trace.version

    def show_wave(self, wave: WaveView, now: float | None = None) -> None:
        """Take a new copy of a channel's ring and show it as the sweep has it at ``now``
        (without ``now``: up to its newest sample)."""
        row = self._rows.get(wave.code)
        if row is None:
            return
        if wave.shown not in (Shown.LIVE, Shown.QUESTIONABLE):
            self.clear_channel(wave.code)
            return
        self._waves[wave.code] = wave
        old = self._traces.get(wave.code)
        if old is not None and self._update(old, wave, self.channels[row]):
            trace = old
        else:
            trace = self._build(wave, self.channels[row])
            self._traces[wave.code] = trace
            # New samples land under the erase bar: unless the gain or the width changed, the
            # picture changes only where the head moves on.
            if old is not None and old.width == trace.width and old.n == trace.n \
                    and self._gain_kept:
                trace.head = old.head
        self._play(trace, wave.code, now, full=trace.head is None)

    def advance(self, code: str, now: float) -> None:
        """Move a channel's sweep head on to ``now`` (no new samples)."""
        trace = self._traces.get(code)
        if trace is None:
            return
        width = self._panel_width()
        if width != trace.width:  # resized: decimate again for the new width
            wave = self._waves.get(code)
            if wave is not None:
                self._traces[code] = trace = self._build(wave, self.channels[self._rows[code]])
                self._play(trace, code, now, full=True)
            return
        self._play(trace, code, now, full=False)

    def _panel_width(self) -> int:
        return max(50, self.width())  # type: ignore[attr-defined]

    def _build(self, wave: WaveView, ch: Channel) -> _Trace:
        width = self._panel_width()
        n = wave.samples.size
        # one min/max pair per two pixels: the same picture as every sample, far fewer points
        k = max(1, -(-n // max(2, width // 2)))
        lo, hi = ch.lo, ch.hi
        raw = wave.samples
        self._gain_kept = True
        if ch.auto_gain:
            before = self._gain.get(wave.code)
            lo, hi = self._auto_gain(wave, raw, lo, hi)
            self._gain_kept = before == (lo, hi)
        b0, b1 = self.band(wave.code)
        scaling = (lo, 0.9 / max(1e-6, hi - lo), b0, b1)
        y = _scaled(raw, scaling)
        pairs = _decimate(y, k)
        x = np.arange(pairs.size, dtype=np.float32) * np.float32(k / 2.0 * self.seconds / n)
        return _Trace(wave, y, pairs, x, k, width, scaling)

    def _update(self, trace: _Trace, wave: WaveView, ch: Channel) -> bool:
        """Bring ``trace`` up to ``wave`` in place when only a block was written since: the new
        samples scaled and the bins they fall in decimated again, not the whole ring (make
        bench: rebuilding every ring on every block was most of a 32-chair frame's cost).
        False when it cannot be (a new ring, a resize, more than a ring written, the gain
        to fit again): the caller builds the trace afresh."""
        n, k = trace.n, trace.k
        d = wave.written - trace.written
        if (trace.written <= 0 or not 0 < d < n - k or wave.samples.size != n
                or wave.rate_hz != trace.rate or self._panel_width() != trace.width
                or (wave.write_index - trace.write_index) % n != d % n):
            return False
        a = trace.write_index
        spans = [(a, a + d)] if a + d <= n else [(a, n), (0, a + d - n)]
        raw = wave.samples
        if ch.auto_gain and not self._gain_holds(wave, [raw[s:e] for s, e in spans], d):
            return False
        for s, e in spans:
            trace.samples[s:e] = _scaled(raw[s:e], trace.scaling)
            first, last = s // k, (e - 1) // k
            trace.y[2 * first:2 * (last + 1)] = _decimate(
                trace.samples[first * k:min(n, (last + 1) * k)], k)
        trace.version = wave.version
        trace.write_index = wave.write_index
        trace.last_end = wave.last_end
        trace.written = wave.written
        return True

    def _gain_holds(self, wave: WaveView, new: list[np.ndarray], count: int) -> bool:
        """Does an auto-gain channel keep its fitted gain for ``count`` new samples? The same
        rule as :meth:`_auto_gain`, judged on the new samples alone (every older one was
        judged when it arrived); when it does not, the caller fits on the whole ring."""
        code = wave.code
        cur = self._gain.get(code)
        seen = self._gain_new.get(code, 0) + count
        if cur is None or _refit_due(seen, wave.rate_hz):
            return False
        for seg in new:
            finite = seg[np.isfinite(seg)]
            if finite.size and _escapes(cur, float(finite.min()), float(finite.max())):
                return False
        self._gain_new[code] = seen
        self._gain_idx[code] = wave.write_index
        return True

    def _play(self, trace: _Trace, code: str, now: float | None, *, full: bool) -> None:
        """Show ``trace`` with its head at ``now``: bins up to the head, the head's own bin
        cut at the head (so it grows sample by sample), the erase bar blank."""
        n, k, nb = trace.n, trace.k, trace.bins
        h = sweep_head(trace, now)
        erase = min(n - k, max(1, int(ERASE_S * trace.rate)))
        hb = h // k
        eb = ((h + erase) % n) // k
        state = (h, eb)
        prev = trace.head
        if not full and prev == state:
            return  # nothing moved: nothing to redraw
        trace.head = state
        y = trace.y.copy()
        # the erase bar: the bins after the head's up to the one where the bar ends
        if hb < eb:
            y[2 * (hb + 1):2 * (eb + 1)] = np.nan
        elif eb < hb:
            y[2 * (hb + 1):] = np.nan
            y[:2 * (eb + 1)] = np.nan
        # the head's bin, up to the head
        seg = trace.samples[hb * k:h]
        if seg.size:
            y[2 * hb] = np.fmin.reduce(seg)
            y[2 * hb + 1] = np.fmax.reduce(seg)
        else:
            y[2 * hb:2 * hb + 2] = np.nan
        dirty: Dirty = None
        if not full and prev is not None:
            # from the head's old bin to the erase bar's new end: one span (the bar between is
            # blank before and after), two where it wraps round the right edge
            step = self.seconds / nb
            a, b = prev[0] // k, eb
            if a <= b:
                dirty = [(a * step, (b + 1) * step)]
            else:
                dirty = [(a * step, self.seconds), (0.0, (b + 1) * step)]
        self._set_trace(code, trace.x, y, dirty)

    def _auto_gain(self, wave: WaveView, y: np.ndarray, lo: float, hi: float
                   ) -> tuple[float, float]:
        """(lo, hi) to scale an arbitrary-unit wave by. Fitted to the ring's min/max once it
        holds ``GAIN_MIN_S`` of signal, then refitted after every ``GAIN_REFIT_S`` of new
        samples (a monitor's pleth does not jump with every beat), or at once when the signal
        escapes the fitted range. Until the first fit: the channel's fixed range."""
        code, n = wave.code, wave.samples.size
        last = self._gain_idx.get(code)
        written = n if last is None else (wave.write_index - last) % n
        self._gain_idx[code] = wave.write_index
        new = self._gain_new.get(code, 0) + written
        self._gain_new[code] = new
        cur = self._gain.get(code)
        finite = y[np.isfinite(y)]
        if finite.size == 0:
            return cur if cur is not None else (lo, hi)
        a, b = float(finite.min()), float(finite.max())
        if b - a <= 1e-6 or finite.size < GAIN_MIN_S * wave.rate_hz:
            return cur if cur is not None else (lo, hi)
        if cur is not None and not _escapes(cur, a, b) and not _refit_due(new, wave.rate_hz):
            return cur
        self._gain[code] = (a, b)
        self._gain_new[code] = 0
        return a, b


class Trace:
    """One channel's points in view coordinates (what the panel draws)."""

    __slots__ = ("pen", "xData", "yData")

    def __init__(self, pen: QPen) -> None:
        self.pen = pen
        self.xData: np.ndarray | None = None
        self.yData: np.ndarray | None = None

    def getData(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        return self.xData, self.yData


class Title:
    """A channel's name in the top left corner of its band."""

    __slots__ = ("colour", "font", "text")

    def __init__(self, text: str, colour: QColor, font: QFont) -> None:
        self.text, self.colour, self.font = text, colour, font


def _polyline(xs: np.ndarray, ys: np.ndarray) -> QPolygonF:
    """A QPolygonF filled from two arrays through its own memory (no QPointF per point)."""
    n = xs.size
    poly = QPolygonF()
    poly.resize(n)
    mem = np.frombuffer(shiboken6.VoidPtr(poly.data(), n * 16, True), dtype=np.float64)
    pts = mem.reshape(n, 2)
    pts[:, 0] = xs
    pts[:, 1] = ys
    return poly


class SweepPanel(QWidget, SweepLogic):
    """Stacked sweep waves (top to bottom in ``channels`` order), painted directly."""

    def __init__(self, channels: list[Channel], seconds: float = 10.0, parent=None,
                 *, labels: bool = True, label_px: int = 10) -> None:
        super().__init__(parent)
        self._init_sweep(channels, seconds)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)  # it paints every pixel
        self._background = QColor(style.TILE_BG)
        self.curves: dict[str, Trace] = {}
        self.titles: dict[str, Title] = {}
        for ch in channels:
            colour = QColor(style.colour(ch.code))
            pen = QPen(colour, 1)
            pen.setCosmetic(True)
            self.curves[ch.code] = Trace(pen)
            if labels:
                self.titles[ch.code] = Title(style.LABELS.get(ch.code, ch.code), colour,
                                             style.font(label_px))
        self._title_right = 0
        self._measure_titles()

    def set_title_font(self, font: QFont) -> None:
        """The font of the channels' names (the tiles size it with the tile)."""
        for t in self.titles.values():
            t.font = font
        self._measure_titles()
        self.update()

    def _measure_titles(self) -> None:
        # px: the channel names sit in the top left corner of each band; a strip reaching into
        # them redraws them
        self._title_right = 6 + max(
            (QFontMetrics(t.font).horizontalAdvance(t.text) for t in self.titles.values()),
            default=0)

    def show_wave(self, wave: WaveView, now: float | None = None) -> None:
        title = self.titles.get(wave.code)
        if title is not None:  # the ECG's lead ("II", "V1"), another wave's site
            text = (wave.site or "ECG") if wave.code == "ECG" else " ".join(
                filter(None, (style.LABELS.get(wave.code, wave.code), wave.site)))
            if text != title.text:
                title.text = text
                self._measure_titles()  # a longer name reaches further right
                self.update()
        super().show_wave(wave, now)

    def viewport(self) -> QWidget:
        """The widget that paints (the same one; a graphics view paints its viewport)."""
        return self

    def _set_trace(self, code: str, x: np.ndarray, y: np.ndarray, dirty: Dirty = None) -> None:
        trace = self.curves[code]
        trace.xData, trace.yData = x, y
        if dirty is None:
            self.update()
            return
        # only the strips the sweep head and the erase bar moved over (a pixel either side
        # for the lines that join them)
        sx = self.width() / self.seconds
        h = self.height()
        for a, b in dirty:
            x0 = int(a * sx) - 2
            self.update(x0, 0, int(b * sx) + 3 - x0, h)

    def _clear_trace(self, code: str) -> None:
        trace = self.curves[code]
        if trace.xData is not None and len(trace.xData):
            empty = np.empty(0, np.float32)
            trace.xData, trace.yData = empty, empty
            self.update()

    def paintEvent(self, event) -> None:
        w, h = self.width(), self.height()
        p = QPainter(self)
        n = len(self.channels)
        sx = w / self.seconds
        sy = h / n
        for rect in event.region():
            p.fillRect(rect, self._background)
            left, right = rect.left() - 2, rect.right() + 3
            for ch in self.channels:
                trace = self.curves[ch.code]
                x, y = trace.xData, trace.yData
                if x is None or y is None or len(x) < 1:
                    continue
                m = len(x)
                if left <= 0 and right >= w or m < 2:
                    i0, i1 = 0, m
                else:  # x is evenly spaced: the points in this strip, and one either side
                    step = float(x[1] - x[0]) * sx
                    i0 = max(0, int(left / step) - 1)
                    i1 = min(m, int(right / step) + 2)
                    if i1 <= i0:
                        continue
                p.setPen(trace.pen)
                if i1 - i0 <= 64:
                    _draw_runs_small(p, x[i0:i1].tolist(), y[i0:i1].tolist(), sx, sy, n)
                else:
                    _draw_runs(p, x[i0:i1], y[i0:i1], sx, sy, n)
            if left < self._title_right:
                for row, ch in enumerate(self.channels):
                    title = self.titles.get(ch.code)
                    if title is not None:
                        p.setPen(title.colour)
                        p.setFont(title.font)
                        p.drawText(QPointF(3, row * sy + p.fontMetrics().ascent() + 1),
                                   title.text)
        p.end()


def _draw_runs(p: QPainter, x: np.ndarray, y: np.ndarray, sx: float, sy: float, n: int) -> None:
    """One polyline per run of finite points: NaN is a gap (the erase bar, a dropout)."""
    px = x.astype(np.float64) * sx
    py = (n - y.astype(np.float64)) * sy  # view y grows upwards, pixels downwards
    finite = np.isfinite(py)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
    for start, end in zip(edges[0::2], edges[1::2], strict=True):
        if end - start >= 2:
            p.drawPolyline(_polyline(px[start:end], py[start:end]))
        else:
            p.drawPoint(QPointF(px[start], py[start]))


def _draw_runs_small(p: QPainter, xs: list[float], ys: list[float], sx: float, sy: float,
                     n: int) -> None:
    """``_draw_runs`` for the few points of a strip the sweep moved over: plain Python is
    cheaper than a dozen NumPy calls on a dozen points."""
    run: list[QPointF] = []
    for xv, yv in zip(xs, ys, strict=True):
        if yv == yv:  # not NaN
            run.append(QPointF(xv * sx, (n - yv) * sy))
        elif run:
            _draw_run(p, run)
            run = []
    if run:
        _draw_run(p, run)


def _draw_run(p: QPainter, run: list[QPointF]) -> None:
    if len(run) >= 2:
        p.drawPolyline(run)
    else:
        p.drawPoint(run[0])
