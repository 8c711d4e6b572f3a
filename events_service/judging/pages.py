"""HTML pages: the judge's scoring pages (/judge) and the printable winner certificate."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.security.jwt import Token
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_403_FORBIDDEN

from events_service.auth.guards import judge_only
from events_service.judging import sheets, winners
from events_service.settings import Settings
from models import StaffUser

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "judging"
LOGIN_PAGE = "/judge/login"

judging_static = create_static_files_router(
    path="/static/judging", directories=[STATIC_DIR], name="judging-static"
)


def _to_login(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    # A browser without a valid cookie lands on the login form, then comes back.
    return Redirect(f"{LOGIN_PAGE}?next={request.url.path}")


def _not_a_judge(_: Request[Any, Any, Any], __: Exception) -> Response[Any]:
    return Template(
        "pages/judging/message.html",
        context={"title": "Not a judge", "message": "This account has no judge role."},
        status_code=HTTP_403_FORBIDDEN,
    )


def _label(value: Decimal) -> str:
    # "7" and "7.5", as a judge would write them (never "7.0" or "7E+1").
    return f"{value.normalize():f}"


class JudgePages(Controller):
    path = "/judge"
    include_in_schema = False

    @get("/login", opt={"exclude_from_auth": True})
    async def login(self, request: Request[Any, Any, Any]) -> Template:
        settings: Settings = request.app.state.settings
        target = request.query_params.get("next", "/judge")
        # Only our own judge pages are valid targets: no open redirect.
        if not target.startswith("/judge"):
            target = "/judge"
        return Template("pages/judging/login.html", context={"settings": settings, "next": target})

    @get(
        "/",
        guards=[judge_only],
        exception_handlers={
            NotAuthorizedException: _to_login,
            PermissionDeniedException: _not_a_judge,
        },
    )
    async def assignments(self, request: Request[StaffUser, Token, Any]) -> Template:
        items = await sheets.judge_assignments(request.user.id)
        return Template(
            "pages/judging/list.html", context={"user": request.user, "assignments": items}
        )

    @get(
        "/assignments/{assignment_id:int}",
        guards=[judge_only],
        exception_handlers={
            NotAuthorizedException: _to_login,
            PermissionDeniedException: _not_a_judge,
        },
    )
    async def sheet(
        self, assignment_id: FromPath[int], request: Request[StaffUser, Token, Any]
    ) -> Template:
        item = (await sheets.judge_assignments(request.user.id, assignment_id))[0]
        values = {s.criterion_id: s for s in item.scores}
        controls = []
        total_weight = sum(c.weight for c in item.criteria) or 1.0
        for c in item.criteria:
            step = Decimal(str(c.scale_step))
            options = []
            value, top = Decimal(str(c.scale_min)), Decimal(str(c.scale_max))
            while value <= top:
                options.append(_label(value))
                value += step
            current = values.get(c.id)
            controls.append(
                {
                    "criterion": c,
                    "options": options,
                    # Few options: one tap each; many: the phone's own picker.
                    "widget": "buttons" if len(options) <= 11 else "select",
                    # The judge sees how much each criterion counts toward the total.
                    "share": round(100 * c.weight / total_weight),
                    "value": _label(Decimal(str(current.value))) if current else "",
                    "comment": current.comment if current else "",
                }
            )
        return Template(
            "pages/judging/sheet.html",
            context={"item": item, "controls": controls},
        )


@get(
    "/winners/{record_id:int}/certificate", opt={"exclude_from_auth": True}, include_in_schema=False
)
async def certificate(record_id: FromPath[int], request: Request[Any, Any, Any]) -> Template:
    record = await winners.certificate(record_id)
    settings: Settings = request.app.state.settings
    return Template(
        "pages/judging/certificate.html",
        context={
            "record": record,
            "settings": settings,
            "verify_url": f"{settings.public_base_url.rstrip('/')}/api/v1/winners/verify",
        },
    )
