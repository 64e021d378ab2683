"""Demo physiology: seeded scenarios of a ketamine visit that the device simulators play, and
the readings they would give. Never used by the clinical rules (core) or the record."""
