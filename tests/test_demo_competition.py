"""`events-service demo` leaves the competition's first round open and being judged:
the demo judge has entries to score on /judge, the other demo judges have submitted
some sheets, and the ranking has data. All read as a user would, through the API and
the pages of a real server on a fresh SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from events_service.demo import COMPETITION_TITLE, DEMO_ACCOUNTS, DEMO_AWARDS, DEMO_SUBMITTED
from tests.server import cli_env, run_cli, server_process
from tests.visible_text import page_text

PASSWORDS = {email: password for email, password, _, _ in DEMO_ACCOUNTS}
ADMIN, JUDGE = "admin@demo.example.org", "judge@demo.example.org"


@dataclass(frozen=True)
class Demo:
    base: str
    env: dict[str, str]
    cwd: Path
    output: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo-competition")
    env = cli_env(f"sqlite://{tmp / 'demo.db'}", tmp)
    seeded = run_cli("demo", env=env, cwd=tmp)
    assert seeded.returncode == 0, seeded.stderr
    with server_process(env, tmp) as base:
        yield Demo(base, env, tmp, seeded.stdout)


def _token(http: httpx.Client, email: str) -> dict[str, str]:
    login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORDS[email]})
    assert login.status_code == 200, login.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _first_round(http: httpx.Client, admin: dict[str, str]) -> dict:
    events = http.get("/api/v1/events", params={"limit": 100}, headers=admin).json()["items"]
    (contest,) = [e for e in events if e["title"] == COMPETITION_TITLE]
    rounds = http.get(f"/api/v1/competitions/{contest['id']}/rounds", headers=admin).json()
    return min(rounds, key=lambda r: r["position"])


def _state(http: httpx.Client) -> dict[str, object]:
    admin = _token(http, ADMIN)
    round_ = _first_round(http, admin)
    progress = http.get(f"/api/v1/rounds/{round_['id']}/progress", headers=admin).json()
    history = http.get(f"/api/v1/rounds/{round_['id']}/history", headers=admin).json()
    awards = http.get(f"/api/v1/rounds/{round_['id']}/awards", headers=admin).json()
    return {"round": round_, "progress": progress, "history": len(history), "awards": awards}


def test_the_demo_prints_the_other_judges_accounts(demo: Demo) -> None:
    for email in ("judge2@demo.example.org", "judge3@demo.example.org"):
        assert f"{email}" in demo.output
        assert f"password: {PASSWORDS[email]}" in demo.output


def test_the_first_round_is_open_with_every_demo_judge_assigned(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base) as http:
        state = _state(http)
    round_, progress = state["round"], state["progress"]
    assert round_["status"] == "open"
    assert round_["closes_at"] is not None  # a deadline to show
    by_judge = {j["name"]: j for j in progress["judges"]}
    assert set(by_judge) == {"Demo Judge", "Demo Judge Two", "Demo Judge Three"}
    # Every entry has the round's k judges; loads differ by at most one.
    assert all(e["assigned"] == round_["judges_per_entry"] for e in progress["entries"])
    loads = [j["assigned"] for j in by_judge.values()]
    assert max(loads) - min(loads) <= 1
    # The other judges' sheets are in; the demo judge's are left to score.
    assert progress["submitted"] == sum(count for _, count in DEMO_SUBMITTED) > 0
    assert by_judge["Demo Judge"]["submitted"] == 0
    assert by_judge["Demo Judge Two"]["submitted"] == 2
    assert by_judge["Demo Judge Three"]["submitted"] == 1


def test_the_first_round_has_its_awards(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base) as http:
        admin = _token(http, ADMIN)
        round_ = _first_round(http, admin)
        awards = http.get(f"/api/v1/rounds/{round_['id']}/awards", headers=admin).json()
    assert [(a["name"], a["rank_from"], a["rank_to"]) for a in awards] == list(DEMO_AWARDS)


def test_the_ranking_has_data(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base) as http:
        admin = _token(http, ADMIN)
        round_ = _first_round(http, admin)
        ranking = http.get(f"/api/v1/rounds/{round_['id']}/ranking", headers=admin)
    assert ranking.status_code == 200, ranking.text
    body = ranking.json()
    assert any(e["rank"] is not None for e in body["entries"]), body


def test_the_demo_judge_sees_assigned_entries_on_the_judge_page(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base) as http:
        judge = _token(http, JUDGE)
        mine = http.get("/api/v1/judge/assignments", headers=judge).json()
        assert mine and all(a["round_status"] == "open" for a in mine)
        assert all(a["status"] != "submitted" for a in mine)
        login = http.post("/api/v1/auth/login", json={"email": JUDGE, "password": PASSWORDS[JUDGE]})
        assert login.status_code == 200
        page = http.get("/judge", params={"lang": "en"})
    assert page.status_code == 200, page.text
    text = page_text(page.text)
    for assignment in mine:
        assert assignment["entry"]["title"] in text


def test_a_second_run_changes_nothing(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base) as http:
        before = _state(http)
    again = run_cli("demo", env=demo.env, cwd=demo.cwd)
    assert again.returncode == 0, again.stderr
    assert "already there" in again.stdout
    with httpx.Client(base_url=demo.base) as http:
        after = _state(http)
    assert after == before
