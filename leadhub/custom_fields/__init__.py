"""Custom-field definitions per workspace: typed keys that contact values are validated against."""
