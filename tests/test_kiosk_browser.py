"""The camera and the kiosk in a real headless Chromium, without BarcodeDetector.

Chromium's fake camera plays a y4m file made here from a rendered ticket QR (our own
qr module's PNG, written as YUV4MPEG2 frames), so the camera path is the polyfill's
zxing-wasm, loaded from our static files, end to end. One server and one browser for
the module.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from events_service.checkin.codes import short_code
from events_service.registration.qr import qr_png
from tests.accessibility import axe_violations
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.server import cli_env, run_cli, server_process

DOOR = ("door@example.org", "door-password-1")
ADMIN = ("organiser@example.org", "organiser-password")
VENDOR = "/static/vendor/barcode-detector-3.2.2/"
# Each page of the module runs as on an iPhone or a laptop: no BarcodeDetector.
NO_DETECTOR = "delete window.BarcodeDetector; delete Window.prototype.BarcodeDetector;"
NO_CAMERA = (
    "navigator.mediaDevices.getUserMedia = () => Promise.reject(new Error('no camera here'));"
)


def write_y4m(png: bytes, path: Path, width: int = 640, height: int = 480, frames: int = 8) -> None:
    """A still picture as a YUV4MPEG2 video: grey levels in Y, neutral U and V (I420)."""
    picture = Image.open(io.BytesIO(png)).convert("L")
    side = min(width, height) - 40
    picture = picture.resize((side, side), Image.NEAREST)
    canvas = Image.new("L", (width, height), 255)
    canvas.paste(picture, ((width - side) // 2, (height - side) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)


def _prepare(base: str) -> tuple[dict, list[dict]]:
    """An event happening now with two tickets (codes read back from their QR images)."""
    from datetime import UTC, datetime, timedelta

    with httpx.Client(base_url=base) as http:
        token = http.post(
            "/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}
        ).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        http.cookies.clear()
        now = datetime.now(UTC)
        event = http.post(
            "/api/v1/events",
            json={"kind": "summit", "title": "Kiosk Browser Summit", "timezone": "Asia/Shanghai",
                  "starts_at": (now - timedelta(minutes=30)).isoformat(),
                  "ends_at": (now + timedelta(hours=6)).isoformat()},
            headers=admin,
        ).json()  # fmt: skip
        http.post(f"/api/v1/events/{event['id']}/publish", headers=admin)
        slug = http.post(
            f"/api/v1/events/{event['id']}/links", json={"label": "kiosk"}, headers=admin
        ).json()["slug"]
        people = []
        for name, email in (("Li Wei", "liwei@example.org"), ("Wang Fang", "wang@example.org")):
            ticket = http.post(
                f"/api/v1/register/{slug}",
                json={"name": name, "email": email, "consent": True, "organisation": "ACME"},
            ).json()
            png = http.get("/t/" + ticket["ticket_url"].rsplit("/t/", 1)[1] + "/qr.png")
            code = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))[0].text
            people.append({"name": name, "email": email, "code": code})
    return event, people


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError("Debian chromium is missing: apt-get install chromium")
    tmp = tmp_path_factory.mktemp("kiosk-browser")
    env = cli_env(f"sqlite://{tmp / 'kiosk.db'}", tmp)
    assert run_cli("migrate", env=env, cwd=tmp).returncode == 0
    for (email, password), role in ((DOOR, "staff"), (ADMIN, "admin")):
        created = run_cli("users", "create", "--email", email, "--password", password,
                          "--role", role, env=env, cwd=tmp)  # fmt: skip
        assert created.returncode == 0, created.stderr
    with server_process(env, tmp) as base:
        event, people = _prepare(base)
        video = tmp / "ticket.y4m"
        write_y4m(qr_png(people[0]["code"]), video)
        args = [
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
            try:
                yield {"base": base, "event": event, "people": people, "browser": browser,
                       "tmp": tmp}  # fmt: skip
            finally:
                browser.close()


def _page(world: dict[str, Any], *scripts: str) -> tuple[Any, list[str]]:
    context = world["browser"].new_context(viewport={"width": 800, "height": 1000})
    for script in scripts:
        context.add_init_script(script)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda message: print(f"[browser {message.type}] {message.text}"))
    page.on("pageerror", lambda error: print(f"[browser error] {error}"))
    page.on("response", lambda r: r.status >= 400 and print(f"[browser http {r.status}] {r.url}"))
    return page, requested


def _log_in(page: Any, base: str, path: str) -> None:
    page.goto(f"{base}{path}")
    assert "/login" in page.url
    page.fill("#email", DOOR[0])
    page.fill("#password", DOOR[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")


def _wasm_was_ours(requested: list[str], base: str) -> None:
    wasm = [url for url in requested if url.endswith(".wasm")]
    assert wasm == [f"{base}{VENDOR}zxing_reader.wasm"], wasm
    assert not [url for url in requested if not url.startswith(base)], "a request left the site"


def test_the_kiosk_camera_admits_and_prints_the_badge(world: dict[str, Any]) -> None:
    base, event, person = world["base"], world["event"], world["people"][0]
    page, requested = _page(world, NO_DETECTOR)
    _log_in(page, base, "/kiosk/setup")
    page.select_option("#event", str(event["id"]))
    page.click("#start")
    page.wait_for_url(f"{base}/kiosk")
    assert page.evaluate("typeof window.BarcodeDetector") == "undefined"

    # The fake camera shows Li Wei's ticket: the kiosk admits and prints.
    page.wait_for_selector("#verdict:not([hidden])", timeout=30000)
    assert page.get_attribute("#verdict", "data-outcome") == "admitted"
    assert "Welcome, Li Wei!" in page.inner_text("#verdict")
    page.wait_for_function(
        "document.getElementById('badge-frame').dataset.print !== undefined", timeout=10000
    )
    frame = page.frame_locator("#badge-frame")
    frame.locator("#badge-name").wait_for()
    assert frame.locator("#badge-name").inner_text() == person["name"]
    # The badge as the printer gets it: its page, at badge size, read by a real decoder.
    badge = page.context.new_page()
    badge.set_viewport_size({"width": 340, "height": 227})  # 90 x 60 mm at 96 dpi
    badge.goto(base + page.get_attribute("#badge-frame", "src"))
    assert badge.inner_text("#badge-name") == person["name"]
    shot = badge.screenshot(path=str(world["tmp"] / "badge.png"))
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
    assert [d.text for d in decoded] == [person["code"]]
    badge.close()
    _wasm_was_ours(requested, base)
    # Back to the start screen by itself.
    page.wait_for_selector("#verdict", state="hidden", timeout=10000)
    page.context.close()


def test_typed_email_and_code_admit_and_leaving_needs_the_password(
    world: dict[str, Any],
) -> None:
    base, event, person = world["base"], world["event"], world["people"][1]
    page, _ = _page(world, NO_DETECTOR, NO_CAMERA)
    _log_in(page, base, "/kiosk/setup")
    page.select_option("#event", str(event["id"]))
    page.click("#start")
    page.wait_for_url(f"{base}/kiosk")
    assert axe_violations(page) == []
    page.goto(f"{base}/kiosk?lang=zh-Hans")
    assert page.title() == "自助签到"
    assert page.inner_text("#typed-submit") == "签到"
    page.goto(f"{base}/kiosk?lang=en")
    page.screenshot(path=str(world["tmp"] / "kiosk-start.png"))

    page.fill("#kiosk-email", "nobody@example.org")
    page.fill("#kiosk-code", "ABCDEF")
    page.click("#typed-submit")
    page.wait_for_selector("#verdict:not([hidden])")
    assert page.get_attribute("#verdict", "data-outcome") == "no_match"
    assert axe_violations(page) == []  # white on the red verdict, readable
    page.click("#verdict")

    page.fill("#kiosk-email", person["email"])
    page.fill("#kiosk-code", short_code(person["code"]))
    page.click("#typed-submit")
    page.wait_for_selector("#verdict:not([hidden])")
    assert page.get_attribute("#verdict", "data-outcome") == "admitted"
    assert "Wang Fang" in page.inner_text("#verdict-message")
    page.screenshot(path=str(world["tmp"] / "kiosk-admitted.png"))
    page.frame_locator("#badge-frame").locator("#badge-name").wait_for()
    page.click("#verdict")

    # No way into the staff pages from here; leaving needs the password.
    page.goto(f"{base}/admin")
    assert "/login" in page.url
    page.goto(f"{base}/kiosk")
    page.click("#staff")
    page.fill("#leave-password", "wrong password")
    page.click("#leave-submit")
    page.wait_for_selector("#leave-error:not([hidden])")
    assert "Wrong password" in page.inner_text("#leave-error")
    page.fill("#leave-password", DOOR[1])
    page.click("#leave-submit")
    page.wait_for_url(f"{base}/kiosk/setup")
    page.context.close()


def test_the_door_camera_gives_a_verdict_without_barcode_detector(world: dict[str, Any]) -> None:
    base, event, person = world["base"], world["event"], world["people"][0]
    page, requested = _page(world, NO_DETECTOR)
    _log_in(page, base, "/scan")
    page.select_option("#event", str(event["id"]))
    page.click("#start")
    page.wait_for_selector("#door:not([hidden])")
    assert page.evaluate("typeof window.BarcodeDetector") == "undefined"
    # The button shows wherever there is a camera, not only where BarcodeDetector is.
    assert page.is_visible("#camera")
    page.click("#camera")
    page.wait_for_selector("#verdict:not([hidden])", timeout=30000)
    verdict = page.get_attribute("#verdict", "data-verdict")
    # Admitted by the kiosk test earlier in this module, or here if run alone.
    assert verdict in ("admitted", "already_admitted"), verdict
    assert person["name"] in page.inner_text("#verdict-message")
    assert re.search(r"\d\d:\d\d", page.inner_text("#verdict-message")) or verdict == "admitted"
    _wasm_was_ours(requested, base)
    page.context.close()


CAMERA_DENIED = (
    "navigator.mediaDevices.getUserMedia = () => "
    "Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));"
)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (CAMERA_DENIED, "此页面的摄像头权限已被阻止：请在浏览器中允许使用摄像头，或手动输入票码。"),
        (NO_CAMERA, "此设备无法启动摄像头：请手动输入票码或使用扫码枪。"),
    ],
)
def test_a_camera_that_will_not_start_is_explained_in_the_door_staff_language(
    world: dict[str, Any], script: str, expected: str
) -> None:
    """The browser's own error ("Permission denied", "no camera here") is English and
    technical: the door says what to do instead, in its language."""
    base, event = world["base"], world["event"]
    page, _ = _page(world, NO_DETECTOR, script)
    _log_in(page, base, "/scan")
    page.goto(f"{base}/scan?lang=zh-Hans")
    page.select_option("#event", str(event["id"]))
    page.click("#start")
    page.wait_for_selector("#door:not([hidden])")
    page.click("#camera")
    page.wait_for_selector("#verdict:not([hidden])")
    assert page.get_attribute("#verdict", "data-verdict") == "refused"
    assert page.inner_text("#verdict-message") == expected
    page.context.close()
