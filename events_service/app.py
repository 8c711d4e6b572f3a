"""The application factory: plugins, routes, auth, error shape, database lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template import TemplateConfig

from events_service import __version__
from events_service.auth.controllers import AuthController, StaffUserController
from events_service.auth.tokens import build_jwt_auth
from events_service.db import database
from events_service.errors import problem_details_plugin
from events_service.health import health
from events_service.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LOGIN_PATH = "/api/v1/auth/login"


@get("/", include_in_schema=False)
async def home(request: Request) -> Template:
    settings: Settings = request.app.state.settings
    return Template("pages/home.html", context={"settings": settings})


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    jwt_auth = build_jwt_auth(settings)

    @asynccontextmanager
    async def db_lifespan(_: Litestar) -> AsyncIterator[None]:
        async with database(settings.database_url):
            yield

    login_rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.login_attempts_per_minute),
        # Only the login is throttled: it is where passwords get guessed.
        check_throttle_handler=lambda request: request.url.path == LOGIN_PATH,
    )

    return Litestar(
        route_handlers=[home, health, AuthController, StaffUserController],
        lifespan=[db_lifespan],
        on_app_init=[jwt_auth.on_app_init],
        middleware=[login_rate_limit.middleware],
        plugins=[problem_details_plugin()],
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "jwt_auth": Provide(lambda: jwt_auth, use_cache=True, sync_to_thread=False),
        },
        template_config=TemplateConfig(directory=TEMPLATES_DIR, engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="events-service",
            version=__version__,
            description="Summits, registration, QR check-in, judging and programme counters.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        request_max_body_size=settings.max_body_bytes,
        state=State({"settings": settings}),
        debug=False,
    )
