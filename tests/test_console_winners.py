"""The console's winners page: the preview of what publishing writes (and that it writes
nothing), the publication (once: a second one adds nothing), the records with their
hashes, the chain's check in words (intact, then broken at the record an attacker
changed in the database), a correction, the certificate; and an entry deleted from
its edit page (refused, in words, once it has sheets). Both backends."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import httpx

from events_service.console.winners import _PREVIEW_REFUSALS, PROBLEM_WORDS
from events_service.locale import words
from models import Entry, WinnerRecord
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.judging_helpers import API, closed_final_round, ok, scored_round
from tests.visible_text import page_text

NO_AWARDS = "The final round has no awards; add them with POST /rounds/{id}/awards."


def part(html: str, element_id: str, end: str = "</table>") -> str:
    """The visible text of the element with this id, up to `end`."""
    assert f'id="{element_id}"' in html, element_id
    return page_text(html.split(f'id="{element_id}"', 1)[1].split(end, 1)[0])


def rows(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [page_text(row) for row in re.findall(r"<tr data-[^>]*>(.*?)</tr>", body, re.S)]


async def test_the_preview_lists_what_will_be_written_and_writes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await closed_final_round(client, admin)
    await log_in_to_pages(client, "admin")
    url = f"/admin/competitions/{setup.event_id}/winners"

    # Still open: the list is shown, publishing is not offered, and the page says why.
    page = await client.get(url, params={"lang": "en"})
    assert page.status_code == 200, page.text
    state = part(page.text, "state", "</p>")
    assert "Scoring in the final round “Preliminary” is still open" in state
    assert "Publish the winners" not in page_text(page.text)
    refused = await follow(client, await post_form(client, f"{url}/publish", {"confirm": "yes"}))
    assert "still open" in page_text(refused.text)
    assert await WinnerRecord.all().count() == 0

    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=setup.admin))
    page = await client.get(url)
    assert page.status_code == 200
    assert rows(page.text, "preview") == [
        "First prize 1 Entry 1 Team 1 · Org 1 9",
        "Runner-up 2 Entry 3 Team 3 · Org 3 7",
        "Runner-up 3 Entry 0 Team 0 · Org 0 6",
    ]
    assert "Publishing adds 3 records" in page_text(page.text)
    assert "Publish these 3 winner records?" in page_text(page.text)
    assert "Nothing is published for this competition yet." in page_text(page.text)
    assert await WinnerRecord.all().count() == 0  # looking writes nothing

    # Without the dialog's confirmation nothing is published either.
    unconfirmed = await follow(client, await post_form(client, f"{url}/publish"))
    assert "confirm first" in page_text(unconfirmed.text)
    assert await WinnerRecord.all().count() == 0


async def test_nothing_to_publish_is_said_in_words(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, judges=2, k=1, open_round=False)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/competitions/{setup.event_id}/winners?lang=en")
    assert page.status_code == 200
    said = page_text(page.text)
    assert "The final round has no awards yet" in said and "add the awards" in said
    assert "is still a draft" in said
    assert 'id="preview"' not in page.text

    zh = await client.get(f"/admin/competitions/{setup.event_id}/winners?lang=zh-Hans")
    assert zh.status_code == 200 and "The final round has no awards" not in page_text(zh.text)
    assert words("zh-Hans").gettext(_PREVIEW_REFUSALS[NO_AWARDS]) in page_text(zh.text)


async def test_publish_writes_records_with_hashes_once_and_verify_finds_tampering(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=setup.admin))
    await log_in_to_pages(client, "admin")
    url = f"/admin/competitions/{setup.event_id}/winners"

    page = await follow(client, await post_form(client, f"{url}/publish", {"confirm": "yes"}))
    assert "3 records were added to the chain" in page_text(page.text)
    records = await WinnerRecord.all().order_by("sequence")
    assert len(records) == 3
    listed = rows(page.text, "records")
    assert [r.split()[:4] for r in listed] == [
        ["1", "First", "prize", "1"],
        ["2", "Runner-up", "2", "Entry"],
        ["3", "Runner-up", "3", "Entry"],
    ]
    for record in records:
        assert f"{record.hash[:12]}…" in page.text  # short, and whole on hover and unfolded
        assert f'title="{record.hash}"' in page.text
        assert f'<code class="full" data-hash>{record.hash}</code>' in page.text
    assert "Asia/Shanghai" in part(page.text, "records", "</caption>")
    assert "is published" in part(page.text, "state", "</p>")
    assert 'id="preview"' not in page.text  # nothing left to publish

    # A second publication is refused and adds nothing.
    again = await follow(client, await post_form(client, f"{url}/publish", {"confirm": "yes"}))
    assert "A round is published once" in page_text(again.text)
    assert await WinnerRecord.all().count() == 3

    checked = await client.get(url, params={"verify": "1"})
    assert "The chain is intact: all 3 records match their hashes" in part(
        checked.text, "verdict", "</div>"
    )

    # The attacker: a direct write to the database moves the runner-up's score.
    await WinnerRecord.filter(id=records[1].id).update(final_score="9.5000")
    checked = await client.get(url, params={"verify": "1"})
    verdict = part(checked.text, "verdict", "</div>")
    assert "The chain is broken" in verdict
    assert "Record 2 was changed after it was published" in verdict
    assert "Record 1" not in verdict and "Record 3" not in verdict
    broken = re.findall(r'<tr data-record="\d+" data-sequence="(\d+)" class="broken"', checked.text)
    assert broken == ["2"]

    zh = await client.get(url, params={"verify": "1", "lang": "zh-Hans"})
    assert "Record 2 was changed" not in page_text(zh.text)
    assert words("zh-Hans").gettext(PROBLEM_WORDS["modified"], sequence="2") in page_text(zh.text)


async def test_a_correction_adds_a_record_naming_the_old_one(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=setup.admin))
    ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=setup.admin))
    third = await WinnerRecord.get(sequence=3)
    await log_in_to_pages(client, "admin")
    url = f"/admin/competitions/{setup.event_id}/winners"

    bad = await post_form(client, f"{url}/supersede", {"record_id": str(third.id), "reason": ""})
    assert bad.status_code == 422
    assert "Say why the record is corrected." in page_text(bad.text)
    assert await WinnerRecord.all().count() == 3

    page = await follow(
        client,
        await post_form(
            client,
            f"{url}/supersede",
            {
                "record_id": str(third.id),
                "reason": "Entry 0 was disqualified",
                "entry_id": str(setup.entries[2]),
            },
        ),
    )
    assert "Record 3 was corrected by the new record 4." in page_text(page.text)
    listed = rows(page.text, "records")
    assert "Corrected by record 4" in listed[2]
    assert "Entry 2" in listed[3] and "Corrects record 3" in listed[3]
    assert "Entry 0 was disqualified" in listed[3]
    checked = await client.get(url, params={"verify": "1"})
    assert "The chain is intact: all 4 records" in part(checked.text, "verdict", "</div>")

    # Corrected already: the form says so, nothing is added.
    twice = await post_form(
        client, f"{url}/supersede", {"record_id": str(third.id), "reason": "Second thoughts"}
    )
    assert twice.status_code == 422 and await WinnerRecord.all().count() == 4


async def test_the_certificate_names_competition_award_entry_team_date_and_hash(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=setup.admin))
    ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=setup.admin))
    first = await WinnerRecord.get(sequence=1)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/competitions/{setup.event_id}/winners?lang=en")
    link = f"/winners/{first.id}/certificate?lang=en"
    assert f'href="{link}"' in page.text

    certificate = await client.get(link)
    assert certificate.status_code == 200
    text = page_text(certificate.text)
    for said in ("Auto Tech Challenge", "First prize", "Entry 1", "Team 1", first.hash):
        assert said in text, said
    local = first.published_at.astimezone(ZoneInfo("Asia/Shanghai"))  # the event's zone
    assert f"Published {local:%B} {local.day}, {local.year}" in text
    assert "window.print()" in certificate.text and "@media print" in certificate.text


async def test_an_entry_is_deleted_from_its_page_unless_it_has_sheets(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await closed_final_round(client, admin)  # every entry scored
    other = await scored_round(client, setup.admin, entries=1, judges=1, k=1, open_round=False)
    event_id = setup.event_id
    fresh = ok(
        await client.post(
            f"{API}/competitions/{event_id}/entries",
            json={"title": "Late idea", "team_name": "Night owls"},
            headers=setup.admin,
        )
    )
    await log_in_to_pages(client, "admin")
    base = f"/admin/competitions/{event_id}/entries"

    form = await client.get(f"{base}/{fresh['id']}/edit?lang=en")
    assert "Delete “Late idea”?" in page_text(form.text)
    assert f'action="{base}/{fresh["id"]}/delete"' in form.text
    gone = await post_form(client, f"{base}/{fresh['id']}/delete", {"confirm": "yes"})
    assert gone.headers["location"] == base
    listed = await follow(client, gone)
    assert "“Late idea” was deleted." in page_text(listed.text)
    assert not await Entry.exists(id=fresh["id"])

    scored = setup.entries[0]
    refused = await post_form(client, f"{base}/{scored}/delete", {"confirm": "yes"})
    assert refused.headers["location"] == f"{base}/{scored}/edit"
    page = await follow(client, refused)
    assert "The entry has been scored; it stays for the record." in page_text(page.text)
    assert await Entry.exists(id=scored)

    # Another competition's entry is not found through this one.
    wrong = await post_form(client, f"{base}/{other.entries[0]}/delete", {"confirm": "yes"})
    assert wrong.status_code == 404 and await Entry.exists(id=other.entries[0])
