"""Every setting of the service, read once from `EVENTS_*` environment variables.

Development needs no configuration: secrets are generated on first start and kept
under the data folder so tokens and ticket codes survive restarts. Production
refuses to start until each secret is given explicitly.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ENVIRONMENTS = ("development", "production")
MIN_SECRET_LENGTH = 32
# The personal fields of a person the retention policy may erase.
RETENTION_FIELDS = ("email", "phone", "name", "job_title", "organisation")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class ProgrammeTargets:
    talents: int = 7200
    firms: int = 300
    companies: int = 200
    projects: int = 30
    financed_startups: int = 20


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = "sqlite://events.db"
    data_dir: Path = Path("var")
    secret_key: str = field(default="", repr=False)
    # Raw 32-byte Ed25519 private key (the ticket signing key).
    signing_key: bytes = field(default=b"", repr=False)
    smtp_url: str = "file://var/mail"
    public_base_url: str = "http://127.0.0.1:8000"
    redis_url: str | None = None
    default_locale: str = "en"
    programme_name: str = "Internet + Auto Innovation Base"
    programme_start: date = date(2026, 1, 1)
    targets: ProgrammeTargets = field(default_factory=ProgrammeTargets)
    login_attempts_per_minute: int = 10
    registrations_per_minute: int = 30
    # Attendee look-ups per staff account (door staff search people by name).
    lookups_per_minute: int = 30
    token_lifetime_minutes: int = 12 * 60
    max_body_bytes: int = 1_048_576
    mail_from: str = "Innovation Base <events@localhost>"
    # The delivery worker runs inside each app process unless turned off (when
    # `events-service worker` processes do the sending instead).
    outbox_worker_in_app: bool = True
    outbox_max_attempts: int = 8
    outbox_retry_base_seconds: int = 30
    # How long a claimed message is held without a heartbeat before another worker
    # may send it: a send takes seconds; the heartbeat renews it every third.
    outbox_lease_seconds: int = 60
    reminder_hours: int = 24
    round_reminder_hours: int = 24
    # Technical projects: entries in any round ("all") or past the first ("advanced").
    projects_count: str = "all"
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; from anyone else those headers are ignored.
    trusted_proxies: tuple[str, ...] = ()
    # The bearer token Prometheus sends to GET /metrics; unset, /metrics is a 404 and
    # the request metrics are not kept (events_service.metrics).
    metrics_token: str | None = field(default=None, repr=False)
    # The pseudonymous person key (events_service/privacy/keys.py): HMAC secret of the
    # normalised e-mail. Empty (only when Settings is built directly, as tests do):
    # derived from secret_key. The previous secret is given only during a rotation.
    person_key_secret: str = field(default="", repr=False)
    person_key_previous_secret: str | None = field(default=None, repr=False)
    # Retention (events_service/privacy/service.py): personal data of a person goes
    # this many days after the end of the last of their events (per event:
    # Event.retention_days), these fields of it; run daily inside the outbox worker.
    retention_days: int = 365
    retention_fields: tuple[str, ...] = ("email", "phone", "name", "job_title")
    # People per transaction. Each batch costs a few round trips and one scan of the
    # outbox whatever its size, so larger batches go faster beside busy doors
    # (bench/retention.py: ~4,000/s at 1,000, ~9,000-10,000/s at 5,000); a past
    # attendee registering again meanwhile waits at most one batch (well under 1 s).
    retention_batch_size: int = 5000
    retention_scheduled: bool = True
    retention_every_hours: int = 24

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def signing_private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.signing_key)

    @property
    def signing_public_key_b64(self) -> str:
        raw = self.signing_private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Env(os.environ if environ is None else environ)
        environment = env.str("EVENTS_ENVIRONMENT", "development")
        if environment not in ENVIRONMENTS:
            raise SettingsError(
                f"EVENTS_ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
            )
        production = environment == "production"
        data_dir = Path(env.str("EVENTS_DATA_DIR", "var"))

        secret_key = env.str("EVENTS_SECRET_KEY", "")
        signing_key_text = env.str("EVENTS_SIGNING_KEY", "")
        person_key_secret = env.str("EVENTS_PERSON_KEY_SECRET", "")
        if production:
            if len(secret_key) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    "EVENTS_SECRET_KEY must be set to a random string of at least "
                    f"{MIN_SECRET_LENGTH} characters in production"
                )
            if not signing_key_text:
                raise SettingsError(
                    "EVENTS_SIGNING_KEY must be set in production (base64 of a raw 32-byte "
                    "Ed25519 private key; `events-service keys` prints a new one)"
                )
            if len(person_key_secret) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    "EVENTS_PERSON_KEY_SECRET must be set to a random string of at least "
                    f"{MIN_SECRET_LENGTH} characters in production (it keys every person; "
                    "see README, Personal data, before ever changing it)"
                )
        else:
            secret_key = secret_key or _kept_secret(data_dir / "secret_key", _new_secret_text)
            signing_key_text = signing_key_text or _kept_secret(
                data_dir / "signing_key", new_signing_key_text
            )
            person_key_secret = person_key_secret or _kept_secret(
                data_dir / "person_key_secret", _new_secret_text
            )

        return cls(
            environment=environment,
            database_url=env.str("EVENTS_DATABASE_URL", "sqlite://events.db"),
            data_dir=data_dir,
            secret_key=secret_key,
            signing_key=_decode_signing_key(signing_key_text),
            smtp_url=env.str("EVENTS_SMTP_URL", f"file://{data_dir / 'mail'}"),
            public_base_url=env.str("EVENTS_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            redis_url=env.str("EVENTS_REDIS_URL", "") or None,
            default_locale=env.str("EVENTS_DEFAULT_LOCALE", "en"),
            programme_name=env.str("EVENTS_PROGRAMME_NAME", "Internet + Auto Innovation Base"),
            programme_start=env.date("EVENTS_PROGRAMME_START", date(2026, 1, 1)),
            targets=ProgrammeTargets(
                talents=env.int("EVENTS_TARGET_TALENTS", 7200),
                firms=env.int("EVENTS_TARGET_FIRMS", 300),
                companies=env.int("EVENTS_TARGET_COMPANIES", 200),
                projects=env.int("EVENTS_TARGET_PROJECTS", 30),
                financed_startups=env.int("EVENTS_TARGET_FINANCED_STARTUPS", 20),
            ),
            login_attempts_per_minute=env.int("EVENTS_LOGIN_ATTEMPTS_PER_MINUTE", 10),
            registrations_per_minute=env.int("EVENTS_REGISTRATIONS_PER_MINUTE", 30),
            lookups_per_minute=env.int("EVENTS_LOOKUPS_PER_MINUTE", 30),
            token_lifetime_minutes=env.int("EVENTS_TOKEN_LIFETIME_MINUTES", 12 * 60),
            max_body_bytes=env.int("EVENTS_MAX_BODY_BYTES", 1_048_576),
            mail_from=env.str("EVENTS_MAIL_FROM", "Innovation Base <events@localhost>"),
            outbox_worker_in_app=env.bool("EVENTS_OUTBOX_WORKER_IN_APP", True),
            outbox_max_attempts=env.int("EVENTS_OUTBOX_MAX_ATTEMPTS", 8),
            outbox_retry_base_seconds=env.int("EVENTS_OUTBOX_RETRY_BASE_SECONDS", 30),
            outbox_lease_seconds=env.int("EVENTS_OUTBOX_LEASE_SECONDS", 60),
            reminder_hours=env.int("EVENTS_REMINDER_HOURS", 24),
            round_reminder_hours=env.int("EVENTS_ROUND_REMINDER_HOURS", 24),
            projects_count=env.choice("EVENTS_PROJECTS_COUNT", ("all", "advanced"), "all"),
            trusted_proxies=env.networks("EVENTS_TRUSTED_PROXIES"),
            metrics_token=env.str("EVENTS_METRICS_TOKEN", "") or None,
            person_key_secret=person_key_secret,
            person_key_previous_secret=env.str("EVENTS_PERSON_KEY_PREVIOUS_SECRET", "") or None,
            retention_days=env.int("EVENTS_RETENTION_DAYS", 365),
            retention_fields=env.fields(
                "EVENTS_RETENTION_FIELDS", RETENTION_FIELDS, ("email", "phone", "name", "job_title")
            ),
            retention_batch_size=env.int("EVENTS_RETENTION_BATCH_SIZE", 5000),
            retention_scheduled=env.bool("EVENTS_RETENTION_SCHEDULED", True),
            retention_every_hours=env.int("EVENTS_RETENTION_EVERY_HOURS", 24),
        )


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def str(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def int(self, name: str, default: int) -> int:
        raw = self._environ.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
        if value <= 0:
            raise SettingsError(f"{name} must be positive, got {value}")
        return value

    def networks(self, name: str) -> tuple[str, ...]:
        """Comma-separated IP addresses or networks (CIDR), each checked."""
        items = [item.strip() for item in self._environ.get(name, "").split(",") if item.strip()]
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise SettingsError(
                    f"{name} must list IP addresses or networks, got {item!r}"
                ) from None
        return tuple(items)

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        value = self._environ.get(name, "").strip() or default
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def fields(
        self, name: str, allowed: tuple[str, ...], default: tuple[str, ...]
    ) -> tuple[str, ...]:
        raw = self._environ.get(name)
        if raw is None or not raw.strip():
            return default
        chosen = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
        unknown = [part for part in chosen if part not in allowed]
        if unknown or not chosen:
            raise SettingsError(
                f"{name} must be a comma-separated list of {', '.join(allowed)}, got {raw!r}"
            )
        return chosen

    def bool(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")

    def date(self, name: str, default: date) -> date:
        raw = self._environ.get(name)
        if raw is None or not raw.strip():
            return default
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            raise SettingsError(f"{name} must be a date like 2026-01-01, got {raw!r}") from None


def _new_secret_text() -> str:
    return secrets.token_urlsafe(48)


def new_signing_key_text() -> str:
    """A fresh Ed25519 private key as unpadded base64url of its 32 raw bytes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def _kept_secret(path: Path, make: Callable[[], str]) -> str:
    """Read a development secret from `path`, creating it (mode 0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    # Write to a private temp file and link it into place: of several processes
    # starting at once exactly one wins, and nobody ever reads a half-written key.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    try:
        os.link(tmp, path)
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        tmp.unlink()
    return value


def _decode_signing_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise SettingsError("EVENTS_SIGNING_KEY must be base64 of exactly 32 bytes")
    return raw
