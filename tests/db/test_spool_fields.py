"""A batch spooled during an outage by an older version (before readings carried ``site`` and
``primary``) is stored after the upgrade as its chair's primary site's, not lost to an unset
slot."""

from __future__ import annotations

from nursestation.core.readings import Reading
from nursestation.db.spool import ReadingSpool


def test_a_reading_spooled_without_the_newer_fields_gets_their_defaults(tmp_path):
    old = Reading("SPO2", 97.0, "%", chair="Chair 1", device_id="c1-ox")
    for name in ("site", "primary"):  # what an older version's pickle holds: no such slots
        object.__delattr__(old, name)
    spool = ReadingSpool(tmp_path / "spool", 10_000_000)
    assert spool.put([old, Reading("SPO2", 91.0, "%", site="right", primary=False)], "b1")

    batch = spool.oldest()
    assert batch is not None
    first, second = batch.readings
    assert (first.value, first.site, first.primary) == (97.0, "", True)
    assert (second.value, second.site, second.primary) == (91.0, "right", False)
