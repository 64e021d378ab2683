"""A whole visit through the commands on every backend (SQLite, and PostgreSQL when the server
binaries are present): the commands' transactions, flushes and refusals are the same on both."""

from __future__ import annotations

from tests.record.test_commands import (
    test_a_whole_visit_through_the_commands as whole_visit,
)
from tests.record.test_commands import (
    test_override_given_at_320_does_not_cover_2000_ml_h as override_bound,
)


def test_a_whole_visit_on_each_backend(database, nurse, charge_nurse):
    whole_visit(database, nurse, charge_nurse)


def test_the_override_binding_on_each_backend(database, nurse, charge_nurse):
    override_bound(database, nurse, charge_nurse)
