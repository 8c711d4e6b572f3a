"""Erasing a person from the console, and how an erased person looks wherever staff
see people, over HTTP on both engines: the person page's erase action (its
confirmation, its reason, its refusal while a ticket is upcoming, the audit row) and
the data download; then every list, export, door answer and judging page that names
people shows the placeholder, never "None", never a 500."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar
from tortoise import timezone

from events_service.privacy.service import erase_person
from models import (
    EntryMember,
    ErasureRecord,
    Event,
    OutboxMessage,
    Person,
    Registration,
    StaffUser,
)
from models.enums import OutboxStatus
from tests.checkin_helpers import Ticket, event_now, link_for, ticket_for
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.factories import attendee, make_event, make_link, register
from tests.judging_helpers import API, closed_final_round, my_assignments, ok
from tests.visible_text import page_text

ERASED = "Erased person"
ERASED_ZH = "已删除的个人资料"
YES = {"confirm": "yes"}


def _no_none(html: str) -> None:
    """Nothing shows Python's None or JavaScript's null (the entries list's own words
    for no members and no rounds, "None" and "None yet", aside)."""
    text = page_text(html.replace('<span class="muted">None</span>', ""))
    assert not re.search(r"\bNone\b(?! yet)", text), text[:3000]
    assert "null" not in text


async def _door_day(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> tuple[dict, Ticket, int]:
    """Li Wei (ACME) and Wang Fang registered for Door Day, Li admitted at North."""
    event = await event_now(client, admin, title="Door Day")
    slug = await link_for(client, admin, event)
    li = await ticket_for(app, client, event, slug, "li", name="Li Wei", organisation="ACME")
    await ticket_for(app, client, event, slug, "wang", name="Wang Fang", organisation="RoadLink")
    scanned = await client.post(
        "/api/v1/checkins",
        json={"event_id": event["id"], "gate": "North", "code": li.code},
        headers=door,
    )
    assert scanned.json()["verdict"] == "admitted", scanned.text
    person_id = (await Registration.get(id=li.registration_id)).person_id  # type: ignore[attr-defined]
    return event, li, person_id


async def _end(event_id: int) -> None:
    """The event is over (its door stays open an hour more, for a late scan)."""
    now = timezone.now()
    await Event.filter(id=event_id).update(
        starts_at=now - timedelta(hours=6),
        ends_at=now - timedelta(minutes=1),
        checkin_closes_at=now + timedelta(hours=1),
    )


async def test_an_admin_erases_a_person_from_their_page_once_no_ticket_is_upcoming(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event, _, person_id = await _door_day(app, client, admin, door)
    later = await make_event(client, admin, title="Solar Summit")
    later_link = await make_link(client, admin, later["id"], label="Newsletter")
    solar = (await register(client, later_link["slug"], attendee("li", name="Li Wei"))).json()
    email = await log_in_to_pages(client, "admin")
    page_path = f"/admin/people/{person_id}"

    page = await client.get(page_path)
    assert page.status_code == 200
    confirm = page_text(page.text.split('id="erase-form"', 1)[1].split("</form>", 1)[0])
    assert "Erased for good: E-mail, Phone, Name and Job title." in confirm
    assert "Kept, without anything that names them: their organisation" in confirm
    assert "their registrations and admissions, the talent reach and every KPI" in confirm
    assert "judging records and published winner names." in confirm
    assert "holds 2 tickets for upcoming events" in confirm
    assert "The person withdrew their consent" in confirm
    assert 'name="_csrf_token"' in page.text.split('id="erase-form"', 1)[1]
    assert f'href="/api/v1/people/{person_id}/export"' in page.text
    chinese = page_text((await client.get(f"{page_path}?lang=zh-Hans")).text)
    assert "删除个人数据" in chinese and "下载数据（JSON）" in chinese
    await client.get(f"{page_path}?lang=en")  # the switch is remembered: back to English

    # Not confirmed, no reason, an unknown reason: nothing happens, and the page says why.
    unconfirmed = await follow(client, await post_form(client, f"{page_path}/erase", {}))
    assert "the action was not confirmed" in page_text(unconfirmed.text)
    for reason in ("", "my own words about Li"):
        no_reason = await follow(
            client, await post_form(client, f"{page_path}/erase", {**YES, "reason": reason})
        )
        assert "pick the reason first" in page_text(no_reason.text)

    # Tickets for Door Day (in progress) and Solar Summit: refused, counted, and how to go on.
    refused = await post_form(client, f"{page_path}/erase", {**YES, "reason": "consent-withdrawn"})
    assert refused.headers["location"] == page_path
    text = page_text((await follow(client, refused)).text)
    assert "Nothing was erased: this person holds 2 tickets for upcoming events." in text
    assert "Cancel those registrations first" in text
    assert (await Person.get(id=person_id)).email == "attendeeli@example.org"
    assert await ErasureRecord.all().count() == 0

    cancelled = await post_form(
        client, f"/admin/registrations/{solar['registration_id']}/cancel", YES
    )
    assert cancelled.status_code == 303
    await _end(event["id"])
    erased = await post_form(client, f"{page_path}/erase", {**YES, "reason": "consent-withdrawn"})

    assert erased.headers["location"] == page_path
    after = await follow(client, erased)
    text = page_text(after.text)
    assert "The personal data of this person is erased." in text
    assert f"by {email}." in text
    assert "Reason: The person withdrew their consent." in text
    assert "Erased: E-mail, Phone, Name and Job title." in text
    assert after.text.split("<h1>", 1)[1].startswith(ERASED)
    assert "Li Wei" not in after.text and "attendeeli@example.org" not in after.text
    assert "+86" not in after.text
    assert "ACME" in text  # the organisation is kept (the companies figure counts it)
    assert 'id="erase-form"' not in after.text  # nothing left to erase
    assert "Door Day" in text and "North" in text  # registrations and admissions stay
    _no_none(after.text)
    record = await ErasureRecord.get()
    staff = await StaffUser.get(email=email)
    assert (record.actor, record.reason, record.people, record.staff_id) == (
        "staff",
        "consent-withdrawn",
        1,
        staff.id,
    )

    # The download link (the API's export, the page's cookie): what is left of them.
    export = await client.get(f"/api/v1/people/{person_id}/export")
    assert export.status_code == 200
    held = export.json()["person"]
    assert (held["email"], held["name"], held["phone"]) == (None, None, None)
    assert held["erased_at"] is not None

    again = await follow(
        client, await post_form(client, f"{page_path}/erase", {**YES, "reason": "not-needed"})
    )
    assert "erased already" in page_text(again.text)
    assert await ErasureRecord.all().count() == 1
    chinese = page_text((await client.get(f"{page_path}?lang=zh-Hans")).text)
    assert ERASED_ZH in chinese and "本人撤回了同意" in chinese


@pytest.mark.parametrize("role", ["staff", "judge"])
async def test_other_roles_can_neither_erase_nor_download(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], role: str
) -> None:
    event = await make_event(client, admin, title="Past Day")
    link = await make_link(client, admin, event["id"])
    registration = (await register(client, link["slug"], attendee("li"))).json()
    person_id = (await Registration.get(id=registration["registration_id"])).person_id  # type: ignore[attr-defined]
    await log_in_to_pages(client, role)
    erase = await post_form(
        client, f"/admin/people/{person_id}/erase", {**YES, "reason": "person-asked"}
    )
    assert erase.status_code == 403
    assert (await client.get(f"/api/v1/people/{person_id}/export")).status_code == 403
    assert (await Person.get(id=person_id)).erased_at is None


async def test_the_page_says_who_erased_a_person_the_policy_or_they_themselves(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event, _, li_id = await _door_day(app, client, admin, door)
    await _end(event["id"])
    wang_id = (await Person.get(email="attendeewang@example.org")).id
    await erase_person(li_id, actor="person", settings=app.state.settings)
    await erase_person(wang_id, actor="policy", settings=app.state.settings)
    # An erasure whose audit row is gone: the date alone.
    await ErasureRecord.filter(actor="policy").delete()
    await log_in_to_pages(client, "admin")

    li = page_text((await client.get(f"/admin/people/{li_id}")).text)
    assert "at the person's own request." in li
    assert "Reason: The person asked through their my-data link." in li
    wang = page_text((await client.get(f"/admin/people/{wang_id}")).text)
    assert re.search(r"Erased on [^.]+\. Their registrations", wang), wang
    assert "by the retention policy" not in wang and ERASED in wang


async def test_an_erased_person_shows_as_erased_wherever_staff_see_people(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str], door: dict[str, str]
) -> None:
    event, li, person_id = await _door_day(app, client, admin, door)
    # Li is on the winning team (entry 1 of the scored round) with Ana.
    setup = await closed_final_round(client, admin)
    winner = setup.entries[1]
    members = [
        {"email": "attendeeli@example.org", "name": "Li Wei"},
        {"email": "ana@example.org", "name": "Ana Silva"},
    ]
    ok(await client.patch(f"{API}/entries/{winner}", json={"members": members}, headers=admin))
    # Li's ticket e-mail went out before the erasure.
    await OutboxMessage.filter(recipient="attendeeli@example.org").update(
        status=OutboxStatus.SENT, sent_at=timezone.now()
    )
    sent = await OutboxMessage.get(recipient="attendeeli@example.org")
    await _end(event["id"])
    assert await erase_person(person_id, actor="staff", settings=app.state.settings) == 1
    assert await EntryMember.filter(entry_id=winner, person_id=person_id).exists()

    # The door: the scan answer, the door bundle, the look-up by e-mail.
    again = await client.post(
        "/api/v1/checkins",
        json={"event_id": event["id"], "gate": "South", "code": li.code},
        headers=door,
    )
    assert again.status_code == 200
    assert again.json()["verdict"] == "already_admitted"
    assert again.json()["message"].endswith(f"gate North: {ERASED}")
    zh = await client.post(
        "/api/v1/checkins?lang=zh-Hans",
        json={"event_id": event["id"], "gate": "South", "code": li.code},
        headers=door,
    )
    assert ERASED_ZH in zh.json()["message"]
    bundle = await client.get(f"/api/v1/events/{event['id']}/door-bundle", headers=door)
    assert bundle.status_code == 200
    found = await client.get(
        f"/api/v1/events/{event['id']}/attendees",
        params={"q": "attendeeli@example.org"},
        headers=admin,
    )
    assert found.status_code == 200 and found.json() == []
    scan_page = await client.get("/scan", headers=door)
    assert scan_page.status_code == 200
    door_words = json.loads(
        scan_page.text.split('id="scan-words"', 1)[1].split(">", 1)[1].split("</script>")[0]
    )
    assert door_words["erased"] == ERASED

    await log_in_to_pages(client, "admin")
    event_id = event["id"]
    pages = {
        "search by organisation": "/admin/registrations?q=ACME",
        "registrations": f"/admin/events/{event_id}/registrations",
        "person": f"/admin/people/{person_id}",
        "door": f"/admin/events/{event_id}/door",
        "door live": f"/admin/events/{event_id}/door/live",
        "entries": f"/admin/competitions/{setup.event_id}/entries",
        "outbox": "/admin/outbox",
        "outbox message": f"/admin/outbox/{sent.id}",
        "talents": "/admin/programme/kpis/talents",
    }
    for what, path in pages.items():
        for lang, placeholder in (("en", ERASED), ("zh-Hans", ERASED_ZH)):
            page = await client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
            assert page.status_code == 200, (what, lang, page.text[:500])
            assert placeholder in page_text(page.text), (what, lang)
            assert "Li Wei" not in page.text and "attendeeli@" not in page.text, what
            _no_none(page.text)
    await client.get("/admin?lang=en")  # the switch is remembered: back to English
    badges = await client.get(f"/admin/events/{event_id}/badges.pdf")
    assert badges.status_code == 200 and badges.content.startswith(b"%PDF")
    # A message to the attendees counts only those it can be sent to.
    audiences = page_text((await client.get(f"/admin/events/{event_id}/message")).text)
    assert "Everyone confirmed (1)" in audiences
    assert "Everyone admitted at the door (0)" in audiences

    # Searching by the old address or name finds nobody.
    for q in ("attendeeli@example.org", "attendeeli", "Li Wei"):
        search = page_text((await client.get("/admin/registrations", params={"q": q})).text)
        assert "0 people match." in search, q
        table = (await client.get(f"/admin/events/{event_id}/registrations", params={"q": q})).text
        assert 'id="no-registrations"' in table, q

    # Both CSV exports: the placeholder in the name column, nothing else of theirs.
    for path, headers in (
        (f"/admin/events/{event_id}/registrations.csv", {}),
        (f"/api/v1/events/{event_id}/registrations.csv", admin),
    ):
        exported = await client.get(path, headers=headers)
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
        mine = next(r for r in rows if r["id"] == str(li.registration_id))
        assert (mine["name"], mine["email"], mine["phone"]) == (ERASED, "", "")
        assert "None" not in exported.text and "Li Wei" not in exported.text

    # The entry keeps Li: the edit form leaves them out and says so, saving keeps them.
    edit_path = f"/admin/competitions/{setup.event_id}/entries/{winner}/edit"
    form = await client.get(edit_path)
    assert "Ana Silva &lt;ana@example.org&gt;" in form.text
    assert "1 more member, whose personal data was erased, stays on the entry." in page_text(
        form.text
    )
    _no_none(form.text)
    saved = await post_form(
        client,
        edit_path,
        {"title": "Entry 1", "team_name": "Team 1", "organisation": "Org 1",
         "track": "", "summary": "", "members": "Ana Silva <ana@example.org>"},
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    assert await EntryMember.filter(entry_id=winner).count() == 2

    # The judge's sheet names the team's members; publishing writes to Ana alone.
    headers = next(iter(setup.judges.values()))
    mine = next(a for a in await my_assignments(client, headers) if a["entry"]["id"] == winner)
    client.cookies.clear()
    sheet = await client.get(f"/judge/assignments/{mine['id']}", headers=headers)
    assert sheet.status_code == 200
    assert f"Members: {ERASED}, Ana Silva" in page_text(sheet.text)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))
    told = await OutboxMessage.filter(kind="winner.published").values_list("recipient", flat=True)
    assert sorted(told) == ["ana@example.org"]
