"""Webhooks: endpoints, the delivery outbox, the dispatcher that signs and posts, retries and replays."""
