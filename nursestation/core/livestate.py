"""Live state of every chair: latest numerics, NBP, pump, device health, wave rings and trends.

The link layer's reader threads call :meth:`LiveStore.ingest` with their batches (under one
lock; wave samples are copied into numpy rings with slice assignments, never per sample). The
GUI thread reads on its own timer: :meth:`LiveStore.snapshot` gives plain frozen objects with the
*display status* of every value already decided here (live / questionable / unusable / stale /
offline), so the UI never shows an old or flagged number as if it were live, and the rule for
that lives in one place, without Qt. Change counters (``version``, per-wave ``version``) let the
GUI copy only what changed.

Times: ``recv_mono`` (monotonic seconds) for ages and staleness; trends carry epoch seconds
(UTC) so they line up with the database's history of the same visit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np

from nursestation.core.clock import Clock, SystemClock
from nursestation.core.readings import Reading
from nursestation.core.vocabulary import NBP_CODES, NUMERIC_CODES, UNITS, UNUSABLE, Code, Quality

#: A numeric with no update for this long is shown as stale, whatever the protocol.
STALE_AFTER_S = 10.0
#: A device not heard from at all for this long counts as silent (the link reports it too).
SILENT_AFTER_S = 10.0
#: Seconds of wave kept per channel (the sweep shown on tiles and in the detail view).
WAVE_SECONDS = 10.0
#: Trend samples kept per numeric (1 per reading): ~9 h at one reading a second.
TREND_CAPACITY = 32768
#: A gap in a wave longer than this (beyond what the samples cover) is drawn as a gap.
WAVE_GAP_S = 0.5

_PUMP_TEXT = frozenset({Code.PUMP_STATE, Code.PUMP_ALARM})


class Shown(StrEnum):
    """How a value may be shown."""

    LIVE = "live"  # a good, current value
    QUESTIONABLE = "questionable"  # current, but the device doubts it (low perfusion...)
    UNUSABLE = "unusable"  # invalid / unavailable / sensor off: no number to show
    STALE = "stale"  # no update for STALE_AFTER_S: no number to show
    OFFLINE = "offline"  # its device is offline or silent: no number to show
    NONE = "none"  # never received


class DeviceState(StrEnum):
    CONNECTING = "connecting"  # registered, nothing heard yet
    ONLINE = "online"
    SILENT = "silent"  # online, but nothing heard for SILENT_AFTER_S
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class NumericView:
    """One numeric as it may be shown: ``value`` is None unless it is live or questionable."""

    code: str
    value: float | str | None
    unit: str
    shown: Shown
    reason: str = ""  # why it is not live: "sensor off", "Monitor offline: link lost"...
    quality: frozenset[str] = frozenset()
    age_s: float | None = None  # since received
    device_id: str | None = None
    last_value: float | str | None = None  # the last value received, whatever its status

    @property
    def showable(self) -> bool:
        """A number may be displayed (live or questionable)."""
        return self.shown in (Shown.LIVE, Shown.QUESTIONABLE) and self.value is not None


@dataclass(frozen=True, slots=True)
class NbpView:
    sys: float | None
    dia: float | None
    mean: float | None
    shown: Shown
    age_s: float | None  # since the cuff measurement completed
    reason: str = ""
    quality: frozenset[str] = frozenset()
    device_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceView:
    device_id: str
    label: str
    state: DeviceState
    reason: str
    since_s: float  # seconds in this state
    sensor_off: str | None = None  # reason, while the sensor is off
    message: str | None = None  # latest device alarm / diagnostic text


@dataclass(frozen=True, slots=True)
class ChairSnapshot:
    chair: str
    version: int
    now_mono: float
    numerics: dict[str, NumericView]
    nbp: NbpView
    pump_state: NumericView
    pump_alarm: NumericView
    devices: dict[str, DeviceView]
    wave_versions: dict[str, int]
    wave_status: dict[str, tuple[Shown, str]] = field(default_factory=dict)

    def numeric(self, code: str) -> NumericView:
        return self.numerics.get(code) or NumericView(code, None, UNITS.get(code, ""), Shown.NONE)

    @property
    def offline_devices(self) -> list[DeviceView]:
        return [d for d in self.devices.values()
                if d.state in (DeviceState.OFFLINE, DeviceState.SILENT)]


@dataclass(frozen=True, slots=True)
class WaveView:
    """A copy of one wave ring: ``samples[i]`` is the sample written ``write_index`` positions
    ago modulo the ring — i.e. the ring as a sweep display, with its write head at
    ``write_index``. NaN marks gaps and unusable stretches."""

    code: str
    rate_hz: float
    samples: np.ndarray
    write_index: int
    version: int
    shown: Shown
    reason: str = ""
    device_id: str | None = None
    site: str = ""  # the lead or site shown ("II", "V1", "left"...; "" the device's main one)
    #: monotonic time the newest sample (``samples[write_index - 1]``) was received: where a
    #: sweep plays it out from
    last_end: float | None = None
    #: samples written into the ring since it was made (gaps included): two copies whose
    #: counts differ by d < the ring's size differ only in the d samples before
    #: ``write_index``, so a display can redo just those (0: not known)
    written: int = 0


# -- internal mutable state --------------------------------------------------------------------

@dataclass(slots=True)
class _Num:
    value: float | str | None
    unit: str
    quality: frozenset[str]
    recv_mono: float
    device_id: str | None


@dataclass(slots=True)
class _Device:
    label: str
    state: DeviceState
    reason: str
    since: float
    last_seen: float | None = None
    sensor_off: str | None = None
    message: str | None = None


class _Ring:
    __slots__ = ("buf", "device_id", "idx", "last_end", "last_recv", "quality", "rate", "site",
                 "version", "written")

    def __init__(self, rate: float, seconds: float) -> None:
        self.rate = float(rate)
        n = max(16, round(rate * seconds))
        self.buf = np.full(n, np.nan, dtype=np.float32)
        self.idx = 0
        self.last_end: float | None = None  # recv time when the last block ended
        self.last_recv = 0.0
        self.version = 0
        self.device_id: str | None = None
        self.quality: frozenset[str] = frozenset()
        self.site = ""
        self.written = 0

    def write(self, data: np.ndarray) -> None:
        n = self.buf.size
        self.written += data.size
        if data.size >= n:
            data = data[-n:]
            self.buf[:] = np.roll(data, self.idx)  # keep the write head where it was
            return
        end = self.idx + data.size
        if end <= n:
            self.buf[self.idx:end] = data
        else:
            k = n - self.idx
            self.buf[self.idx:] = data[:k]
            self.buf[: end - n] = data[k:]
        self.idx = end % n

    def gap(self, count: int) -> None:
        count = min(count, self.buf.size)
        if count > 0:
            self.write(np.full(count, np.nan, dtype=np.float32))


class _Trend:
    __slots__ = ("n", "start", "t", "v")

    def __init__(self, capacity: int) -> None:
        self.t = np.empty(capacity, dtype=np.float64)
        self.v = np.empty(capacity, dtype=np.float32)
        self.n = 0  # samples written in total
        self.start = 0

    def add(self, t: float, v: float) -> None:
        cap = self.t.size
        i = self.n % cap
        self.t[i] = t
        self.v[i] = v
        self.n += 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        cap = self.t.size
        if self.n <= cap:
            return self.t[: self.n].copy(), self.v[: self.n].copy()
        i = self.n % cap
        return (np.concatenate((self.t[i:], self.t[:i])),
                np.concatenate((self.v[i:], self.v[:i])))


@dataclass(slots=True)
class _Chair:
    name: str
    version: int = 0
    numerics: dict[str, _Num] = field(default_factory=dict)
    nbp_measured: float | None = None  # mono time the current NBP completed
    nbp_key: tuple | None = None
    devices: dict[str, _Device] = field(default_factory=dict)
    waves: dict[str, _Ring] = field(default_factory=dict)
    trends: dict[str, _Trend] = field(default_factory=dict)


class LiveStore:
    """Per-chair live state. ``ingest`` from any thread; ``snapshot``/``wave``/``trend`` from the
    GUI thread (each takes the lock briefly and returns copies)."""

    def __init__(self, clock: Clock | None = None, *, stale_after: float = STALE_AFTER_S,
                 silent_after: float = SILENT_AFTER_S, wave_seconds: float = WAVE_SECONDS,
                 trend_capacity: int = TREND_CAPACITY) -> None:
        self.clock = clock or SystemClock()
        self.stale_after = stale_after
        self.silent_after = silent_after
        self.wave_seconds = wave_seconds
        self.trend_capacity = trend_capacity
        self._lock = threading.Lock()
        self._chairs: dict[str, _Chair] = {}
        self._global_version = 0

    # -- setup ---------------------------------------------------------------------------------
    def register_chair(self, chair: str, devices: dict[str, str] | None = None) -> None:
        """Declare a chair and its devices (id → label such as "Monitor", "Oximeter", "Pump"),
        so a device that never connects shows as connecting rather than not at all."""
        now = self.clock.monotonic()
        with self._lock:
            c = self._chair(chair)
            for dev_id, label in (devices or {}).items():
                if dev_id not in c.devices:
                    c.devices[dev_id] = _Device(label, DeviceState.CONNECTING, "connecting", now)
                else:
                    c.devices[dev_id].label = label
            c.version += 1

    @property
    def chairs(self) -> list[str]:
        with self._lock:
            return list(self._chairs)

    @property
    def version(self) -> int:
        """Bumped by every ingest: nothing to do for the GUI when unchanged."""
        return self._global_version

    def _chair(self, name: str) -> _Chair:
        c = self._chairs.get(name)
        if c is None:
            c = self._chairs[name] = _Chair(name)
        return c

    # -- writing (reader threads) --------------------------------------------------------------
    def ingest(self, batch: Sequence[Reading]) -> None:
        """The link layer's sink: take one batch of readings (any chairs, any devices)."""
        if not batch:
            return
        clock = self.clock
        mono_now = wall_now = 0.0  # read only for a reading the link did not stamp
        last_wall, last_epoch = None, 0.0
        chairs = self._chairs
        with self._lock:
            for r in batch:
                name = r.chair
                if name is None:
                    continue
                c = chairs.get(name) or self._chair(name)
                recv = r.recv_mono
                wall = r.recv_wall
                if (not recv or wall is None) and not mono_now:
                    mono_now, wall_now = clock.monotonic(), clock.now().timestamp()
                recv = recv or mono_now
                if wall is None:
                    epoch = wall_now - (mono_now - recv)
                elif wall is last_wall:  # a link stamps one read's readings with one time
                    epoch = last_epoch
                else:
                    last_wall, last_epoch = wall, wall.timestamp()
                    epoch = last_epoch
                self._ingest_one(c, r, recv, epoch)
            self._global_version += 1

    def _seen(self, c: _Chair, device_id: str | None, recv: float) -> _Device | None:
        if device_id is None:
            return None
        d = c.devices.get(device_id)
        if d is None:
            d = c.devices[device_id] = _Device(device_id, DeviceState.ONLINE, "", recv)
        d.last_seen = recv
        if d.state in (DeviceState.CONNECTING, DeviceState.SILENT):
            # data flowing again is the best evidence it is online (an OFFLINE report from the
            # link stays until the link says ONLINE again)
            d.state, d.reason, d.since = DeviceState.ONLINE, "", recv
        return d

    def _ingest_one(self, c: _Chair, r: Reading, recv: float, epoch: float) -> None:
        code = r.code
        dev_id = r.device_id
        if code == Code.DEVICE_ONLINE or code == Code.DEVICE_OFFLINE:
            d = c.devices.get(dev_id or "?")
            if d is None:
                d = c.devices[dev_id or "?"] = _Device(dev_id or "?", DeviceState.CONNECTING,
                                                       "", recv)
            new = DeviceState.ONLINE if code == Code.DEVICE_ONLINE else DeviceState.OFFLINE
            reason = r.value if isinstance(r.value, str) else ""
            if code == Code.DEVICE_OFFLINE and r.extra.get("health") == "silent":
                new = DeviceState.SILENT
            if d.state != new:
                d.since = recv
            d.state, d.reason = new, reason
            if new != DeviceState.ONLINE:
                d.sensor_off = None
            d.last_seen = recv if new == DeviceState.ONLINE else d.last_seen
            c.version += 1
            return
        d = self._seen(c, dev_id, recv)
        if r.samples is not None:
            self._ingest_wave(c, r, recv)
            return
        if code == Code.SENSOR_OFF:
            if d is not None:
                d.sensor_off = r.value if isinstance(r.value, str) and r.value else "sensor off"
            c.version += 1
            return
        if code in (Code.DEVICE_ALARM, Code.DIAGNOSTIC):
            if d is not None:
                d.message = r.value if isinstance(r.value, str) else None
            c.version += 1
            return
        if code not in NUMERIC_CODES and code not in _PUMP_TEXT:
            return
        value = r.value
        if isinstance(value, float) and not np.isfinite(value):
            value = None
        c.numerics[code] = _Num(value, r.unit or UNITS.get(code, ""), r.quality, recv, dev_id)
        c.version += 1
        if d is not None and d.sensor_off and Quality.SENSOR_OFF not in r.quality \
                and code in (Code.SPO2, Code.PR):
            d.sensor_off = None
        if code in NBP_CODES:
            self._ingest_nbp(c, r, recv, epoch)
        elif code in NUMERIC_CODES:
            v = value if isinstance(value, (int, float)) and r.usable else np.nan
            self._trend(c, code).add(epoch, float(v))

    def _trend(self, c: _Chair, code: str) -> _Trend:
        t = c.trends.get(code)
        if t is None:
            t = c.trends[code] = _Trend(self.trend_capacity)
        return t

    def _ingest_nbp(self, c: _Chair, r: Reading, recv: float, epoch: float) -> None:
        # The measurement time: the device's own time stamp when it is an aware UTC time
        # (converted to our monotonic clock), otherwise when a new value first arrived.
        measured = None
        if r.device_time is not None and r.device_time.tzinfo is not None \
                and r.recv_wall is not None:
            measured = recv - (r.recv_wall - r.device_time).total_seconds()
        sys_ = c.numerics.get(Code.NBP_SYS)
        dia = c.numerics.get(Code.NBP_DIA)
        mean = c.numerics.get(Code.NBP_MEAN)
        key = (
            sys_.value if sys_ else None, dia.value if dia else None,
            mean.value if mean else None,
            round(measured) if measured is not None else None,
        )
        if measured is not None:
            if c.nbp_measured is None or abs(measured - c.nbp_measured) > 0.5:
                c.nbp_measured = measured
                c.nbp_key = None  # a new cuff measurement; the trend sample comes below
        elif key[:3] != (c.nbp_key or (None,) * 4)[:3]:
            c.nbp_measured = recv
        if key != c.nbp_key:
            c.nbp_key = key
            m_epoch = epoch - (recv - (c.nbp_measured if c.nbp_measured is not None else recv))
            for code in (Code.NBP_SYS, Code.NBP_DIA, Code.NBP_MEAN):
                n = c.numerics.get(code)
                tr = self._trend(c, code)
                value = n.value if n is not None and not (n.quality & UNUSABLE) else None
                v = float(value) if isinstance(value, int | float) else np.nan
                if tr.n and tr.t[(tr.n - 1) % tr.t.size] == m_epoch:
                    tr.v[(tr.n - 1) % tr.t.size] = v  # same measurement: update in place
                else:
                    tr.add(m_epoch, v)

    def _ingest_wave(self, c: _Chair, r: Reading, recv: float) -> None:
        rate = float(r.rate_hz or 0.0)
        if rate <= 0:
            return
        ring = c.waves.get(r.code)
        if ring is None or ring.rate != rate:
            ring = c.waves[r.code] = _Ring(rate, self.wave_seconds)
        data = np.asarray(r.samples, dtype=np.float32)
        if r.quality & UNUSABLE:
            data = np.full(data.size, np.nan, dtype=np.float32)
        # A hole in the stream (a dropped link, a pause) is drawn as a hole, not spliced shut.
        if ring.last_end is not None:
            missing = (recv - data.size / rate) - ring.last_end
            if missing > WAVE_GAP_S:
                ring.gap(int(missing * rate))
        ring.write(data)
        ring.last_end = max(recv, (ring.last_end or recv))
        ring.last_recv = recv
        ring.device_id = r.device_id
        ring.quality = r.quality
        ring.site = r.site
        ring.version += 1

    # -- reading (GUI thread) ------------------------------------------------------------------
    def _device_views(self, c: _Chair, now: float) -> dict[str, DeviceView]:
        out = {}
        for dev_id, d in c.devices.items():
            state, reason, since = d.state, d.reason, d.since
            if state == DeviceState.ONLINE and d.last_seen is not None \
                    and now - d.last_seen > self.silent_after:
                state, reason, since = (DeviceState.SILENT,
                                        f"no data for {now - d.last_seen:.0f} s", d.last_seen)
            out[dev_id] = DeviceView(dev_id, d.label, state, reason, max(0.0, now - since),
                                     d.sensor_off, d.message)
        return out

    def _status(self, n: _Num, now: float, devices: dict[str, DeviceView]
                ) -> tuple[Shown, str]:
        dv = devices.get(n.device_id) if n.device_id else None
        if dv is not None and dv.state in (DeviceState.OFFLINE, DeviceState.SILENT):
            why = f": {dv.reason}" if dv.reason else ""
            return Shown.OFFLINE, f"{dv.label} {dv.state.value}{why}"
        if now - n.recv_mono > self.stale_after:
            return Shown.STALE, f"no update for {now - n.recv_mono:.0f} s"
        if n.quality & UNUSABLE or n.value is None:
            flags = sorted(q for q in n.quality if q in UNUSABLE) or ["unavailable"]
            return Shown.UNUSABLE, ", ".join(f.replace("_", " ") for f in flags)
        if Quality.QUESTIONABLE in n.quality:
            extra = sorted(q for q in n.quality
                           if q in (Quality.LOW_PERFUSION, Quality.PULSE_SEARCH))
            return Shown.QUESTIONABLE, ", ".join(e.replace("_", " ") for e in extra) \
                or "questionable"
        return Shown.LIVE, ""

    def _view(self, n: _Num | None, code: str, now: float,
              devices: dict[str, DeviceView]) -> NumericView:
        if n is None:
            return NumericView(code, None, UNITS.get(code, ""), Shown.NONE)
        shown, reason = self._status(n, now, devices)
        return _numeric(code, n, shown, reason, now)

    def snapshot(self, chair: str, now: float | None = None) -> ChairSnapshot:
        """Everything a tile shows for ``chair``, with display status decided at ``now``."""
        now = self.clock.monotonic() if now is None else now
        with self._lock:
            c = self._chairs.get(chair) or _Chair(chair)
            devices = self._device_views(c, now)
            nums: dict[str, NumericView] = {}
            for code, n in c.numerics.items():
                if code in NBP_CODES or code in _PUMP_TEXT:
                    continue
                if code == Code.PUMP_RATE or code == Code.PUMP_VI or code == Code.PUMP_VTBI:
                    # pump values are settings and totals: they do not go stale by time alone
                    # while the pump is online (an Alaris may report them only on change)
                    dv = devices.get(n.device_id) if n.device_id else None
                    if dv is None or dv.state not in (DeviceState.OFFLINE, DeviceState.SILENT):
                        shown, reason = self._status(
                            _Num(n.value, n.unit, n.quality, now, n.device_id), now, devices)
                        nums[code] = _numeric(code, n, shown, reason, now)
                        continue
                nums[code] = self._view(n, code, now, devices)
            nbp = self._nbp_view(c, now, devices)
            pump_state = self._pump_text(c, Code.PUMP_STATE, now, devices)
            pump_alarm = self._pump_text(c, Code.PUMP_ALARM, now, devices)
            waves = {k: w.version for k, w in c.waves.items()}
            wave_status = {k: self._wave_status(w, now, devices) for k, w in c.waves.items()}
            return ChairSnapshot(chair, c.version, now, nums, nbp, pump_state, pump_alarm,
                                 devices, waves, wave_status)

    def chair_version(self, chair: str) -> int:
        """Changes whenever a numeric, NBP, pump or device state of ``chair`` changed (not for
        wave samples, which have their own versions). Cheap: no lock, no copy."""
        c = self._chairs.get(chair)
        return -1 if c is None else c.version

    def wave_version(self, chair: str, code: str) -> int:
        """The version of one wave ring (-1: none): ``wave`` copies it when this changed.
        Cheap: no lock, no copy (a sweep asks every frame)."""
        c = self._chairs.get(chair)
        ring = c.waves.get(code) if c is not None else None
        return -1 if ring is None else ring.version

    def _wave_status(self, ring: _Ring, now: float, devices: dict[str, DeviceView]
                     ) -> tuple[Shown, str]:
        dv = devices.get(ring.device_id) if ring.device_id else None
        if dv is not None and dv.state in (DeviceState.OFFLINE, DeviceState.SILENT):
            return Shown.OFFLINE, f"{dv.label} {dv.state.value}"
        if now - ring.last_recv > self.stale_after:
            return Shown.STALE, f"no data for {now - ring.last_recv:.0f} s"
        if ring.quality & UNUSABLE:
            return Shown.UNUSABLE, ", ".join(sorted(q.replace("_", " ")
                                                    for q in ring.quality & UNUSABLE))
        return Shown.LIVE, ""

    def _pump_text(self, c: _Chair, code: str, now: float,
                   devices: dict[str, DeviceView]) -> NumericView:
        n = c.numerics.get(code)
        if n is None:
            return NumericView(code, None, "", Shown.NONE)
        fresh = _Num(n.value, n.unit, n.quality, now, n.device_id)  # state does not age
        shown, reason = self._status(fresh, now, devices)
        if shown == Shown.UNUSABLE and code == Code.PUMP_ALARM and n.value is None:
            shown, reason = Shown.LIVE, ""  # "no alarm" is a valid state
        return _numeric(code, n, shown, reason, now)

    def _nbp_view(self, c: _Chair, now: float, devices: dict[str, DeviceView]) -> NbpView:
        s = c.numerics.get(Code.NBP_SYS)
        if s is None:
            return NbpView(None, None, None, Shown.NONE, None)
        d = c.numerics.get(Code.NBP_DIA)
        m = c.numerics.get(Code.NBP_MEAN)
        # NBP is intermittent: it is shown with its age instead of going stale; an offline
        # monitor still blanks it (the number may have changed since we lost it).
        fresh = _Num(s.value, s.unit, s.quality | (d.quality if d else frozenset()), now,
                     s.device_id)
        shown, reason = self._status(fresh, now, devices)
        age = None if c.nbp_measured is None else max(0.0, now - c.nbp_measured)
        ok = shown in (Shown.LIVE, Shown.QUESTIONABLE)

        def num(n: _Num | None) -> float | None:
            return n.value if ok and n is not None and isinstance(n.value, (int, float)) \
                else None

        return NbpView(num(s), num(d), num(m), shown, age, reason, fresh.quality, s.device_id)

    def wave(self, chair: str, code: str, since_version: int = -1,
             now: float | None = None) -> WaveView | None:
        """A copy of one wave ring, or None when unchanged since ``since_version`` or absent."""
        now = self.clock.monotonic() if now is None else now
        with self._lock:
            c = self._chairs.get(chair)
            ring = c.waves.get(code) if c else None
            if c is None or ring is None or ring.version == since_version:
                return None
            shown, reason = self._wave_status(ring, now, self._device_views(c, now))
            return WaveView(code, ring.rate, ring.buf.copy(), ring.idx, ring.version, shown,
                            reason, ring.device_id, ring.site, ring.last_end, ring.written)

    def wave_age(self, chair: str, code: str, now: float | None = None) -> float | None:
        now = self.clock.monotonic() if now is None else now
        with self._lock:
            c = self._chairs.get(chair)
            ring = c.waves.get(code) if c else None
            return None if ring is None else now - ring.last_recv

    def trend(self, chair: str, codes: Iterable[str] | None = None
              ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Copies of the trend buffers: code → (epoch seconds, values; NaN = unusable)."""
        with self._lock:
            c = self._chairs.get(chair)
            if c is None:
                return {}
            wanted = c.trends.keys() if codes is None else [k for k in codes if k in c.trends]
            return {k: c.trends[k].arrays() for k in wanted}


def _numeric(code: str, n: _Num, shown: Shown, reason: str, now: float) -> NumericView:
    value = n.value if shown in (Shown.LIVE, Shown.QUESTIONABLE) else None
    return NumericView(code, value, n.unit, shown, reason, n.quality, now - n.recv_mono,
                       n.device_id, n.value)


def wall_to_mono(clock: Clock, when: datetime) -> float:
    """A UTC wall time on the monotonic clock (for timers given as datetimes)."""
    return clock.monotonic() - (clock.now() - when).total_seconds()
