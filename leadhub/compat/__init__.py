"""Dialects: vendor APIs served over the canonical contact services (see docs/dialects.md)."""
