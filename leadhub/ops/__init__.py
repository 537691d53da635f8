"""Operations: health and readiness probes, the offline API docs page."""
