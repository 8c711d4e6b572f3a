"""The `events-service` command: serve, migrate, demo, users, reach, retention, privacy, keys."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence

from events_service.settings import Settings, SettingsError, new_signing_key_text


def _settings() -> Settings:
    from events_service.privacy.keys import use_person_key

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise SystemExit(f"configuration error: {exc}") from None
    use_person_key(settings)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    # Validated (and development keys created) once here, before workers fork.
    settings = _settings()
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        # SQLite has one writer; several processes would fail each other's writes.
        print("SQLite serves one worker process; use PostgreSQL for more", file=sys.stderr)
        args.workers = 1
    _fresh_metrics_dir(settings)
    print(
        f"events-service on http://{args.host}:{args.port} ({settings.environment}, "
        f"{args.workers} worker(s), database {_redacted(settings.database_url)})"
    )
    Granian(
        target="events_service.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=args.host,
        port=args.port,
        workers=args.workers,
        log_access=args.access_log,
        respawn_failed_workers=True,
        # SIGTERM (or SIGINT): granian stops accepting, lets requests in flight finish,
        # then the app's lifespan drains the in-app outbox worker. A worker still busy
        # after this long is killed; its leased messages go out again when the lease
        # ends (never lost). Live streams end by themselves within STREAM_SECONDS.
        workers_kill_timeout=args.graceful_timeout,
        # Browsers speak HTTP/2 only over TLS, which a proxy in front terminates, and
        # live pages use SSE: skipping protocol detection saves CPU on every request.
        http=HTTPModes.http1,
        websockets=False,
    ).serve()
    return 0


# prometheus_client's multiprocess files: counter_<pid>.db, gauge_livesum_<pid>.db, ...
_METRICS_FILES = ("counter_*.db", "gauge_*.db", "histogram_*.db", "summary_*.db")


def _fresh_metrics_dir(settings: Settings) -> None:
    """Empty the workers' shared metrics folder before they start (events_service.metrics).

    PROMETHEUS_MULTIPROC_DIR when set; else, when metrics are on (EVENTS_METRICS_TOKEN),
    `<data dir>/prometheus`, set for the workers. Runs before prometheus_client is
    imported anywhere in this process, and before granian starts a worker."""
    from pathlib import Path

    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    if not named and not settings.metrics_token:
        return
    folder = Path(named) if named else settings.data_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    for pattern in _METRICS_FILES:
        for stale in folder.glob(pattern):
            stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder.resolve())


def cmd_migrate(_: argparse.Namespace) -> int:
    from events_service.db import migrate

    settings = _settings()
    asyncio.run(migrate(settings.database_url))
    print("database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from events_service.db import database, migrate
    from events_service.demo import seed_demo

    settings = _settings()
    if settings.is_production:
        print("refusing to seed demo accounts in production", file=sys.stderr)
        return 2

    async def run():  # type: ignore[no-untyped-def]
        await migrate(settings.database_url)
        async with database(settings.database_url):
            return await seed_demo(settings)

    summary = asyncio.run(run())
    base = args.base_url or settings.public_base_url
    print("demo data " + ("created" if summary.created else "already there; passwords reset"))
    print("\nAccounts (development only):")
    for email, password, roles in summary.accounts:
        print(f"  {','.join(roles):6}  {email:22}  password: {password}")
    print("\nEvents:")
    for event_id, title in summary.events:
        print(f"  #{event_id}  {title}")
    if (now := summary.happening_now) is not None:
        # Seeded in progress; a later run on the same database finds it over.
        when = "Happening now" if now.in_progress else "Over (seeded as happening now)"
        print(f"\n{when}: #{now.event_id} {now.title}")
        print(
            f"  {now.confirmed} confirmed, {now.waitlisted} waitlisted; "
            f"{now.admitted} admitted at {', '.join(now.gates)}"
        )
    print("\nRegistration links (slug per channel):")
    for label, slug in summary.links:
        print(f"  {label:18} {slug}")
    admin_email, admin_password = next(
        (email, password) for email, password, roles in summary.accounts if "admin" in roles
    )
    print(f"\nOrganiser console: {base}/admin  (log in as {admin_email} / {admin_password})")
    print("\nOpen:")
    print(f"  {base}/            start page")
    print(f"  {base}/schema      API documentation (log in with POST /api/v1/auth/login)")
    print(f"  {base}/health      health check")
    print(f"  {base}/dashboard   programme dashboard (public; live)")
    print(f"  {base}/scan        door page (staff)")
    print(f"  {base}/judge       judging page (judge)")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from events_service.auth.service import create_staff_user
    from events_service.db import database
    from events_service.errors import DomainError

    settings = _settings()
    password = args.password or os.environ.get("EVENTS_NEW_USER_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("give --password or EVENTS_NEW_USER_PASSWORD", file=sys.stderr)
            return 2
        password = getpass.getpass("password: ")
    roles = [r.strip() for chunk in args.role for r in chunk.split(",") if r.strip()]

    async def run() -> None:
        async with database(settings.database_url):
            user = await create_staff_user(args.email, password, roles, args.name or "")
            print(f"created staff user #{user.id} {user.email} ({', '.join(user.roles)})")

    try:
        asyncio.run(run())
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def cmd_reach(args: argparse.Namespace) -> int:
    from events_service.db import database
    from events_service.reach.counter import rebuild, verify

    settings = _settings()

    async def run():  # type: ignore[no-untyped-def]
        async with database(settings.database_url):
            return await (rebuild() if args.reach_command == "rebuild" else verify())

    drift = asyncio.run(run())
    counted, actual = drift.counted, drift.actual
    print(f"talents reached: counted {counted.total}, from admissions {actual.total}")
    print(f"admissions: counted {counted.admissions}, in the table {actual.admissions}")
    print(
        f"companies benefitted: counted {counted.companies}, "
        f"from admissions and entries {actual.companies}"
    )
    for label, mine, truth in (
        ("by month", counted.by_month, actual.by_month),
        ("by event kind", counted.by_event_kind, actual.by_event_kind),
    ):
        if mine != truth:
            print(f"  {label} differs: counted {mine}, from admissions {truth}")
    if drift.people_off:
        print(f"  {drift.people_off} people have a wrong first-admission time")
    if drift.organisations_off:
        print(f"  {drift.organisations_off} organisations are wrongly counted or not counted")
    if drift.exact:
        print("no drift")
        return 0
    if args.reach_command == "rebuild":
        print("drift repaired")
        return 0
    print("DRIFT: run `events-service reach rebuild` to repair")
    return 1


def cmd_worker(args: argparse.Namespace) -> int:
    import signal

    # One process: its figures are its own, never the web workers' shared folder
    # (which `serve` empties at its start). Before prometheus_client is imported.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    os.environ.pop("prometheus_multiproc_dir", None)

    from events_service.db import database
    from notifications.runner import delivering

    settings = _settings()
    if args.metrics_port:
        from prometheus_client import start_http_server

        # Its delivery attempts and failures, on a local address only (no token).
        start_http_server(args.metrics_port, addr=args.metrics_host)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with (
            database(settings.database_url),
            delivering(settings, concurrency=args.concurrency),
        ):
            print(f"outbox worker delivering to {_redacted(settings.smtp_url)}", flush=True)
            await stop.wait()
        print("outbox worker drained and stopped", flush=True)

    asyncio.run(run())
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from events_service.db import database
    from events_service.privacy.service import run_retention

    settings = _settings()

    async def run():  # type: ignore[no-untyped-def]
        async with database(settings.database_url):
            return await run_retention(settings, dry_run=args.dry_run, batch_size=args.batch_size)

    result = asyncio.run(run())
    fields = ", ".join(settings.retention_fields)
    if result.dry_run:
        print(
            f"would erase {result.people} people of {result.events} events "
            f"(fields: {fields}; nothing changed)"
        )
    else:
        print(
            f"erased {result.people} people of {result.events} events in "
            f"{result.batches} batches (fields: {fields})"
        )
    return 0


def cmd_privacy(args: argparse.Namespace) -> int:
    from events_service.db import database
    from events_service.privacy.keys import current_keyer
    from events_service.privacy.service import backfill_person_keys, rotate_person_keys

    settings = _settings()
    keyer = current_keyer()
    assert keyer is not None

    async def run() -> None:
        async with database(settings.database_url):
            if args.privacy_command == "backfill-keys":
                print(f"keyed {await backfill_person_keys(keyer)} people")
                return
            rotation = await rotate_person_keys(keyer)
            print(f"re-keyed {rotation.rekeyed} people under EVENTS_PERSON_KEY_SECRET")
            print(
                f"{rotation.erased_kept} erased people keep their earlier key: they are "
                "recognised while that secret is EVENTS_PERSON_KEY_PREVIOUS_SECRET"
            )

    asyncio.run(run())
    return 0


def cmd_keys(_: argparse.Namespace) -> int:
    import secrets

    print(f"EVENTS_SECRET_KEY={secrets.token_urlsafe(48)}")
    print(f"EVENTS_SIGNING_KEY={new_signing_key_text()}")
    print(f"EVENTS_PERSON_KEY_SECRET={secrets.token_urlsafe(48)}")
    return 0


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="events-service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service (granian, ASGI)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (one per core)")
    serve.add_argument("--access-log", action="store_true")
    serve.add_argument(
        "--graceful-timeout",
        type=int,
        default=40,
        help="seconds a stopping worker gets to finish its requests and drain (then killed)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    demo = sub.add_parser("demo", help="migrate, then seed demo data and accounts")
    demo.add_argument("--base-url", default=None, help="base URL to print (default: settings)")
    demo.set_defaults(func=cmd_demo)

    users = sub.add_parser("users", help="manage staff users")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create a staff user")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="default: $EVENTS_NEW_USER_PASSWORD, or a prompt")
    create.add_argument(
        "--role", action="append", required=True, help="admin, staff or judge; repeatable"
    )
    create.add_argument("--name", default="")
    create.set_defaults(func=cmd_users_create)

    reach = sub.add_parser("reach", help="check or repair the talent-reach counter")
    reach.add_argument("reach_command", choices=["verify", "rebuild"])
    reach.set_defaults(func=cmd_reach)

    worker = sub.add_parser(
        "worker",
        help="deliver queued e-mails (set EVENTS_OUTBOX_WORKER_IN_APP=false on the web processes)",
    )
    worker.add_argument("--concurrency", type=int, default=4, help="messages sent at once")
    worker.add_argument(
        "--metrics-port", type=int, default=0, help="serve this worker's /metrics on this port"
    )
    worker.add_argument("--metrics-host", default="127.0.0.1", help="its address (default local)")
    worker.set_defaults(func=cmd_worker)

    retention = sub.add_parser("retention", help="erase personal data past its retention")
    retention.add_argument("retention_command", choices=["run"])
    retention.add_argument(
        "--dry-run", action="store_true", help="print how many would be erased; change nothing"
    )
    retention.add_argument(
        "--batch-size", type=int, default=None, help="people per transaction (default: settings)"
    )
    retention.set_defaults(func=cmd_retention)

    privacy = sub.add_parser("privacy", help="person keys: fill in, rotate")
    privacy.add_argument("privacy_command", choices=["backfill-keys", "rotate-key"])
    privacy.set_defaults(func=cmd_privacy)

    keys = sub.add_parser("keys", help="print fresh production secrets")
    keys.set_defaults(func=cmd_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
