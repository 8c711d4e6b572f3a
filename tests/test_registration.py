"""Public registration through a link: tickets, waitlist, refusals, bad input, the pages."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import httpx
import icalendar
import pytest
import zxingcpp
from PIL import Image

from events_service.checkin.codes import read_code
from models import Organisation, Person, Registration
from tests.conftest import LoginAs
from tests.factories import attendee, in_days, make_event, make_link, register, token_of
from tests.server import cli_env, server_process


@pytest.fixture
async def admin(login_as: LoginAs) -> dict[str, str]:
    return await login_as("admin")


async def test_register_returns_a_ticket_and_again_the_same_ticket(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=10)
    link = await make_link(client, admin, event["id"])

    first = await register(client, link["slug"], attendee("li", organisation="ACME Motors"))
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "confirmed" and body["created"] is True
    assert body["ticket_url"].startswith("http://testserver/t/")

    # Same person, typed differently: not a second registration, and the existing
    # ticket is mailed again rather than shown (tests/test_registration_trust.py).
    again = await register(client, link["slug"], attendee("li", email="  AttendeeLI@Example.ORG "))
    assert again.status_code == 200
    assert again.json()["registration_id"] == body["registration_id"]
    assert again.json()["created"] is False and again.json()["ticket_url"] is None
    assert await Registration.all().count() == 1
    assert await Person.filter(email="attendeeli@example.org").count() == 1


async def test_waitlist_then_sold_out_without_waitlist(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with_waitlist = await make_event(client, admin, capacity=1, waitlist_enabled=True)
    link = await make_link(client, admin, with_waitlist["id"])
    assert (await register(client, link["slug"], attendee(1))).json()["status"] == "confirmed"
    assert (await register(client, link["slug"], attendee(2))).json()["status"] == "waitlisted"

    no_waitlist = await make_event(client, admin, capacity=1)
    other = await make_link(client, admin, no_waitlist["id"])
    assert (await register(client, other["slug"], attendee(3))).status_code == 201
    refused = await register(client, other["slug"], attendee(4))
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/sold-out"
    assert await Registration.filter(event_id=no_waitlist["id"]).count() == 1


async def test_link_quota_is_a_hard_limit(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    event = await make_event(client, admin)
    poster = await make_link(client, admin, event["id"], label="Poster hall 2", quota=2)
    chat = await make_link(client, admin, event["id"], label="WeChat")
    for n in (1, 2):
        assert (await register(client, poster["slug"], attendee(n))).status_code == 201

    refused = await register(client, poster["slug"], attendee(3))
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/quota-reached"
    # The other channel still works.
    assert (await register(client, chat["slug"], attendee(3))).status_code == 201


@pytest.mark.parametrize(
    ("event_fields", "link_fields", "action", "status", "type_"),
    [
        ({}, {"opens_at": in_days(1)}, None, 409, "registration-not-open"),
        ({"registration_opens_at": in_days(2)}, {}, None, 409, "registration-not-open"),
        ({}, {"active": False}, None, 409, "registration-closed"),
        (
            {"registration_closes_at": in_days(-0.5), "registration_opens_at": in_days(-1)},
            {},
            None,
            409,
            "registration-closed",
        ),
        ({}, {}, "close", 409, "registration-closed"),
        ({}, {}, "cancel", 410, "event-cancelled"),
    ],
)
async def test_link_states_refuse_with_their_reason(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    event_fields: dict,
    link_fields: dict,
    action: str | None,
    status: int,
    type_: str,
) -> None:
    event = await make_event(client, admin, **event_fields)
    link = await make_link(client, admin, event["id"], **link_fields)
    if action:
        assert (
            await client.post(f"/api/v1/events/{event['id']}/{action}", headers=admin)
        ).is_success

    response = await register(client, link["slug"], attendee(1))

    assert response.status_code == status
    assert response.json()["type"] == f"/problems/{type_}"
    assert await Registration.all().count() == 0
    page = await client.get(f"/r/{link['slug']}")
    assert page.status_code == status
    assert "<form" not in page.text


async def test_unknown_link_and_draft_event_look_the_same(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    draft = await make_event(client, admin, publish=False)
    link = await make_link(client, admin, draft["id"])
    for slug in (link["slug"], "no-such-link"):
        response = await register(client, slug, attendee(1))
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/link-not-found"
        assert (await client.get(f"/r/{slug}")).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"name": "   "}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.org"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"consent": False}, "consent"),
        ({"organisation": "o" * 201}, "organisation"),
    ],
)
async def test_bad_fields_are_named_and_nothing_is_written(
    client: httpx.AsyncClient, admin: dict[str, str], change: dict, field: str
) -> None:
    event = await make_event(client, admin, capacity=5)
    link = await make_link(client, admin, event["id"])

    response = await register(client, link["slug"], {**attendee(1), **change})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await Registration.all().count() == 0
    assert await Person.all().count() == 0
    assert (await client.get(f"/api/v1/events/{event['id']}", headers=admin)).json()[
        "confirmed"
    ] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "A", "email": "a@example.org"},  # no consent at all
        {"name": "A", "email": "a@example.org", "consent": "yes"},
        {"name": "A", "email": "a@example.org", "consent": True, "admin": True},
        {"name": "A" * 1000, "email": "a@example.org", "consent": True},
    ],
)
async def test_malformed_json_bodies_are_400(
    client: httpx.AsyncClient, admin: dict[str, str], body: dict
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    response = await register(client, link["slug"], body)
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/validation-error"
    assert await Registration.all().count() == 0


async def test_phone_is_stored_in_e164_and_organisation_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    await register(client, link["slug"], attendee(1, phone="138 0013 8000", organisation="ACME"))
    await register(
        client, link["slug"], attendee(2, phone="+44 20 7946 0958", organisation=" acme ")
    )

    phones = sorted(p.phone for p in await Person.all())
    assert phones == ["+442079460958", "+8613800138000"]
    assert await Organisation.all().count() == 1


async def test_an_organisation_name_that_grows_under_normalisation_registers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """NFKC turns U+FDFA into 18 letters: twelve of them are a valid 12-character name
    whose identity key is 216 characters long, beyond its column."""
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    long_name, shorter = "\ufdfa" * 12, "\ufdfa" * 11 + "x"

    answers = [
        await register(client, link["slug"], attendee(n, organisation=name))
        for n, name in enumerate([long_name, long_name, shorter])
    ]

    assert [a.status_code for a in answers] == [201, 201, 201]
    people = await Person.all().order_by("id").prefetch_related("organisation")
    assert [p.organisation.name for p in people] == [long_name, long_name, shorter]
    assert await Organisation.all().count() == 2


async def test_ticket_qr_decodes_to_a_code_that_verifies(
    app, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    ticket = (await register(client, link["slug"], attendee(1))).json()

    png = await client.get(f"/t/{token_of(ticket)}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert len(decoded) == 1
    claims = read_code(app.state.settings.signing_key, decoded[0].text)
    assert (claims.registration_id, claims.event_id) == (ticket["registration_id"], event["id"])
    # No personal data in the code: it is only ids and a signature.
    assert "attendee" not in decoded[0].text.lower()

    svg = await client.get(f"/t/{token_of(ticket)}/qr.svg")
    assert svg.status_code == 200 and "<svg" in svg.text


async def test_ticket_key_is_public_and_verifies_codes(
    app, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from events_service.checkin.codes import issue_code

    event = await make_event(client, admin)
    client.cookies.clear()
    key = (await client.get(f"/api/v1/events/{event['id']}/ticket-key")).json()
    assert key["algorithm"] == "Ed25519"
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key["public_key"] + "=="))
    code = issue_code(app.state.settings.signing_key, 7, event["id"])
    raw = base64.b32decode(code + "=" * (-len(code) % 8))
    public.verify(raw[9:], b"events-service/ticket/v1|" + raw[:9])  # raises if wrong
    assert (await client.get("/api/v1/events/999999/ticket-key")).status_code == 404


async def test_waitlisted_ticket_has_no_entry_code(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=1, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    await register(client, link["slug"], attendee(1))
    waiting = (await register(client, link["slug"], attendee(2))).json()

    assert (await client.get(f"/t/{token_of(waiting)}/qr.png")).status_code == 409
    page = await client.get(f"/t/{token_of(waiting)}")
    assert 'data-status="waitlisted"' in page.text and "<svg" not in page.text


async def test_cancel_frees_the_seat_and_promotes_the_first_waiting(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=1, waitlist_enabled=True)
    link = await make_link(client, admin, event["id"])
    holder = (await register(client, link["slug"], attendee(1))).json()
    first_waiting = (await register(client, link["slug"], attendee(2))).json()
    second_waiting = (await register(client, link["slug"], attendee(3))).json()

    response = await client.post(f"/t/{token_of(holder)}/cancel")
    assert response.status_code == 303
    # Twice is harmless: nobody else gets promoted by a repeated click.
    assert (await client.post(f"/t/{token_of(holder)}/cancel")).status_code == 303

    statuses = {r.id: r.status.value for r in await Registration.filter(event_id=event["id"])}
    assert statuses == {
        holder["registration_id"]: "cancelled",
        first_waiting["registration_id"]: "confirmed",
        second_waiting["registration_id"]: "waitlisted",
    }
    figures = (await client.get(f"/api/v1/events/{event['id']}", headers=admin)).json()
    assert figures["confirmed"] == 1
    page = await client.get(f"/t/{token_of(holder)}")
    assert 'data-status="cancelled"' in page.text


async def test_cancelled_person_can_register_again(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=1)
    link = await make_link(client, admin, event["id"])
    ticket = (await register(client, link["slug"], attendee(1))).json()
    await client.post(f"/t/{token_of(ticket)}/cancel")

    again = await register(client, link["slug"], attendee(1))

    assert again.status_code == 201 and again.json()["status"] == "confirmed"
    assert again.json()["registration_id"] == ticket["registration_id"]


async def test_calendar_invite_parses(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    event = await make_event(client, admin, title="Summit 2026")
    link = await make_link(client, admin, event["id"])
    ticket = (await register(client, link["slug"], attendee(1))).json()

    response = await client.get(f"/t/{token_of(ticket)}/calendar.ics")

    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    (entry,) = [c for c in calendar.walk("VEVENT")]
    assert str(entry["summary"]) == "Summit 2026"
    starts_at = datetime.fromisoformat(event["starts_at"]).replace(microsecond=0)
    assert entry.decoded("dtstart") == starts_at  # iCalendar keeps whole seconds
    assert ticket["ticket_url"] in str(entry["description"])


async def test_unknown_ticket_gets_a_friendly_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/t/not-a-real-token")
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "Check the link" in response.text


# ---- the HTML form -------------------------------------------------------------------


async def test_form_registers_and_redirects_to_the_ticket(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=3, title="Summit <2026>")
    link = await make_link(client, admin, event["id"])

    page = await client.get(f"/r/{link['slug']}")
    assert page.status_code == 200
    assert "Summit &lt;2026&gt;" in page.text and "3 places left" in page.text

    posted = await client.post(
        f"/r/{link['slug']}",
        data={"name": "Li Wei", "email": "li.wei@example.org", "consent": "on"},
    )
    assert posted.status_code == 303
    ticket = await client.get(posted.headers["location"])
    assert ticket.status_code == 200
    assert "Li Wei" in ticket.text and "<svg" in ticket.text


async def test_form_errors_keep_the_values_and_name_the_fields(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])

    response = await client.post(
        f"/r/{link['slug']}",
        data={"name": "Li Wei", "email": "li.wei(at)example.org", "phone": "123"},
    )

    assert response.status_code == 422
    assert 'id="email-error"' in response.text and 'id="phone-error"' in response.text
    assert 'id="consent-error"' in response.text and 'id="name-error"' not in response.text
    assert 'value="Li Wei"' in response.text
    assert await Registration.all().count() == 0


async def test_markup_in_names_is_escaped_on_every_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    evil = '<script>alert("x")</script>'
    ticket = (await register(client, link["slug"], attendee(1, name=evil))).json()

    page = await client.get(f"/t/{token_of(ticket)}")
    assert evil not in page.text
    assert "&lt;script&gt;" in page.text

    form = await client.post(f"/r/{link['slug']}", data={"name": evil, "email": "bad"})
    assert evil not in form.text and "&lt;script&gt;" in form.text


async def test_pages_speak_chinese_and_show_the_event_timezone(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(
        client,
        admin,
        starts_at="2026-12-12T09:30:00+08:00",
        ends_at="2026-12-12T17:00:00+08:00",
        timezone="Asia/Shanghai",
        capacity=1,
        waitlist_enabled=True,
    )
    link = await make_link(client, admin, event["id"])
    await register(client, link["slug"], attendee(1))

    chinese = await client.get(f"/r/{link['slug']}", headers={"accept-language": "zh-CN,zh"})
    assert '<html lang="zh-Hans">' in chinese.text
    assert "加入候补名单" in chinese.text
    assert "2026年12月12日周六 09:30–17:00（Asia/Shanghai，UTC+08:00）" in chinese.text

    english = await client.get(f"/r/{link['slug']}?lang=en", headers={"accept-language": "zh"})
    assert "Sat, 12 Dec 2026, 09:30–17:00 (Asia/Shanghai, UTC+08:00)" in english.text
    assert "Join the waitlist" in english.text
    # The switch is remembered.
    assert client.cookies.get("lang") == "en"
    remembered = await client.get(f"/r/{link['slug']}", headers={"accept-language": "zh"})
    assert '<html lang="en">' in remembered.text


def test_registration_is_rate_limited_per_address(tmp_path: Path, server_database_url: str) -> None:
    env = cli_env(server_database_url, tmp_path, EVENTS_REGISTRATIONS_PER_MINUTE="2")
    with server_process(env, tmp_path) as base:
        # No event is needed: the limiter answers before any registration logic.
        json_answers = [
            httpx.post(f"{base}/api/v1/register/whatever", json=attendee(n)) for n in range(3)
        ]
        form_answer = httpx.post(f"{base}/r/whatever", data={"name": "x"})
        reading = httpx.get(f"{base}/r/whatever")

    assert [r.status_code for r in json_answers] == [404, 404, 429]
    assert json_answers[2].json()["type"] == "/problems/rate-limited"
    assert form_answer.status_code == 429
    assert "text/html" in form_answer.headers["content-type"]
    assert "Wait a minute" in form_answer.text
    # Reading the page is never throttled.
    assert reading.status_code == 404
