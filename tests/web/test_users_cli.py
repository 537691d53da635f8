"""`leadhub users create` and the first-start sign-in hint, as real processes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ENGINE
from tests.test_cli import leadhub

pytestmark = pytest.mark.skipif(ENGINE != "sqlite", reason="engine-independent: runs once, in the SQLite run")


def test_first_start_says_how_to_sign_in_and_users_create_makes_an_account(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = leadhub(data, "init")
    assert re.search(r"\blh_[0-9A-Za-z]{38}\b", first)  # the admin key is still printed
    assert "/app/" in first and "leadhub users create you@example.com --role owner" in first
    created = leadhub(data, "users", "create", "Ann@Example.com", "--role", "owner", "--password", "a long passphrase")
    assert re.search(r"usr_[0-9a-z]{26}\tann@example.com\towner", created)
    refused = leadhub(
        data, "users", "create", "cy@example.com", "--role", "boss", "--password", "a long passphrase", expect=2
    )
    assert "role: must be one of: owner, admin, member, read_only" in refused
