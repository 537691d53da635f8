"""Password hashing with Argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).

argon2-cffi's default (RFC 9106's 64 MiB, 3 passes, 4 lanes) took 0.6 s per sign-in on a 2-core server;
these take about 0.1 s, still costly for a guesser. Hashing runs in a worker thread, off the event loop.
``needs_rehash`` upgrades stored hashes when these parameters change."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify(stored: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's: re-hash it on the next sign-in."""
    return _hasher.check_needs_rehash(stored)


@lru_cache(maxsize=1)
def _decoy() -> str:
    return _hasher.hash("leadhub decoy password, never anyone's")


async def verify_decoy(password: str) -> None:
    """Spend as long as a real check does, so an unknown email cannot be told from a wrong password by timing."""
    await asyncio.to_thread(_verify, _decoy(), password)
