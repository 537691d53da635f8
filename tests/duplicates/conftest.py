"""The contact tests' driven clock, for "newest value wins" without sleeping."""

from tests.contacts.conftest import driven_clock

__all__ = ["driven_clock"]
