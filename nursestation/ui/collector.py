"""Python's cyclic garbage collector, run on the GUI thread only.

Left to itself, the collector runs on whichever thread happens to allocate when a generation
fills up: in this process usually the link reactor or the database writer, which allocate far
more than the GUI. A closed dialog, a finished window or a view's signal connections are often
reference cycles that hold Qt objects; collected on one of those threads, a QWidget is destroyed
off the GUI thread while the GUI thread is painting or processing events, and the process dies
with a segmentation fault (seen here: the whole test run ended inside Qt's event processing
while the writer thread ran a query). pyqtgraph ships the same remedy (its
``util.garbage_collector``); ours looks often enough that each collection stays small.

:class:`GuiThreadCollector` turns automatic collection off and collects on a GUI-thread timer,
a generation at a time, when CPython's own thresholds say that generation is due (CPython's
extra rule that skips most full collections is not visible from Python: at 32 chairs a full
one, of what was made since start-up's ``gc.freeze``, comes about every half minute). Other
threads never run the collector.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: ms between two looks at the collector's counts. What other threads allocate meanwhile is
#: collected in one piece, holding the GIL: at 32 chairs, young collections every 250 ms took
#: p99 35 ms (max 77), every 20 ms p99 8 ms (a station run each, make bench's harness).
INTERVAL_MS = 20


class GuiThreadCollector(QObject):
    """Owns the process's garbage collection once created (on the GUI thread, with a running
    QApplication): automatic collection stays off until :meth:`stop`."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.collections = [0, 0, 0]  # how many of each generation it has run
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect)
        self._timer.start()

    def collect(self) -> None:
        """What CPython would have done by now: the youngest generation when it is over its
        threshold, an older one when enough younger collections have passed."""
        counts = gc.get_count()
        generation = -1
        for g in range(3):
            if counts[g] > self.thresholds[g]:
                generation = g
            else:
                break
        if generation >= 0:
            gc.collect(generation)
            self.collections[generation] += 1

    def stop(self) -> None:
        """Give collection back to Python (the process is about to end, or a test is over)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()


__all__ = ["GuiThreadCollector"]
