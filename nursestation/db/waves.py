"""Wave chunk encoding: zlib-compressed little-endian float32 samples."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

ENCODING = "zlib-f32le"


def encode(samples: np.ndarray) -> bytes:
    return zlib.compress(np.asarray(samples, dtype="<f4").tobytes(), 6)


def decode(data: bytes, encoding: str = ENCODING) -> np.ndarray:
    if encoding != ENCODING:
        raise ValueError(f"unknown wave encoding {encoding!r}")
    return np.frombuffer(zlib.decompress(data), dtype="<f4").astype(np.float32)


def finish_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    """The insertable row of a chunk being assembled by the writer."""
    samples = np.concatenate(chunk["_parts"]) if len(chunk["_parts"]) > 1 else chunk["_parts"][0]
    row = {k: v for k, v in chunk.items() if not k.startswith("_")}
    row["encoding"] = ENCODING
    row["data"] = encode(samples)
    return row


@dataclass(frozen=True)
class WaveBlock:
    """Decoded samples of one stored chunk."""

    code: str
    start_time: datetime
    rate_hz: float
    samples: np.ndarray
    device_key: str = ""
    quality: str = ""

    @property
    def end_time(self) -> datetime:
        return self.start_time + timedelta(seconds=len(self.samples) / self.rate_hz)

    def times(self) -> np.ndarray:
        """Each sample's time as seconds since the epoch (float64)."""
        return self.start_time.timestamp() + np.arange(len(self.samples)) / self.rate_hz
