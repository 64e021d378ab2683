"""Sweep-mode waveforms: what a channel shows (shared by every wave display) and the tiles' panel.

``SweepLogic`` turns the live store's rings into what a monitor's sweep shows: the ring as it
lies, blanked for ``ERASE_S`` ahead of the write head, min/max-decimated to about two points per
pixel so R waves keep their height, each channel in its fixed band (auto-gain for arbitrary-unit
waves such as pleth), and a channel whose device is not live cleared, never left frozen. It
draws through ``_set_trace``/``_clear_trace``, which the displays implement.

``SweepPanel`` is the tiles' display: a plain widget painting its traces with ``QPainter``
polylines, no scene graph. Thirty-two tiles of pyqtgraph views cost ~0.2 s to build and
pyqtgraph's import ~0.25 s before the first frame (make bench); the detail view's large waves
stay on pyqtgraph (``waves.WavePanel``), imported when a chair is first opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from nursestation.core.livestate import ChairSnapshot, LiveStore, Shown, WaveView
from nursestation.core.vocabulary import Code
from nursestation.ui import style

#: Seconds blanked ahead of the write head, as a monitor's sweep erase bar.
ERASE_S = 0.25
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


def sweep_arrays(wave: WaveView, max_points: int, erase_s: float = ERASE_S
                 ) -> tuple[np.ndarray, np.ndarray]:
    """x (seconds from the sweep's left edge) and y for a sweep display of ``wave``: the ring
    as it lies, blanked for ``erase_s`` ahead of the write head, min/max-decimated down to
    about ``max_points`` points."""
    y = wave.samples.astype(np.float32, copy=True)
    n = y.size
    gap = min(n, max(1, int(erase_s * wave.rate_hz)))
    i = wave.write_index
    if i + gap <= n:
        y[i:i + gap] = np.nan
    else:
        y[i:] = np.nan
        y[: i + gap - n] = np.nan
    k = int(np.ceil(n / max(2, max_points // 2)))
    if k <= 1:
        return np.arange(n, dtype=np.float32) / np.float32(wave.rate_hz), y
    m = (n // k) * k
    bins = y[:m].reshape(-1, k)
    # fmin/fmax ignore NaN without warnings; an all-NaN bin stays NaN (a gap)
    lo = np.fmin.reduce(bins, axis=1)
    hi = np.fmax.reduce(bins, axis=1)
    out = np.empty(lo.size * 2, dtype=np.float32)
    out[0::2] = lo
    out[1::2] = hi
    x = (np.arange(out.size, dtype=np.float32) * (k / 2.0)) / np.float32(wave.rate_hz)
    return x, out


class SweepLogic:
    """What each channel of a sweep display shows. Mixed into a widget that implements
    ``_set_trace(code, x, y)`` (view coordinates: x in seconds, y in bands, NaN = gap),
    ``_clear_trace(code)`` (empty the channel if it shows anything) and ``width()``."""

    channels: list[Channel]
    seconds: float

    def _init_sweep(self, channels: list[Channel], seconds: float) -> None:
        self.channels = channels
        self.seconds = seconds
        self._rows = {c.code: i for i, c in enumerate(channels)}
        self._gain: dict[str, tuple[float, float]] = {}
        self._gain_new: dict[str, int] = {}  # samples written since the last fit
        self._gain_idx: dict[str, int] = {}  # write index when last looked
        self._versions: dict[str, int] = {}

    def _set_trace(self, code: str, x: np.ndarray, y: np.ndarray) -> None:
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
        """Draw what arrived for each wave channel since the last frame; a channel whose device
        is not live (offline, sensor off...) is cleared, never left frozen."""
        for code in codes:
            status = snap.wave_status.get(code) if snap else None
            if status is None or status[0] not in (Shown.LIVE, Shown.QUESTIONABLE):
                self.clear_channel(code)
                continue
            wave = store.wave(chair, code, self.last_version(code), now)
            if wave is not None:
                self.show_wave(wave)

    def clear_channel(self, code: str) -> None:
        if code in self._rows:
            self._clear_trace(code)
        self._versions.pop(code, None)
        # a sensor that comes back (or a new patient) starts a fresh gain
        self._gain.pop(code, None)
        self._gain_new.pop(code, None)
        self._gain_idx.pop(code, None)

    def last_version(self, code: str) -> int:
        return self._versions.get(code, -1)

    def show_wave(self, wave: WaveView) -> None:
        row = self._rows.get(wave.code)
        if row is None:
            return
        ch = self.channels[row]
        title = getattr(self, "titles", {}).get(wave.code)
        if isinstance(title, Title):  # the ECG's lead ("II", "V1"), another wave's site
            title.text = (wave.site or "ECG") if wave.code == "ECG" else " ".join(
                filter(None, (style.LABELS.get(wave.code, wave.code), wave.site)))
        if wave.shown not in (Shown.LIVE, Shown.QUESTIONABLE):
            self.clear_channel(wave.code)
            return
        # one min/max pair per two pixels: the same picture as every sample, far fewer points
        width = max(50, self.width())  # type: ignore[attr-defined]
        x, y = sweep_arrays(wave, width)
        x *= np.float32(self.seconds / (wave.samples.size / wave.rate_hz))
        lo, hi = ch.lo, ch.hi
        if ch.auto_gain:
            lo, hi = self._auto_gain(wave, y, lo, hi)
        b0, b1 = self.band(wave.code)
        scale = 0.9 / max(1e-6, hi - lo)
        y = (y - np.float32(lo)) * np.float32(scale) + np.float32(b0 + 0.05)
        # like a monitor's channel, a wave never leaves its band (NaN gaps stay NaN)
        np.clip(y, np.float32(b0), np.float32(b1), out=y)
        self._set_trace(wave.code, x, y)
        self._versions[wave.code] = wave.version

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
        if b - a <= 1e-6 or np.count_nonzero(np.isfinite(wave.samples)) < GAIN_MIN_S * wave.rate_hz:
            return cur if cur is not None else (lo, hi)
        if cur is not None:
            margin = GAIN_ESCAPE * (cur[1] - cur[0])
            escaped = a < cur[0] - margin or b > cur[1] + margin
            if not escaped and new < GAIN_REFIT_S * wave.rate_hz:
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

    def setFont(self, font: QFont) -> None:
        self.font = font


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

    def viewport(self) -> QWidget:
        """The widget that paints (the same one; a graphics view paints its viewport)."""
        return self

    def _set_trace(self, code: str, x: np.ndarray, y: np.ndarray) -> None:
        trace = self.curves[code]
        trace.xData, trace.yData = x, y
        self.update()

    def _clear_trace(self, code: str) -> None:
        trace = self.curves[code]
        if trace.xData is not None and len(trace.xData):
            empty = np.empty(0, np.float32)
            trace.xData, trace.yData = empty, empty
            self.update()

    def paintEvent(self, event) -> None:
        w, h = self.width(), self.height()
        p = QPainter(self)
        p.fillRect(self.rect(), self._background)
        n = len(self.channels)
        sx = w / self.seconds
        sy = h / n
        for ch in self.channels:
            trace = self.curves[ch.code]
            x, y = trace.xData, trace.yData
            if x is None or y is None or not len(x):
                continue
            px = x.astype(np.float64) * sx
            py = (n - y.astype(np.float64)) * sy  # view y grows upwards, pixels downwards
            finite = np.isfinite(py)
            p.setPen(trace.pen)
            # one polyline per run of finite points: NaN is a gap (the erase bar, a dropout)
            edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
            for start, end in zip(edges[0::2], edges[1::2], strict=True):
                if end - start >= 2:
                    p.drawPolyline(_polyline(px[start:end], py[start:end]))
                else:
                    p.drawPoint(QPointF(px[start], py[start]))
        for row, ch in enumerate(self.channels):
            title = self.titles.get(ch.code)
            if title is not None:
                p.setPen(title.colour)
                p.setFont(title.font)
                p.drawText(QPointF(3, row * sy + p.fontMetrics().ascent() + 1), title.text)
        p.end()
