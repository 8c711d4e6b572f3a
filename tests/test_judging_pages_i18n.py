"""The judge pages and the certificate in Chinese and in English, as a judge reads them.

A Chinese judge (?lang=zh-Hans, or a browser sending Accept-Language: zh-CN) sees
every fixed word in Chinese, plurals as the language has them, and round times in
the event's timezone written the Chinese way; an English judge sees English. What
people typed (entry titles, criterion names) stays as typed.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date

from models import Event
from tests.conftest import LoginAs
from tests.judging_helpers import API, closed_final_round, my_assignments, ok, scored_round, submit
from tests.visible_text import visible_text

CJK = re.compile(r"[\u4e00-\u9fff]")
# Words on the page that are nobody's fixed text: the switch to English, a hash's name.
NOT_FIXED_WORDS = ("English", "SHA-256", "Asia/Shanghai")


class _Seen:
    """A judge page as read (tests/visible_text.py), with the words judge.js gets."""

    def __init__(self, html: str) -> None:
        read = visible_text(html)
        self.texts = read.texts
        self.words: dict = read.json_block("judge-words")


def seen(html: str) -> _Seen:
    return _Seen(html)


def english_left(html: str, typed: list[str]) -> list[str]:
    """Latin words the page shows that no person typed: fixed words left untranslated."""
    left = []
    for text in seen(html).texts:
        for value in sorted([*typed, *NOT_FIXED_WORDS], key=len, reverse=True):
            text = text.replace(value, " ")
        left += re.findall(r"[A-Za-z]{2,}", text)
    return left


def _all_values(words: dict) -> list[str]:
    out: list[str] = []
    for value in words.values():
        out += _all_values(value) if isinstance(value, dict) else [value]
    return out


async def _judge_with_round(client: httpx.AsyncClient, admin: dict[str, str], entries: int):
    setup = await scored_round(client, admin, entries=entries, judges=1, k=1)
    window = {"opens_at": "2020-01-01T00:00:00Z", "closes_at": "2099-01-02T10:30:00Z"}
    ok(await client.patch(f"{API}/rounds/{setup.round_id}", json=window, headers=admin))
    headers = next(iter(setup.judges.values()))
    return setup, headers, await my_assignments(client, headers)


TYPED = [
    "Preliminary",
    "Innovation",
    "Feasibility",
    "How good is the innovation?",
    "How good is the feasibility?",
] + [f"{kind} {i}" for kind in ("Entry", "Team", "Org") for i in range(4)]


async def test_the_judge_list_and_sheet_in_chinese(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup, headers, mine = await _judge_with_round(client, admin, entries=2)
    ok(await submit(client, headers, mine[0]["id"], {c: 1 for c in setup.criteria}))
    typed = [*TYPED, "Judge0"]

    listing = await client.get("/judge?lang=zh-Hans", headers=headers)
    client.cookies.clear()
    assert listing.status_code == 200
    assert '<html lang="zh-Hans">' in listing.text
    texts = seen(listing.text).texts
    assert "我的评审作品" in texts and "退出登录" in texts
    assert "已提交 1 / 2 个作品" in texts
    assert "已提交" in texts and "待评分" in texts
    # The round's closing in the event's timezone (Asia/Shanghai), the Chinese way.
    assert "评分截止：2099年1月2日 18:30" in texts
    assert 'hreflang="en"' in listing.text and "English" in texts
    assert english_left(listing.text, typed) == []
    assert all(CJK.search(text) for text in _all_values(seen(listing.text).words))

    # The browser's language alone is enough.
    sheet = await client.get(
        f"/judge/assignments/{mine[1]['id']}", headers={**headers, "Accept-Language": "zh-CN"}
    )
    assert sheet.status_code == 200 and '<html lang="zh-Hans">' in sheet.text
    page = seen(sheet.text)
    assert "提交最终评分" in page.texts and "全部作品" in page.texts
    assert "尚未评分。您的选择会自动保存。" in page.texts
    assert "0–10 · 权重 67%" in page.texts
    assert "评分时间：2020年1月1日 08:00 至 2099年1月2日 18:30（Asia/Shanghai）" in page.texts
    assert "备注（选填）" in page.texts and "关于“Innovation”的备注" in page.texts
    assert english_left(sheet.text, typed) == []
    # judge.js's words, in Chinese: "2 missing" has the one Chinese plural form.
    assert page.words["missing"] == {
        "1": "提交前请为每一项评分标准打分（还差 1 项）。",
        "2": "提交前请为每一项评分标准打分（还差 2 项）。",
    }
    assert page.words["saved_at"] == "草稿已于 {time} 保存。"
    assert page.words["window_closed"] == "评分已于 2099年1月2日 18:30 截止。"
    assert all(CJK.search(text) for text in _all_values(page.words))

    # The API keeps ISO 8601.
    round_ = ok(await client.get(f"{API}/rounds/{setup.round_id}", headers=admin))
    assert round_["closes_at"].startswith("2099-01-02T10:30:00")


async def test_the_judge_pages_stay_english_for_an_english_judge(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    _, headers, mine = await _judge_with_round(client, admin, entries=1)

    listing = await client.get("/judge", headers={**headers, "Accept-Language": "en-GB,en"})
    assert '<html lang="en">' in listing.text
    texts = seen(listing.text).texts
    assert "My entries" in texts and "0 of 1 entry submitted" in texts
    # CLDR puts a narrow no-break space before PM.
    assert "Scoring closes Jan 2, 2099, 6:30\u202fPM" in texts
    assert "中文" in texts and 'hreflang="zh-Hans"' in listing.text
    assert not [t for t in texts if CJK.search(t) and t != "中文"]

    sheet = await client.get(f"/judge/assignments/{mine[0]['id']}?lang=en", headers=headers)
    client.cookies.clear()
    page = seen(sheet.text)
    assert "Submit final scores" in page.texts and "0–10 · weight 67%" in page.texts
    assert page.words["missing"]["1"] == "Score every criterion before submitting (1 missing)."
    assert page.words["submitted"] == "Submitted — this sheet is final."
    assert not [t for t in page.texts if CJK.search(t) and t != "中文"]


async def test_plurals_of_the_progress_line(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    admin = await login_as("admin")
    _, headers, _ = await _judge_with_round(client, admin, entries=2)
    listing = await client.get("/judge?lang=en", headers=headers)
    client.cookies.clear()
    assert "0 of 2 entries submitted" in seen(listing.text).texts


async def test_login_refusals_and_redirects_in_chinese(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    # The way to the login form keeps the language asked for, and the form's target.
    away = await client.get("/judge?lang=zh-Hans", follow_redirects=False)
    assert away.headers["location"] == "/judge/login?next=%2Fjudge&lang=zh-Hans"
    login = await client.get(away.headers["location"])
    client.cookies.clear()
    assert '<html lang="zh-Hans">' in login.text
    page = seen(login.text)
    assert "评委登录" in page.texts and "密码" in page.texts and "登录" in page.texts
    assert english_left(login.text, []) == []
    assert page.words["login_refused"] == "电子邮箱或密码错误，或账号已停用。"
    # The switch to English stays on the form, with its target.
    assert 'href="/judge/login?next=%2Fjudge&amp;lang=en"' in login.text

    door_staff = await login_as("staff")
    refused = await client.get("/judge", headers={**door_staff, "Accept-Language": "zh-CN"})
    assert refused.status_code == 403
    assert "此账号没有评委权限。" in seen(refused.text).texts
    assert english_left(refused.text, []) == []

    admin = await login_as("admin")
    missing = await client.get("/judge/assignments/999999?lang=zh-Hans", headers=admin)
    client.cookies.clear()
    assert missing.status_code == 403 and "未分配给您" in seen(missing.text).texts


async def test_the_certificate_in_chinese_keeps_the_names_as_typed(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    published = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))
    first = published[0]

    chinese = await client.get(
        f"/winners/{first['id']}/certificate", headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert chinese.status_code == 200 and '<html lang="zh-Hans">' in chinese.text
    texts = seen(chinese.text).texts
    assert "证书" in texts and "授予" in texts and "打印" in texts
    assert "First prize" in texts and "Entry 1" in texts  # as the organisers typed them
    assert any(re.fullmatch(r"发布于 \d{4}年\d{1,2}月\d{1,2}日", t) for t in texts), texts
    assert any("第 1 名" in t and "得分" in t for t in texts)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    event = await Event.get(id=setup.event_id)
    typed = ["First prize", "Preliminary", settings.programme_name, first["hash"], event.title]
    typed += [f"Entry {i}" for i in range(4)] + [f"Team {i}" for i in range(4)]
    typed += [f"Org {i}" for i in range(4)] + [settings.public_base_url, "/api/v1/winners/verify"]
    assert english_left(chinese.text, typed) == []

    english = await client.get(f"/winners/{first['id']}/certificate?lang=en")
    client.cookies.clear()
    assert "Certificate" in seen(english.text).texts and "awarded to" in seen(english.text).texts
    assert not CJK.search(english.text.replace("中文", ""))


async def test_the_certificate_names_competition_award_entry_team_date_and_hash(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    published = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))
    first = published[0]
    event = await Event.get(id=setup.event_id)
    record = (await client.get(f"/winners/{first['id']}/certificate?lang=en")).text
    client.cookies.clear()
    texts = seen(record).texts
    assert event.title in texts  # the competition
    assert first["award_title"] in texts and first["entry_title"] in texts
    assert f"{first['team_name']} · {first['organisation']}" in texts
    # The day of publication in the event's timezone, as English writes it.
    moment = datetime.fromisoformat(first["published_at"]).astimezone(ZoneInfo(event.timezone))
    day = format_date(moment.date(), "long", locale="en")
    assert f"Published {day}" in texts
    assert any(first["hash"] in t for t in texts)


async def test_the_certificate_names_a_team_once_when_it_is_its_organisation(
    client: httpx.AsyncClient, login_as: LoginAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    first = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))[0]
    # A record whose team and organisation carry one name (the demo's "VisionDrive").
    from events_service.judging import pages, winners

    real = winners.certificate

    async def same_name(record_id: int):  # type: ignore[no-untyped-def]
        found = await real(record_id)
        found.organisation = found.team_name
        return found

    monkeypatch.setattr(pages.winners, "certificate", same_name)
    html = (await client.get(f"/winners/{first['id']}/certificate?lang=en")).text
    client.cookies.clear()
    texts = seen(html).texts
    assert first["team_name"] in texts
    assert f"{first['team_name']} · {first['team_name']}" not in " ".join(texts)


async def test_another_judges_entry_is_an_html_403_in_the_judges_own_language(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(client, admin, entries=4, judges=2, k=1)
    mine, other = list(setup.judges.values())
    theirs = (await my_assignments(client, other))[0]["id"]
    # The judge chose Chinese for their pages; the browser asks for nothing in particular.
    ok(await client.patch("/api/v1/auth/me", json={"preferred_locale": "zh-Hans"}, headers=mine))
    for path in (f"/judge/assignments/{theirs}", "/judge/assignments/999999"):
        page = await client.get(path, headers=mine)
        assert page.status_code == 403, path
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-Hans">' in page.text
        texts = seen(page.text).texts
        assert "开放的轮次中没有分配给您的这个作品。" in texts
        assert english_left(page.text, []) == []
    listing = await client.get("/judge", headers=mine)
    assert '<html lang="zh-Hans">' in listing.text and "我的评审作品" in seen(listing.text).texts
    # ?lang= still switches, as on every page.
    english = await client.get(f"/judge/assignments/{theirs}?lang=en", headers=mine)
    client.cookies.clear()
    assert english.status_code == 403 and '<html lang="en">' in english.text
    assert "Not assigned to you" in seen(english.text).texts


async def test_the_sheet_shows_the_entry_the_deadline_its_neighbours_and_compact_scales(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await scored_round(
        client,
        admin,
        entries=3,
        judges=1,
        k=1,
        criteria=(("Overall", 2.0, 0.0, 10.0, "0.5"), ("Pitch", 1.0, 1.0, 5.0, "1")),
    )
    window = {"opens_at": "2020-01-01T00:00:00Z", "closes_at": "2099-01-02T10:30:00Z"}
    ok(await client.patch(f"{API}/rounds/{setup.round_id}", json=window, headers=admin))
    headers = next(iter(setup.judges.values()))
    mine = await my_assignments(client, headers)
    assert len(mine) == 3
    entry = mine[1]["entry"]["id"]
    members = [
        {"email": "li@example.org", "name": "Li Wei"},
        {"email": "w@example.org", "name": "Wang Fang"},
    ]
    patch = {"summary": "A sensor that hears leaks.", "members": members}
    ok(await client.patch(f"/api/v1/entries/{entry}", json=patch, headers=admin))

    html = (await client.get(f"/judge/assignments/{mine[1]['id']}?lang=en", headers=headers)).text
    texts = seen(html).texts
    assert "A sensor that hears leaks." in texts and "Members: Li Wei, Wang Fang" in texts
    assert "li@example.org" not in html  # names only, no contact details
    # The deadline in the event's timezone (Asia/Shanghai: 18:30 on 2 January 2099).
    assert any("Jan 2, 2099" in t and "6:30" in t and "Asia/Shanghai" in t for t in texts), texts
    assert f'rel="prev" href="/judge/assignments/{mine[0]["id"]}"' in html
    assert f'rel="next" href="/judge/assignments/{mine[2]["id"]}"' in html
    first = (await client.get(f"/judge/assignments/{mine[0]['id']}", headers=headers)).text
    assert 'rel="prev"' not in first and 'rel="next"' in first
    last = (await client.get(f"/judge/assignments/{mine[2]['id']}", headers=headers)).text
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # 0-10 in halves (21 steps): one number field; 1-5 in whole points: five buttons.
    overall, pitch = setup.criteria
    assert html.count(f'name="c{overall}"') == 1 and "<select" not in html
    assert f'type="number" class="score" name="c{overall}"' in html
    assert 'min="0" max="10" step="0.5"' in html
    assert html.count(f'name="c{pitch}"') == 5
    # What the page needs for the live total: each criterion's weight.
    assert f'data-criterion="{overall}" data-weight="2.0"' in html
    assert "Weighted total" in texts

    chinese = await client.get(f"/judge/assignments/{mine[1]['id']}?lang=zh-Hans", headers=headers)
    client.cookies.clear()
    read = seen(chinese.text).texts
    assert "成员：Li Wei、Wang Fang" in read and "加权总分" in read
    assert "下一个作品 →" in read and "← 上一个作品" in read
    assert (
        english_left(
            chinese.text,
            [
                *TYPED,
                "Overall",
                "Pitch",
                "A sensor that hears leaks.",
                "How good is the overall?",
                "How good is the pitch?",
                "Li Wei",
                "Wang Fang",
            ],
        )
        == []
    )


def _axe_on(pages: list[str], width: int, height: int) -> list[list[str]]:
    """WCAG 2.1 AA violations of each page's HTML, in Chromium at the given size."""
    from tests.accessibility import axe_violations
    from tests.browser import chromium_page

    found = []
    with chromium_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        for html in pages:
            page.set_content(html)
            found.append(axe_violations(page))
    return found


async def test_the_certificate_passes_axe_in_both_languages_on_a_phone_and_a_screen(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    admin = await login_as("admin")
    setup = await closed_final_round(client, admin)
    ok(await client.post(f"{API}/rounds/{setup.round_id}/close", headers=admin))
    first = ok(await client.post(f"{API}/competitions/{setup.event_id}/winners", headers=admin))[0]
    pages = [
        (await client.get(f"/winners/{first['id']}/certificate?lang={lang}")).text
        for lang in ("en", "zh-Hans")
    ]
    client.cookies.clear()
    for width, height in ((414, 860), (1920, 1080)):
        assert await asyncio.to_thread(_axe_on, pages, width, height) == [[], []]
