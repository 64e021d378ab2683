"""The station runtime's device links: started in the background, stopped cleanly."""

from __future__ import annotations

import threading
import time

from nursestation.config import ChairConfig, DeviceConfig, load_config
from nursestation.core.livestate import LiveStore
from nursestation.core.protocol import load_protocol
from nursestation.runtime import StationRuntime


def chairs(n: int) -> list[ChairConfig]:
    return [ChairConfig(f"Chair {i}", tuple(
        DeviceConfig("masimo", "loop://", f"ox-{i}-{k}") for k in range(3))) for i in range(n)]


def link_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("link-")]


def runtime() -> StationRuntime:
    config = load_config(demo=True, chairs=1)
    return StationRuntime(config, load_protocol(config.protocol_file), LiveStore())


def test_background_start_starts_every_link_and_registers_chairs_at_once():
    rt = runtime()
    before = len(link_threads())
    rt.start(chairs(8), background=True)
    try:
        assert len(rt.links) == 24 and len(rt.engines) == 8  # known before any thread runs
        deadline = time.monotonic() + 10
        while not all(link.running for link in rt.links.values()):
            assert time.monotonic() < deadline, "links did not all start"
            time.sleep(0.02)
    finally:
        rt.stop()
    assert len(link_threads()) == before


def test_stop_right_after_a_background_start_leaves_no_reader_running():
    before = len(link_threads())
    for _ in range(5):
        rt = runtime()
        rt.start(chairs(10), background=True)
        links = list(rt.links.values())
        rt.stop()
        assert len(link_threads()) == before
        assert not any(link.running for link in links)


def test_only_the_chairs_primary_site_reaches_store_record_and_alarms():
    from nursestation.core.readings import Reading

    config = load_config(demo=True, chairs=1)
    live = LiveStore()
    rt = StationRuntime(config, load_protocol(config.protocol_file), live)
    chair = ChairConfig("Chair 1", (DeviceConfig("intellivue", "", "mon"),),
                        primary_sites=(("TEMP", "rectal"),))
    rt.start([chair])
    try:
        rt._on_batch([Reading("TEMP", 36.5, "°C", chair="Chair 1", device_id="mon"),
                      Reading("TEMP", 37.4, "°C", chair="Chair 1", device_id="mon",
                              site="rectal"),
                      Reading("PR", 88.0, "bpm", chair="Chair 1", device_id="mon"),
                      Reading("PR", 131.0, "bpm", chair="Chair 1", device_id="mon",
                              site="right")])
        snap = live.snapshot("Chair 1")
        assert snap.numeric("TEMP").value == 37.4  # the configured site, not the main one
        assert snap.numeric("PR").value == 88.0  # the main site, not the right hand
    finally:
        rt.stop()


def test_baud_from_the_config_reaches_the_session():
    config = load_config(demo=True, chairs=1)
    rt = StationRuntime(config, load_protocol(config.protocol_file), LiveStore())
    rt.start([ChairConfig("C", (DeviceConfig("intellivue", "loop://", "mon", baud=19200),))])
    try:
        assert rt.links["mon"].session.baudrate == 19200
    finally:
        rt.stop()
