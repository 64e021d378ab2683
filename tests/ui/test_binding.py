"""The Qt binding must not lose references to Python's singletons.

PySide6 6.12.0 on CPython 3.11 dropped a reference to True on every signal emit and to None on
every call of a C++ method returning void; a live station redraws thousands of times a minute,
so the interpreter aborted within seconds. pyproject.toml excludes that release; this test
catches any future binding with the same defect before a nurse does.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    ping = Signal()


def test_signal_emit_and_void_calls_keep_singleton_refcounts(qapp):
    probe = _Probe()
    true_before = sys.getrefcount(True)
    for _ in range(5000):
        probe.ping.emit()
    none_before = sys.getrefcount(None)
    for _ in range(5000):
        probe.setObjectName("probe")
    assert sys.getrefcount(True) >= true_before - 10
    assert sys.getrefcount(None) >= none_before - 10
