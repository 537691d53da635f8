"""Tenancy and authentication: organizations, workspaces, API keys, scopes, the request principal."""
