"""Work-arounds for defects in the Qt binding, applied once when ``nursestation.ui`` is imported.

PySide6 6.12.0 on CPython 3.11: ``SignalInstance.emit()`` returns ``True`` without taking a
reference to it, so every emit (ours, pyqtgraph's ``sigPlotChanged`` on each ``setData``, Qt's
own) drops one reference from ``True``. After a few thousand emits ``True``'s count reaches zero
and CPython aborts ("Fatal Python error: bool_dealloc"). On 3.12+ ``True`` is immortal and the
defect is harmless. Until the binding is fixed or pinned, we detect the leak at start-up and give
``True`` / ``False`` a reference count no run will ever exhaust (they are never freed anyway).
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40  # 10^12 emits: centuries at thousands per second

_applied = False


def emit_drops_bool_reference() -> bool:
    """True when emitting a signal loses a reference to ``True`` (the 6.12.0 defect)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    after = sys.getrefcount(True)
    return after < before


def guard_bool_refcounts() -> bool:
    """Apply the work-around if this binding needs it; returns whether it was applied."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not emit_drops_bool_reference():
        return False
    for obj in (True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _RESERVE
    _applied = True
    return True
