"""The event log: an immutable record of every change; audit trail, timeline and webhook outbox."""
