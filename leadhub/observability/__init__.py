"""Operations: structured request logs without personal data, Prometheus metrics, optional tracing."""
