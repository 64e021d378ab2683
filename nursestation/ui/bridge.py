"""The Qt adapter between the device threads and the GUI.

Reader threads write into the :class:`LiveStore` under its lock (``bridge.sink`` is what the
link layer is given); the GUI never receives a signal per sample or per batch. A precise
``QTimer`` on the GUI thread (default 30 Hz) emits :attr:`LiveBridge.frame`, and every live view
redraws from the store's snapshots on that tick, copying only what changed. Nothing here calls
``processEvents``: a slow frame only delays the next one, it never queues a backlog (the
failure acq4 #595 describes).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from nursestation.core.livestate import LiveStore
from nursestation.core.readings import Reading


class LiveBridge(QObject):
    """Owns the frame timer. Connect views with :meth:`attach` (anything with
    ``refresh(store, now)``) or to the :attr:`frame` signal."""

    frame = Signal(float)  # monotonic time of this frame

    def __init__(self, store: LiveStore, fps: float = 30.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if fps < 30:
            raise ValueError("the live display needs at least 30 frames per second")
        self.store = store
        self._views: list = []
        self.frames = 0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # Windows: CoarseTimer is ~16 ms
        self._timer.setInterval(max(1, round(1000.0 / fps)))
        self._timer.timeout.connect(self.tick)

    # -- the link layer's side (any thread) ----------------------------------------------------
    def sink(self, batch: Sequence[Reading]) -> None:
        """Give this to the device links: stores the batch; drawing happens on the timer."""
        self.store.ingest(batch)

    # -- GUI side ------------------------------------------------------------------------------
    def attach(self, view) -> None:
        if view not in self._views:
            self._views.append(view)

    def detach(self, view) -> None:
        if view in self._views:
            self._views.remove(view)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def tick(self) -> None:
        """One frame: every attached view redraws from the store (also callable by tests)."""
        now = self.store.clock.monotonic()
        self.frames += 1
        for view in list(self._views):
            view.refresh(self.store, now)
        self.frame.emit(now)
