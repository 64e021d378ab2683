"""The generated alarm signals (pure numpy) and the muted player (issue 6: distinct audible
patterns per priority, muted in tests)."""

from __future__ import annotations

import itertools
import sys
import wave

import numpy as np
import pytest

from nursestation.ui import alarmsound
from nursestation.ui.alarmsound import BURSTS, SAMPLE_RATE, AlarmSoundPlayer, burst, pulse


def _pulse_runs(samples: np.ndarray, rate: int = SAMPLE_RATE) -> list[tuple[float, float]]:
    """(start s, end s) of each stretch of sound, from a 5 ms RMS envelope."""
    win = int(0.005 * rate)
    energy = np.convolve(samples ** 2, np.ones(win) / win, mode="same")
    on = np.sqrt(energy) > 0.05 * np.sqrt(energy.max())
    edges = np.flatnonzero(np.diff(on.astype(int)))
    if on[0]:
        edges = np.r_[-1, edges]
    if on[-1]:
        edges = np.r_[edges, on.size - 1]
    return [((a + 1) / rate, (b + 1) / rate) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@pytest.mark.parametrize(("priority", "pulses"), [("high", 10), ("medium", 3), ("low", 1)])
def test_each_priority_has_its_own_number_of_pulses(priority, pulses):
    runs = _pulse_runs(burst(priority))
    assert len(runs) == pulses == BURSTS[priority].pulses
    for start, end in runs:  # every pulse lasts what the spec says (within the ramps)
        assert end - start == pytest.approx(BURSTS[priority].pulse_s, abs=0.03)


def test_high_priority_is_two_sets_of_five():
    runs = _pulse_runs(burst("high"))
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(runs)]
    longest = int(np.argmax(gaps))
    assert longest == 4  # the pause that separates the two sets follows the fifth pulse
    assert gaps[longest] >= 0.35
    assert all(g < gaps[longest] for i, g in enumerate(gaps) if i != longest)


def test_patterns_are_distinct_and_repeat_less_often_as_priority_falls():
    shapes = {p: len(_pulse_runs(burst(p))) for p in BURSTS}
    assert len(set(shapes.values())) == 3
    high, medium, low = (BURSTS[p].repeat_s for p in ("high", "medium", "low"))
    assert 2.5 <= high < medium < low
    assert low > 15
    for p, spec in BURSTS.items():
        assert spec.burst_s < spec.repeat_s  # room for silence before the next burst
        assert burst(p).size == round(spec.repeat_s * SAMPLE_RATE)  # loop = repeat interval


@pytest.mark.parametrize("priority", ["high", "medium", "low"])
def test_pulse_fundamental_and_harmonics(priority):
    spec = BURSTS[priority]
    p = pulse(spec)
    n = 1 << 16
    spectrum = np.abs(np.fft.rfft(p * np.hanning(p.size), n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    db = 20 * np.log10(spectrum / spectrum.max() + 1e-12)

    def level(f: float) -> float:
        band = (freqs > f - 15) & (freqs < f + 15)
        return float(db[band].max())

    # the strongest component is the fundamental, in 150-1000 Hz
    peak = float(freqs[np.argmax(spectrum)])
    assert 150 <= peak <= 1000
    assert peak == pytest.approx(spec.fundamental_hz, abs=2 * SAMPLE_RATE / n + 1)
    fundamental = level(peak)
    harmonics = [k * peak for k in range(2, 12) if 300 <= k * peak <= 4000]
    strong = [f for f in harmonics if abs(level(f) - fundamental) <= 15]
    assert len(strong) >= 4, (priority, [round(level(f) - fundamental, 1) for f in harmonics])
    # and nothing between the harmonics: a clean tone, not noise
    between = (peak * 1.5, peak * 2.5)
    assert level(between[0]) < fundamental - 30
    assert level(between[1]) < fundamental - 30


def test_pulses_rise_and_fall_without_clicks():
    for spec in BURSTS.values():
        p = pulse(spec)
        assert abs(p[0]) < 0.01 and abs(p[-1]) < 0.05
        assert np.max(np.abs(p)) == pytest.approx(1.0)
    assert np.max(np.abs(burst("high"))) <= alarmsound.PEAK + 1e-9


def test_patterns_are_written_as_16_bit_mono_wav(tmp_path):
    paths = alarmsound.write_patterns(tmp_path)
    assert set(paths) == {"high", "medium", "low"}
    for name, path in paths.items():
        with wave.open(str(path), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
            data = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32767
        assert len(_pulse_runs(data)) == BURSTS[name].pulses


def test_player_is_muted_in_tests_and_remembers_the_pattern(qtbot):
    assert alarmsound.muted_by_environment()  # tests/conftest.py sets NURSESTATION_MUTE=1
    had_multimedia = "PySide6.QtMultimedia" in sys.modules
    player = AlarmSoundPlayer()
    seen: list[str] = []
    player.pattern_changed.connect(seen.append)
    assert player.muted and player.current is None
    player.set_pattern("medium")
    player.set_pattern("high")
    player.set_pattern("high")  # no restart for the same pattern
    assert player.current == "high"
    player.set_pattern(None)
    assert player.current is None
    assert seen == ["medium", "high", ""]
    assert player._effects is None  # no audio device was ever opened
    assert ("PySide6.QtMultimedia" in sys.modules) == had_multimedia
    with pytest.raises(ValueError):
        player.set_pattern("loud")


def test_player_without_an_audio_backend_mutes_itself(qtbot, monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_multimedia(name, *args, **kw):
        if name == "PySide6.QtMultimedia":
            raise ImportError("libpulse.so.0: cannot open shared object file")
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_multimedia)
    player = AlarmSoundPlayer(muted=False, directory=tmp_path)
    player.set_pattern("low")
    assert player.muted and "sound system did not start" in player.mute_reason
    assert "libpulse.so.0" in player.mute_detail and "libpulse" not in player.mute_reason
    assert player.current == "low"
    player.set_pattern(None)
    assert player.current is None
