"""Sweep-mode waveform display: the pyqtgraph fast path shared by tiles and the detail view.

One ``pg.GraphicsView`` + one ``ViewBox`` with a fixed range (no autorange, no axes, no mouse),
one ``PlotCurveItem`` per channel stacked in bands, pen width 1, ``setData`` on the existing
items each frame, NaN gaps drawn as gaps (``connect='finite'``). Long rings are reduced to about
two points per pixel with min/max (peak) decimation so R waves keep their height.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QSizePolicy

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


class _BandCurve(pg.PlotCurveItem):
    """A curve that always occupies its fixed band: the view never autoranges, so the bounds
    need not be recomputed from the data on every frame (pyqtgraph scans it with nanmin/nanmax
    for each boundingRect otherwise, a large share of a 32-chair frame)."""

    def __init__(self, rect: QRectF, **kw) -> None:
        super().__init__(**kw)
        self._rect = rect

    def boundingRect(self) -> QRectF:
        return self._rect

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        if ax == 0:
            return self._rect.left(), self._rect.right()
        return self._rect.top(), self._rect.bottom()


class WavePanel(pg.GraphicsView):
    """Stacked sweep waves (top to bottom in ``channels`` order) in one fixed view."""

    def __init__(self, channels: list[Channel], seconds: float = 10.0, parent=None,
                 *, labels: bool = True, label_px: int = 10) -> None:
        super().__init__(parent, background=style.TILE_BG)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.channels = channels
        self.seconds = seconds
        self.vb = pg.ViewBox(enableMouse=False, enableMenu=False, defaultPadding=0.0)
        self.vb.disableAutoRange()
        self.setCentralItem(self.vb)
        n = len(channels)
        self.vb.setRange(xRange=(0, seconds), yRange=(0, n), padding=0.0)
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.titles: dict[str, pg.TextItem] = {}
        self._gain: dict[str, tuple[float, float]] = {}
        self._gain_new: dict[str, int] = {}  # samples written since the last fit
        self._gain_idx: dict[str, int] = {}  # write index when last looked
        for row, ch in enumerate(channels):
            pen = pg.mkPen(style.colour(ch.code), width=1)
            band = QRectF(0.0, n - row - 1.5, seconds, 2.0)  # room for overshoot
            curve = _BandCurve(band, pen=pen, antialias=False, connect="finite")
            self.vb.addItem(curve)
            self.curves[ch.code] = curve
            if labels:
                t = pg.TextItem(style.LABELS.get(ch.code, ch.code), color=style.colour(ch.code),
                                anchor=(0, 0))
                t.setFont(style.font(label_px))
                t.setPos(0.02, n - row)
                self.vb.addItem(t)
                self.titles[ch.code] = t
        self._versions: dict[str, int] = {}

    def band(self, code: str) -> tuple[float, float]:
        """The y interval of ``code``'s band in view coordinates."""
        row = [c.code for c in self.channels].index(code)
        n = len(self.channels)
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
        curve = self.curves.get(code)
        if curve is not None and curve.xData is not None and len(curve.xData):
            curve.setData(np.empty(0, np.float32), np.empty(0, np.float32))
        self._versions.pop(code, None)
        # a sensor that comes back (or a new patient) starts a fresh gain
        self._gain.pop(code, None)
        self._gain_new.pop(code, None)
        self._gain_idx.pop(code, None)

    def last_version(self, code: str) -> int:
        return self._versions.get(code, -1)

    def show_wave(self, wave: WaveView) -> None:
        ch = next((c for c in self.channels if c.code == wave.code), None)
        if ch is None:
            return
        if wave.shown not in (Shown.LIVE, Shown.QUESTIONABLE):
            self.clear_channel(wave.code)
            return
        # one min/max pair per two pixels: the same picture as every sample, far fewer points
        width = max(50, self.width())
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
        self.curves[wave.code].setData(x, y, connect="finite")
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
