"""Tasks: follow-ups on a deal or a contact; overdue is derived from the clock at read time."""
