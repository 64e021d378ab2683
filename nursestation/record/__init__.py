"""The application layer: every clinical command and the one read model of a visit. No Qt."""
