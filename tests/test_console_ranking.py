"""The console's ranking of a round: a harsh judge's severity and the corrected order,
disagreement and tie-breaks in words, reopening a sheet (a reason, kept in its history,
the judge can change it again), advancing the top N or the entries picked to the next
round, and refusals as pages that say why. Both backends."""

from __future__ import annotations

import csv
import io
import re

import httpx

from models import JudgeAssignment
from models.enums import AssignmentStatus
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.judging_helpers import API, Setup, my_assignments, ok, scored_round, submit
from tests.visible_text import page_text

ONE_CRITERION = (("Overall", 1.0, 0.0, 10.0, "0.5"),)


def rows_of(html: str) -> dict[int, str]:
    """The ranking table's rows, by entry id, as their visible text."""
    table = html.split('id="ranking"', 1)[1].split("</table>", 1)[0]
    return {
        int(entry): page_text(body)
        for entry, body in re.findall(r'<tr data-entry="(\d+)"[^>]*>(.*?)</tr>', table, re.S)
    }


def ranked_ids(html: str) -> list[int]:
    return list(rows_of(html))


def section(html: str, element_id: str, end: str = "</table>") -> str:
    return page_text(html.split(f'id="{element_id}"', 1)[1].split(end, 1)[0])


async def _score(
    client: httpx.AsyncClient, setup: Setup, value: dict[tuple[int, int], float] | None = None,
    quality: dict[int, float] | None = None, harsh: dict[int, float] | None = None,
) -> None:  # fmt: skip
    """Every judge submits every sheet: `value[(judge, entry)]`, or quality + harshness."""
    for judge_id, headers in setup.judges.items():
        for a in await my_assignments(client, headers):
            entry = a["entry"]["id"]
            if value is not None:
                score = value[(judge_id, entry)]
            else:
                assert quality is not None
                score = quality[entry] + (harsh or {}).get(judge_id, 0)
            ok(await submit(client, headers, a["id"], {setup.criteria[0]: score}))


async def _harsh_round(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[Setup, int]:
    """Six entries, three judges, two sheets per entry; one judge gives 3 points less
    than the others, and sees the best entry but not the second best: by raw mean the
    second best comes first, corrected for the harsh judge the best does."""
    setup = await scored_round(
        client, admin, entries=6, judges=3, k=2, method="additive", criteria=ONE_CRITERION
    )
    best = setup.entries[0]
    seen = {
        judge_id: {a["entry"]["id"] for a in await my_assignments(client, headers)}
        for judge_id, headers in setup.judges.items()
    }
    harsh = next(j for j, entries in seen.items() if best in entries)
    second = next(e for e in setup.entries[1:] if e not in seen[harsh])
    others = [e for e in setup.entries[1:] if e != second]
    quality = {best: 8.0, second: 7.5, **dict(zip(others, [6.0, 5.0, 4.0, 3.0], strict=True))}
    await _score(client, setup, quality=quality, harsh={harsh: -3.0})
    setup.entries = sorted(setup.entries, key=lambda e: -quality[e])  # the true order
    return setup, harsh


async def test_a_harsh_judge_is_shown_harsher_and_the_corrected_order_differs_from_the_raw(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup, harsh = await _harsh_round(client, admin)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{setup.round_id}/ranking", params={"lang": "en"})
    assert page.status_code == 200, page.text
    text = page_text(page.text)
    assert "Provisional" in text and "this ranking is provisional" in text
    assert "Judge bias corrected (additive model)" in section(page.text, "method", "</dd>")

    # Ranked by the corrected score: the true order, not the raw means'.
    assert ranked_ids(page.text) == setup.entries
    rows = rows_of(page.text)
    best, second = setup.entries[0], setup.entries[1]
    assert rows[best].startswith("1 Entry") and rows[second].startswith("2 Entry")
    raw = {
        int(e): float(v)
        for e, v in re.findall(
            r'<tr data-entry="(\d+)".*?<td class="num raw">([\d.]+)</td>', page.text, re.S
        )
    }
    assert raw[second] > raw[best]  # 7.50 against 6.50: the raw mean puts them the other way
    assert "6.50" in rows[best] and "7.50" in rows[second]
    assert "± 0.00" in rows[best]  # the fit is exact: no doubt left

    judges = page.text.split('id="judges"', 1)[1].split("</table>", 1)[0]
    harsh_name = f"Judge{list(setup.judges).index(harsh)}"
    lines = {
        page_text(name): page_text(rest)
        for name, rest in re.findall(r"<tr>\s*<td>(.*?)</td>(.*?)</tr>", judges, re.S)
    }
    assert lines[harsh_name] == "4 −2.0 points: harsher than average", lines
    assert all(
        line == "4 +1.0 points: more lenient than average"
        for name, line in lines.items()
        if name != harsh_name
    ), lines

    chinese = await client.get(f"/admin/rounds/{setup.round_id}/ranking?lang=zh-Hans")
    zh = page_text(chinese.text)
    assert "−2.0" in zh and "比平均更严" in zh and "评委偏差" in zh


async def test_disagreement_and_the_deciding_tie_break_are_said_in_words(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(
        client, admin, entries=3, judges=2, k=2, method="mean", criteria=ONE_CRITERION
    )
    first, second, third = setup.entries
    a, b = list(setup.judges)
    # The first two tie on mean (6) and median (6); the earlier entry wins. Judges put
    # the third 8 points apart: more than 30 % of the 10-point scale.
    value = {
        (a, first): 5.0, (b, first): 7.0,
        (a, second): 6.0, (b, second): 6.0,
        (a, third): 1.0, (b, third): 9.0,
    }  # fmt: skip
    await _score(client, setup, value=value)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{setup.round_id}/ranking", params={"lang": "en"})
    rows = rows_of(page.text)
    assert ranked_ids(page.text)[:2] == [first, second]
    assert "Judges disagree: check the sheets" in rows[third]
    assert "8.00" in rows[third]  # the spread
    assert not any("Judges disagree" in rows[e] for e in (first, second))
    assert 'class="disagree"' in page.text.split(f'data-entry="{third}"', 1)[1][:30]
    assert "Same score as “Entry 1”; placed by: the earlier entry." in rows[first]
    assert "Same score as “Entry 0”; placed by: the earlier entry." in rows[second]
    how = section(page.text, "how", "</dl>")
    assert "Plain mean of the judges' totals" in how
    assert "more than 3.00 points apart (30% of the scale from 0 to 10)" in how
    chain = section(page.text, "chain", "</dd>")
    assert chain.index("the higher median total") < chain.index("the earlier entry")

    chinese = page_text(
        (await client.get(f"/admin/rounds/{setup.round_id}/ranking?lang=zh-Hans")).text
    )
    assert "评委分歧" in chinese and "报名更早的项目" in chinese


async def test_unsubmitted_sheets_are_listed_as_not_counted_with_why(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, entries=2, judges=2, k=2, criteria=ONE_CRITERION)
    headers = next(iter(setup.judges.values()))
    aid = (await my_assignments(client, headers))[0]["id"]
    ok(await submit(client, headers, aid, {setup.criteria[0]: 5}, final=False))
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{setup.round_id}/ranking", params={"lang": "en"})
    excluded = section(page.text, "excluded", "</ul>")
    assert "Judge0 for “Entry" in excluded and "not submitted yet" in excluded
    assert "not ranked" in page_text(page.text) and "No complete sheet yet." in page_text(page.text)


async def test_reopening_needs_a_reason_kept_in_the_history_and_the_judge_can_change_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, entries=2, judges=2, k=2, criteria=ONE_CRITERION)
    headers = next(iter(setup.judges.values()))
    sheet = (await my_assignments(client, headers))[0]
    ok(await submit(client, headers, sheet["id"], {setup.criteria[0]: 7.5}))
    organiser = await log_in_to_pages(client, "admin")
    ranking = await client.get(f"/admin/rounds/{setup.round_id}/ranking", params={"lang": "en"})
    reopen = f"/admin/rounds/{setup.round_id}/sheets/{sheet['id']}/reopen"
    assert f'action="{reopen}"' in ranking.text  # the form beside the submitted sheet
    sheets = page_text(ranking.text.split(f'id="sheets-{sheet["entry"]["id"]}"', 1)[1])
    assert "Judge0" in sheets and "7.50" in sheets and "Submitted" in sheets

    for reason, said in (("", "Required."), ("ok", "at least 3 characters")):
        refused = await post_form(client, reopen, {"reason": reason})
        assert refused.status_code == 422
        assert said in page_text(refused.text.split('id="e-reason"', 1)[1].split("</p>", 1)[0])
    assignment = await JudgeAssignment.get(id=sheet["id"])
    assert assignment.status == AssignmentStatus.SUBMITTED

    reopened = await follow(
        client, await post_form(client, reopen, {"reason": "Scored the wrong entry"})
    )
    text = page_text(reopened.text)
    assert "is reopened: they can change it and submit it again." in text
    assert "Reopened: the judge is changing it" in text
    history = section(reopened.text, "history")
    assert "Reopened" in history and "Submitted → Draft" in history
    assert "Scored the wrong entry" in history and organiser in history
    assert "Overall: 7.5" in history  # before and after: the scores as they stood
    await assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.DRAFT
    api_history = ok(await client.get(f"{API}/assignments/{sheet['id']}/history", headers=admin))
    assert api_history[-1]["action"] == "reopen"
    assert api_history[-1]["reason"] == "Scored the wrong entry"

    # The judge changes the sheet and submits it again.
    again = ok(await submit(client, headers, sheet["id"], {setup.criteria[0]: 9}))
    assert again["status"] == "submitted"
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{setup.round_id}/sheets/{sheet['id']}?lang=en")
    assert "Overall: 9.0" in section(page.text, "scores", "</dd>")

    # Once the round is closed, reopening is refused in words.
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    closed = await post_form(client, reopen, {"reason": "One more change"})
    assert closed.status_code == 409
    assert "Sheets can be reopened only while the round is open for scoring (it is “Closed”)." in (
        page_text(closed.text)
    )
    chinese = await post_form(client, f"{reopen}?lang=zh-Hans", {"reason": "One more change"})
    assert chinese.status_code == 409 and "只有在轮次开放评分时" in page_text(chinese.text)


async def _closed_with_final(
    client: httpx.AsyncClient, admin: dict[str, str], *, final: bool = True
) -> tuple[Setup, int | None]:
    setup = await scored_round(
        client, admin, entries=4, judges=3, k=3, method="mean", criteria=ONE_CRITERION
    )
    quality = dict(zip(setup.entries, [4.0, 9.0, 6.0, 2.0], strict=True))
    await _score(client, setup, quality=quality)
    setup.entries = sorted(setup.entries, key=lambda e: -quality[e])
    following = None
    if final:
        following = ok(
            await client.post(
                f"{API}/competitions/{setup.event_id}/rounds", json={"name": "Final"}, headers=admin
            )
        )["id"]
    return setup, following


async def _entries_of(client: httpx.AsyncClient, admin: dict[str, str], round_id: int) -> set[int]:
    return set(ok(await client.get(f"{API}/rounds/{round_id}", headers=admin))["entry_ids"])


async def test_the_top_n_advance_to_the_next_round_once_the_round_is_closed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup, final = await _closed_with_final(client, admin)
    assert final is not None
    await log_in_to_pages(client, "admin")
    advance = f"/admin/rounds/{setup.round_id}/advance"
    page = await client.get(f"/admin/rounds/{setup.round_id}/ranking?lang=en")
    assert "Entries advance once this round is closed." in page_text(page.text)
    still_open = await post_form(client, advance, {"mode": "top", "top": "2"})
    assert still_open.status_code == 409
    assert "Close the round first: entries advance only from a closed round" in page_text(
        still_open.text
    )
    assert await _entries_of(client, admin, final) == set()

    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    for top, said, status in (
        ("", "Required.", 422),
        ("two", "Enter a whole number.", 422),
        ("0", "At least 1.", 422),
        ("9", "Only 4 entries are ranked; cannot advance 9.", 422),
    ):
        refused = await post_form(client, advance, {"mode": "top", "top": top})
        assert refused.status_code == status, (top, refused.status_code)
        assert said in page_text(refused.text), top
    assert await _entries_of(client, admin, final) == set()

    moved = await follow(client, await post_form(client, advance, {"mode": "top", "top": "2"}))
    top_two = setup.entries[:2]
    assert await _entries_of(client, admin, final) == set(top_two)
    text = page_text(moved.text)
    assert "Final" in text and "Now in “Final”: “Entry 1” and “Entry 2”." in text
    rows = rows_of(moved.text)
    assert [e for e in rows if "In “Final”" in rows[e]] == top_two
    assert "Final" in page_text(moved.text) and "Final" in text

    chinese = await post_form(client, f"{advance}?lang=zh-Hans", {"mode": "top", "top": "9"})
    assert chinese.status_code == 422 and "无法晋级 9 个" in page_text(chinese.text)


async def test_picked_entries_advance_exactly_and_refusals_say_why(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup, final = await _closed_with_final(client, admin)
    other, _ = await _closed_with_final(client, admin, final=False)
    assert final is not None
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    await log_in_to_pages(client, "admin")
    advance = f"/admin/rounds/{setup.round_id}/advance"
    page = await client.get(f"/admin/rounds/{setup.round_id}/ranking?lang=en")
    assert page.text.count('form="advance-picked"') == 4

    none = await post_form(client, advance, {"mode": "picked"})
    assert none.status_code == 422
    assert "Tick at least one entry in the table to advance." in page_text(none.text)
    mixed = [str(setup.entries[0]), str(other.entries[0])]
    stranger = await post_form(client, advance, {"mode": "picked", "entry_id": mixed})
    assert stranger.status_code == 422 and "Not entries of this round" in page_text(stranger.text)
    assert await _entries_of(client, admin, final) == set()

    picked = [setup.entries[3], setup.entries[1]]  # the last and the second
    moved = await follow(
        client,
        await post_form(client, advance, {"mode": "picked", "entry_id": [str(e) for e in picked]}),
    )
    assert await _entries_of(client, admin, final) == set(picked)
    assert "Now in “Final”:" in page_text(moved.text)
    rows = rows_of(moved.text)
    assert {e for e in rows if "In “Final”" in rows[e]} == set(picked)

    # The API takes picked entries too, through the same service and its checks.
    via_api = ok(
        await client.post(
            f"{API}/rounds/{setup.round_id}/advance",
            json={"entry_ids": [setup.entries[0]]},
            headers=admin,
        )
    )
    assert via_api["entry_ids"] == [setup.entries[0]] and via_api["to_round_id"] == final
    both = await client.post(
        f"{API}/rounds/{setup.round_id}/advance",
        json={"top": 1, "entry_ids": [setup.entries[0]]},
        headers=admin,
    )
    assert both.status_code == 422

    # A competition with no next round: the page says so, the post is refused in words.
    ok(await client.post(f"{API}/rounds/{other.round_id}/close", headers=admin))
    lonely = await client.get(f"/admin/rounds/{other.round_id}/ranking?lang=en")
    assert "There is no next round yet: add it to the competition first." in page_text(lonely.text)
    refused = await post_form(
        client, f"/admin/rounds/{other.round_id}/advance", {"mode": "top", "top": "1"}
    )
    assert refused.status_code == 409
    assert "There is no next round yet" in page_text(refused.text)


async def test_the_results_csv_is_linked_and_downloads_with_the_console_session(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup, _ = await _closed_with_final(client, admin, final=False)
    await log_in_to_pages(client, "admin")
    page = await client.get(f"/admin/rounds/{setup.round_id}/ranking")
    href = re.search(r'<a href="([^"]+)" id="csv"', page.text)
    assert href is not None
    download = await client.get(href.group(1))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [int(r["entry_id"]) for r in rows] == setup.entries
    assert rows[0]["rank"] == "1" and rows[0]["method"] == "mean"


async def test_a_sheet_of_another_round_is_not_found_and_judges_get_403(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, entries=2, judges=2, k=2, criteria=ONE_CRITERION)
    other = await scored_round(client, admin, entries=2, judges=2, k=2, criteria=ONE_CRITERION)
    sheet = (await my_assignments(client, next(iter(other.judges.values()))))[0]["id"]
    await log_in_to_pages(client, "admin")
    assert (await client.get(f"/admin/rounds/{setup.round_id}/sheets/{sheet}")).status_code == 404
    assert (await client.get(f"/admin/rounds/{other.round_id}/sheets/{sheet}")).status_code == 200
    assert (await client.get("/admin/rounds/999999/ranking")).status_code == 404
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        assert (await client.get(f"/admin/rounds/{setup.round_id}/ranking")).status_code == 403
        refused = await post_form(
            client, f"/admin/rounds/{other.round_id}/sheets/{sheet}/reopen", {"reason": "because"}
        )
        assert refused.status_code == 403
