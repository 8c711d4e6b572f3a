"""The console's winners page in a real Chromium: a closed final round made through the
API, then as an organiser does it: the preview, publish (through the confirmation),
verify the chain, open a certificate; both languages, phone and desktop, axe finds no
WCAG 2.1 AA violation, and the certificate prints on one A4 page without its buttons."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from events_service.locale import words
from tests.accessibility import axe_violations
from tests.console_browser import ORGANISER, console_server, organiser_page

API = "/api/v1"
ENTRIES = (  # title, team, every judge's score on every criterion
    ("智能座舱语音助手", "星火队", 9),
    ("Battery swap robot", "Volt Works", 7),
    ("车路协同安全预警", "Road Sense", 8),
)
SHOTS = Path(tempfile.gettempdir()) / "console-winners-shots"  # to look at after a run


def _ok(response: httpx.Response) -> Any:
    assert 200 <= response.status_code < 300, response.text
    return response.json()


def _token(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    login = _ok(http.post(f"{API}/auth/login", json={"email": email, "password": password}))
    http.cookies.clear()
    return {"Authorization": f"Bearer {login['access_token']}"}


def _closed_final_round(base: str) -> int:
    """A competition with three scored entries, two awards, its only round closed."""
    with httpx.Client(base_url=base) as http:
        admin = _token(http, *ORGANISER)
        start = datetime.now(UTC) + timedelta(days=3)
        event = _ok(
            http.post(
                f"{API}/events",
                json={
                    "kind": "competition",
                    "title": "Internet + Auto Challenge 2026",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=8)).isoformat(),
                    "timezone": "Asia/Shanghai",
                    "venue": "Hall B",
                },
                headers=admin,
            )
        )
        ids = {}
        for title, team, quality in ENTRIES:
            made = _ok(
                http.post(
                    f"{API}/competitions/{event['id']}/entries",
                    json={"title": title, "team_name": team},
                    headers=admin,
                )
            )
            ids[made["id"]] = quality
        round_ = _ok(
            http.post(
                f"{API}/competitions/{event['id']}/rounds",
                json={"name": "Final", "judges_per_entry": 2, "ranking_method": "mean"},
                headers=admin,
            )
        )
        criterion = _ok(
            http.post(
                f"{API}/rounds/{round_['id']}/criteria",
                json={"name": "Overall", "weight": 1, "scale_max": 10, "scale_step": "1"},
                headers=admin,
            )
        )
        judges = []
        for n in range(2):
            email = f"judge{n}@example.org"
            _ok(
                http.post(
                    f"{API}/staff-users",
                    json={
                        "email": email,
                        "password": "judge-password",
                        "roles": ["judge"],
                        "name": f"Judge {n}",
                    },
                    headers=admin,
                )
            )
            judges.append(_token(http, email, "judge-password"))
        _ok(http.post(f"{API}/rounds/{round_['id']}/assign", json={"seed": 1}, headers=admin))
        _ok(http.post(f"{API}/rounds/{round_['id']}/open", headers=admin))
        for headers in judges:
            for a in _ok(http.get(f"{API}/judge/assignments", headers=headers)):
                score = {"criterion_id": criterion["id"], "value": ids[a["entry"]["id"]]}
                body = {"scores": [score], "submit": True}
                _ok(
                    http.put(
                        f"{API}/judge/assignments/{a['id']}/scores", json=body, headers=headers
                    )
                )
        for award in ({"name": "Gold award"}, {"name": "Silver award", "rank_from": 2}):
            _ok(http.post(f"{API}/rounds/{round_['id']}/awards", json=award, headers=admin))
        _ok(http.post(f"{API}/rounds/{round_['id']}/close", headers=admin))
    return event["id"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with console_server(tmp_path_factory.mktemp("console-winners")) as base:
        yield base, _closed_final_round(base)


@pytest.fixture(scope="module")
def page(site: tuple[str, int]) -> Iterator[Any]:
    base, _ = site
    with organiser_page(base) as logged_in:
        yield logged_in


def _shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, label in ((390, "phone"), (1280, "desktop")):
        page.set_viewport_size({"width": width, "height": 860})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 414, "height": 860})


def test_preview_publish_verify_and_print_a_certificate(page: Any, site: tuple[str, int]) -> None:
    base, event_id = site
    page.goto(f"{base}/admin/competitions/{event_id}?lang=en")
    page.click("text=See the winners")
    assert page.url.startswith(f"{base}/admin/competitions/{event_id}/winners")
    preview = page.inner_text("#preview")
    assert "Gold award" in preview and "智能座舱语音助手" in preview and "星火队" in preview
    assert "Silver award" in preview and "车路协同安全预警" in preview
    assert "Battery swap robot" not in preview  # third: no award
    assert axe_violations(page) == []
    _shoot(page, "preview-en")

    page.click("summary:has-text('Publish the winners')")
    page.click("button:has-text('Yes, go ahead')")
    page.wait_for_selector("#records")
    assert "2 records were added to the chain" in page.inner_text("main")
    records = page.inner_text("#records")
    assert "Gold award" in records and "Current" in records
    hashes = page.eval_on_selector_all(
        "#records code[data-hash]", "nodes => nodes.map(n => n.textContent)"
    )
    assert len(hashes) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)

    page.click("button:has-text('Verify the chain')")
    verdict = page.inner_text("#verdict")
    assert "The chain is intact: all 2 records match their hashes" in verdict
    assert axe_violations(page) == []
    _shoot(page, "winners-en")

    page.goto(f"{base}/admin/competitions/{event_id}/winners?lang=zh-Hans&verify=1")
    chinese = words("zh-Hans")
    assert chinese.gettext("Verify the chain") in page.inner_text("main")
    assert "The chain is intact" not in page.inner_text("#verdict")
    assert axe_violations(page) == []
    _shoot(page, "winners-zh")

    page.goto(f"{base}/admin/competitions/{event_id}/winners?lang=en")
    page.click("#records a:has-text('Certificate') >> nth=0")
    page.wait_for_selector("[data-testid=award]")
    assert page.inner_text("[data-testid=award]") == "Gold award"
    assert page.inner_text("[data-testid=entry]") == "智能座舱语音助手"
    assert page.inner_text("[data-testid=team]") == "星火队"
    assert "Internet + Auto Challenge 2026" in page.inner_text("[data-testid=competition]")
    assert hashes[0] in page.inner_text("[data-testid=hash]")
    assert page.is_visible("button:has-text('Print')")
    _shoot(page, "certificate-en")

    page.emulate_media(media="print")
    assert not page.is_visible("button:has-text('Print')")
    page.set_viewport_size({"width": 1123, "height": 794})  # A4 landscape at 96 dpi
    page.screenshot(path=str(SHOTS / "certificate-print.png"), full_page=True)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one sheet
    page.emulate_media(media="screen")

    page.goto(page.url.replace("lang=en", "lang=zh-Hans"))
    assert page.inner_text("[data-testid=entry]") == "智能座舱语音助手"
    assert page.get_attribute("html", "lang") == "zh-Hans"
    _shoot(page, "certificate-zh")
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    page.emulate_media(media="screen")
