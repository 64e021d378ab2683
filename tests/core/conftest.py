"""Fixtures shared by the core tests: a fake clock and an alarm engine for chair C1 on the
protocol file's alarm settings."""

from __future__ import annotations

import pytest

from nursestation.core.alarms import AlarmEngine
from nursestation.core.clock import FakeClock
from nursestation.core.protocol import load_protocol
from nursestation.paths import resource_path

ALARM_CFG = load_protocol(resource_path("protocols", "ketamine-iv.toml")).alarms


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def eng(clock):
    return AlarmEngine(ALARM_CFG, clock, "C1")
