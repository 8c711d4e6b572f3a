"""The application factory: plugins, routes, auth, error shape, database lifespan."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from granian.utils.proxies import wrap_asgi_with_proxy_headers
from litestar import Litestar, Request, Response, Router, get
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ASGIApp

from events_service import __version__, health, metrics
from events_service.auth import pages as password_pages
from events_service.auth.controllers import AuthController, StaffUserController
from events_service.auth.csrf import csrf_middleware
from events_service.auth.tokens import build_jwt_auth
from events_service.boundary import check_request
from events_service.checkin import badges, kiosk
from events_service.checkin.controllers import (
    attendee_lookups,
    checkin,
    checkin_batch,
    checkin_conflicts,
    door_bundle,
    event_attendance,
    find_attendees,
    review_checkin_conflict,
    undo_checkin,
)
from events_service.checkin.pages import door_service_worker, review_conflict_page, scan_page
from events_service.console.router import console_router, console_sessions
from events_service.db import database
from events_service.errors import problem_details_plugin, too_many_requests_problem
from events_service.events.controllers import EventController, LinkController, ticket_key
from events_service.judging.controllers import (
    AssignmentController,
    CompetitionController,
    ConflictController,
    CriterionController,
    EntryController,
    JudgeController,
    RoundController,
    WinnersController,
)
from events_service.judging.pages import JudgePages, certificate, judging_static
from events_service.locale import other_locale, words
from events_service.observe import logging_config, request_context_middleware
from events_service.privacy import pages as privacy_pages
from events_service.privacy.controllers import PeopleController
from events_service.privacy.keys import use_person_key
from events_service.privacy.service import backfill_person_keys_at_start
from events_service.programme.controllers import (
    FinancingController,
    KpiRecordsController,
    ServiceController,
    milestones,
    programme,
)
from events_service.programme.live import channels_plugin, live_publishing, reach_stream
from events_service.programme.pages import dashboard
from events_service.reach.controllers import reach
from events_service.registration.controllers import register_json
from events_service.registration.pages import (
    registration_form,
    registration_page,
    ticket_calendar,
    ticket_cancel,
    ticket_details,
    ticket_page,
    ticket_qr_png,
    ticket_qr_svg,
)
from events_service.settings import Settings
from events_service.stores import store_registry
from events_service.web.i18n import pick_locale
from events_service.web.login import login_form, login_page, logout_form, staff_page_context
from notifications.controllers import OutboxController
from notifications.runner import delivering

ROOT = Path(__file__).resolve().parent
TEMPLATES_DIR = ROOT.parent / "templates"
STATIC_DIR = ROOT / "static"
LOGIN_PATH = "/api/v1/auth/login"
PASSWORD_PATH = "/api/v1/auth/password"  # noqa: S105 - a route, not a secret
# The camera decoder's WebAssembly (static/vendor/barcode-detector-*): browsers compile
# it while it downloads only when it comes as application/wasm.
mimetypes.add_type("application/wasm", ".wasm")


@get("/", include_in_schema=False)
async def home(request: Request) -> Template:
    settings: Settings = request.app.state.settings
    return Template(
        "pages/home.html", context={**staff_page_context(request), "settings": settings}
    )


# Async on purpose: Litestar runs a sync throttle check in a worker thread.
async def _is_login(request: Request) -> bool:
    # Changing one's password checks the current one: as guessable as a login.
    # Leaving a kiosk checks a staff password too.
    return request.url.path in (LOGIN_PATH, PASSWORD_PATH, kiosk.LEAVE_PATH) or (
        request.method == "POST" and request.url.path == "/login"
    )


async def _is_registration(request: Request) -> bool:
    path = request.url.path
    return request.method == "POST" and (
        path.startswith("/api/v1/register/") or path.startswith("/r/")
    )


def _staff_account(request: Request) -> str:
    # Runs after authentication (app-level middleware), so the user is known here.
    user = request.scope.get("user")
    user_id = getattr(user, "id", None)
    return f"staff:{user_id}" if user_id is not None else f"address:{get_remote_address(request)}"


def _too_many_requests(request: Request, exc: TooManyRequestsException) -> Response:
    """A friendly page for people on the form; a problem document for everyone else."""
    if request.url.path.startswith("/r/"):
        settings: Settings = request.app.state.settings
        locale = pick_locale(request, settings.default_locale)
        return Template(
            "pages/message.html",
            context={
                **words(locale).template_context(),
                "locale": locale,
                "other_locale": other_locale(locale),
                "path": request.url.path,
                "message_key": "too_many",
            },
            status_code=429,
            headers=exc.headers,
        )
    return too_many_requests_problem(exc).to_response(request)


def _jinja_setup(jinja: JinjaTemplateEngine) -> None:
    # `_`, `{% trans %}`: the page's own gettext, ngettext and pgettext
    # (events_service.locale.Words.template_context) do the translating.
    jinja.engine.add_extension("jinja2.ext.i18n")


def _request_context_outermost(app_config: AppConfig) -> AppConfig:
    app_config.middleware.insert(0, request_context_middleware)
    return app_config


def _forwarded_from(proxies: tuple[str, ...]) -> Callable[[AppConfig], AppConfig]:
    """Outermost of all: behind the reverse proxies named in EVENTS_TRUSTED_PROXIES, the
    client's address (rate limits) and scheme come from X-Forwarded-For/-Proto, as
    granian's own proxy-headers wrapper reads them: the rightmost address the trusted
    proxies did not add, so a client cannot pick its own by sending the header. From
    any other peer the headers are ignored."""

    def forwarded(app: ASGIApp) -> ASGIApp:
        return wrap_asgi_with_proxy_headers(app, trusted_hosts=list(proxies))  # type: ignore[no-any-return]

    def outermost(app_config: AppConfig) -> AppConfig:
        if proxies:
            app_config.middleware.insert(0, forwarded)
        return app_config

    return outermost


def _request_metrics_next(app_config: AppConfig) -> AppConfig:
    # Right inside the request id: before the login token's check, so a 401 counts.
    app_config.middleware.insert(1, metrics.prometheus_config().middleware)
    return app_config


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    jwt_auth = build_jwt_auth(settings)
    use_person_key(settings)

    @asynccontextmanager
    async def db_lifespan(app: Litestar) -> AsyncIterator[None]:
        async with database(settings.database_url), metrics.worker_metrics(settings):
            # People without their key (made before migration 0010): keyed now,
            # before the first registration looks anyone up by key.
            await backfill_person_keys_at_start()
            if not settings.outbox_worker_in_app:
                yield
                return
            async with delivering(settings) as worker:
                # Readiness reports whether the in-app worker still runs.
                app.state.outbox_task = worker.task
                yield

    # Separate stores: the limiter's key is the client address, shared otherwise.
    login_rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.login_attempts_per_minute),
        check_throttle_handler=_is_login,
        store="rate_limit_login",
    )
    registration_rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.registrations_per_minute),
        check_throttle_handler=_is_registration,
        store="rate_limit_registration",
    )
    # Per staff account, not per address: a door's phones share the venue's address,
    # and what the limit stops (harvesting the attendee list) is one account's doing.
    lookup_rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.lookups_per_minute),
        identifier_for_request=_staff_account,
        store="rate_limit_lookup",
    )

    # Each limit sits only on the routes it guards: every other request (a door scan
    # above all) skips these middleware layers.
    logins = Router(
        path="/",
        route_handlers=[AuthController, login_form, *kiosk.RATE_LIMITED_AS_LOGIN],
        middleware=[login_rate_limit.middleware],
    )
    registrations = Router(
        path="/",
        route_handlers=[register_json, registration_form],
        middleware=[registration_rate_limit.middleware],
    )
    lookups = Router(
        path="/", route_handlers=[find_attendees], middleware=[lookup_rate_limit.middleware]
    )
    # The kiosk's typed e-mail and short code: per kiosk, as the door's look-ups are per account.
    kiosk_lookup_rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.lookups_per_minute),
        identifier_for_request=kiosk.kiosk_identifier,
        store="rate_limit_kiosk",
    )
    kiosk_lookups = Router(
        path="/",
        route_handlers=kiosk.RATE_LIMITED_AS_LOOKUP,
        middleware=[kiosk_lookup_rate_limit.middleware],
    )

    template_config = TemplateConfig(
        directory=TEMPLATES_DIR,
        engine=JinjaTemplateEngine,
        engine_callback=_jinja_setup,
    )
    return Litestar(
        route_handlers=[
            home,
            *health.ROUTES,
            logins,
            registrations,
            StaffUserController,
            EventController,
            LinkController,
            PeopleController,
            ticket_key,
            registration_page,
            ticket_page,
            ticket_qr_png,
            ticket_qr_svg,
            ticket_calendar,
            ticket_cancel,
            ticket_details,
            *privacy_pages.ROUTES,
            checkin,
            undo_checkin,
            checkin_batch,
            door_bundle,
            checkin_conflicts,
            review_checkin_conflict,
            event_attendance,
            lookups,
            attendee_lookups,
            reach,
            scan_page,
            door_service_worker,
            *kiosk.ROUTES,
            kiosk_lookups,
            *badges.ROUTES,
            review_conflict_page,
            login_page,
            logout_form,
            *password_pages.ROUTES,
            console_router(),
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], include_in_schema=False
            ),
            CompetitionController,
            EntryController,
            RoundController,
            CriterionController,
            AssignmentController,
            ConflictController,
            JudgeController,
            WinnersController,
            JudgePages,
            certificate,
            judging_static,
            OutboxController,
            programme,
            milestones,
            KpiRecordsController,
            FinancingController,
            ServiceController,
            reach_stream,
            dashboard,
            metrics.MetricsController,
        ],
        lifespan=[db_lifespan, live_publishing],
        # The JWT middleware puts itself first; the request id goes before it, so
        # every later layer's log lines and problems (a 401 too) carry the id.
        # Request metrics only when someone may read them (EVENTS_METRICS_TOKEN); the
        # forwarded-headers wrapper goes on last, so it ends up outermost of all.
        on_app_init=[
            jwt_auth.on_app_init,
            _request_context_outermost,
            *([_request_metrics_next] if settings.metrics_token else []),
            _forwarded_from(settings.trusted_proxies),
        ],
        middleware=[csrf_middleware(settings), console_sessions(settings).middleware],
        logging_config=logging_config(settings),
        plugins=[
            problem_details_plugin(),
            channels_plugin(settings),
            # Flash messages after a console action (the console's session holds them).
            FlashPlugin(FlashConfig(template_config=template_config)),
        ],
        exception_handlers={TooManyRequestsException: _too_many_requests},
        before_request=check_request,
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "jwt_auth": Provide(lambda: jwt_auth, use_cache=True, sync_to_thread=False),
        },
        template_config=template_config,
        openapi_config=OpenAPIConfig(
            title="events-service",
            version=__version__,
            description="Summits, registration, QR check-in, judging and programme counters.",
            path="/schema",
            # Swagger UI's files are ours (static/vendor): /schema works with no internet.
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url="/static/vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js",
                    css_url="/static/vendor/swagger-ui-dist-5.35.0/swagger-ui.css",
                    standalone_preset_js_url=(
                        "/static/vendor/swagger-ui-dist-5.35.0/swagger-ui-standalone-preset.js"
                    ),
                    favicon="<link rel='icon' type='image/png' "
                    "href='/static/vendor/swagger-ui-dist-5.35.0/favicon-32x32.png'>",
                )
            ],
        ),
        request_max_body_size=settings.max_body_bytes,
        stores=store_registry(settings),
        state=State({"settings": settings}),
        debug=False,
    )
