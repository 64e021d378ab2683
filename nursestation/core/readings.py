"""The Reading: one value (or one block of wave samples) from one device.

Decoders are pure: they create readings with ``device_time`` when the device gives one; the link
layer stamps ``chair``, ``device_id`` and the receive times before handing a batch on.

A reading of a code measured at more than one site or lead (``TEMP`` core / rectal…, ``SPO2``
and ``PR`` left / right / pre- / post-ductal, ``ECG`` lead I / II / V1…) keeps its code and carries
its ``site`` (:class:`nursestation.core.vocabulary.Site`; empty = the device's main site). Which
site stands for the code on a chair — the one rules, tiles and the record use — is decided in one
place, :class:`SitePicker`. The runtime marks the other sites' readings ``primary=False``: they
are recorded with their site and shown labelled with it (trend, printed summary, HL7 OBX-20), and
no rule ever reads them (the record's readers take the primary rows unless asked for all sites).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from nursestation.core.vocabulary import DEFAULT_SITE, SITE_FOLLOWS, SITES, UNUSABLE


@dataclass(slots=True)
class Reading:
    code: str
    value: float | str | None = None  # number, text for PUMP_STATE/PUMP_ALARM/DIAGNOSTIC, None
    unit: str = ""
    quality: frozenset[str] = frozenset()
    device_time: datetime | None = None  # the device's own clock, when it gives one (UTC)
    samples: np.ndarray | None = None  # waves: float32 samples
    rate_hz: float | None = None  # waves: sample rate
    chair: str | None = None
    device_id: str | None = None
    recv_mono: float = 0.0  # time.monotonic() when received
    recv_wall: datetime | None = None  # UTC wall clock when received
    extra: dict = field(default_factory=dict)  # device-specific detail (raw label, bits...)
    #: where it was measured (vocabulary.Site): "" = the device's main site; "rectal", "left",
    #: "V1"... for the other sites and leads (see SitePicker for which one rules use)
    site: str = ""
    #: False: a site other than the one standing for its code on the chair (set by the runtime
    #: from SitePicker when it receives the reading): recorded and shown with its site, never fed
    #: to the live tiles, the alarms or the discharge gate
    primary: bool = True

    @property
    def is_wave(self) -> bool:
        return self.samples is not None

    @property
    def usable(self) -> bool:
        """True when the value may feed a rule (alarm, discharge gate)."""
        return (
            self.value is not None
            and not isinstance(self.value, str)
            and not (self.quality & UNUSABLE)
        )

    def to_json_dict(self) -> dict:
        """The shape `nursestation decode` prints, one per line."""
        out: dict
        if self.samples is not None:
            out = {
                "code": self.code,
                "samples": [round(float(s), 4) for s in self.samples],
                "rate_hz": self.rate_hz,
                "unit": self.unit,
                "quality": sorted(self.quality),
                "device_time": self.device_time.isoformat() if self.device_time else None,
            }
        else:
            value = self.value
            if isinstance(value, float) and not np.isfinite(value):
                value = None
            out = {
                "code": self.code,
                "value": value,
                "unit": self.unit,
                "quality": sorted(self.quality),
                "device_time": self.device_time.isoformat() if self.device_time else None,
            }
        if self.site:
            out["site"] = self.site
        return out


@dataclass(frozen=True, slots=True)
class DeviceAlarm:
    """One alarm or technical condition a device reports itself: an IntelliVue patient alarm or
    INOP, a Masimo alarm or exception bit.

    Devices report them in a ``DEVICE_ALARM`` reading whose ``extra["device_alarms"]`` is the
    *complete* list the device shows now (empty: none), so a condition that is gone simply is no
    longer listed; the reading's value is a one-line summary (None when the list is empty). The
    alarm engine turns each into an alarm of the chair, de-duplicated against the station's own
    rules (see :meth:`nursestation.core.alarms.AlarmEngine.ingest`).
    """

    key: str  # stable identity within the device ("0x4bb8:62" source:code, "exc:0x000010")
    text: str  # as the device words it: "SpO2 NON-PULSATILE", "Interference"
    kind: str  # "physiological" (a patient alarm) or "technical" (an INOP, a sensor problem)
    priority: str  # "high" / "medium" / "low"
    code: str = ""  # the vital sign it is about (SPO2, PR, HR...), when known
    direction: str = ""  # "high" / "low" for a limit alarm, else ""


#: A chosen site that has not reported for this long gives way to another site of its code.
SITE_GIVES_WAY_AFTER_S = 10.0


class SitePicker:
    """Which site stands for each multi-site code on one chair: the one rules, tiles and the
    record use. One instance per chair; not thread-safe (the runtime calls it from its one
    ingest path).

    - A site named in ``configured`` (code -> site, from the chair's ``primary_sites``) is the
      only one used for that code. ``PR``, ``PI`` and ``PLETH`` follow a configured ``SPO2`` site
      unless they are configured themselves.
    - Otherwise the code's default site (vocabulary.DEFAULT_SITE: lead II for the ECG, the
      device's main site for the rest) is used whenever it reports; until it does, the first site
      that reports is used, and it gives way to another site only after it has been silent for
      ``SITE_GIVES_WAY_AFTER_S`` (a bed whose only temperature is Tcore shows Tcore).
    - Codes with one site (HR, NBP, pump...) always pass.
    """

    def __init__(self, configured: Mapping[str, str] | None = None, *,
                 gives_way_after: float = SITE_GIVES_WAY_AFTER_S) -> None:
        self.configured = {str(k): str(v) for k, v in (configured or {}).items()}
        self.gives_way_after = gives_way_after
        self._chosen: dict[str, tuple[str, float]] = {}  # code -> (site, last recv_mono)

    def configured_site(self, code: str) -> str | None:
        if code in self.configured:
            return self.configured[code]
        lead = SITE_FOLLOWS.get(code)
        if lead is not None and lead in self.configured:
            return self.configured[lead]
        return None

    def primary(self, code: str) -> str | None:
        """The site that currently stands for ``code`` (None: none has reported yet)."""
        site = self.configured_site(code)
        if site is not None:
            return site
        chosen = self._chosen.get(code)
        return chosen[0] if chosen else None

    def is_primary(self, r: Reading) -> bool:
        code = str(r.code)
        if code not in SITES:
            return True
        site = r.site or ""
        wanted = self.configured_site(code)
        if wanted is not None:
            return site == wanted
        now = r.recv_mono
        default = str(DEFAULT_SITE.get(code, ""))
        chosen = self._chosen.get(code)
        if chosen is None or site == chosen[0] or site == default \
                or now - chosen[1] > self.gives_way_after:
            self._chosen[code] = (site, now)
            return True
        return False

    def split(self, batch: Sequence[Reading]) -> tuple[list[Reading], list[Reading]]:
        """(readings of the primary sites, readings of the other sites), in batch order; each
        reading's ``primary`` is set to say which."""
        keep: list[Reading] = []
        other: list[Reading] = []
        for r in batch:
            r.primary = self.is_primary(r)
            (keep if r.primary else other).append(r)
        return keep, other


#: Where the link layer delivers its batches (called from the reader thread).
BatchSink = Callable[[Sequence[Reading]], None]
