"""The gettext catalogues: complete, in step with the code, and used by the pages.

Message ids are the English text; zh-Hans has a catalogue that must translate every
one of them. The ids the code marks (`_()`, `N_()`, `ngettext()`, `pgettext()` in
Python and templates) are extracted as `make messages` extracts them and compared
with the catalogue, and the translated templates may show no text outside gettext.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

from events_service.errors import Conflict
from events_service.judging.rounds import RoundAction, StatusRule, require_status
from events_service.locale import LOCALES, catalogue_path, in_language, words
from models import Round
from models.enums import RoundStatus
from tests.factories import make_event, make_link
from tests.judging_helpers import API, scored_round
from tests.visible_text import visible_text

ROOT = Path(__file__).resolve().parent.parent

# The templates translated so far; each one added here is held to "no visible text
# outside gettext".
# Every template, found rather than listed: a new page cannot be left out of the scan.
TRANSLATED_TEMPLATES = sorted(
    str(path.relative_to(ROOT / "templates"))
    for path in (ROOT / "templates").rglob("*")
    if path.suffix in (".html", ".txt")
)


def _catalogue(locale: str):
    with catalogue_path(locale).open("rb") as po:
        return read_po(po, locale=locale.replace("-", "_"))


def _extracted() -> set[tuple[str | None, str]]:
    """What `make messages` extracts (babel.cfg's map), as (context, singular id)."""
    method_map = [
        ("events_service/**.py", "python"),
        ("notifications/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    options = {pattern: {"extensions": "jinja2.ext.i18n"} for pattern, _ in method_map[2:]}
    found = set()
    # As the Makefile's -k: translatable(msgid), translatable_in(context, msgid).
    keywords = {**DEFAULT_KEYWORDS, "translatable": None, "translatable_in": ((1, "c"), 2)}
    extracted = extract_from_dir(str(ROOT), method_map, options_map=options, keywords=keywords)
    for _, _, message, _, context in extracted:
        singular = message[0] if isinstance(message, tuple) else message
        found.add((context, singular))
    return found


def test_every_message_has_a_chinese_translation_with_the_same_placeholders() -> None:
    catalogue = _catalogue("zh-Hans")
    untranslated = [
        message.id
        for message in catalogue
        if message.id
        and (
            message.fuzzy
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    ]
    assert not untranslated, untranslated
    # Babel's checks: python-format placeholders the same in msgid and msgstr.
    problems = [(message.id, errors) for message, errors in catalogue.check()]
    assert not problems, problems


def test_the_catalogue_holds_exactly_what_the_code_marks() -> None:
    in_code = _extracted()
    in_catalogue = {
        (message.context, message.id[0] if isinstance(message.id, tuple) else message.id)
        for message in _catalogue("zh-Hans")
        if message.id
    }
    assert in_code - in_catalogue == set(), "run `make messages`, then translate them"
    assert in_catalogue - in_code == set(), "obsolete messages: run `make messages`"


def _visible_text(source: str) -> list[str]:
    """Template text outside {{ }} and {% %}, as a page shows it."""
    parts = []
    for _, token, value in Environment(autoescape=True, extensions=["jinja2.ext.i18n"]).lex(source):
        parts.append(value if token == "data" else " ")
    seen = visible_text("".join(parts)).texts
    return [text for text in seen if re.search(r"[^\W\d_]", text)]


@pytest.mark.parametrize("template", TRANSLATED_TEMPLATES)
def test_translated_templates_show_no_text_outside_gettext(template: str) -> None:
    source = (ROOT / "templates" / template).read_text()
    assert _visible_text(source) == []


def test_the_text_check_finds_untranslated_words() -> None:
    """The scan above can fail: plain words, a spoken attribute, not a translated call."""
    assert _visible_text('<p>Hello {{ name }}</p><img alt="Your code">') == [
        "Hello",
        "Your code",
    ]
    assert _visible_text('<p>{{ _("Hello") }}</p><style>p { color: red }</style>') == []


def test_words_fill_placeholders_and_choose_plurals() -> None:
    english, chinese = words("en"), words("zh-Hans")
    assert LOCALES == ("en", "zh-Hans")
    assert english.ngettext("%(n)s place left", "%(n)s places left", 1) == "1 place left"
    assert english.ngettext("%(n)s place left", "%(n)s places left", 2) == "2 places left"
    assert chinese.ngettext("%(n)s place left", "%(n)s places left", 2) == "剩余 2 个名额"
    assert english.pgettext("button", "Register") == "Register"
    assert chinese.pgettext("button", "Register") == "提交报名"
    assert chinese.gettext("Register") == "报名"
    assert chinese.gettext("Milestone: %(percent)s%% of the %(kpi)s target", percent=50, kpi="x")
    assert words("fr").locale == "en"


async def test_the_form_says_place_or_places_in_each_language(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin, capacity=1)
    link = await make_link(client, admin, event["id"])

    english = await client.get(f"/r/{link['slug']}?lang=en")
    chinese = await client.get(f"/r/{link['slug']}?lang=zh-Hans")

    assert "1 place left" in english.text and "1 places left" not in english.text
    assert "剩余 1 个名额" in chinese.text
    assert "提交报名" in chinese.text and ">中文<" not in chinese.text
    assert 'hreflang="en">English</a>' in chinese.text
    assert 'hreflang="zh-Hans">中文</a>' in english.text


async def test_form_errors_are_in_the_language_of_the_page(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    bad = {"name": "", "email": "li.wei(at)example.org", "phone": "123"}

    chinese = await client.post(f"/r/{link['slug']}?lang=zh-Hans", data=bad)
    english = await client.post(f"/r/{link['slug']}?lang=en", data=bad)
    api = await client.post(f"/api/v1/register/{link['slug']}", json={**bad, "consent": False})

    assert chinese.status_code == english.status_code == 422
    for words_seen in ("请填写姓名。", "不是有效的电子邮箱地址", "不是有效的电话号码", "请同意"):
        assert words_seen in chinese.text
    assert "Not an e-mail address" not in chinese.text and "Please" not in chinese.text
    assert "Not an e-mail address" in english.text and "Please enter your name." in english.text
    # Without an Accept-Language the API answers in the default language, English.
    fields = {e["field"]: e["message"] for e in api.json()["errors"]}
    assert fields["email"].startswith("Not an e-mail address")


async def test_staff_login_speaks_the_browsers_language(client: httpx.AsyncClient) -> None:
    chinese = await client.get("/login?next=/scan", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    english = await client.get("/login?next=/scan", headers={"Accept-Language": "en-GB"})

    assert '<html lang="zh-Hans">' in chinese.text and "工作人员登录" in chinese.text
    assert "Staff login" not in chinese.text and "Password" not in chinese.text
    assert '<html lang="en">' in english.text and "Staff login" in english.text
    # The switch keeps where the login leads to.
    assert 'href="/login?lang=en&amp;next=/scan"' in chinese.text

    wrong = await client.post(
        "/login?lang=zh-Hans",
        data={"email": "nobody@example.org", "password": "wrong", "next": "/scan"},
    )
    assert wrong.status_code == 401 and "邮箱或密码错误" in wrong.text


async def test_problem_documents_speak_the_clients_language(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    event = await make_event(client, admin)
    link = await make_link(client, admin, event["id"])
    bad = {"name": "", "email": "nope", "consent": True}
    url = f"/api/v1/register/{link['slug']}"

    chinese = await client.post(url, json=bad, headers={"Accept-Language": "zh-CN"})
    english = await client.post(url, json=bad)
    valid = {"name": "Li Wei", "email": "li.wei@example.org", "consent": True}
    missing = await client.post(
        "/api/v1/register/no-such-link", json=valid, headers={"Accept-Language": "zh"}
    )

    assert chinese.status_code == english.status_code == 422
    # What a client branches on is the same in every language...
    assert chinese.json()["type"] == english.json()["type"] == "/problems/invalid-registration"
    assert [e["field"] for e in chinese.json()["errors"]] == ["name", "email"]
    # ...and what a person reads is theirs.
    assert chinese.json()["title"] == "部分信息需要更正"
    assert english.json()["title"] == "Some fields need correcting"
    messages = {e["field"]: e["message"] for e in chinese.json()["errors"]}
    assert messages == {"name": "请填写姓名。", "email": messages["email"]}
    assert messages["email"].startswith("不是有效的电子邮箱地址")
    assert missing.status_code == 404 and missing.json()["title"] == "没有这个报名链接"


async def test_a_staff_members_own_language_beats_the_browsers(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    english_browser = {**admin, "Accept-Language": "en-GB"}

    chosen = await client.patch(
        "/api/v1/auth/me", json={"preferred_locale": "zh-Hans"}, headers=admin
    )
    assert chosen.status_code == 200 and chosen.json()["preferred_locale"] == "zh-Hans"
    page = await client.get("/admin/programme", headers=english_browser)
    assert '<html lang="zh-Hans">' in page.text and "获得融资的初创企业" in page.text
    # The switch on the page still wins, for that page.
    switched = await client.get("/admin/programme?lang=en", headers=english_browser)
    assert '<html lang="en">' in switched.text
    client.cookies.clear()

    refused = await client.patch("/api/v1/auth/me", json={"preferred_locale": "fr"}, headers=admin)
    assert refused.status_code == 400
    cleared = await client.patch("/api/v1/auth/me", json={"preferred_locale": None}, headers=admin)
    assert cleared.json()["preferred_locale"] is None
    page = await client.get("/admin/programme", headers=english_browser)
    assert '<html lang="en">' in page.text


async def test_a_refusals_detail_is_in_the_clients_language(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    chinese = await client.get("/api/v1/events/999999", headers={**admin, "Accept-Language": "zh"})
    english = await client.get("/api/v1/events/999999", headers=admin)

    assert chinese.status_code == english.status_code == 404
    assert chinese.json()["detail"] == "没有活动 999999。" and chinese.json()["title"] == "未找到"
    assert english.json()["detail"] == "No event 999999." and english.json()["title"] == "Not found"


RULES = {name: rule for name, rule in vars(RoundAction).items() if isinstance(rule, StatusRule)}


@pytest.mark.parametrize("name", sorted(RULES))
def test_a_round_status_refusal_is_one_whole_sentence_in_each_language(name: str) -> None:
    rule = RULES[name]
    wanted = " or ".join(status.value for status in rule.allowed)
    for status in set(RoundStatus) - set(rule.allowed):
        with pytest.raises(Conflict) as refused:
            require_status(Round(id=7, status=status), rule)
        english, chinese = (in_language(refused.value.detail, x) for x in ("en", "zh-Hans"))
        # English as it always read; the statuses the sentence names are the rule's.
        assert re.fullmatch(rf"Round 7 is {status.value}; [a-z ]+ needs it {wanted}\.", english)
        assert re.findall(r"[A-Za-z]+", chinese) == [], chinese
        assert chinese.startswith("轮次 7 当前状态为“") and chinese.endswith("。")
        assert refused.value.extra == {"round_status": status.value}


async def test_a_round_status_refusal_over_the_api_is_all_chinese_in_chinese(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    setup = await scored_round(client, admin, entries=2, judges=1, k=1)  # the round is open
    criterion = {
        "name": "Impact",
        "weight": 1.0,
        "scale_min": 0.0,
        "scale_max": 10.0,
        "scale_step": "1",
    }
    url = f"{API}/rounds/{setup.round_id}"
    chinese = {**admin, "Accept-Language": "zh-CN,zh;q=0.9"}

    answers = {
        "criteria": await client.post(f"{url}/criteria", json=criterion, headers=chinese),
        "open": await client.post(f"{url}/open", headers=chinese),
    }
    english = await client.post(f"{url}/criteria", json=criterion, headers=admin)

    for answer in answers.values():
        problem = answer.json()
        assert answer.status_code == 409 and problem["round_status"] == "open"
        assert problem["title"] == words("zh-Hans").gettext("Conflicts with the current state")
        assert re.findall(r"[A-Za-z]+", problem["title"] + problem["detail"]) == [], problem
    assert answers["criteria"].json()["detail"] == (
        f"轮次 {setup.round_id} 当前状态为“评分中”；只有处于“草稿”状态的轮次才能修改评分标准。"
    )
    assert answers["open"].json()["detail"] == (
        f"轮次 {setup.round_id} 当前状态为“评分中”；只有处于“草稿”状态的轮次才能开放评分。"
    )
    assert english.status_code == 409 and english.json()["detail"] == (
        f"Round {setup.round_id} is open; changing its criteria needs it draft."
    )


async def test_a_badly_shaped_body_is_explained_in_the_clients_language(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"kind": "summit", "title": "T", "starts_at": "2099-01-01T09:00:00+08:00",
            "ends_at": "2099-01-01T17:00:00+08:00", "capacity": "many"}  # fmt: skip
    chinese = await client.post(
        "/api/v1/events", json=body, headers={**admin, "Accept-Language": "zh"}
    )
    english = await client.post("/api/v1/events", json=body, headers=admin)

    assert chinese.status_code == english.status_code == 400
    assert english.json()["errors"][0]["message"] == "Expected `int | null`, got `str`"
    assert chinese.json()["errors"][0]["message"] == "应为 `int | null`，实际为 `str`"
    assert chinese.json()["detail"] == "capacity: 应为 `int | null`，实际为 `str`"
    assert chinese.json()["title"] == "请求无效"
