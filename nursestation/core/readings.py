"""The Reading: one value (or one block of wave samples) from one device.

Decoders are pure: they create readings with ``device_time`` when the device gives one; the link
layer stamps ``chair``, ``device_id`` and the receive times before handing a batch on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from nursestation.core.vocabulary import UNUSABLE


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
        if self.samples is not None:
            return {
                "code": self.code,
                "samples": [round(float(s), 4) for s in self.samples],
                "rate_hz": self.rate_hz,
                "unit": self.unit,
                "quality": sorted(self.quality),
                "device_time": self.device_time.isoformat() if self.device_time else None,
            }
        value = self.value
        if isinstance(value, float) and not np.isfinite(value):
            value = None
        return {
            "code": self.code,
            "value": value,
            "unit": self.unit,
            "quality": sorted(self.quality),
            "device_time": self.device_time.isoformat() if self.device_time else None,
        }


#: Where the link layer delivers its batches (called from the reader thread).
BatchSink = Callable[[Sequence[Reading]], None]
