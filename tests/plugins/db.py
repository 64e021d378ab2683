"""Database fixtures (owned by the db layer). Filled in by the db work."""
