"""The offline-first door (issue 19) in a real headless Chromium, with the network cut.

Each door reaches the server through a relay of its own (tests/tcp_proxy.py) that the
test stops: Playwright's `set_offline` does not stop a service worker's own requests
(microsoft/playwright#2311), so an "offline" test could otherwise pass while the worker
quietly fetched the page online. Both are used: the browser context is offline AND its
relay refuses connections. The API checks go to the server directly (the server is up;
only the door's network is gone)."""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
import zxingcpp
from PIL import Image

from events_service.registration.qr import qr_png
from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_browser
from tests.conftest import BACKENDS, POSTGRES_URL_VAR, fresh_postgres_database
from tests.server import cli_env, run_cli, server_process
from tests.tcp_proxy import Mode, TcpProxy, tcp_proxy
from tests.test_door_page import ADMIN, DOOR
from tests.test_kiosk_browser import NO_DETECTOR, VENDOR, write_y4m

PEOPLE = ("Li Wei", "Zhang San", "Wang Fang", "Chen Jie", "Zhao Min")


def _token(http: httpx.Client, who: tuple[str, str]) -> dict[str, str]:
    token = http.post("/api/v1/auth/login", json={"email": who[0], "password": who[1]})
    http.cookies.clear()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite://{tmp / 'door.db'}"
        return
    # A fresh PostgreSQL database of its own (conftest's), on a loop in a thread of its
    # own: Playwright's sync API keeps a loop running in this one.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fresh = fresh_postgres_database(os.environ[POSTGRES_URL_VAR])
    try:
        yield asyncio.run_coroutine_threadsafe(fresh.__aenter__(), loop).result(timeout=30)
    finally:
        asyncio.run_coroutine_threadsafe(fresh.__aexit__(None, None, None), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("door-offline")
    with _database(request.param, tmp) as url, _served(url, tmp) as base:
        _DATABASES[base] = url
        yield base


_DATABASES: dict[str, str] = {}


def _registrations_long_unchanged(server: str, event_id: int) -> None:
    """Date the event's registrations half an hour back (beyond the bundle delta's
    overlap), so that a delta holds only what changes from now on."""
    url = _DATABASES[server]
    then = datetime.now(UTC) - timedelta(minutes=30)
    if url.startswith("sqlite://"):
        with closing(sqlite3.connect(url.removeprefix("sqlite://"))) as conn, conn:
            conn.execute("UPDATE registration SET updated_at = ? WHERE event_id = ?",
                         (then.isoformat(" "), event_id))  # fmt: skip
        return

    async def update() -> None:
        conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1].split("?", 1)[0])
        try:
            await conn.execute(
                "UPDATE registration SET updated_at = $1 WHERE event_id = $2", then, event_id
            )
        finally:
            await conn.close()

    # Its own loop in a thread of its own: Playwright's sync API keeps one in this one.
    worker = threading.Thread(target=lambda: asyncio.run(update()))
    worker.start()
    worker.join(timeout=30)


@contextmanager
def _served(url: str, tmp: Path) -> Iterator[str]:
    # Every door logs in and every test registers five: the limits are not what is tested.
    env = cli_env(
        url, tmp, EVENTS_LOGIN_ATTEMPTS_PER_MINUTE="200", EVENTS_REGISTRATIONS_PER_MINUTE="200"
    )
    assert run_cli("migrate", env=env, cwd=tmp).returncode == 0
    for (email, password), role in ((DOOR, "staff"), (ADMIN, "admin")):
        created = run_cli(
            "users", "create", "--email", email, "--password", password, "--role", role,
            env=env, cwd=tmp,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
    with server_process(env, tmp) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as launched:
        yield launched


@pytest.fixture
def event(server: str) -> dict:
    """An event happening now (Asia/Shanghai), names allowed offline, five tickets:
    their codes read back from the QR images, Zhang San's cancelled, Wang Fang already
    admitted at gate C two minutes ago."""
    with httpx.Client(base_url=server) as http:
        admin = _token(http, ADMIN)
        now = datetime.now(UTC)
        created = http.post(
            "/api/v1/events",
            json={"kind": "summit", "title": f"Offline Door {uuid.uuid4().hex[:6]}",
                  "starts_at": (now - timedelta(minutes=30)).isoformat(),
                  "ends_at": (now + timedelta(hours=6)).isoformat()},
            headers=admin,
        ).json()  # fmt: skip
        event_id = created["id"]
        assert http.post(f"/api/v1/events/{event_id}/publish", headers=admin).status_code < 300
        patched = http.patch(
            f"/api/v1/events/{event_id}", json={"door_names_offline": True}, headers=admin
        )
        assert patched.status_code == 200, patched.text
        slug = http.post(
            f"/api/v1/events/{event_id}/links", json={"label": "door"}, headers=admin
        ).json()["slug"]
        codes, tokens = {}, {}
        for name in PEOPLE:
            ticket = http.post(
                f"/api/v1/register/{slug}",
                json={"name": name, "email": f"{name.replace(' ', '.')}.{event_id}@example.org",
                      "consent": True, "organisation": "ACME Motors"},
            ).json()  # fmt: skip
            tokens[name] = ticket["ticket_url"].rsplit("/t/", 1)[1]
            png = http.get(f"/t/{tokens[name]}/qr.png")
            codes[name] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))[0].text
        http.cookies.clear()
        assert http.post(f"/t/{tokens['Zhang San']}/cancel").status_code in (200, 303)
        earlier = now - timedelta(minutes=2)
        door = _token(http, DOOR)
        synced = http.post(
            "/api/v1/checkins/batch",
            json={"event_id": event_id, "scans": [{"code": codes["Wang Fang"], "gate": "C",
                  "scan_id": uuid.uuid4().hex, "scanned_at": earlier.isoformat()}]},
            headers=door,
        )  # fmt: skip
        assert synced.json()["answers"][0]["verdict"] == "admitted", synced.text
    return {"id": event_id, "codes": codes, "wang_at": earlier, "tokens": tokens}


_TOKENS: dict[str, dict[str, str]] = {}


def _api(server: str, path: str) -> Any:
    """A GET as door staff (logged in once per server: logins are rate-limited)."""
    with httpx.Client(base_url=server) as http:
        if server not in _TOKENS:
            _TOKENS[server] = _token(http, DOOR)
        answer = http.get(path, headers=_TOKENS[server])
        assert answer.status_code == 200, answer.text
        return answer.json()


@contextmanager
def _relay(server: str) -> Iterator[TcpProxy]:
    with tcp_proxy("127.0.0.1", urlsplit(server).port or 80) as proxy:
        yield proxy


@contextmanager
def _door(browser: Any, proxy: TcpProxy, event_id: int, gate: str, *scripts: str) -> Iterator[Any]:
    """A phone at a gate: logged in through its relay, scanning `event_id`, its service
    worker in control and the event's bundle in IndexedDB (what online gave it).
    `scripts` run before each page's own (to take BarcodeDetector away, say)."""
    base = f"http://127.0.0.1:{proxy.port}"
    context = browser.new_context(viewport={"width": 414, "height": 860})
    for script in scripts:
        context.add_init_script(script)
    page = context.new_page()
    page.on("console", lambda message: print(f"[{gate} {message.type}] {message.text}"))
    page.on("pageerror", lambda error: print(f"[{gate} error] {error}"))
    page.on("response", lambda r: r.status >= 400 and print(f"[{gate} http {r.status}] {r.url}"))
    try:
        page.goto(f"{base}/scan")
        page.fill("#email", DOOR[0])
        page.fill("#password", DOOR[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/scan")
        page.select_option("#event", str(event_id))
        page.fill("#gate", gate)
        page.click("#start")
        page.wait_for_selector("#door:not([hidden])")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        _until(page, "caches.open('door-v1').then((c) => c.match('/scan')).then((r) => !!r)")
        _until(page, f"idb.openDB('door').then((db) => db.get('bundles', {event_id}))"
                     ".then((b) => !!b)")  # fmt: skip
        assert page.get_attribute("#network", "data-state") == "online"
        yield page
    finally:
        context.close()


def _until(page: Any, expression: str, seconds: float = 15) -> None:
    """Poll an expression whose value is a promise (wait_for_function takes a promise,
    itself truthy, as done)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(200)


def _cut(page: Any, proxy: TcpProxy) -> None:
    page.context.set_offline(True)
    proxy.set_mode(Mode.REFUSE)


def _restore(page: Any, proxy: TcpProxy) -> None:
    proxy.set_mode(Mode.FORWARD)
    page.context.set_offline(False)


def _scan(page: Any, code: str) -> tuple[str, str]:
    """A keyboard wedge: the code and Enter into the scan input; the verdict shown."""
    page.focus("#code")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict:not([hidden])")
    shown = (page.get_attribute("#verdict", "data-verdict") or "", page.inner_text("#verdict"))
    page.click("#verdict")
    page.wait_for_selector("#verdict", state="hidden")
    return shown


def _attendance(server: str, event_id: int) -> int:
    return _api(server, f"/api/v1/events/{event_id}/attendance")["admitted"]


def test_offline_the_door_reloads_admits_with_the_name_and_refuses_what_it_must(
    server: str, browser: Any, event: dict, tmp_path: Path
) -> None:
    codes = event["codes"]
    with _relay(server) as proxy, _door(browser, proxy, event["id"], "A") as page:
        _cut(page, proxy)
        # A reload with no network: the door page from the worker's cache, still scanning.
        page.reload()
        page.wait_for_selector("#door:not([hidden])")
        page.wait_for_selector("#network[data-state=offline]")
        assert "Offline" in page.inner_text("#network")

        verdict, text = _scan(page, codes["Li Wei"])
        assert verdict == "offline" and "Li Wei" in text and "ACME Motors" in text, text
        assert page.inner_text("#pending") == "1 scan waiting for the network"
        # The same ticket again on this device: already in, here.
        verdict, text = _scan(page, codes["Li Wei"])
        assert verdict == "already_admitted" and "gate A" in text, text

        verdict, text = _scan(page, codes["Zhang San"])
        assert verdict == "cancelled" and "Cancelled ticket" in text, text
        # Admitted at gate C before the network went: its time in the event's timezone.
        verdict, text = _scan(page, codes["Wang Fang"])
        local = {
            (event["wang_at"] + timedelta(minutes=m)).astimezone(ZoneInfo("Asia/Shanghai"))
            for m in (0, 1)
        }
        assert verdict == "already_admitted" and "gate C" in text and "Wang Fang" in text, text
        assert any(f"{t:%H:%M}" in text for t in local), text
        forged = codes["Chen Jie"][:-4] + (
            "AAAA" if not codes["Chen Jie"].endswith("AAAA") else "BBBB"
        )
        assert _scan(page, forged)[0] == "forged"
        assert page.inner_text("#pending") == "1 scan waiting for the network"
        page.screenshot(path=str(tmp_path / "door-offline.png"))
        # Nothing reached the server meanwhile (the worker included).
        assert _attendance(server, event["id"]) == 1

        # A reload keeps the queue (IndexedDB); back online, it goes up on its own.
        page.reload()
        page.wait_for_selector("#door:not([hidden])")
        assert page.inner_text("#pending") == "1 scan waiting for the network"
        _restore(page, proxy)
        page.wait_for_selector("#network[data-state=online]", timeout=15000)
        page.wait_for_selector("#pending", state="hidden", timeout=15000)
        assert _attendance(server, event["id"]) == 2
        assert page.is_hidden("#changed")  # what was shown held


def test_a_name_changed_while_the_door_is_online_is_the_name_it_shows_offline(
    server: str, browser: Any, event: dict
) -> None:
    """The door already holds the bundle; the attendee corrects their name and
    organisation on their ticket page; the door's next delta brings it, and offline
    it greets them by the new one."""
    _registrations_long_unchanged(server, event["id"])
    with _relay(server) as proxy, _door(browser, proxy, event["id"], "A") as page:
        with httpx.Client(base_url=server) as http:
            saved = http.post(
                f"/t/{event['tokens']['Li Wei']}/details",
                data={"name": "Li Wei-Zhang", "organisation": "Tongji Motors"},
            )
            assert saved.status_code == 303, saved.text
        _until(page, f"idb.openDB('door').then((db) => db.get('bundles', {event['id']}))"
                     ".then((b) => Object.values(b.names).some((n) => n[0] === 'Li Wei-Zhang'))",
               seconds=20)  # fmt: skip
        _cut(page, proxy)
        verdict, text = _scan(page, event["codes"]["Li Wei"])
        assert verdict == "offline" and "Li Wei-Zhang" in text and "Tongji Motors" in text, text
        # Nobody else's name moved.
        verdict, text = _scan(page, event["codes"]["Chen Jie"])
        assert verdict == "offline" and "Chen Jie" in text and "ACME Motors" in text, text


@pytest.mark.parametrize("first", ["A", "B"])
def test_two_gates_admit_one_ticket_offline_one_admission_one_conflict_reach_plus_one(
    server: str, browser: Any, event: dict, tmp_path: Path, first: str
) -> None:
    """Gate A scans first, gate B a moment later; whichever door syncs first, A's
    earlier scan is the admission and B's the conflict, and gate B is told. (B first:
    B's entry is admitted at once, then A's earlier one takes the admission over, and
    B learns it from the bundle's delta.)"""
    code = event["codes"]["Chen Jie"]
    reach = _api(server, "/api/v1/reach")["talents_reached"]
    with (
        _relay(server) as relay_a,
        _relay(server) as relay_b,
        _door(browser, relay_a, event["id"], "A") as gate_a,
        _door(browser, relay_b, event["id"], "B") as gate_b,
    ):
        _cut(gate_a, relay_a)
        _cut(gate_b, relay_b)
        gate_a.wait_for_selector("#network[data-state=offline]", timeout=15000)
        verdict, text = _scan(gate_a, code)
        assert verdict == "offline" and "Chen Jie" in text
        verdict, text = _scan(gate_b, code)
        assert verdict == "offline" and "Chen Jie" in text
        gate_b.wait_for_selector("#network[data-state=offline]")

        gates = {"A": (gate_a, relay_a), "B": (gate_b, relay_b)}
        for name in (first, "B" if first == "A" else "A"):
            page, relay = gates[name]
            _restore(page, relay)
            page.wait_for_selector("#pending", state="hidden", timeout=15000)
        assert gate_a.is_hidden("#changed")
        # Gate B shows that its green screen became a conflict.
        gate_b.wait_for_selector("#changed:not([hidden])", timeout=20000)
        assert gate_b.inner_text("#changed-title") == "1 scan changed after sync"
        item = gate_b.inner_text("#changed-list li")
        assert "Chen Jie" in item and "CONFLICT" in item and "gate B" in item, item
        gate_b.screenshot(path=str(tmp_path / "door-changed-after-sync.png"))

        # The server: one admission (Wang Fang's and Chen Jie's), one conflict, reach +1.
        assert _attendance(server, event["id"]) == 2
        conflicts = _api(server, f"/api/v1/events/{event['id']}/checkin-conflicts")
        assert len(conflicts) == 1 and conflicts[0]["gate"] == "B", conflicts
        assert conflicts[0]["admission_gate"] == "A"
        assert _api(server, "/api/v1/reach")["talents_reached"] == reach + 1
        # And on the door page, online again.
        gate_b.reload()
        gate_b.wait_for_selector("#door:not([hidden])")
        assert gate_b.inner_text("#conflict-count") == "1"
        assert "Chen Jie" in gate_b.inner_text("#conflict-list li")


def test_a_scan_cut_off_mid_request_is_queued_first_and_synced_once(
    server: str, browser: Any, event: dict
) -> None:
    """The network drops while a scan's request is on its way, and the page is reloaded
    before any answer: the scan was queued first, so the batch sync sends it (same
    scan_id) and the ticket is admitted once."""
    code = event["codes"]["Zhao Min"]
    with _relay(server) as proxy, _door(browser, proxy, event["id"], "A") as page:
        held: list[Any] = []
        single_scan = lambda url: urlsplit(url).path == "/api/v1/checkins"  # noqa: E731
        page.route(single_scan, lambda route: held.append(route))  # never answered
        page.focus("#code")
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        _until(page, "idb.openDB('door').then((db) => db.count('queue')).then((n) => n === 1)")
        for _ in range(50):  # the request leaves just after the entry is stored
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the scan's request never left"
        page.unroute(single_scan)
        page.reload()
        page.wait_for_selector("#door:not([hidden])")
        page.wait_for_selector("#pending", state="hidden", timeout=15000)
        assert _attendance(server, event["id"]) == 2
        assert page.is_hidden("#changed")
        verdict, text = _scan(page, code)
        assert verdict == "already_admitted" and "Zhao Min" in text, text


def test_offline_the_camera_reads_a_ticket_with_its_reader_from_the_cache(
    server: str, browser: Any, event: dict, tmp_path: Path
) -> None:
    """A phone without BarcodeDetector (an iPhone: the camera is read by the vendored
    zxing wasm) loses the network and is reloaded: the camera still reads a ticket and
    the door admits it from the bundle, every asset of the reader out of the worker's
    cache. Its own browser: Chromium's fake camera plays this ticket's QR."""
    video = tmp_path / "li-wei.y4m"
    write_y4m(qr_png(event["codes"]["Li Wei"]), video)
    camera = (
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    # A second browser from the module's Playwright (one Playwright per thread).
    filming = browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *camera]
    )
    try:
        with (
            _relay(server) as proxy,
            _door(filming, proxy, event["id"], "A", NO_DETECTOR) as page,
        ):
            _cut(page, proxy)
            served: list[tuple[str, bool]] = []
            page.on("response", lambda r: served.append((r.url, r.from_service_worker)))
            page.reload()
            page.wait_for_selector("#door:not([hidden])")
            page.wait_for_selector("#network[data-state=offline]")
            assert page.evaluate("typeof window.BarcodeDetector") == "undefined"
            page.click("#camera")
            page.wait_for_selector("#verdict:not([hidden])", timeout=30000)
            verdict, text = (
                page.get_attribute("#verdict", "data-verdict"),
                page.inner_text("#verdict"),
            )
            assert verdict == "offline" and "Li Wei" in text and "ACME Motors" in text, text
            assert page.inner_text("#pending") == "1 scan waiting for the network"
            wasm = [(url, cached) for url, cached in served if url.endswith(".wasm")]
            assert wasm == [(f"http://127.0.0.1:{proxy.port}{VENDOR}zxing_reader.wasm", True)], wasm
            assert _attendance(server, event["id"]) == 1
            _restore(page, proxy)
            page.wait_for_selector("#pending", state="hidden", timeout=15000)
            assert _attendance(server, event["id"]) == 2
    finally:
        filming.close()


def test_the_worker_is_served_above_scan_never_cached_by_http(server: str) -> None:
    answer = httpx.get(f"{server}/scan-sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["service-worker-allowed"] == "/scan"
    assert '"/api/"' in answer.text  # API calls pass through, never from its cache
