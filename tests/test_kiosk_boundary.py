"""Hostile input at every kiosk route (issue 19's follow-up): the /kiosk routes are
outside the OpenAPI document, so the schemathesis fuzz (tests/test_api_fuzz.py) never
reaches them. Each route gets garbage, oversized and odd unicode values, missing and
unknown fields, wrong methods and forged cookies and keys, from a real running
kiosk: every answer is a 4xx RFC 9457 problem document (or, for text a person could
type, an ordinary answer), never a server error, and a refused request writes nothing.
The kiosk cookie itself: a tampered, expired or re-purposed one opens nothing."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx
from litestar import Litestar

from events_service.checkin.kiosk import (
    BADGE_PURPOSE,
    KIOSK_COOKIE,
    SESSION_PURPOSE,
    KioskSession,
    kiosk_token,
    read_kiosk_token,
)
from events_service.signed import sign_claims
from models import Admission, BadgePrint, CheckinConflict, Registration, ScanLog
from tests.checkin_helpers import Ticket
from tests.console_helpers import log_in_to_pages
from tests.test_kiosk import setup_event, start_kiosk

PROBLEM = "application/problem+json"
OVERLONG = "x" * 100_000
# Values for a text field: each must be refused or answered, never a 500.
TEXTS: dict[str, object] = {
    "nul": "a\u0000b",
    "overlong": OVERLONG,
    "empty": "",
    "unicode": "李伟 \u202e\U0001f600 \u0301",
    "int": 2**70,
    "float": 1e308,
    "bool": True,
    "list": ["a"],
    "object": {"a": 1},
    "null": None,
}
# Whole bodies that are not the object a JSON route takes.
RAW_BODIES: dict[str, bytes] = {
    "not json": b"\xff\xfe\x00garbage",
    "truncated": b'{"code": "ABC',
    "array": b"[]",
    "null": b"null",
    "number": b"1e999",
    "string": b'"code"',
    "lone surrogate": b'{"code": "\\ud800", "email": "\\udfff@x.org", "password": "\\ud800"}',
    "deep": b"[" * 10_000 + b"]" * 10_000,
    "oversized": b'{"code": "' + b"A" * 3_000_000 + b'"}',
    "empty": b"",
}
COOKIES = {
    "garbage": "garbage",
    "dots": "....",
    "long": "A" * 4000,
    "percent": "%00%ff%fe",
    "bad base64": "!!!.???",
    "claims only": "MS4yLjMuNA",
}

Send = Callable[[], Awaitable[httpx.Response]]


async def rows() -> tuple[int, ...]:
    return (
        await Admission.all().count(),
        await ScanLog.all().count(),
        await BadgePrint.all().count(),
        await CheckinConflict.all().count(),
    )


class Walk:
    """Sends each hostile request, checks its answer and that a refusal wrote nothing."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.statuses: dict[int, int] = {}

    async def check(
        self, label: str, send: Send, *, may_succeed: bool = False, page: bool = False
    ) -> None:
        """`page`: a browser's form, whose refusals of the person (not allowed, no CSRF
        token) are the pages' HTML message, as on every page (web/login.wrong_role)."""
        before = await rows()
        try:
            response = await send()
        except httpx.HTTPError as exc:  # the app itself blew up under the transport
            self.failures.append(f"{label}: {exc!r}")
            return
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        content_type = response.headers.get("content-type", "")
        if response.status_code >= 500:
            self.failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400:
            html = page and response.status_code == 403 and content_type.startswith("text/html")
            if not content_type.startswith(PROBLEM) and not html:
                self.failures.append(f"{label}: {response.status_code} {content_type}")
            elif not html and not {"type", "title", "status"} <= response.json().keys():
                self.failures.append(f"{label}: not a problem document: {response.text[:200]}")
            elif await rows() != before:
                self.failures.append(f"{label}: refused, yet rows were written")
        elif not may_succeed:
            self.failures.append(f"{label}: accepted ({response.status_code})")


async def json_route_walk(
    walk: Walk, client: httpx.AsyncClient, path: str, valid: dict[str, object]
) -> None:
    """Each raw body, each field missing, each field given each hostile value, an unknown
    field, a form instead of JSON, and the wrong methods."""
    headers = {"content-type": "application/json"}
    for name, body in RAW_BODIES.items():
        await walk.check(
            f"POST {path} body {name}",
            lambda body=body: client.post(path, content=body, headers=headers),
        )
    await walk.check(f"POST {path} {{}}", lambda: client.post(path, json={}))
    await walk.check(
        f"POST {path} unknown field", lambda: client.post(path, json={**valid, "admin": True})
    )
    await walk.check(f"POST {path} as a form", lambda: client.post(path, data=valid))
    for field in valid:
        for name, value in TEXTS.items():
            body = {**valid, field: value}
            # Text a person could type gets an ordinary answer (no match, wrong password).
            typed = name == "unicode" or (field == "scan_id" and name == "null")
            await walk.check(
                f"POST {path} {field}={name}",
                lambda body=body: client.post(path, json=body),
                may_succeed=typed,
            )
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        await walk.check(f"{method} {path}", lambda method=method: client.request(method, path))


async def test_every_kiosk_json_route_refuses_hostile_input_with_a_problem(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, tickets = await setup_event(app, client, admin, n=1)
    ticket: Ticket = tickets[0]
    walk = Walk()
    routes: list[tuple[str, dict[str, object]]] = [
        ("/kiosk/scan", {"code": "A" * 20, "scan_id": "s" * 16}),
        (
            "/kiosk/lookup",
            {"email": "nobody@example.org", "short_code": "AAAAAA", "scan_id": "s" * 16},
        ),
        ("/kiosk/leave", {"password": "not the password"}),
        (f"/kiosk/badge/{ticket.registration_id}/print", {"key": "not-a-key"}),
    ]
    for path, valid in routes:
        # A fresh kiosk for each route: typed look-ups are rate-limited per kiosk.
        await start_kiosk(client, event["id"], "staff")
        await json_route_walk(walk, client, path, valid)
    print(f"\nkiosk JSON routes: {sum(walk.statuses.values())} requests, {walk.statuses}")
    assert not walk.failures, "\n".join(walk.failures)
    # Nobody was let in, no badge printed, by any of it.
    assert await Admission.all().count() == 0 and await BadgePrint.all().count() == 0


async def test_kiosk_pages_paths_and_queries_refuse_hostile_input(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, tickets = await setup_event(app, client, admin, n=1)
    rid = tickets[0].registration_id
    walk = Walk()
    await start_kiosk(client, event["id"], "staff")
    badge = f"/kiosk/badge/{rid}"
    for name, path in {
        "id 0": "/kiosk/badge/0",
        "id int8+1": f"/kiosk/badge/{2**63}",
        "id negative": "/kiosk/badge/-1",
        "id text": "/kiosk/badge/abc",
        "id overlong": "/kiosk/badge/" + "9" * 5000,
    }.items():
        await walk.check(f"GET badge {name}", lambda path=path: client.get(path))
        await walk.check(f"POST badge {name}", lambda path=path: client.post(path))
        await walk.check(
            f"POST badge print {name}", lambda path=path: client.post(path + "/print", json={})
        )
    for name, params in {
        "print text": {"print": "abc"},
        "print int8+1": {"print": str(2**63)},
        "print 0": {"print": "0"},
        "key nul": {"key": "a\u0000b"},
        "key overlong": {"key": "k" * 5000},
        "key forged": {"key": "a.b"},
        "key empty": {"key": ""},
        "key unicode": {"key": "李伟\U0001f600"},
    }.items():
        await walk.check(
            f"GET badge {name}", lambda params=params: client.get(badge, params=params)
        )
    for method in ("PUT", "DELETE", "PATCH"):
        await walk.check(f"{method} badge", lambda method=method: client.request(method, badge))
    # The kiosk page takes no input but its language switch.
    for name, value in {"nul": "a\u0000b", "overlong": "x" * 5000, "unicode": "中文"}.items():
        await walk.check(
            f"GET /kiosk lang={name}",
            lambda value=value: client.get("/kiosk", params={"lang": value}),
            may_succeed=True,
        )
    for method in ("POST", "PUT", "DELETE"):
        await walk.check(f"{method} /kiosk", lambda method=method: client.request(method, "/kiosk"))

    # Starting a kiosk: a staff member's form.
    await log_in_to_pages(client, "staff")
    csrf = client.cookies.get("csrftoken", "")
    for name, value in {
        "text": "abc",
        "int4+1": str(2**31),
        "negative": "-1",
        "nul": "1\u00002",
        "overlong": "9" * 5000,
        "unknown": "999999",
        "empty": "",
    }.items():
        form = {"event_id": value, "_csrf_token": csrf}
        await walk.check(
            f"POST /kiosk/start event_id={name}",
            lambda form=form: client.post("/kiosk/start", data=form),
            page=True,
        )
    await walk.check(
        "POST /kiosk/start as JSON",
        lambda: client.post("/kiosk/start", json={"event_id": event["id"]}),
        page=True,
    )
    await walk.check(
        "POST /kiosk/start without CSRF",
        lambda: client.post("/kiosk/start", data={"event_id": str(event["id"])}),
        page=True,
    )
    for method in ("PUT", "DELETE"):
        await walk.check(
            f"{method} /kiosk/start", lambda method=method: client.request(method, "/kiosk/start")
        )
        await walk.check(
            f"{method} /kiosk/setup", lambda method=method: client.request(method, "/kiosk/setup")
        )
    print(f"\nkiosk pages and paths: {sum(walk.statuses.values())} requests, {walk.statuses}")
    assert not walk.failures, "\n".join(walk.failures)
    assert await rows() == (0, 0, 0, 0)
    assert (await Registration.get(id=rid)).status == "confirmed"


async def test_a_tampered_expired_or_borrowed_kiosk_cookie_opens_nothing(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, tickets = await setup_event(app, client, admin, n=1)
    secret = app.state.settings.secret_key
    await start_kiosk(client, event["id"], "staff")
    genuine = client.cookies.get(KIOSK_COOKIE)
    session = read_kiosk_token(secret, genuine)
    assert session is not None and session.event_id == event["id"]
    claims, _, signature = genuine.partition(".")
    other = KioskSession(
        session.staff_id, session.event_id + 1, session.generation, session.expires
    )
    forged = {
        # Another event's claims under this cookie's signature.
        "claims swapped": kiosk_token(secret, other).partition(".")[0] + "." + signature,
        "signature flipped": claims + "." + ("A" if signature[0] != "A" else "B") + signature[1:],
        "no signature": claims,
        "expired": kiosk_token(
            secret,
            KioskSession(
                session.staff_id, session.event_id, session.generation, int(time.time()) - 1
            ),
        ),
        "another secret": kiosk_token("another secret", session),
        # A badge key is signed here too, but for another purpose.
        "a badge key": sign_claims(
            secret,
            BADGE_PURPOSE,
            (session.staff_id, session.event_id, session.generation, session.expires),
        ),
        **COOKIES,
    }
    assert (
        sign_claims(
            secret,
            SESSION_PURPOSE,
            (session.staff_id, session.event_id, session.generation, session.expires),
        )
        == genuine
    )
    walk = Walk()
    for name, value in forged.items():
        client.cookies.clear()
        client.cookies.set(KIOSK_COOKIE, value)
        scan = await client.post("/kiosk/scan", json={"code": tickets[0].code})
        assert scan.status_code == 403, (name, scan.status_code, scan.text)
        assert scan.headers["content-type"].startswith(PROBLEM)
        assert "not running a kiosk" in scan.json()["detail"], name
        page = await client.get("/kiosk")
        assert (page.status_code, page.headers["location"]) == (302, "/kiosk/setup"), name
        for path, body in (
            ("/kiosk/lookup", {"email": "a@b.org", "short_code": "AAAAAA"}),
            ("/kiosk/leave", {"password": "x"}),
        ):
            await walk.check(
                f"{path} with a {name} cookie",
                lambda path=path, body=body: client.post(path, json=body),
            )
    assert not walk.failures, "\n".join(walk.failures)
    assert walk.statuses == {403: 2 * len(forged)}
    assert await Admission.all().count() == 0

    # The genuine one still works, in the page's language too.
    client.cookies.clear()
    client.cookies.set(KIOSK_COOKIE, genuine)
    answer = await client.post("/kiosk/scan", json={"code": tickets[0].code})
    assert answer.status_code == 200 and answer.json()["outcome"] == "admitted"
    client.cookies.set(KIOSK_COOKIE, forged["signature flipped"])
    chinese = await client.post("/kiosk/scan?lang=zh-Hans", json={"code": tickets[0].code})
    assert chinese.status_code == 403 and "自助" in chinese.json()["detail"]
