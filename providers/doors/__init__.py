"""Doors to models, one folder each (see docs/ARCHITECTURE.md)."""
