"""Web-app users: accounts, roles, sessions, saved views."""
