"""The console's pages to staff and run a judging round: judges and their conflicts, a
proposed plan shown before anything is saved and then saved exactly, one entry moved
by hand, the round opened and closed, progress and reminders to late judges through
the outbox. Both backends, through the pages as a browser posts them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar

from events_service.judging import judges
from models import ConflictDeclaration, JudgeAssignment, OutboxMessage, Round, StaffUser
from models.enums import RoundStatus
from notifications.messages import MessageBuilder, Queued
from notifications.outbox import Kind
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.judging_helpers import API, Setup, my_assignments, ok, scored_round, submit
from tests.visible_text import page_text


def hidden(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)


def save_fields(html: str) -> dict[str, object]:
    """What the plan page's "Save this plan" form posts."""
    form = html.split('id="save-form"', 1)[1].split("</form>", 1)[0]
    return {
        "judge": hidden(form, "judge"),
        "k": hidden(form, "k")[0],
        "seed": hidden(form, "seed")[0],
        "digest": hidden(form, "digest")[0],
    }


def flash(html: str) -> str:
    found = re.search(
        r'<(?:p|div) class="notice (?:ok|warn|bad)"[^>]*>(.*?)</(?:p|div)>', html, re.S
    )
    return page_text(found.group(1)) if found else ""


async def pairs(round_id: int) -> list[tuple[int, int]]:
    rows = await JudgeAssignment.filter(round_id=round_id).values_list("entry_id", "judge_id")
    return sorted(rows)


async def draft(client: httpx.AsyncClient, admin: dict[str, str], **kwargs: object) -> Setup:
    return await scored_round(client, admin, open_round=False, **kwargs)  # type: ignore[arg-type]


async def test_the_judges_page_lists_judges_their_conflicts_and_load(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await draft(client, admin, entries=4, judges=3, k=2)
    first = min(setup.judges)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{setup.round_id}/judges?lang=en")
    assert page.status_code == 200, page.text
    table = page_text(page.text.split('id="judges"', 1)[1].split("</table>", 1)[0])
    assert "Judge0" in table and "Judge1" in table and "Judge2" in table
    load = await JudgeAssignment.filter(round_id=setup.round_id, judge_id=first).count()
    row = page_text(page.text.split(f'data-judge="{first}"', 1)[1].split("</tr>", 1)[0])
    assert f"{load} entries · 0 submitted" in row

    # A conflict declared through the form shows beside the judge.
    added = await post_form(
        client,
        f"/admin/rounds/{setup.round_id}/conflicts",
        {"judge": str(first), "organisation": "Org 3", "reason": "advises them"},
    )
    landed = await follow(client, added)
    assert "Conflict recorded: Judge0 will not be given entries of Org 3." in flash(landed.text)
    row = page_text(landed.text.split(f'data-judge="{first}"', 1)[1].split("</tr>", 1)[0])
    assert "Org 3" in row and "advises them" in row
    conflict = await ConflictDeclaration.get(judge_id=first)

    # Bad input: the form again, with the reason beside the field; nothing written.
    wrong = await post_form(
        client, f"/admin/rounds/{setup.round_id}/conflicts", {"judge": "", "organisation": " "}
    )
    assert wrong.status_code == 422
    assert 'id="e-organisation">Required.' in wrong.text
    assert 'id="e-judge">Choose a judge.' in wrong.text
    assert await ConflictDeclaration.all().count() == 1

    withdrawn = await follow(
        client,
        await post_form(
            client, f"/admin/rounds/{setup.round_id}/conflicts/{conflict.id}/remove", {}
        ),
    )
    assert "The conflict with Org 3 was withdrawn." in flash(withdrawn.text)
    assert not await ConflictDeclaration.exists()

    chinese = page_text(
        (await client.get(f"/admin/rounds/{setup.round_id}/judges?lang=zh-Hans")).text
    )
    assert "评委" in chinese


async def test_the_plan_is_shown_first_writes_nothing_and_is_saved_exactly(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await draft(client, admin, entries=6, judges=3, k=2)
    before = await pairs(setup.round_id)
    await log_in_to_pages(client, "admin")
    ids = sorted(setup.judges)
    preview = await client.get(
        f"/admin/rounds/{setup.round_id}/plan",
        params={"judge": [str(i) for i in ids], "k": "2", "seed": "7", "chosen": "1", "lang": "en"},
    )
    assert preview.status_code == 200, preview.text
    text = page_text(preview.text)
    assert "nothing is saved until you press “Save this plan”" in text
    assert "Connected" in text and "Balanced" in text
    assert "0 judge–entry pairs are ruled out by declared conflicts" in text
    assert "Saving replaces the 12 assignments the round has now." in text
    expected = await judges.propose_assignment(setup.round_id, 7, ids, 2)
    table = page_text(preview.text.split('id="plan"', 1)[1].split("</table>", 1)[0])
    for judge_id, load in expected.plan.loads.items():
        name = (await StaffUser.get(id=judge_id)).name
        assert f"{name} {load} " in table + " "
    assert await pairs(setup.round_id) == before  # a preview writes nothing

    fields = save_fields(preview.text)
    assert fields["seed"] == "7" and fields["k"] == "2" and fields["judge"] == [str(i) for i in ids]
    saved = await post_form(client, f"/admin/rounds/{setup.round_id}/plan", fields)
    landed = await follow(client, saved)
    assert "The plan is saved: 12 sheets to score." in flash(landed.text)
    assert await pairs(setup.round_id) == expected.plan.pairs

    # A stale preview (the plan is another one now) is refused, nothing changes.
    stale = await post_form(client, f"/admin/rounds/{setup.round_id}/plan", {**fields, "seed": "8"})
    assert stale.status_code == 409
    assert "The plan changed since it was shown" in page_text(stale.text)
    assert await pairs(setup.round_id) == expected.plan.pairs


async def test_a_plan_with_another_k_is_saved_with_it_on_the_round(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await draft(client, admin, entries=4, judges=3, k=2)
    await log_in_to_pages(client, "admin")
    preview = await client.get(
        f"/admin/rounds/{setup.round_id}/plan", params={"k": "1", "seed": "3"}
    )
    assert "4 sheets to score" in page_text(preview.text)
    await follow(
        client,
        await post_form(client, f"/admin/rounds/{setup.round_id}/plan", save_fields(preview.text)),
    )
    assert (await Round.get(id=setup.round_id)).judges_per_entry == 1
    assert await JudgeAssignment.filter(round_id=setup.round_id).count() == 4


async def test_a_declared_conflict_is_honoured_and_counted_in_the_plan(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await draft(client, admin, entries=6, judges=4, k=2)
    first = min(setup.judges)
    await log_in_to_pages(client, "admin")
    await post_form(
        client,
        f"/admin/rounds/{setup.round_id}/conflicts",
        {"judge": str(first), "organisation": "org 0"},  # the case does not matter
    )
    preview = await client.get(f"/admin/rounds/{setup.round_id}/plan", params={"seed": "4"})
    assert "1 judge–entry pair is ruled out by declared conflicts" in page_text(preview.text)
    await follow(
        client,
        await post_form(client, f"/admin/rounds/{setup.round_id}/plan", save_fields(preview.text)),
    )
    assert (setup.entries[0], first) not in await pairs(setup.round_id)
    assert await JudgeAssignment.filter(round_id=setup.round_id).count() == 12


async def test_impossible_plans_and_bad_settings_are_explained_not_a_500(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await draft(client, admin, entries=3, judges=3, k=2)
    before = await pairs(setup.round_id)
    await log_in_to_pages(client, "admin")
    path = f"/admin/rounds/{setup.round_id}/plan"
    too_few = await client.get(path, params={"k": "4"})
    assert too_few.status_code == 200
    text = page_text(too_few.text)
    assert "No plan is possible with these settings." in text
    assert "Each entry needs 4 judges but the plan has only 3" in text
    assert 'id="save-form"' not in too_few.text

    for judge_id in list(setup.judges)[:2]:
        await post_form(
            client,
            f"/admin/rounds/{setup.round_id}/conflicts",
            {"judge": str(judge_id), "organisation": "Org 1"},
        )
    conflicted = page_text((await client.get(path)).text)
    assert "only 1 can judge “Entry 1”" in conflicted

    not_a_number = await client.get(path, params={"k": "two"})
    assert not_a_number.status_code == 422
    assert 'id="e-k">Enter a whole number.' in not_a_number.text
    nobody = await client.get(path, params={"chosen": "1"})
    assert nobody.status_code == 422
    assert "Choose at least one judge." in page_text(nobody.text)
    saved_badly = await post_form(client, path, {"k": "0", "seed": "1", "judge": "1"})
    assert saved_badly.status_code == 422
    assert 'id="e-k">At least 1.' in saved_badly.text
    assert await pairs(setup.round_id) == before


async def _sheet_and_free_judge(setup: Setup) -> tuple[JudgeAssignment, int]:
    """A sheet of the round and a judge not on its entry."""
    for sheet in await JudgeAssignment.filter(round_id=setup.round_id).order_by("id"):
        on_entry = set(
            await JudgeAssignment.filter(
                round_id=setup.round_id, entry_id=sheet.entry_id
            ).values_list("judge_id", flat=True)
        )
        free = sorted(set(setup.judges) - on_entry)
        if free:
            return sheet, free[0]
    raise AssertionError("every judge is on every entry")


async def test_one_entry_moves_to_another_judge_with_the_same_checks(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, entries=4, judges=3, k=2)
    sheet, free = await _sheet_and_free_judge(setup)
    # Another judge's submitted sheet, before the organiser logs in to the pages.
    submitted_judge = next(j for j in setup.judges if j != sheet.judge_id)
    mine = await my_assignments(client, setup.judges[submitted_judge])
    done_sheet = mine[0]["id"]
    values = {setup.criteria[0]: 5, setup.criteria[1]: 2.5}
    ok(await submit(client, setup.judges[submitted_judge], done_sheet, values))
    await log_in_to_pages(client, "admin")
    path = f"/admin/rounds/{setup.round_id}/move"

    taken = next(j for j in setup.judges if j not in (sheet.judge_id, free))
    on_entry = await JudgeAssignment.filter(
        round_id=setup.round_id, entry_id=sheet.entry_id, judge_id=taken
    ).exists()
    if on_entry:
        refused = await post_form(client, path, {"assignment": sheet.id, "to_judge": taken})
        assert refused.status_code == 409
        assert "is already assigned to" in page_text(refused.text)

    done_entry = (await JudgeAssignment.get(id=done_sheet)).entry_id
    on_done_entry = await JudgeAssignment.filter(
        round_id=setup.round_id, entry_id=done_entry
    ).values_list("judge_id", flat=True)
    elsewhere = min(set(setup.judges) - set(on_done_entry))
    submitted = await post_form(client, path, {"assignment": done_sheet, "to_judge": elsewhere})
    assert submitted.status_code == 409
    assert "The sheet is submitted" in page_text(submitted.text)

    entry_org = f"Org {setup.entries.index(sheet.entry_id)}"
    await post_form(
        client,
        f"/admin/rounds/{setup.round_id}/conflicts",
        {"judge": str(free), "organisation": entry_org},
    )
    conflicted = await post_form(client, path, {"assignment": sheet.id, "to_judge": free})
    assert conflicted.status_code == 409
    assert "declared a conflict with this entry's organisation" in page_text(conflicted.text)
    assert await JudgeAssignment.exists(id=sheet.id)

    empty = await post_form(client, path, {"assignment": "", "to_judge": ""})
    assert empty.status_code == 422
    assert 'id="e-assignment">Choose the sheet to move.' in empty.text

    await ConflictDeclaration.filter(judge_id=free).delete()
    moved = await follow(
        client, await post_form(client, path, {"assignment": sheet.id, "to_judge": free})
    )
    assert "moved from" in flash(moved.text)
    assert not await JudgeAssignment.exists(id=sheet.id)
    assert await JudgeAssignment.exists(
        round_id=setup.round_id, entry_id=sheet.entry_id, judge_id=free
    )
    assert await JudgeAssignment.filter(round_id=setup.round_id).count() == 8


async def test_the_round_is_opened_and_closed_with_refusals_shown(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await draft(client, admin, entries=3, judges=2, k=1)
    await log_in_to_pages(client, "admin")
    base = f"/admin/rounds/{setup.round_id}"
    judges_page = page_text((await client.get(f"{base}/judges?lang=en")).text)
    assert "Open the round for scoring" in judges_page
    opened = await follow(client, await post_form(client, f"{base}/open?next=judges", {}))
    assert "The round is open" in flash(opened.text)
    assert opened.url.path == f"{base}/progress"
    assert (await Round.get(id=setup.round_id)).status == RoundStatus.OPEN
    again = await follow(client, await post_form(client, f"{base}/open?next=judges", {}))
    assert "opening it needs it draft" in flash(again.text)
    closed = await follow(client, await post_form(client, f"{base}/close?next=progress", {}))
    assert "The round is closed" in flash(closed.text)
    assert (await Round.get(id=setup.round_id)).status == RoundStatus.CLOSED
    twice = await follow(client, await post_form(client, f"{base}/close?next=progress", {}))
    assert "closing it needs it open" in flash(twice.text)


async def test_late_judges_are_shown_and_reminded_once_through_the_outbox(
    app: Litestar, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, entries=3, judges=3, k=2)
    done_judge = min(setup.judges)
    values = {setup.criteria[0]: 5, setup.criteria[1]: 2.5}
    for sheet in await my_assignments(client, setup.judges[done_judge]):
        ok(await submit(client, setup.judges[done_judge], sheet["id"], values))
    await log_in_to_pages(client, "admin")
    path = f"/admin/rounds/{setup.round_id}/progress"

    far = page_text((await client.get(f"{path}?lang=en")).text)
    assert "No deadline: nobody counts as late." in far
    assert 'id="remind"' not in (await client.get(path)).text
    nobody = await follow(client, await post_form(client, f"/admin/rounds/{setup.round_id}/remind"))
    assert "Nobody is late" in flash(nobody.text)

    soon = datetime.now(UTC) + timedelta(hours=3)
    ok(
        await client.patch(
            f"{API}/rounds/{setup.round_id}", json={"closes_at": soon.isoformat()}, headers=admin
        )
    )
    page = await client.get(f"{path}?lang=en")
    text = page_text(page.text)
    assert "The deadline is less than 24 hours away." in text
    assert "(UTC)" in text or "Asia/" in text  # the event's time zone is named
    per_judge = page.text.split('id="per-judge"', 1)[1].split("</table>", 1)[0]
    done_row = page_text(per_judge.split(f'data-judge="{done_judge}"', 1)[1].split("</tr>", 1)[0])
    assert "All submitted" in done_row
    assert page_text(per_judge).count("Late: deadline near") == 2
    assert "Remind the 2 late judges" in text

    reminded = await follow(
        client, await post_form(client, f"/admin/rounds/{setup.round_id}/remind")
    )
    assert "2 reminders are queued in the outbox." in flash(reminded.text)
    messages = await OutboxMessage.filter(kind=Kind.JUDGE_REMINDER)
    late_emails = set(
        await StaffUser.filter(id__in=[j for j in setup.judges if j != done_judge]).values_list(
            "email", flat=True
        )
    )
    assert {m.recipient for m in messages} == late_emails
    assert all(m.payload["round"] == "Preliminary" and m.payload["count"] >= 1 for m in messages)

    twice = await follow(client, await post_form(client, f"/admin/rounds/{setup.round_id}/remind"))
    assert "reminded today already" in flash(twice.text)
    assert await OutboxMessage.filter(kind=Kind.JUDGE_REMINDER).count() == 2

    chinese = page_text((await client.get(f"{path}?lang=zh-Hans")).text)
    assert "截止" in chinese

    # The e-mail the worker will send, in each language.
    one = messages[0]
    for locale, subject in (("en", "Reminder: sheets to submit for Preliminary"),
                            ("zh-Hans", "提醒：请提交“Preliminary”的评分表")):  # fmt: skip
        queued = Queued(one.id, one.kind, one.dedupe_key, one.recipient, locale, one.payload)
        email = await MessageBuilder(app.state.settings).build(queued)
        assert email["Subject"] == subject
        body = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "/judge" in body
