"""A whole competition run in a real Chromium, through the pages only (no API call):
the organiser creates a competition with eight entries (four typed, four imported from
a CSV file whose bad row is shown, fixed and imported), a round with three weighted
criteria and two awards, and four judge accounts, one of whom has a conflict with an
entry's organisation; assigns three judges per entry from the page (the plan shown
before it is saved) and opens the round. Each judge scores in a browser of their own,
one of them systematically harsh. The organiser closes the round, sees the harsh
judge's severity and the corrected ranking, advances the top four into the final,
runs the final the same way, publishes the winners, verifies the chain and prints a
certificate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser import chromium_browser
from tests.conftest import BACKENDS
from tests.console_browser import ORGANISER, console_server, log_in, server_database

SHANGHAI = ZoneInfo("Asia/Shanghai")

# (title, team, organisation, quality): quality is what a fair judge gives, out of 10.
TYPED = [
    ("Lidar on a budget", "Beam Team", "Photon Works", 8.5),
    ("Fleet charging planner", "Grid Kids", "VoltPath", 6.0),
    ("Driver fatigue monitor", "Eyes Open", "VisionDrive", 9.0),
    ("V2X light timing", "Green Wave", "RoadLink Tech", 4.5),
]
IMPORTED = [
    ("Battery health passport", "CellTrace", "CellTrace", 7.0),
    ("HD map updates from fleets", "MapFleet", "MapFleet Lab", 5.5),
    ("Parking slot finder", "Spot On", "Spot On", 3.0),
    ("Cabin voice assistant", "Hush", "Hush Audio", 7.5),
]
QUALITY = {title: q for title, _, _, q in TYPED + IMPORTED}
CRITERIA = [("Innovation", "2"), ("Feasibility", "1.5"), ("Team", "1")]
# (name, e-mail, how much lower than fair this judge scores)
JUDGES = [
    ("Judge Ai", "ai@example.org", 0.0),
    ("Judge Bo", "bo@example.org", 0.0),
    ("Judge Cui", "cui@example.org", 0.0),
    ("Judge Harsh", "harsh@example.org", 3.0),
]
CONFLICTED = ("Judge Cui", "VisionDrive")
JUDGE_PASSWORD = "judge-password-2026"


@pytest.fixture(scope="module", params=BACKENDS)
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp(f"competition-{request.param}")
    for url in server_database(request.param, tmp):
        with console_server(tmp, url) as served:
            yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as launched:
        yield launched


def _submit(page: Any, form: str = "main form") -> None:
    page.locator(f"{form} button[type=submit]").first.click()
    page.wait_for_load_state()


def _flash(page: Any) -> str:
    return page.locator("main .notice[role=status]").first.inner_text()


def _no_errors(page: Any) -> None:
    assert page.locator(".has-error, #form-errors").count() == 0, page.inner_text("main")


def _csv(rows: list[tuple[str, str, str, float]], bad_line: bool) -> str:
    lines = ["title,team_name,organisation,track,members"]
    for n, (title, team, org, _) in enumerate(rows):
        member = (
            "Bad Address <not-an-address>"
            if bad_line and n == 2
            else f"{team} Lead <lead{n}@example.org>"
        )
        lines.append(f"{title},{team},{org},Autonomy,{member}")
    return "\n".join(lines) + "\n"


def _create_competition(page: Any, base: str) -> int:
    page.goto(f"{base}/admin/events/new?lang=en")
    starts = (datetime.now(SHANGHAI) + timedelta(days=20)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    page.select_option("#f-kind", "competition")
    page.fill("#f-title", "Intelligent Vehicle Challenge")
    page.fill("#f-venue", "Innovation Base, Hall C")
    page.select_option("#f-timezone", "Asia/Shanghai")
    page.fill("#f-starts_at", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-ends_at", (starts + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-capacity", "200")
    page.click("form.event-form button[type=submit]")
    page.wait_for_url(f"{base}/admin/events/*")
    event_id = int(re.search(r"/admin/events/(\d+)", page.url).group(1))
    page.goto(f"{base}/admin/competitions?lang=en")
    page.click(f"a[href='/admin/competitions/{event_id}']")
    assert "Intelligent Vehicle Challenge" in page.inner_text("h1")
    return event_id


def _add_entries(page: Any, base: str, competition: int, tmp_path: Path) -> None:
    for title, team, org, _ in TYPED:
        page.goto(f"{base}/admin/competitions/{competition}/entries/new?lang=en")
        page.fill("#f-title", title)
        page.fill("#f-team_name", team)
        page.fill("#f-organisation", org)
        page.fill("#f-track", "Autonomy")
        _submit(page)
        _no_errors(page)
    # Four more from a CSV file: the bad row is shown with its line, nothing is written.
    bad = tmp_path / "entries.csv"
    bad.write_text(_csv(IMPORTED, bad_line=True), encoding="utf-8")
    page.goto(f"{base}/admin/competitions/{competition}/entries/import?lang=en")
    page.set_input_files("#f-file", str(bad))
    _submit(page, "main form[enctype]")
    assert "1 row has an error" in page.inner_text("#bad-rows")
    bad_row = page.locator("#preview tr.bad-row")
    assert bad_row.count() == 1 and bad_row.get_attribute("data-line") == "4"
    assert page.locator("#import-confirm").count() == 0
    page.goto(f"{base}/admin/competitions/{competition}/entries?lang=en")
    assert page.locator("main table tbody tr").count() == len(TYPED)
    # Fixed, checked again, imported.
    good = tmp_path / "entries-fixed.csv"
    good.write_text(_csv(IMPORTED, bad_line=False), encoding="utf-8")
    page.goto(f"{base}/admin/competitions/{competition}/entries/import?lang=en")
    page.set_input_files("#f-file", str(good))
    _submit(page, "main form[enctype]")
    assert "4 rows are ready to import" in page.inner_text("#good-rows")
    page.click("#import-confirm")
    page.wait_for_load_state()
    page.goto(f"{base}/admin/competitions/{competition}/entries?lang=en")
    listed = page.inner_text("main table")
    assert all(title in listed for title in QUALITY)


def _create_round(page: Any, base: str, competition: int, name: str, k: int) -> int:
    page.goto(f"{base}/admin/competitions/{competition}?lang=en")
    page.click("#add-round")
    page.fill("#f-name", name)
    page.fill("#f-judges_per_entry", str(k))
    page.fill(
        "#f-closes_at",
        (datetime.now(SHANGHAI) + timedelta(days=7)).strftime("%Y-%m-%dT18:00"),
    )
    page.select_option("#f-ranking_method", "additive")
    _submit(page, "form.round-form")
    _no_errors(page)
    round_id = int(re.search(r"/admin/rounds/(\d+)", page.url).group(1))
    assert name in page.inner_text("h1")
    for criterion, weight in CRITERIA:
        page.goto(f"{base}/admin/rounds/{round_id}/criteria/new?lang=en")
        page.fill("#f-name", criterion)
        page.fill("#f-weight", weight)
        page.fill("#f-scale_min", "0")
        page.fill("#f-scale_max", "10")
        page.select_option("#f-scale_step", "0.5")
        _submit(page, "form.criterion-form")
        _no_errors(page)
    criteria = page.inner_text("#criteria")
    assert all(c in criteria for c, _ in CRITERIA) and "total 4.5" in criteria
    return round_id


def _add_awards(page: Any, base: str, round_id: int) -> None:
    for award, first, last in (("First prize", "1", ""), ("Second prize", "2", "3")):
        page.goto(f"{base}/admin/rounds/{round_id}/awards/new?lang=en")
        page.fill("#f-name", award)
        page.fill("#f-rank_from", first)
        page.fill("#f-rank_to", last)
        _submit(page, "form.award-form")
        _no_errors(page)
    awards = page.inner_text("#awards")
    assert "First prize" in awards and "ranks 2 to 3" in awards


def _create_judges(page: Any, base: str) -> None:
    for name, email, _ in JUDGES:
        page.goto(f"{base}/admin/staff/new?lang=en")
        page.fill("#f-email", email)
        page.fill("#f-name", name)
        page.check("#f-role_judge")
        page.check("[name=setup][value=password]")
        page.fill("[name=password]", JUDGE_PASSWORD)
        _submit(page)
        _no_errors(page)
    page.goto(f"{base}/admin/staff?lang=en")
    staff = page.inner_text("main")
    assert all(email in staff for _, email, _ in JUDGES)


def _confirm(page: Any, section: str) -> None:
    """A button behind a confirmation: open it, then say yes."""
    page.click(f"{section} summary")
    page.click(f"{section} button[type=submit]")
    page.wait_for_load_state()


def _assign(page: Any, base: str, round_id: int, k: int, conflict: bool) -> None:
    """The judges page: (a conflict declared for a judge,) a plan proposed for every
    judge with k per entry, looked at, saved, and the round opened."""
    page.goto(f"{base}/admin/rounds/{round_id}?lang=en")
    page.click("#run-links >> text=Judges and assignment")
    page.wait_for_url(f"{base}/admin/rounds/{round_id}/judges")
    if conflict:
        judge, organisation = CONFLICTED
        page.select_option("#conflict-form select[name=judge]", label=judge)
        page.fill("#conflict-form input[name=organisation]", organisation)
        page.fill("#conflict-form input[name=reason]", "Former employer")
        _submit(page, "#conflict-form")
        _no_errors(page)
        row = page.locator("#judges tr", has_text=judge)
        assert organisation in row.inner_text()
    judges = page.locator("#judges tbody input[type=checkbox][name=judge]")
    assert judges.count() == len(JUDGES)
    for n in range(judges.count()):
        judges.nth(n).check()
    page.fill("#f-k", str(k))
    page.click("#propose")
    page.wait_for_url(f"{base}/admin/rounds/{round_id}/plan?*")
    assert "nothing is saved until you press" in page.inner_text("#not-saved")
    assert "Connected" in page.inner_text("#connected")
    plan = page.inner_text("#plan")
    assert all(name in plan for name, _, _ in JUDGES)
    if conflict:
        assert "ruled out by declared conflicts" in page.inner_text("#conflicts-avoided")
        cui = page.locator("#plan tr", has_text=CONFLICTED[0]).inner_text()
        assert "Driver fatigue monitor" not in cui
    page.click("#save-plan")
    page.wait_for_url(f"{base}/admin/rounds/{round_id}/judges")
    assert "The plan is saved" in page.inner_text("main")
    _confirm(page, "#run")
    assert "Open for scoring" in page.inner_text("#round-state")


def _score_everything(browser: Any, base: str) -> dict[str, int]:
    """Each judge in a phone browser of their own scores every entry given to them: a
    fair judge gives each entry its quality on every criterion, the harsh one 3 less.
    Returns how many sheets each judge submitted."""
    submitted: dict[str, int] = {}
    for name, email, harshness in JUDGES:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "Submit? It is final."
        page.goto(f"{base}/judge?lang=en")  # the judges' own login form, then back
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", JUDGE_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/judge*")
        submitted[name] = 0
        while True:
            page.goto(f"{base}/judge?lang=en")
            todo = page.locator("a.entry", has=page.locator(".badge", has_text="To score"))
            if todo.count() == 0:
                break
            todo.first.click()
            title = page.inner_text("h1")
            score = max(0.0, QUALITY[title] - harshness)
            scores = page.locator("input.score")
            assert scores.count() == len(CRITERIA)
            for n in range(scores.count()):
                scores.nth(n).fill(str(score))
            page.click("#submit")
            page.wait_for_function(
                "document.querySelector('#state').textContent.includes('Submitted')"
            )
            submitted[name] += 1
        context.close()
    return submitted


def _close(page: Any, base: str, round_id: int) -> None:
    page.goto(f"{base}/admin/rounds/{round_id}/progress?lang=en")
    per_judge = page.inner_text("#per-judge")
    assert all(name in per_judge for name, _, _ in JUDGES)
    _confirm(page, "#run")
    assert "Closed" in page.inner_text("#round-state")


def _ranked_titles(page: Any) -> list[str]:
    rows = page.locator("#ranking tbody tr")
    return [rows.nth(n).locator("td.entry strong").inner_text() for n in range(rows.count())]


def test_a_competition_runs_from_entries_to_a_printed_certificate_in_the_browser(
    base: str, browser: Any, tmp_path: Path
) -> None:
    console = browser.new_context(viewport={"width": 1280, "height": 900})
    page = console.new_page()
    page.on("pageerror", lambda error: print(f"[browser error] {error}"))
    log_in(page, base, *ORGANISER)

    competition = _create_competition(page, base)
    _add_entries(page, base, competition, tmp_path)
    preliminary = _create_round(page, base, competition, "Preliminary", k=3)
    _create_judges(page, base)
    _assign(page, base, preliminary, k=3, conflict=True)

    submitted = _score_everything(browser, base)
    assert sum(submitted.values()) == 3 * len(QUALITY)  # k=3 for each of the 8 entries
    assert submitted["Judge Cui"] < submitted["Judge Harsh"] or submitted["Judge Cui"] <= 6
    _close(page, base, preliminary)

    # The ranking: the harsh judge is seen as harsh, and the corrected order is the
    # entries' quality, whatever share of them the harsh judge happened to score.
    page.goto(f"{base}/admin/rounds/{preliminary}/ranking?lang=en")
    assert page.inner_text("#state") == "Final"
    severity = page.locator("#judges tr", has_text="Judge Harsh").inner_text()
    assert "harsher than average" in severity
    figure = re.search(r"([−-]?\d+(?:\.\d+)?) points", severity)
    assert figure and figure.group(1).startswith(("−", "-")), severity
    for fair, _, _ in JUDGES[:3]:
        assert "harsher" not in page.locator("#judges tr", has_text=fair).inner_text()
    by_quality = sorted(QUALITY, key=QUALITY.get, reverse=True)
    assert _ranked_titles(page) == by_quality

    # The final, then the best four advance into it.
    final = _create_round(page, base, competition, "Final", k=2)
    _add_awards(page, base, final)
    page.goto(f"{base}/admin/rounds/{preliminary}/ranking?lang=en")
    page.fill("#f-top", "4")
    _submit(page, "#advance-top")
    assert all(title in page.inner_text("main") for title in by_quality[:4])
    page.goto(f"{base}/admin/rounds/{final}?lang=en")
    in_final = page.inner_text("#entries")
    assert all(t in in_final for t in by_quality[:4])
    assert not any(t in in_final for t in by_quality[4:])

    _assign(page, base, final, k=2, conflict=False)
    submitted = _score_everything(browser, base)
    assert sum(submitted.values()) == 2 * 4
    _close(page, base, final)
    page.goto(f"{base}/admin/rounds/{final}/ranking?lang=en")
    assert _ranked_titles(page) == by_quality[:4]

    # The winners: previewed, published through the confirmation, the chain verified.
    page.goto(f"{base}/admin/competitions/{competition}?lang=en")
    page.click("text=See the winners")
    page.wait_for_url(f"{base}/admin/competitions/{competition}/winners*")
    preview = page.inner_text("#preview")
    assert "First prize" in preview and by_quality[0] in preview
    assert "Second prize" in preview and by_quality[1] in preview and by_quality[2] in preview
    assert by_quality[3] not in preview  # fourth: no award
    page.click("summary:has-text('Publish the winners')")
    page.click("button:has-text('Yes, go ahead')")
    page.wait_for_load_state()
    assert "3 records were added to the chain" in page.inner_text("main")
    records = page.inner_text("#records")
    assert by_quality[0] in records
    page.click("button:has-text('Verify the chain')")
    page.wait_for_load_state()
    assert "The chain is intact" in page.inner_text("#verdict")

    # The first prize's certificate, printed: one A4 sheet naming all it must.
    page.click("#records a:has-text('Certificate') >> nth=0")
    page.wait_for_load_state()
    assert page.inner_text("[data-testid=award]") == "First prize"
    assert page.inner_text("[data-testid=entry]") == by_quality[0]
    team, organisation = next(
        (t, o) for title, t, o, _ in TYPED + IMPORTED if title == by_quality[0]
    )
    assert page.inner_text("[data-testid=team]") == f"{team} · {organisation}"
    assert "Intelligent Vehicle Challenge" in page.inner_text("[data-testid=competition]")
    assert re.search(r"[0-9a-f]{16}", page.inner_text("[data-testid=hash]"))
    page.emulate_media(media="print")
    assert not page.is_visible("button:has-text('Print')")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    console.close()
