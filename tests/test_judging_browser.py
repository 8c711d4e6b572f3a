"""The judge page in headless Chromium (Playwright) against a real server process.

A judge logs in with the cookie auth, sees their entries on a phone-sized screen,
scores one (drafts autosave and survive a reload), submits, and sees the sheet
locked; the API agrees with what the page showed. A judge whose phone reads Chinese
sees the same pages in Chinese, the words judge.js shows included.

The module shares one demo database, server and browser per backend: the tests run
in order on it (the Chinese judge scores an entry the English test left).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from events_service.judging.ranking import CriterionSpec, weighted_total
from tests.accessibility import axe_violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import BACKENDS
from tests.console_browser import server_database
from tests.server import cli_env, run_cli, server_process

PHONE = {"width": 390, "height": 800}


def _accounts(output: str) -> dict[str, tuple[str, str]]:
    found = re.findall(r"^\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)$", output, re.MULTILINE)
    accounts: dict[str, tuple[str, str]] = {}
    for role, email, password in found:
        # The first account of a role: the demo judge, whose sheets the demo leaves to
        # score (the other demo judges have submitted some already).
        accounts.setdefault(role, (email, password))
    return accounts


def _saved(response: object) -> bool:
    return "/scores" in response.url and response.request.method == "PUT"  # type: ignore[attr-defined]


def _prepare_round(base: str, admin: tuple[str, str], competition_id: int) -> int:
    """The demo round, assigned and open (the demo leaves it so; an older demo did not:
    then assign and open it as the organiser); returns the round id."""
    with httpx.Client(base_url=base) as http:
        token = http.post("/api/v1/auth/login", json={"email": admin[0], "password": admin[1]})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        http.cookies.clear()
        rounds = http.get(f"/api/v1/competitions/{competition_id}/rounds", headers=headers)
        round_id = rounds.json()[0]["id"]
        if rounds.json()[0]["status"] == "open":
            return round_id
        assigned = http.post(f"/api/v1/rounds/{round_id}/assign", json={"seed": 1}, headers=headers)
        assert assigned.status_code == 200, assigned.text
        opened = http.post(f"/api/v1/rounds/{round_id}/open", headers=headers)
        assert opened.status_code == 200, opened.text
        return round_id


@dataclass
class Site:
    base: str
    accounts: dict[str, tuple[str, str]]
    browser: Any


@pytest.fixture(scope="module", params=BACKENDS)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The demo data on a running server, its round assigned and open, and a browser."""
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp(f"judge-{request.param}")
    for url in server_database(request.param, tmp):
        env = cli_env(url, tmp)
        demo = run_cli("demo", env=env, cwd=tmp)
        assert demo.returncode == 0, demo.stderr
        accounts = _accounts(demo.stdout)
        competition_id = int(re.search(r"#(\d+)\s+Smart Mobility", demo.stdout)[1])  # type: ignore[index]
        with server_process(env, tmp) as base, sync_playwright() as pw:
            _prepare_round(base, accounts["admin"], competition_id)
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield Site(base, accounts, browser)
            finally:
                browser.close()


def _phone(site: Site, **options: Any) -> Any:
    context = site.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, **options)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def test_judge_scores_an_entry_on_a_phone(site: Site) -> None:
    from playwright.sync_api import expect

    base, accounts = site.base, site.accounts
    page = _phone(site, locale="en-GB")
    try:
        # Not logged in: the page sends the judge to the login form.
        page.goto(f"{base}/judge")
        expect(page).to_have_url(re.compile(r"/judge/login"))
        page.fill("input[name=email]", accounts["judge"][0])
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text(
            "Wrong e-mail or password, or the account is deactivated."
        )
        expect(page.locator("html")).to_have_attribute("lang", "en")
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
        assert axe_violations(page) == [], "the judge's list"
        title = cards.first.locator(".title").inner_text()
        cards.first.click()

        expect(page.locator("h1")).to_have_text(title)
        expect(page.locator(".desc").first).to_contain_text("How new is the idea")
        assert axe_violations(page) == [], "the score sheet"
        scores = page.locator("input.score")
        # 0-10 in halves (21 steps): a compact number field with the scale, no long list.
        assert scores.count() == 3 and page.locator("select").count() == 0
        expect(scores.nth(0)).to_have_attribute("min", "0")
        expect(scores.nth(0)).to_have_attribute("max", "10")
        expect(scores.nth(0)).to_have_attribute("step", "0.5")
        expect(page.locator("#total")).to_have_text("–")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        with page.expect_response(_saved) as saved:
            scores.nth(0).fill("7.5")
        assert saved.value.ok
        expect(page.locator("#state")).to_contain_text("Draft saved")
        # The note is typed and the next choice made quickly: one debounced save.
        with page.expect_response(_saved):
            page.locator("input.note").nth(0).fill("Strong prototype")
            scores.nth(1).fill("6")

        # Submitting with a criterion missing is refused on the page, nothing sent.
        page.click("#submit")
        expect(page.locator("#state")).to_contain_text("1 missing")

        # The draft survived: reload shows the saved values.
        page.reload()
        expect(page.locator("input.score").nth(0)).to_have_value("7.5")
        expect(page.locator("input.score").nth(1)).to_have_value("6")
        expect(page.locator("input.note").nth(0)).to_have_value("Strong prototype")

        # Chosen and submitted at once: the pending autosave is flushed, not lost.
        page.locator("input.score").nth(2).fill("9")
        # Every criterion scored: the weighted total is on the page before anything is sent.
        expect(page.locator("#total")).not_to_have_text("–")
        live_total = float(page.locator("#total").get_attribute("data-value"))
        shown_total = page.locator("#total").inner_text()
        page.click("#submit")
        expect(page.locator("#state")).to_have_text("Submitted — this sheet is final.")
        expect(page.locator("input.score").nth(0)).to_be_disabled()
        expect(page.locator("#submit")).to_be_hidden()

        page.reload()
        expect(page.locator("#state")).to_contain_text("Submitted")
        expect(page.locator("input.score").nth(2)).to_be_disabled()
        expect(page.locator("input.score").nth(2)).to_have_value("9")
        page.goto(f"{base}/judge")
        expect(page.locator("a.entry .badge").first).to_have_text("Submitted")

        # The API (same cookie) agrees with what the page showed.
        mine = page.request.get(f"{base}/api/v1/judge/assignments").json()
        sheet = next(a for a in mine if a["entry"]["title"] == title)
        assert sheet["status"] == "submitted"
        assert sorted(s["value"] for s in sheet["scores"]) == [6.0, 7.5, 9.0]
        # The page's live total is the service's own total of what was saved.
        specs = [
            CriterionSpec(c["id"], c["name"], c["weight"], c["scale_min"], c["scale_max"])
            for c in sheet["criteria"]
        ]
        saved_total = weighted_total(
            {s["criterion_id"]: s["value"] for s in sheet["scores"]}, specs
        )
        assert live_total == pytest.approx(saved_total, abs=1e-9)
        assert shown_total == f"{saved_total:.2f}"
        assert next(s for s in sheet["scores"] if s["value"] == 7.5)["comment"] == (
            "Strong prototype"
        )

        # Log out (a shared phone): back to the login form, and the pages stay shut.
        page.click("#logout")
        expect(page).to_have_url(re.compile(r"/judge/login"))
        page.goto(f"{base}/judge")
        expect(page).to_have_url(re.compile(r"/judge/login"))
    finally:
        page.context.close()


def _latin_left(page: Any, typed: list[str]) -> list[str]:
    """Latin words on the screen that nobody typed: English fixed words left over."""
    text = page.inner_text("body")
    for value in sorted(typed, key=len, reverse=True):
        text = text.replace(value, " ")
    return re.findall(r"[A-Za-z]{2,}", text)


def test_a_chinese_judge_scores_on_a_phone_in_chinese(site: Site) -> None:
    from playwright.sync_api import expect

    base, (email, password) = site.base, site.accounts["judge"]
    # The phone reads Chinese: Accept-Language zh-CN, no ?lang= anywhere.
    page = _phone(site, locale="zh-CN")
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))
    try:
        page.goto(f"{base}/judge")
        expect(page).to_have_url(re.compile(r"/judge/login"))
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        expect(page.locator("h1")).to_have_text("评委登录")
        expect(page.locator("button[type=submit]")).to_have_text("登录")
        assert _latin_left(page, ["English"]) == []
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("电子邮箱或密码错误，或账号已停用。")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/judge$"))

        # What the organisers and teams typed stays as typed; everything else is Chinese.
        mine = page.request.get(f"{base}/api/v1/judge/assignments").json()
        typed = ["English", "Demo Judge", email]
        for a in mine:
            typed += [a["round_name"], *(v for v in a["entry"].values() if isinstance(v, str))]
            typed += [text for c in a["criteria"] for text in (c["name"], c["description"])]

        expect(page.locator("h1")).to_have_text("我的评审作品")
        expect(page.locator("#progress")).to_have_text(f"已提交 1 / {len(mine)} 个作品")
        expect(page.locator("#logout")).to_have_text("退出登录")
        expect(page.locator("a.entry .badge", has_text="已提交")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert axe_violations(page) == [], "the judge's list, in Chinese"
        assert _latin_left(page, typed) == []

        page.locator("a.entry", has=page.locator(".badge", has_text="待评分")).first.click()
        expect(page.locator("#state")).to_have_text("尚未评分。您的选择会自动保存。")
        expect(page.locator(".scale").first).to_contain_text("权重 40%")
        expect(page.locator("input.note").first).to_have_attribute("placeholder", "备注（选填）")
        expect(page.locator("#submit")).to_have_text("提交最终评分")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert _latin_left(page, typed) == []

        # judge.js speaks Chinese too: the autosave, the refusal, the question, the lock.
        with page.expect_response(_saved) as saved:
            page.locator("input.score").nth(0).fill("8")
        assert saved.value.ok
        expect(page.locator("#state")).to_have_text(re.compile(r"^草稿已于 .+ 保存。$"))
        page.click("#submit")
        expect(page.locator("#state")).to_have_text("提交前请为每一项评分标准打分（还差 2 项）。")
        page.locator("input.score").nth(1).fill("7")
        page.locator("input.score").nth(2).fill("6.5")
        page.click("#submit")
        expect(page.locator("#state")).to_have_text("已提交——此评分表已定稿。")
        assert asked == ["确定提交这些评分吗？提交后将无法修改。"]
        assert _latin_left(page, typed) == []

        # The switch to English, remembered afterwards over the phone's Chinese.
        page.goto(f"{base}/judge")
        expect(page.locator("a.lang")).to_have_text("English")
        page.click("a.lang")
        expect(page).to_have_url(re.compile(r"/judge\?lang=en$"))
        expect(page.locator("h1")).to_have_text("My entries")
        page.goto(f"{base}/judge")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#progress")).to_have_text(f"2 of {len(mine)} entries submitted")
        expect(page.locator("a.lang")).to_have_text("中文")
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_the_judge_pages_on_a_1920x1080_screen(site: Site, lang: str) -> None:
    from playwright.sync_api import expect

    base, (email, password) = site.base, site.accounts["judge"]
    context = site.browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        page.goto(f"{base}/judge/login?lang={lang}")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/judge$"))
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert axe_violations(page) == [], "the judge's list"
        page.locator("a.entry").first.click()
        expect(page.locator("#total")).to_be_visible()
        expect(page.locator("a[rel=next]")).to_be_visible()  # the next entry, one click away
        assert page.evaluate("document.documentElement.scrollWidth") <= 1920
        assert axe_violations(page) == [], "the score sheet"
        page.locator("a[rel=next]").click()
        expect(page.locator("a[rel=prev]")).to_be_visible()
        assert axe_violations(page) == [], "the next score sheet"
        # Someone else's entry, or none: a page in the judge's language, not JSON.
        answer = page.goto(f"{base}/judge/assignments/999999")
        assert answer is not None and answer.status == 403
        expect(page.locator("html")).to_have_attribute("lang", lang)
        assert axe_violations(page) == [], "the refusal"
    finally:
        context.close()
