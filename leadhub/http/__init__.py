"""Door plumbing shared by the native API and every dialect: request context, unit of work with
idempotency, error rendering."""
