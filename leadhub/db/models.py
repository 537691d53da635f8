"""Every table, imported once so Alembic and the tests see the whole schema."""

from leadhub.auth.models import ApiKey, Organization, Workspace
from leadhub.campaigns.models import Campaign, Prospect
from leadhub.companies.models import Company
from leadhub.contacts.dedupe_models import ContactRedirect, DedupeSettings, MatchKey, NotDuplicate
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone, ContactTag
from leadhub.custom_fields.models import CustomFieldDefinition
from leadhub.db.base import Base
from leadhub.deals.models import Deal
from leadhub.events.models import Event
from leadhub.idempotency.models import IdempotencyKey
from leadhub.imports.models import ImportIssue, ImportJob, ImportMapping, ImportRow
from leadhub.pipelines.models import Pipeline, PipelineStage
from leadhub.privacy.models import Suppression
from leadhub.ratelimit.models import RateLimitBucket, RateLimitPolicy
from leadhub.tasks.models import Task
from leadhub.users.models import SavedView, User, WebSession, WorkspaceMember
from leadhub.webhooks.models import Attempt, Delivery, WebhookEndpoint

metadata = Base.metadata

__all__ = [
    "ApiKey",
    "Attempt",
    "Campaign",
    "Company",
    "Contact",
    "ContactEmail",
    "ContactPhone",
    "ContactRedirect",
    "ContactTag",
    "CustomFieldDefinition",
    "Deal",
    "DedupeSettings",
    "Delivery",
    "Event",
    "IdempotencyKey",
    "ImportIssue",
    "ImportJob",
    "ImportMapping",
    "ImportRow",
    "MatchKey",
    "NotDuplicate",
    "Organization",
    "Pipeline",
    "PipelineStage",
    "Prospect",
    "RateLimitBucket",
    "RateLimitPolicy",
    "SavedView",
    "Suppression",
    "Task",
    "User",
    "WebSession",
    "WebhookEndpoint",
    "Workspace",
    "WorkspaceMember",
    "metadata",
]
