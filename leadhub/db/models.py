"""Every table, imported once so Alembic and the tests see the whole schema."""

from leadhub.auth.models import ApiKey, Organization, Workspace
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.custom_fields.models import CustomFieldDefinition
from leadhub.db.base import Base
from leadhub.events.models import Event
from leadhub.idempotency.models import IdempotencyKey
from leadhub.webhooks.models import Attempt, Delivery, WebhookEndpoint

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "Attempt",
    "Contact",
    "ContactEmail",
    "ContactPhone",
    "ContactTag",
    "CustomFieldDefinition",
    "Delivery",
    "Event",
    "IdempotencyKey",
    "Organization",
    "WebhookEndpoint",
    "Workspace",
    "metadata",
]
