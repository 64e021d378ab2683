"""Printed session summaries: data model, PDF rendering and the `report` command."""
