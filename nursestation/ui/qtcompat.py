"""Work-arounds for defects in the Qt binding, applied once when ``nursestation.ui`` is imported.

PySide6 6.12.0 on CPython 3.11 loses references to Python's singletons:

- ``SignalInstance.emit()`` returns ``True`` without taking a reference to it, so every emit
  (ours, pyqtgraph's ``sigPlotChanged`` on each ``setData``) drops one reference from ``True``;
- every wrapped C++ method returning ``void`` (``QLabel.setText``, ``QPainterPath.reserve``,
  ``QTimer.start``...) drops one reference from ``None``.

After enough calls the count reaches zero and CPython aborts ("Fatal Python error:
bool_dealloc" / "none_dealloc") — within seconds for a live station redrawing 32 chairs. On
3.12+ these objects are immortal and the defect is harmless. Until the binding is fixed or
pinned, we detect the leaks at start-up and give the affected singletons a reference reserve no
run will exhaust (they are never freed anyway, so the extra count changes nothing else).
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40  # 10^12 calls: centuries at a million a second

applied: list[str] = []  # which singletons needed the reserve, for the log and for tests


def leaked_singletons() -> list[object]:
    """The singletons this binding drops references to (empty on a sound binding)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    leaks: list[object] = []
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    if sys.getrefcount(True) < before:
        leaks += [True, False]
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    if sys.getrefcount(None) < before:
        leaks.append(None)
    return leaks


def guard_singleton_refcounts() -> list[str]:
    """Apply the work-around where this binding needs it; returns what was guarded."""
    if applied:
        return applied
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return applied
    for obj in leaked_singletons():
        ctypes.c_ssize_t.from_address(id(obj)).value += _RESERVE
        applied.append(repr(obj))
    return applied


# the name used by earlier code
guard_bool_refcounts = guard_singleton_refcounts
