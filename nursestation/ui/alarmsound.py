"""Audible alarm signals: one distinct burst per priority, generated here, played on a loop.

The waveforms are plain numpy (no Qt), so their shape can be tested without a sound card:

* **high** — two sets of five pulses (each set grouped 3 + 2), repeated every 6 s;
* **medium** — three pulses, repeated every 8 s;
* **low** — one pulse, repeated every 20 s.

Every pulse is a tone whose fundamental lies in 150–1000 Hz with four harmonics in 300–4000 Hz,
each within 15 dB of the fundamental, and a smooth rise and fall so it never clicks. Source for
the ranges: IEC 60601-1-8 as summarised in CLINICAL.md §3 (pulse fundamental and harmonics;
5+5 / 3 / 1 beeps). The pulse durations, spacings and repeat intervals below are this module's
choice inside the ranges the standard's burst table is commonly quoted with (high pulses
75–200 ms spaced 50–125 ms, repeated every 2.5–15 s; medium and low pulses 125–250 ms spaced
125–250 ms, medium repeated every 2.5–30 s, low over 15 s or not at all) — unknown: verify against
the standard's own table before a regulatory submission.

:class:`AlarmSoundPlayer` is the only Qt part. It loops the pattern it is told to sound (the
station passes the highest pattern the chairs' alarm engines ask for) and stops on ``None``. It is
*muted* — it never imports QtMultimedia nor opens an audio device — when ``NURSESTATION_MUTE=1``
(the tests set it) or when no audio backend is available; it still records what it would play in
:attr:`AlarmSoundPlayer.current`, so tests and the status bar can see it. Why it is muted is kept
twice: in a nurse's words (:attr:`~AlarmSoundPlayer.mute_reason`, on screen) and for IT
(:attr:`~AlarmSoundPlayer.mute_detail`: the setting or library error, in the log and the status
bar's tooltip).
"""

from __future__ import annotations

import logging
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from nursestation.core.alarms import PRIORITY_NAMES

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050  # Hz: the highest harmonic (~2.6 kHz) is far below Nyquist
PATTERNS = PRIORITY_NAMES  # one sound pattern a priority
#: Loudest sample, as a fraction of full scale (the system volume sets the real level).
PEAK = 0.6
#: Relative amplitudes of the fundamental and its harmonics 2..5 (−3 to −10.5 dB).
HARMONICS = (1.0, 0.7, 0.5, 0.4, 0.3)


@dataclass(frozen=True)
class BurstSpec:
    """One priority's burst: which pulses, how they sound, how often the burst repeats."""

    priority: str
    fundamental_hz: float
    pulse_s: float  # one pulse, including its rise and fall
    spacing_s: float  # silence between two pulses of a group
    groups: tuple[int, ...]  # pulses per group, in order
    group_gaps_s: tuple[float, ...]  # silence after each group but the last
    repeat_s: float  # from the start of one burst to the start of the next
    ramp_s: float = 0.02  # rise and fall (raised cosine)

    def pulse_starts(self) -> list[float]:
        """Start time (s) of each pulse within the burst."""
        starts: list[float] = []
        t = 0.0
        for i, n in enumerate(self.groups):
            for k in range(n):
                starts.append(t)
                t += self.pulse_s + (self.spacing_s if k < n - 1 else 0.0)
            if i < len(self.groups) - 1:
                t += self.group_gaps_s[i]
        return starts

    @property
    def pulses(self) -> int:
        return sum(self.groups)

    @property
    def burst_s(self) -> float:
        return self.pulse_starts()[-1] + self.pulse_s


# High: 3 + 2 pulses, a pause, 3 + 2 pulses (the "two sets of five" of a bedside monitor).
BURSTS: dict[str, BurstSpec] = {
    "high": BurstSpec("high", fundamental_hz=523.25, pulse_s=0.15, spacing_s=0.10,
                      groups=(3, 2, 3, 2), group_gaps_s=(0.30, 0.60, 0.30), repeat_s=6.0),
    "medium": BurstSpec("medium", fundamental_hz=440.0, pulse_s=0.20, spacing_s=0.18,
                        groups=(3,), group_gaps_s=(), repeat_s=8.0),
    "low": BurstSpec("low", fundamental_hz=392.0, pulse_s=0.20, spacing_s=0.18,
                     groups=(1,), group_gaps_s=(), repeat_s=20.0),
}


def pulse(spec: BurstSpec, rate: int = SAMPLE_RATE) -> np.ndarray:
    """One pulse: the fundamental and its harmonics under a raised-cosine rise and fall."""
    n = round(spec.pulse_s * rate)
    t = np.arange(n) / rate
    tone = np.zeros(n)
    for k, amp in enumerate(HARMONICS, start=1):
        tone += amp * np.sin(2 * np.pi * k * spec.fundamental_hz * t)
    ramp = max(1, round(spec.ramp_s * rate))
    env = np.ones(n)
    edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    env[:ramp] = edge
    env[n - ramp:] = edge[::-1]
    out = tone * env
    return out / np.max(np.abs(out))


def burst(priority: str, rate: int = SAMPLE_RATE, *, with_repeat: bool = True) -> np.ndarray:
    """The priority's burst as float samples in [-PEAK, PEAK]; with the silence up to the next
    repetition when ``with_repeat`` (so looping the result repeats at ``repeat_s``)."""
    spec = BURSTS[priority]
    p = pulse(spec, rate) * PEAK
    total = spec.repeat_s if with_repeat else spec.burst_s
    out = np.zeros(round(total * rate))
    for start in spec.pulse_starts():
        i = round(start * rate)
        out[i:i + p.size] += p
    return out


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Mono 16-bit PCM WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_pcm16(samples))
    os.replace(tmp, path)
    return path


def write_patterns(directory: Path) -> dict[str, Path]:
    """Write one looping WAV per priority into ``directory``; return their paths."""
    return {p: write_wav(directory / f"alarm-{p}.wav", burst(p)) for p in PATTERNS}


def muted_by_environment() -> bool:
    return os.environ.get("NURSESTATION_MUTE", "").strip() not in ("", "0")


class AlarmSoundPlayer(QObject):
    """Loops the burst of the pattern it is given; ``None`` is silence.

    ``muted`` (default: ``NURSESTATION_MUTE`` set) keeps every audio device closed: the player
    only remembers :attr:`current`. Without QtMultimedia or an audio output the player mutes
    itself and says why in :attr:`mute_reason`.
    """

    #: the pattern to sound changed: "high" / "medium" / "low" / "" (silence)
    pattern_changed = Signal(str)

    def __init__(self, parent: QObject | None = None, *, muted: bool | None = None,
                 directory: Path | None = None, volume: float = 1.0) -> None:
        super().__init__(parent)
        self.current: str | None = None
        self.muted = muted_by_environment() if muted is None else muted
        #: why there is no sound, in a nurse's words (status bar, alarm window)
        self.mute_reason = "sound turned off in this station's setup" if self.muted else ""
        #: the same for IT: the setting or the library error (log, status bar tooltip)
        self.mute_detail = "NURSESTATION_MUTE is set" if self.muted else ""
        self.volume = volume
        self._directory = directory
        self._effects: dict[str, object] | None = None  # QSoundEffect per pattern, made lazily
        self._playing: object | None = None

    def set_pattern(self, pattern: str | None) -> None:
        """Sound ``pattern`` on a loop (restarting only when it changes); ``None`` stops."""
        if pattern is not None and pattern not in BURSTS:
            raise ValueError(f"unknown alarm sound pattern {pattern!r}")
        if pattern == self.current:
            return
        self.current = pattern
        self.pattern_changed.emit(pattern or "")
        if self.muted:
            return
        self._stop_playing()
        if pattern is None:
            return
        effects = self._backend()
        if effects is None:
            return
        effect = effects[pattern]
        effect.play()  # type: ignore[attr-defined]
        self._playing = effect

    def stop(self) -> None:
        """Silence, e.g. when the station closes."""
        self.set_pattern(None)

    def probe(self) -> None:
        """Open the audio backend now (not at the first alarm), so the station says from the
        start whether alarms can be heard."""
        if not self.muted:
            self._backend()

    @property
    def sounding(self) -> bool:
        """A pattern is really being played (not muted, something to play)."""
        return not self.muted and self.current is not None

    def audible_text(self) -> str:
        """Exactly what a nurse can hear from this station now."""
        if self.muted:
            would = f"; would sound the {self.current}-priority pattern" if self.current else ""
            return f"Alarm sound OFF — {self.mute_reason}: alarms are visual only{would}"
        if self.current is None:
            return "Alarm sound on: silent"
        return f"Alarm sound on: sounding the {self.current}-priority pattern"

    # -- backend -------------------------------------------------------------------------------
    def _stop_playing(self) -> None:
        if self._playing is not None:
            self._playing.stop()  # type: ignore[attr-defined]
            self._playing = None

    def _mute(self, reason: str, detail: str) -> None:
        self.muted = True
        self.mute_reason = reason
        self.mute_detail = detail
        log.error("alarm sound unavailable, alarms are visual only: %s (%s)", reason, detail)

    def _backend(self) -> dict[str, object] | None:
        if self._effects is not None:
            return self._effects
        try:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError as exc:  # PySide6-Addons absent, or no system audio libraries
            self._mute("this computer's sound system did not start (IT: see the log)",
                       f"PySide6.QtMultimedia did not load: {exc}")
            return None
        if not QMediaDevices.audioOutputs():
            self._mute("this computer has no speaker or sound output",
                       "QMediaDevices.audioOutputs() is empty")
            return None
        from nursestation.paths import data_dir

        directory = self._directory or data_dir() / "sounds"
        try:
            paths = write_patterns(directory)
        except OSError as exc:
            self._mute("the alarm sounds could not be prepared (IT: see the log)",
                       f"cannot write the alarm sounds to {directory}: {exc}")
            return None
        effects: dict[str, object] = {}
        for name, path in paths.items():
            effect = QSoundEffect(self)
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setLoopCount(QSoundEffect.Loop.Infinite.value)
            effect.setVolume(self.volume)
            effects[name] = effect
        self._effects = effects
        return effects
