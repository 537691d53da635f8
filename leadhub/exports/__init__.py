"""Streamed exports of contacts, companies and deals as CSV or JSON Lines."""
