"""The clinical model and rules: plain data and pure functions. No Qt, no SQLAlchemy, no I/O."""
