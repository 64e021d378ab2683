"""Host session ↔ simulated monitor, in memory: bytes passed back and forth, no serial port."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from nursestation.core.vocabulary import Quality
from nursestation.devices.base import DeviceSession, Simulator
from nursestation.devices.intellivue import (
    IntelliVueDecoder,
    IntelliVueSession,
    IntelliVueSimulator,
    make_decoder,
)
from nursestation.devices.intellivue import constants as C
from nursestation.devices.intellivue.codec import REFUSE, parse_assoc_user_info, parse_message
from nursestation.devices.intellivue.decoder import AssociationAborted, MdsCreated
from nursestation.devices.intellivue.framing import FrameReader, encode_frame
from nursestation.devices.intellivue.session import State
from nursestation.sim.scenarios import VitalsState

START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
STEP = 0.05


class SmallScenario:
    """Satisfies the Scenario protocol; values move slowly so a poll's time pins them down."""

    name = "small"

    def __init__(self, **overrides) -> None:
        self.overrides = overrides

    def state(self, t: float) -> VitalsState:
        s = VitalsState(
            t=t, hr=70 + 0.1 * t, spo2=97.0, pr=69 + 0.1 * t, pi=2.37, rr=14.0, etco2=37.0,
            temp=36.8, nbp_sys=121.0, nbp_dia=78.0, nbp_mean=92.0, nbp_time=1.5,
            pump_rate=0.0, pump_vi=0.0, pump_vtbi=0.0, pump_state="stopped", pump_alarm=None,
        )
        return replace(s, **self.overrides)

    def ecg(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        t = t0 + np.arange(n) / rate_hz
        return (1.2 * np.sin(2 * np.pi * 1.1 * t)).astype(np.float32)

    def pleth(self, t0: float, n: int, rate_hz: float) -> np.ndarray:
        t = t0 + np.arange(n) / rate_hz
        return (0.5 + 0.4 * np.sin(2 * np.pi * 1.1 * t)).astype(np.float32)


class Loop:
    """Runs a session against a simulator; scenario time = monotonic time - 100."""

    def __init__(self, scenario=None, **sim_kwargs) -> None:
        self.scenario = scenario or SmallScenario()
        self.sim = IntelliVueSimulator(self.scenario, start_wall=START, **sim_kwargs)
        self.ses = IntelliVueSession()
        self.t = 0.0
        self.readings = []
        self.link_up = True
        self.ses.connected(self.now)

    @property
    def now(self) -> float:
        return 100.0 + self.t

    def run(self, seconds: float) -> list:
        got = []
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.t = round(self.t + STEP, 6)
            self.ses.tick(self.now)
            to_sim = self.ses.outgoing()
            if self.link_up:
                self.sim.receive(to_sim, self.t)
            self.sim.tick(self.t)
            to_host = self.sim.outgoing()
            if self.link_up:
                got += self.ses.receive(to_host, self.now)
        self.readings += got
        return got


def scenario_time(r) -> float:
    return (r.device_time - START).total_seconds()


def test_public_names_fit_the_contracts():
    assert issubclass(IntelliVueSession, DeviceSession)
    assert issubclass(IntelliVueSimulator, Simulator)
    ses = IntelliVueSession()
    assert ses.protocol == "intellivue" and ses.baudrate == 115200
    assert 2.0 <= ses.silent_after <= 10.0
    assert IntelliVueSimulator(SmallScenario()).baudrate == 115200


def test_associates_answers_the_mds_event_and_delivers_numerics():
    loop = Loop()
    got = loop.run(6.0)
    assert loop.ses.state is State.ASSOCIATED
    assert loop.sim.associations == 1 and loop.sim.mds_confirmed
    assert loop.sim.aborts_sent == 0
    numerics = [r for r in got if r.samples is None
                and r.code not in ("DEVICE_ALARM", "DEVICE_PATIENT")]
    codes = {r.code for r in numerics}
    assert codes == {"HR", "PR", "SPO2", "PI", "RR", "ETCO2", "TEMP",
                     "NBP_SYS", "NBP_DIA", "NBP_MEAN"}
    # the monitor's alert list (nothing to alarm about) and its admitted patient (none)
    (alerts,) = [r for r in got if r.code == "DEVICE_ALARM"]
    assert alerts.extra["device_alarms"] == () and alerts.value is None
    (patient,) = [r for r in got if r.code == "DEVICE_PATIENT"]
    assert patient.value is None
    hr = [r for r in numerics if r.code == "HR"]
    assert 5 <= len(hr) <= 7  # about one a second
    sc = loop.scenario
    resolution = {"HR": 0.5, "PR": 0.5, "SPO2": 0.5, "PI": 0.005, "RR": 0.5, "ETCO2": 0.5,
                  "TEMP": 0.05}
    for r in numerics:
        assert r.quality == frozenset() and r.usable
        if r.code in resolution:
            state = sc.state(scenario_time(r))
            want = {"HR": state.hr, "PR": state.pr, "SPO2": state.spo2, "PI": state.pi,
                    "RR": state.rr, "ETCO2": state.etco2, "TEMP": state.temp}[r.code]
            assert r.value == pytest.approx(want, abs=resolution[r.code] + 1e-9), r.code
    assert loop.ses.stats.frames_rejected == 0


def test_nbp_arrives_as_three_codes_with_its_measurement_time():
    loop = Loop()
    got = loop.run(3.0)
    nbp = {r.code: r for r in got if r.code.startswith("NBP_")}
    assert {k: v.value for k, v in nbp.items()} == {
        "NBP_SYS": 121, "NBP_DIA": 78, "NBP_MEAN": 92,
    }
    assert all(r.unit == "mmHg" for r in nbp.values())
    # the measurement completed at scenario time 1.5 s; AbsoluteTime has 1 s resolution
    assert nbp["NBP_SYS"].device_time == START + timedelta(seconds=1)


def test_no_nbp_until_one_was_measured():
    loop = Loop(SmallScenario(nbp_sys=None, nbp_dia=None, nbp_mean=None, nbp_time=None))
    assert not [r for r in loop.run(3.0) if r.code.startswith("NBP")]


def test_waves_arrive_continuously_at_the_real_sample_rates():
    loop = Loop()
    loop.run(1.0)  # association and the first wave context
    got = loop.run(8.0)
    for code, rate in (("ECG", 500.0), ("PLETH", 125.0)):
        blocks = [r for r in got if r.code == code]
        assert blocks and all(r.rate_hz == rate for r in blocks)
        assert all(r.samples.dtype == np.float32 for r in blocks)
        # back to back: each block starts where the previous one ended
        for a, b in zip(blocks, blocks[1:], strict=False):
            assert scenario_time(b) == pytest.approx(scenario_time(a) + len(a.samples) / rate,
                                                     abs=1e-3)
        total = sum(len(r.samples) for r in blocks)
        assert total == pytest.approx(8.0 * rate, abs=0.26 * rate)
    ecg = [r for r in got if r.code == "ECG"]
    lsb = 20.48 / 4095
    for r in ecg[:5]:
        want = loop.scenario.ecg(scenario_time(r), len(r.samples), 500.0)
        np.testing.assert_allclose(r.samples, want, atol=lsb)
    assert ecg[0].unit == "mV"
    pleth = [r for r in got if r.code == "PLETH"][0]
    want = loop.scenario.pleth(scenario_time(pleth), len(pleth.samples), 125.0)
    np.testing.assert_allclose(pleth.samples, want, atol=1 / 4095)


def test_wave_stream_survives_renewals_without_gaps():
    loop = Loop()
    loop.run(1.0)
    got = loop.run(3 * IntelliVueSession.WAVE_RENEW_S + 1)
    ecg = [r for r in got if r.code == "ECG"]
    span = scenario_time(ecg[-1]) + len(ecg[-1].samples) / 500 - scenario_time(ecg[0])
    assert sum(len(r.samples) for r in ecg) == pytest.approx(span * 500, abs=1)


def test_unavailable_values_and_sensor_off_show_in_quality():
    loop = Loop(SmallScenario(spo2=None, pr=None, pi=None, temp=None, sensor_off=True))
    got = loop.run(3.0)
    last = {r.code: r for r in got if r.samples is None}
    for code in ("SPO2", "PR", "PI"):
        assert last[code].value is None and not last[code].usable
        assert {Quality.INVALID, Quality.UNAVAILABLE} <= last[code].quality
    assert last["TEMP"].value is None and last["TEMP"].quality == {Quality.UNAVAILABLE}
    assert last["HR"].usable


def test_motion_marks_oximetry_questionable():
    loop = Loop(SmallScenario(motion=True))
    last = {r.code: r for r in loop.run(3.0)}
    assert last["SPO2"].quality == {Quality.QUESTIONABLE} and last["SPO2"].usable
    assert last["HR"].quality == frozenset()


def test_large_replies_come_as_linked_results_and_still_decode():
    loop = Loop(max_mtu=300)
    seen = []
    orig = loop.ses.decoder.take_events

    def spy():
        events = orig()
        seen.extend(events)
        return events

    loop.ses.decoder.take_events = spy
    got = loop.run(4.0)
    assert any(getattr(e, "linked", None) for e in seen)
    assert {"HR", "SPO2", "NBP_SYS", "ECG", "PLETH"} <= {r.code for r in got}
    assert loop.ses.stats.frames_rejected == 0


def test_reassociates_after_the_monitor_forgets_the_association():
    loop = Loop()
    loop.run(5.0)
    loop.sim.reset()  # cable unplugged and back: the monitor has forgotten us
    loop.run(IntelliVueSession.REASSOCIATE_AFTER_S + 4.0)
    assert loop.sim.associations == 2
    assert loop.ses.associations == 2
    assert loop.ses.state is State.ASSOCIATED
    tail = loop.run(3.0)
    assert {"HR", "ECG"} <= {r.code for r in tail}


def test_reassociates_after_the_monitor_aborts():
    loop = Loop()
    loop.run(3.0)
    loop.link_up = False  # host messages lost for longer than the association timeout
    loop.run(11.0)
    assert loop.sim.aborts_sent == 1
    loop.link_up = True
    loop.run(IntelliVueSession.REASSOCIATE_AFTER_S + 5.0)
    assert loop.ses.state is State.ASSOCIATED and loop.sim.associated
    assert {"HR", "ECG"} <= {r.code for r in loop.run(3.0)}


def test_release_on_closing():
    loop = Loop()
    loop.run(3.0)
    loop.ses.closing()
    assert loop.ses.state is State.RELEASING
    loop.run(0.5)
    assert loop.sim.releases == 1 and not loop.sim.associated
    assert loop.ses.state is State.IDLE


def test_disconnected_resets_and_connected_associates_again():
    loop = Loop()
    loop.run(2.0)
    loop.ses.disconnected()
    assert loop.ses.state is State.IDLE and loop.ses.outgoing() == b""
    loop.sim.reset()
    loop.ses.connected(loop.now)
    loop.run(2.0)
    assert loop.sim.associations == 2 and loop.ses.state is State.ASSOCIATED


# --- the session's side of the dialog, message by message --------------------------------


def host_messages(ses: IntelliVueSession) -> list[bytes]:
    return FrameReader().feed(ses.outgoing())


def test_connected_sends_the_association_request_with_waves_and_1s_numerics():
    ses = IntelliVueSession()
    ses.connected(0.0)
    (msg,) = host_messages(ses)
    assert msg[0] == 0x0D
    info = parse_assoc_user_info(msg)
    assert info.protocol_version == 0x80000000 and info.nomenclature_version == 0x40000000
    assert info.poll_ext_options & 0x80000000 and info.poll_ext_options & 0x08000000


def test_mds_create_event_is_confirmed_at_once_with_the_same_invoke_id():
    sim = IntelliVueSimulator(SmallScenario(), start_wall=START)
    ses = IntelliVueSession()
    ses.connected(0.0)
    sim.receive(ses.outgoing(), 0.0)
    ses.receive(sim.outgoing(), 0.01)  # association response + MDS create event
    msgs = [parse_message(m) for m in host_messages(ses) if m[0] == 0xE1]
    results = [m for m in msgs if m.ro_type == C.RORS_APDU]
    assert len(results) == 1
    assert results[0].invoke_id == sim._mds_invoke
    assert results[0].command_type == C.CMD_CONFIRMED_EVENT_REPORT
    assert results[0].event_type == C.NOM_NOTI_MDS_CREAT
    polls = [m.poll_request for m in msgs if m.poll_request]
    assert {p.obj_code: p.extended for p in polls} == {
        C.NOM_MOC_VMO_METRIC_NU: True, C.NOM_MOC_VMO_METRIC_SA_RT: True,
        C.NOM_MOC_VMO_AL_MON: False, 0x002A: False}  # alert monitor, patient demographics


def test_unanswered_mds_event_is_repeated_with_the_same_invoke_id_then_aborted():
    sim = IntelliVueSimulator(SmallScenario(), start_wall=START)
    ses = IntelliVueSession()
    ses.connected(0.0)
    sim.receive(ses.outgoing(), 0.0)
    dec = IntelliVueDecoder()
    t = 0.0
    while t < 10.0:
        t += 0.1
        sim.tick(t)
        dec.feed(sim.outgoing())
    events = dec.take_events()
    mds = [e for e in events if isinstance(e, MdsCreated)]
    assert len(mds) == 3 and len({e.invoke_id for e in mds}) == 1
    assert isinstance(events[-1], AssociationAborted)


def test_refusal_waits_then_asks_again():
    ses = IntelliVueSession()
    ses.connected(0.0)
    ses.outgoing()
    ses.receive(encode_frame(REFUSE), 0.1)
    ses.tick(5.0)
    assert ses.outgoing() == b""  # not hammering a monitor that said no
    ses.tick(0.1 + IntelliVueSession.REFUSED_RETRY_S)
    # an abort first ends whatever association the monitor may still hold for us
    assert [m[0] for m in host_messages(ses)] == [0x19, 0x0D]


def test_keep_alive_when_nothing_else_is_sent():
    loop = Loop(waves=False)
    loop.run(1.0)
    loop.ses.NUMERIC_POLL_S = 3600.0  # numerics polling paused: the association must not lapse
    loop.run(1.0)
    sent = []
    for _ in range(int(5 / STEP)):
        loop.t = round(loop.t + STEP, 6)
        loop.ses.tick(loop.now)
        out = loop.ses.outgoing()
        sent += FrameReader().feed(out)
        loop.sim.receive(out, loop.t)
        loop.sim.tick(loop.t)
        loop.ses.receive(loop.sim.outgoing(), loop.now)
    polls = [parse_message(m).poll_request for m in sent if m[0] == 0xE1]
    keepalive = [p for p in polls if p and p.obj_code == C.NOM_MOC_VMO_AL_MON]
    assert keepalive and not keepalive[0].extended
    assert keepalive[0].attr_grp == 0x0801  # NOM_ATTR_GRP_AL_MON: the alarm lists
    assert loop.sim.associated and loop.sim.aborts_sent == 0


def test_a_capture_of_the_monitor_side_decodes_offline():
    """What `nursestation decode --protocol intellivue capture.bin` does with a raw capture."""
    loop = Loop()
    capture = bytearray()
    orig = loop.sim.outgoing

    def tap() -> bytes:
        data = orig()
        capture.extend(data)
        return data

    loop.sim.outgoing = tap
    live = loop.run(4.0)
    decoder = make_decoder()
    offline = []
    for i in range(0, len(capture), 37):  # in odd-sized pieces
        offline += decoder.feed(bytes(capture[i : i + 37]))
    assert [(r.code, r.value) for r in offline] == [(r.code, r.value) for r in live]
    assert decoder.stats.frames_rejected == 0


def test_steady_scenario_from_core_if_available():
    try:
        from nursestation.sim.scenarios import get_scenario

        scenario = get_scenario("steady", 1)
        scenario.state(0.0)
        scenario.ecg(0.0, 4, 500.0)
    except Exception as exc:  # noqa: BLE001 - another engineer's work in progress
        pytest.skip(f"steady scenario not usable yet: {exc}")
    loop = Loop(scenario)
    got = loop.run(4.0)
    hr = [r for r in got if r.code == "HR"]
    assert hr
    for r in hr:
        want = scenario.state(scenario_time(r)).hr
        if want is None:
            assert r.value is None
        else:
            assert r.value == pytest.approx(want, abs=0.5)
    assert any(r.code == "ECG" and r.rate_hz == 500.0 for r in got)
    assert not any(r.value is not None and isinstance(r.value, float)
                   and math.isnan(r.value) for r in got)


class LinkPacedLoop(Loop):
    """Ticks the session the way the link does: after data arrived, and otherwise only when its
    ``next_tick`` has come (the link sleeps in between)."""

    def __init__(self, *, waves: bool = True, **kw) -> None:
        super().__init__(**kw)
        self.ses = IntelliVueSession(waves=waves)  # (nothing reached the monitor yet)
        self.ses.connected(self.now)
        self.timer_wakes = 0  # wakes for the session's timers alone, without data
        self._data = False

    def run(self, seconds: float) -> list:
        got = []
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.t = round(self.t + STEP, 6)
            due = self.ses.next_tick(self.now)
            if self._data or (due is not None and self.now >= due):
                self.ses.tick(self.now)
                self.timer_wakes += not self._data
            self.sim.receive(self.ses.outgoing(), self.t)
            self.sim.tick(self.t)
            to_host = self.sim.outgoing()
            self._data = bool(to_host)
            got += self.ses.receive(to_host, self.now)
        self.readings += got
        return got


@pytest.mark.parametrize("waves", [True, False])
def test_ticked_only_when_it_asks_the_session_keeps_numerics_coming_every_second(waves):
    loop = LinkPacedLoop(waves=waves)
    got = loop.run(30.0)
    assert loop.ses.state is State.ASSOCIATED and loop.sim.associations == 1
    hr = [r for r in got if r.code == "HR"]
    assert 27 <= len(hr) <= 31  # still about one a second, not one every 1.3 s
    gaps = [scenario_time(b) - scenario_time(a) for a, b in zip(hr, hr[1:], strict=False)]
    assert max(gaps) <= 1.0 + IntelliVueSession.POLL_SLACK_S + 2 * STEP
    if waves:
        ecg = [r for r in got if r.code == "ECG"]
        assert sum(r.samples.size for r in ecg) >= 29 * 500
    # The link wakes for the timers alone rarely: with waves streaming the polls ride on the
    # data; without, about once a second (it was ten times a second).
    assert loop.timer_wakes <= (10 if waves else 35)


def test_next_tick_follows_the_dialog_state():
    ses = IntelliVueSession()
    assert ses.next_tick(0.0) is None  # nothing to time before the port opens
    ses.connected(10.0)
    assert ses.next_tick(10.0) == pytest.approx(10.0 + ses.ASSOC_RETRY_S)
    ses.closing()
    assert ses.next_tick(11.0) is None
