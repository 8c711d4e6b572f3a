"""Settings come from EVENTS_* variables; production refuses unsafe defaults."""

from datetime import date
from pathlib import Path

import pytest

from events_service.settings import Settings, SettingsError, new_signing_key_text


def test_development_needs_no_configuration_and_keeps_its_keys(tmp_path: Path) -> None:
    env = {"EVENTS_DATA_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    second = Settings.from_env(env)

    assert first.environment == "development"
    assert first.database_url == "sqlite://events.db"
    assert len(first.secret_key) >= 32
    assert len(first.signing_key) == 32
    # Restarting must not invalidate tokens or ticket codes already handed out.
    assert (second.secret_key, second.signing_key) == (first.secret_key, first.signing_key)
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_programme_defaults_are_the_base_commitments(tmp_path: Path) -> None:
    targets = Settings.from_env({"EVENTS_DATA_DIR": str(tmp_path)}).targets
    assert (
        targets.talents,
        targets.firms,
        targets.companies,
        targets.projects,
        targets.financed_startups,
    ) == (7200, 300, 200, 30, 20)


def test_values_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "EVENTS_DATA_DIR": str(tmp_path),
            "EVENTS_DATABASE_URL": "postgres://u@db:5432/events",
            "EVENTS_PUBLIC_BASE_URL": "https://events.example.org/",
            "EVENTS_PROGRAMME_START": "2026-03-01",
            "EVENTS_TARGET_TALENTS": "8000",
        }
    )
    assert settings.database_url == "postgres://u@db:5432/events"
    assert settings.public_base_url == "https://events.example.org"
    assert settings.programme_start == date(2026, 3, 1)
    assert settings.targets.talents == 8000


@pytest.mark.parametrize(
    ("missing", "env"),
    [
        ("EVENTS_SECRET_KEY", {"EVENTS_SIGNING_KEY": new_signing_key_text()}),
        ("EVENTS_SECRET_KEY", {"EVENTS_SECRET_KEY": "short", "EVENTS_SIGNING_KEY": "x"}),
        ("EVENTS_SIGNING_KEY", {"EVENTS_SECRET_KEY": "s" * 40}),
        (
            "EVENTS_PERSON_KEY_SECRET",
            {"EVENTS_SECRET_KEY": "s" * 40, "EVENTS_SIGNING_KEY": new_signing_key_text()},
        ),
    ],
)
def test_production_refuses_missing_or_weak_secrets(
    tmp_path: Path, missing: str, env: dict[str, str]
) -> None:
    env = {"EVENTS_ENVIRONMENT": "production", "EVENTS_DATA_DIR": str(tmp_path), **env}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)
    # Production never falls back to generated development keys.
    assert not (tmp_path / "secret_key").exists()


def test_production_starts_with_explicit_secrets(tmp_path: Path) -> None:
    key = new_signing_key_text()
    settings = Settings.from_env(
        {
            "EVENTS_ENVIRONMENT": "production",
            "EVENTS_SECRET_KEY": "k" * 48,
            "EVENTS_SIGNING_KEY": key,
            "EVENTS_PERSON_KEY_SECRET": "p" * 40,
            "EVENTS_DATA_DIR": str(tmp_path),
        }
    )
    assert settings.is_production
    assert settings.secret_key == "k" * 48


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVENTS_ENVIRONMENT", "staging"),
        ("EVENTS_TARGET_TALENTS", "lots"),
        ("EVENTS_TARGET_TALENTS", "-5"),
        ("EVENTS_PROGRAMME_START", "next spring"),
        ("EVENTS_SIGNING_KEY", "not-a-key"),
    ],
)
def test_malformed_values_name_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"EVENTS_DATA_DIR": str(tmp_path), name: value})


def test_secrets_do_not_leak_into_repr(tmp_path: Path) -> None:
    settings = Settings.from_env({"EVENTS_DATA_DIR": str(tmp_path)})
    assert settings.secret_key not in repr(settings)
