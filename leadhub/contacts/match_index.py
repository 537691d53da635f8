"""The stored side of duplicate detection: each contact's blocking keys (kept current on every write), the
look-up of contacts sharing a key, and the redirect from an absorbed contact id to its survivor.

No service imports here: ``contacts.service`` calls this module on every write and on every id look-up.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, insert, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from leadhub.contacts import dedupe
from leadhub.contacts.dedupe_models import ContactRedirect, MatchKey
from leadhub.contacts.models import Contact, ContactEmail, ContactPhone

# Contacts read per key. A key shared by more contacts than this (a very common name in a huge workspace)
# says little, and reading all of it would make one search cost O(block); the newest ones are compared.
BLOCK_CAP = 50
_CHUNK = 500  # ids per IN (...) list


def profile_of(contact: Contact) -> dedupe.Profile:
    return dedupe.profile(
        str(contact.id),
        first_name=contact.first_name,
        middle_name=contact.middle_name,
        last_name=contact.last_name,
        name=contact.name,
        emails=[e.address for e in contact.emails],
        phones=[p.number for p in contact.phones],
        company_name=contact.company_name,
        website=contact.website,
        date_of_birth=contact.date_of_birth,
        country=contact.country,
    )


async def profiles(
    session: AsyncSession, workspace_id: uuid.UUID, keys: set[uuid.UUID]
) -> dict[uuid.UUID, dedupe.Profile]:
    """Profiles of many contacts read with three plain queries (no ORM objects: a search compares many
    contacts and answers few)."""
    ordered = sorted(keys)
    found: dict[uuid.UUID, dedupe.Profile] = {}
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        emails: dict[uuid.UUID, list[str]] = {}
        phones: dict[uuid.UUID, list[str]] = {}
        for owner, address in await session.execute(
            select(ContactEmail.contact_id, ContactEmail.address)
            .where(ContactEmail.workspace_id == workspace_id, ContactEmail.contact_id.in_(chunk))
            .order_by(ContactEmail.contact_id, ContactEmail.position)
        ):
            emails.setdefault(owner, []).append(address)
        for owner, number in await session.execute(
            select(ContactPhone.contact_id, ContactPhone.number)
            .where(ContactPhone.workspace_id == workspace_id, ContactPhone.contact_id.in_(chunk))
            .order_by(ContactPhone.contact_id, ContactPhone.position)
        ):
            phones.setdefault(owner, []).append(number)
        rows = await session.execute(
            select(
                Contact.id,
                Contact.first_name,
                Contact.middle_name,
                Contact.last_name,
                Contact.name,
                Contact.company_name,
                Contact.website,
                Contact.date_of_birth,
                Contact.country,
            ).where(Contact.workspace_id == workspace_id, Contact.id.in_(chunk))
        )
        for key, first, middle, last, name, company, website, born, country in rows:
            found[key] = dedupe.profile(
                str(key),
                first_name=first,
                middle_name=middle,
                last_name=last,
                name=name,
                emails=emails.get(key, []),
                phones=phones.get(key, []),
                company_name=company,
                website=website,
                date_of_birth=born,
                country=country,
            )
    return found


def keys_of(contact: Contact) -> set[str]:
    """The match keys a contact should be filed under."""
    return dedupe.blocking_keys(profile_of(contact))


# Insert of many ``{"workspace_id", "key", "contact_id"}`` rows (a brand-new contact has none stored yet).
INSERT_KEYS = insert(MatchKey)


async def refresh_keys(session: AsyncSession, contact: Contact) -> None:
    """Make the stored keys of ``contact`` match its current values (call after the row is flushed)."""
    wanted = dedupe.blocking_keys(profile_of(contact))
    stored = set(
        (
            await session.scalars(
                select(MatchKey.key).where(
                    MatchKey.workspace_id == contact.workspace_id, MatchKey.contact_id == contact.id
                )
            )
        ).all()
    )
    if stored - wanted:
        await session.execute(
            delete(MatchKey).where(
                MatchKey.workspace_id == contact.workspace_id,
                MatchKey.contact_id == contact.id,
                MatchKey.key.in_(stored - wanted),
            )
        )
    if wanted - stored:
        await session.execute(
            insert(MatchKey),
            [
                {"workspace_id": contact.workspace_id, "key": k, "contact_id": contact.id}
                for k in sorted(wanted - stored)
            ],
        )


async def sharing_a_key(session: AsyncSession, workspace_id: uuid.UUID, keys: set[str]) -> dict[str, list[uuid.UUID]]:
    """The contacts filed under each of ``keys`` (at most BLOCK_CAP per key, newest first), in one round trip."""
    if not keys:
        return {}
    parts = [
        select(MatchKey.key, MatchKey.contact_id)
        .where(MatchKey.workspace_id == workspace_id, MatchKey.key == key)
        .order_by(MatchKey.contact_id.desc())
        .limit(BLOCK_CAP)
        .subquery()
        .select()
        for key in sorted(keys)
    ]
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    members: dict[str, list[uuid.UUID]] = {}
    for key, contact_id in await session.execute(statement):
        members.setdefault(key, []).append(contact_id)
    return members


def namesakes(members: dict[str, list[uuid.UUID]], name_keys: set[str], a: uuid.UUID, b: uuid.UUID) -> int | None:
    """How many contacts share the name key under which ``a`` and ``b`` meet (the rarest such key)."""
    sizes = [len(members[k]) for k in name_keys if k in members and a in members[k] and b in members[k]]
    return min(sizes) if sizes else None


async def survivor_of(session: AsyncSession, workspace_id: uuid.UUID, key: uuid.UUID) -> uuid.UUID | None:
    """The contact an absorbed id was merged into (one hop: chains are flattened when they form)."""
    return await session.scalar(
        select(ContactRedirect.survivor_id).where(
            ContactRedirect.workspace_id == workspace_id, ContactRedirect.absorbed_id == key
        )
    )
