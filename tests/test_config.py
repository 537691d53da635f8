"""Recovery settings (issue 7): the idempotency and webhook leases and the webhook timeout are read from the
environment, and values that would break recovery are refused with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from leadhub.config import Settings, SettingsError
from leadhub.webhooks.dispatcher import Options
from tests.conftest import ENGINE

LEADHUB = str(Path(sys.executable).parent / "leadhub")
RECOVERY = ("LEADHUB_IDEMPOTENCY_LEASE_SECONDS", "LEADHUB_WEBHOOK_LEASE_SECONDS", "LEADHUB_WEBHOOK_TIMEOUT_SECONDS")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment, without any recovery setting the caller's shell may carry."""
    for name in RECOVERY:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_leases_default_to_a_minute_and_the_webhook_timeout_to_ten_seconds(env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert settings.idempotency_lease == timedelta(seconds=60)
    assert settings.webhook_lease == timedelta(seconds=60)
    assert settings.webhook_timeout_seconds == 10


def test_leases_and_timeout_are_read_from_the_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("LEADHUB_IDEMPOTENCY_LEASE_SECONDS", "3")
    env.setenv("LEADHUB_WEBHOOK_LEASE_SECONDS", "4.5")
    env.setenv("LEADHUB_WEBHOOK_TIMEOUT_SECONDS", " 2.5 ")
    settings = Settings.from_env()
    assert settings.idempotency_lease == timedelta(seconds=3)
    assert settings.webhook_lease == timedelta(seconds=4.5)
    assert settings.webhook_timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("LEADHUB_IDEMPOTENCY_LEASE_SECONDS", "soon", "must be a number of seconds, got 'soon'"),
        ("LEADHUB_IDEMPOTENCY_LEASE_SECONDS", "nan", "must be a finite number of seconds"),
        ("LEADHUB_IDEMPOTENCY_LEASE_SECONDS", "0", "must be at least 1 second, got 0"),
        ("LEADHUB_IDEMPOTENCY_LEASE_SECONDS", "-5", "must be at least 1 second, got -5"),
        ("LEADHUB_WEBHOOK_LEASE_SECONDS", "1m", "must be a number of seconds, got '1m'"),
        ("LEADHUB_WEBHOOK_LEASE_SECONDS", "inf", "must be a finite number of seconds"),
        ("LEADHUB_WEBHOOK_TIMEOUT_SECONDS", "0", "must be at least 0.1 seconds, got 0"),
        ("LEADHUB_WEBHOOK_TIMEOUT_SECONDS", "ten", "must be a number of seconds, got 'ten'"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(
    env: pytest.MonkeyPatch, name: str, value: str, complaint: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert str(refused.value).startswith(f"{name} ") and complaint in str(refused.value)


@pytest.mark.parametrize(("lease", "timeout"), [("5", "10"), ("10", "10"), ("10.5", "10"), ("2", "1.5")])
def test_a_webhook_lease_not_exceeding_the_timeout_by_a_second_is_refused(
    env: pytest.MonkeyPatch, lease: str, timeout: str
) -> None:
    env.setenv("LEADHUB_WEBHOOK_LEASE_SECONDS", lease)
    env.setenv("LEADHUB_WEBHOOK_TIMEOUT_SECONDS", timeout)
    with pytest.raises(SettingsError, match=r"LEADHUB_WEBHOOK_LEASE_SECONDS .* must exceed LEADHUB_WEBHOOK_TIMEOUT"):
        Settings.from_env()


def test_a_webhook_lease_a_second_above_the_timeout_is_accepted(env: pytest.MonkeyPatch) -> None:
    env.setenv("LEADHUB_WEBHOOK_LEASE_SECONDS", "3")
    env.setenv("LEADHUB_WEBHOOK_TIMEOUT_SECONDS", "2")
    assert Settings.from_env().webhook_lease == timedelta(seconds=3)


def test_the_dispatcher_refuses_a_lease_its_requests_could_outlive() -> None:
    # Options built in code (tests, embedding) get the same guard as the settings.
    with pytest.raises(ValueError, match=r"lease \(10 s\) must exceed the request timeout \(10 s\)"):
        Options(lease=timedelta(seconds=10), timeout_seconds=10)
    assert Options(lease=timedelta(seconds=11), timeout_seconds=10).lease == timedelta(seconds=11)


@pytest.mark.skipif(ENGINE != "sqlite", reason="engine-independent: runs once, in the SQLite run")
@pytest.mark.parametrize(
    ("command", "setting", "complaint"),
    [
        (
            ("serve",),
            {"LEADHUB_IDEMPOTENCY_LEASE_SECONDS": "0.5"},
            "LEADHUB_IDEMPOTENCY_LEASE_SECONDS must be at least",
        ),
        (("worker",), {"LEADHUB_WEBHOOK_LEASE_SECONDS": "abc"}, "LEADHUB_WEBHOOK_LEASE_SECONDS must be a number"),
        (("worker", "--timeout", "59.5"), {}, "the lease (60 s, --lease-seconds or LEADHUB_WEBHOOK_LEASE_SECONDS)"),
    ],
)
def test_serve_and_worker_refuse_to_start_with_a_bad_lease(
    tmp_path: Path, command: tuple[str, ...], setting: dict[str, str], complaint: str
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LEADHUB_")}
    environment |= {"LEADHUB_DATA_DIR": str(tmp_path), "COLUMNS": "200", **setting}
    done = subprocess.run([LEADHUB, *command], env=environment, capture_output=True, text=True, timeout=60)
    printed = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2, printed
    assert complaint in printed and "Traceback" not in printed
    assert not (tmp_path / "leadhub.db").exists(), "started (created the database) despite the bad setting"
