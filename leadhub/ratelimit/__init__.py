"""Rate limits: token buckets per API key and per workspace, plus a daily workspace quota."""
