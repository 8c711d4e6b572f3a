"""The judge page in headless Chromium (Playwright) against a real server process.

A judge logs in with the cookie auth, sees their entries on a phone-sized screen,
scores one (drafts autosave and survive a reload), submits, and sees the sheet
locked; the API agrees with what the page showed.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.server import cli_env, run_cli, server_process

PHONE = {"width": 390, "height": 800}


def _accounts(output: str) -> dict[str, tuple[str, str]]:
    found = re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)$", output, re.MULTILINE)
    return {role: (email, password) for role, email, password in found}


def _saved(response: object) -> bool:
    return "/scores" in response.url and response.request.method == "PUT"  # type: ignore[attr-defined]


def _prepare_round(base: str, admin: tuple[str, str], competition_id: int) -> int:
    """As the organiser: assign the demo round's entries and open it; returns the round id."""
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/v1/auth/login", json={"email": admin[0], "password": admin[1]})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        http.cookies.clear()
        rounds = http.get(f"/api/v1/competitions/{competition_id}/rounds", headers=headers)
        round_id = rounds.json()[0]["id"]
        assigned = http.post(f"/api/v1/rounds/{round_id}/assign", json={"seed": 1}, headers=headers)
        assert assigned.status_code == 200, assigned.text
        opened = http.post(f"/api/v1/rounds/{round_id}/open", headers=headers)
        assert opened.status_code == 200, opened.text
        return round_id


def test_judge_scores_an_entry_on_a_phone(tmp_path: Path, server_database_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    env = cli_env(server_database_url, tmp_path)
    demo = run_cli("demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    accounts = _accounts(demo.stdout)
    competition_id = int(re.search(r"#(\d+)\s+Smart Mobility", demo.stdout)[1])  # type: ignore[index]

    with server_process(env, tmp_path) as base, sync_playwright() as pw:
        _prepare_round(base, accounts["admin"], competition_id)
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
            page.on("dialog", lambda dialog: dialog.accept())

            # Not logged in: the page sends the judge to the login form.
            page.goto(f"{base}/judge")
            expect(page).to_have_url(re.compile(r"/judge/login"))
            page.fill("input[name=email]", accounts["judge"][0])
            page.fill("input[name=password]", "wrong password")
            page.click("button[type=submit]")
            expect(page.locator("#login-error")).to_be_visible()
            page.fill("input[name=password]", accounts["judge"][1])
            page.click("button[type=submit]")
            expect(page).to_have_url(re.compile(r"/judge$"))

            cards = page.locator("a.entry")
            expect(cards.first).to_be_visible()
            count = cards.count()
            assert count >= 1
            expect(cards.first.locator(".badge")).to_have_text("To score")
            # Mobile first: nothing wider than the phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            title = cards.first.locator(".title").inner_text()
            cards.first.click()

            expect(page.locator("h1")).to_have_text(title)
            expect(page.locator(".desc").first).to_contain_text("How new is the idea")
            selects = page.locator("select")
            assert selects.count() == 3  # 0-10 in halves: the phone's own picker
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            with page.expect_response(_saved) as saved:
                selects.nth(0).select_option("7.5")
            assert saved.value.ok
            expect(page.locator("#state")).to_contain_text("Draft saved")
            # The note is typed and the next choice made quickly: one debounced save.
            with page.expect_response(_saved):
                page.locator("input.note").nth(0).fill("Strong prototype")
                selects.nth(1).select_option("6")

            # Submitting with a criterion missing is refused on the page, nothing sent.
            page.click("#submit")
            expect(page.locator("#state")).to_contain_text("1 missing")

            # The draft survived: reload shows the saved values.
            page.reload()
            expect(page.locator("select").nth(0)).to_have_value("7.5")
            expect(page.locator("select").nth(1)).to_have_value("6")
            expect(page.locator("input.note").nth(0)).to_have_value("Strong prototype")

            # Chosen and submitted at once: the pending autosave is flushed, not lost.
            page.locator("select").nth(2).select_option("9")
            page.click("#submit")
            expect(page.locator("#state")).to_have_text("Submitted — this sheet is final.")
            expect(page.locator("select").nth(0)).to_be_disabled()
            expect(page.locator("#submit")).to_be_hidden()

            page.reload()
            expect(page.locator("#state")).to_contain_text("Submitted")
            expect(page.locator("select").nth(2)).to_be_disabled()
            expect(page.locator("select").nth(2)).to_have_value("9")
            page.goto(f"{base}/judge")
            expect(page.locator("a.entry .badge").first).to_have_text("Submitted")

            # The API (same cookie) agrees with what the page showed.
            mine = page.request.get(f"{base}/api/v1/judge/assignments").json()
            sheet = next(a for a in mine if a["entry"]["title"] == title)
            assert sheet["status"] == "submitted"
            assert sorted(s["value"] for s in sheet["scores"]) == [6.0, 7.5, 9.0]
            assert next(s for s in sheet["scores"] if s["value"] == 7.5)["comment"] == (
                "Strong prototype"
            )

            # Log out (a shared phone): back to the login form, and the pages stay shut.
            page.click("#logout")
            expect(page).to_have_url(re.compile(r"/judge/login"))
            page.goto(f"{base}/judge")
            expect(page).to_have_url(re.compile(r"/judge/login"))
        finally:
            browser.close()
