"""The detail view's large sweep waves on pyqtgraph (the tiles paint theirs: ``ui/sweep.py``).

One ``pg.GraphicsView`` + one ``ViewBox`` with a fixed range (no autorange, no axes, no mouse),
one ``PlotCurveItem`` per channel stacked in bands, pen width 1, ``setData`` on the existing
items each frame, NaN gaps drawn as gaps (``connect='finite'``). What each channel shows (erase
bar, decimation, bands, auto-gain) is ``sweep.SweepLogic``, shared with the tiles.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QSizePolicy

from nursestation.ui import style
from nursestation.ui.sweep import Channel, SweepLogic


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


class WavePanel(pg.GraphicsView, SweepLogic):
    """Stacked sweep waves (top to bottom in ``channels`` order) in one fixed view."""

    def __init__(self, channels: list[Channel], seconds: float = 10.0, parent=None,
                 *, labels: bool = True, label_px: int = 10) -> None:
        super().__init__(parent, background=style.TILE_BG)
        self._init_sweep(channels, seconds)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.vb = pg.ViewBox(enableMouse=False, enableMenu=False, defaultPadding=0.0)
        self.vb.disableAutoRange()
        self.setCentralItem(self.vb)
        n = len(channels)
        self.vb.setRange(xRange=(0, seconds), yRange=(0, n), padding=0.0)
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.titles: dict[str, pg.TextItem] = {}
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

    def _set_trace(self, code: str, x: np.ndarray, y: np.ndarray, dirty=None) -> None:
        # pyqtgraph redraws the curve whole; one large view, so that is what it costs
        self.curves[code].setData(x, y, connect="finite")

    def _clear_trace(self, code: str) -> None:
        curve = self.curves[code]
        if curve.xData is not None and len(curve.xData):
            curve.setData(np.empty(0, np.float32), np.empty(0, np.float32))
