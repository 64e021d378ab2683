"""Cyclic garbage is freed on the GUI thread, never on a thread that merely allocates."""

from __future__ import annotations

import gc
import threading

from nursestation.ui.collector import GuiThreadCollector


class _Cycle:
    """Garbage only the cyclic collector can free (like a closed dialog and its connections);
    it notes the thread that freed it."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.current_thread().name)


def test_a_busy_worker_thread_never_frees_the_gui_threads_garbage(qtbot):
    gc.enable()  # as Python starts a process; the collector takes over from here
    collector = GuiThreadCollector(interval_ms=20)
    try:
        gc.collect()
        _Cycle.freed_on = []
        _Cycle()

        kept: list[list[int]] = []

        def allocate() -> None:  # what the writer or the reactor does all day
            kept.extend([i] for i in range(100_000))

        worker = threading.Thread(target=allocate, name="db-writer")
        worker.start()
        worker.join()
        assert _Cycle.freed_on == []
        qtbot.waitUntil(lambda: bool(_Cycle.freed_on), timeout=2000)
        assert _Cycle.freed_on == ["MainThread"]
        assert collector.collections[0] >= 1
    finally:
        collector.stop()
        gc.disable()  # the test session's own policy (conftest)


def test_stopping_gives_collection_back_to_python(qtbot):
    gc.enable()
    collector = GuiThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()
        collector.stop()
        assert gc.isenabled()
    finally:
        gc.disable()
