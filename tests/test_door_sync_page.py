"""The door page's own needs (issue 19) in a real headless Chromium: the gate's own
count, undo of one's own last admission, a scanner typing into the look-up box,
the conflicts list with "Mark reviewed", and logging out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.browser import chromium_page
from tests.test_door_page import DOOR, _prepare, door_server

__all__ = ["door_server"]


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/scan")
    page.fill("#email", DOOR[0])
    page.fill("#password", DOOR[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/scan")


def _shown(page) -> tuple[str, str]:
    page.wait_for_selector("#verdict:not([hidden])")
    shown = (page.get_attribute("#verdict", "data-verdict") or "", page.inner_text("#verdict"))
    page.click("#verdict")
    page.wait_for_selector("#verdict", state="hidden")
    return shown


def _conflict_for(base: str, event_id: int, code: str) -> None:
    """Two offline gates admitted the same ticket: the later entry is a conflict."""
    with httpx.Client(base_url=base) as http:
        token = http.post(
            "/api/v1/auth/login", json={"email": DOOR[0], "password": DOOR[1]}
        ).json()["access_token"]
        http.cookies.clear()
        headers = {"Authorization": f"Bearer {token}"}
        for gate, minutes in (("A", 20), ("C", 10)):
            scanned = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
            answer = http.post(
                "/api/v1/checkins/batch",
                json={"event_id": event_id, "scans": [{"code": code, "gate": gate,
                      "scan_id": uuid.uuid4().hex, "scanned_at": scanned}]},
                headers=headers,
            )  # fmt: skip
            assert answer.status_code == 200, answer.text


def test_gate_count_undo_wedge_into_lookup_conflicts_and_logout(
    door_server: str,
    tmp_path: Path,
) -> None:
    event, codes = _prepare(door_server)
    looked_up: list[str] = []

    with chromium_page() as page:
        page.on("request", lambda request: looked_up.append(request.url))
        _log_in(page, door_server)
        page.select_option("#event", str(event["id"]))
        page.fill("#gate", "B")
        page.click("#start")
        page.wait_for_selector("#door:not([hidden])")
        page.wait_for_function("document.querySelector('#registered').textContent === '2'")
        assert page.inner_text("#gate-admitted") == "0"
        assert page.is_hidden("#last")

        # Admitted: the event's and the gate's counts move; the last admission can be undone.
        page.keyboard.type(codes[0])
        page.keyboard.press("Enter")
        assert _shown(page)[0] == "admitted"
        page.wait_for_function("document.querySelector('#gate-admitted').textContent === '1'")
        assert page.inner_text("#admitted") == "1"
        assert "Li Wei" in page.inner_text("#last")
        page.click("#undo")
        verdict, text = _shown(page)
        assert verdict == "undone" and "UNDONE" in text and "Admission undone." in text
        page.wait_for_function("document.querySelector('#gate-admitted').textContent === '0'")
        assert page.inner_text("#admitted") == "0"
        assert page.is_hidden("#last")

        # A scanner's burst while the look-up box has the focus: scanned, not searched.
        page.click("#lookup summary")
        page.focus("#lookup-query")
        page.keyboard.type(codes[0])
        page.keyboard.press("Enter")
        verdict, text = _shown(page)
        assert verdict == "admitted" and "Li Wei" in text
        assert page.input_value("#lookup-query") == ""
        assert page.evaluate("document.activeElement.id") == "code"
        assert not [url for url in looked_up if codes[0][:40] in url]  # never in a URL
        # A person typing a name there still looks it up.
        page.focus("#lookup-query")
        page.keyboard.type("wang", delay=120)
        page.wait_for_selector("#lookup-results button")

        # Conflicts: listed for this event (server-rendered), then marked reviewed.
        _conflict_for(door_server, event["id"], codes[1])
        page.goto(f"{door_server}/scan")
        page.wait_for_selector("#door:not([hidden])")
        assert page.inner_text("#conflict-count") == "1"
        item = page.inner_text("#conflict-list li")
        assert "Wang Fang" in item and "gate C" in item and "gate A" in item
        page.screenshot(path=str(tmp_path / "door-conflicts.png"))
        page.click("#conflict-list button")
        page.wait_for_selector("#door:not([hidden])")
        assert page.inner_text("#conflict-count") == "0"
        assert page.is_visible("#no-conflicts") or not page.get_attribute("#conflicts", "open")

        # Log out from the door: back to the login form, and the door needs it again.
        page.click("#door .logout button")
        page.wait_for_url(f"{door_server}/login")
        page.goto(f"{door_server}/scan")
        assert "/login" in page.url
