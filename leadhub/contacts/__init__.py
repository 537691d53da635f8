"""Contacts: the canonical person (a "lead" in most vendors' words)."""
