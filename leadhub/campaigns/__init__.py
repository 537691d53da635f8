"""Campaigns: an ideal customer profile, prospects scored against it, and their outreach queue."""
