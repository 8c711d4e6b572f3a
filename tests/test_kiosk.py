"""The self check-in kiosk and badges, over real HTTP on both engines: who may run a
kiosk, how it is left, e-mail + short code, badges whose QR decodes, reprints, the
A4 sheet read back with a PDF reader."""

from __future__ import annotations

import io
import math
import re

import httpx
import pypdf
import zxingcpp
from litestar import Litestar
from PIL import Image, ImageDraw

from events_service.checkin.codes import short_code
from events_service.checkin.kiosk import KIOSK_COOKIE
from models import Admission, BadgePrint, ScanLog
from tests.checkin_helpers import Ticket, event_now, link_for, ticket_for
from tests.conftest import PASSWORD
from tests.console_helpers import log_in_to_pages


async def start_kiosk(client: httpx.AsyncClient, event_id: int, *roles: str) -> str:
    """A staff member logs in on the tablet and starts the kiosk; their address."""
    email = await log_in_to_pages(client, *roles)
    setup = await client.get("/kiosk/setup")
    assert setup.status_code == 200
    started = await client.post(
        "/kiosk/start",
        data={"event_id": str(event_id), "_csrf_token": client.cookies.get("csrftoken", "")},
    )
    assert started.status_code == 303, started.text
    assert started.headers["location"] == "/kiosk"
    return email


async def setup_event(app: Litestar, client: httpx.AsyncClient, admin: dict, n: int = 2) -> tuple:
    event = await event_now(client, admin, title="Kiosk Summit")
    slug = await link_for(client, admin, event)
    tickets = [
        await ticket_for(app, client, event, slug, f"k{i}", organisation="ACME Motors")
        for i in range(n)
    ]
    return event, tickets


def svg_to_png(svg: str) -> Image.Image:
    """Paint qrcode's SVG path image (one rectangle per dark module: `Mx,yHx2Vy2Hxz`)
    as pixels, for a real decoder to read: the SVG is what the badge prints."""
    units = float(re.search(r'viewBox="0 0 ([\d.]+) [\d.]+"', svg).group(1))
    path = re.search(r'<path[^>]* d="([^"]+)"', svg).group(1)
    scale = 20
    image = Image.new("L", (round(units * scale), round(units * scale)), 255)
    draw = ImageDraw.Draw(image)
    squares = re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z", path)
    assert squares, path[:200]
    for x0, y0, x1, y1 in squares:
        box = [round(float(v) * scale) for v in (x0, y0, x1, y1)]
        draw.rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=0)
    return image


async def test_the_kiosk_needs_door_staff_and_locks_the_tablet(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, _ = await setup_event(app, client, admin, n=1)
    # Nobody logged in: the kiosk sends the tablet to the login, then back.
    anonymous = await client.get("/kiosk/setup")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login")
    assert (await client.get("/kiosk")).headers["location"] == "/kiosk/setup"
    refused = await client.post("/kiosk/scan", json={"code": "ABC"})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    # A judge is staff, but not door staff.
    await log_in_to_pages(client, "judge")
    assert (await client.get("/kiosk/setup")).status_code == 403

    await start_kiosk(client, event["id"], "staff")
    page = await client.get("/kiosk")
    assert page.status_code == 200 and "Kiosk Summit" in page.text
    assert 'href="/scan"' not in page.text and 'href="/admin' not in page.text
    # The tablet holds no staff login any more: the door and the console ask for one.
    assert (await client.get("/scan")).status_code == 302
    assert (await client.get("/admin")).status_code == 302


async def test_leaving_needs_the_staff_members_password(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, _ = await setup_event(app, client, admin, n=1)
    await start_kiosk(client, event["id"], "staff")
    wrong = await client.post("/kiosk/leave", json={"password": "not the password"})
    assert wrong.status_code == 403
    assert "Wrong password" in wrong.json()["detail"]
    assert (await client.get("/kiosk")).status_code == 200  # still a kiosk
    chinese = await client.post("/kiosk/leave?lang=zh-Hans", json={"password": "nope"})
    assert chinese.status_code == 403 and "密码" in chinese.json()["detail"]

    left = await client.post("/kiosk/leave", json={"password": PASSWORD})
    assert left.status_code == 204
    assert not client.cookies.get(KIOSK_COOKIE)
    # The staff login is back: the setup page opens, the kiosk does not.
    assert (await client.get("/kiosk/setup")).status_code == 200
    assert (await client.get("/kiosk")).headers["location"] == "/kiosk/setup"


async def test_email_and_short_code_admit_through_the_door_scan(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, tickets = await setup_event(app, client, admin)
    first: Ticket = tickets[0]
    await start_kiosk(client, event["id"], "staff")

    typed = {"email": "  ATTENDEEk0@example.org ", "short_code": short_code(first.code).lower()}
    answer = (await client.post("/kiosk/lookup", json=typed)).json()
    assert answer["outcome"] == "admitted" and answer["name"] == first.name
    assert "Welcome" in answer["message"] and answer["badge_token"]
    admission = await Admission.get(registration_id=first.registration_id)
    assert admission.gate == "kiosk"
    again = (await client.post("/kiosk/lookup", json=typed)).json()
    assert again["outcome"] == "already_admitted"

    # The QR at the camera goes the same way.
    scanned = (await client.post("/kiosk/scan", json={"code": tickets[1].code})).json()
    assert scanned["outcome"] == "admitted" and scanned["name"] == tickets[1].name
    forged = tickets[1].code[:-4] + ("AAAA" if not tickets[1].code.endswith("AAAA") else "BBBB")
    refused = (await client.post("/kiosk/scan?lang=zh-Hans", json={"code": forged})).json()
    assert refused["outcome"] == "refused" and "name" not in refused
    assert "无效" in refused["message"]
    assert await ScanLog.filter(gate="kiosk").count() == 4


async def test_a_wrong_short_code_says_nothing_about_the_address(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, tickets = await setup_event(app, client, admin)
    await start_kiosk(client, event["id"], "staff")
    known_wrong = await client.post(
        "/kiosk/lookup",
        json={"email": "attendeek0@example.org", "short_code": short_code(tickets[1].code)},
    )
    unknown = await client.post(
        "/kiosk/lookup", json={"email": "nobody@example.org", "short_code": "ABCDEF"}
    )
    assert known_wrong.status_code == unknown.status_code == 200
    assert known_wrong.json() == unknown.json()
    assert known_wrong.json()["outcome"] == "no_match"
    assert await Admission.all().count() == 0
    # Bad input is a 4xx problem, never a 500.
    for body in ({"email": "", "short_code": "X"}, {"email": "a@b.org"}, {"code": "x" * 500}):
        path = "/kiosk/scan" if "code" in body else "/kiosk/lookup"
        assert (await client.post(path, json=body)).status_code == 400


async def test_the_code_from_the_ticket_email_checks_in_at_the_kiosk(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    """The real ticket mail, through SMTP: its self check-in code (also on the ticket
    page) with the address admits at the kiosk."""
    from tests.mail_server import smtp_server
    from tests.test_notifications import deliver_all, worker_for

    event = await event_now(client, admin)
    slug = await link_for(client, admin, event)
    registration = (
        await client.post(
            f"/api/v1/register/{slug}",
            json={"name": "Li Wei", "email": "liwei@example.org", "consent": True},
        )
    ).json()
    with smtp_server() as (mailbox, url):
        assert await deliver_all(worker_for(app, url)) == 1
        (message,) = mailbox.to("liwei@example.org")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    mailed = re.search(r"at the kiosk\): ([A-Z2-7]{6})\s", text).group(1)
    assert mailed in html
    page = await client.get("/t/" + registration["ticket_url"].rsplit("/t/", 1)[1])
    assert mailed in page.text

    await start_kiosk(client, event["id"], "staff")
    answer = await client.post(
        "/kiosk/lookup", json={"email": "LiWei@example.org", "short_code": mailed.lower()}
    )
    assert answer.json()["outcome"] == "admitted" and answer.json()["name"] == "Li Wei"


async def test_badge_has_the_name_and_a_qr_that_decodes_and_reprints_are_marked(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, tickets = await setup_event(app, client, admin)
    ticket = tickets[0]
    await start_kiosk(client, event["id"], "staff")
    # Without a scan's key the kiosk sees no badge (no reading names by id).
    assert (await client.get(f"/kiosk/badge/{ticket.registration_id}")).status_code == 403
    assert (
        await client.post(f"/kiosk/badge/{ticket.registration_id}/print", json={"key": "1.x"})
    ).status_code == 403

    answer = (await client.post("/kiosk/scan", json={"code": ticket.code})).json()
    printed = await client.post(
        f"/kiosk/badge/{ticket.registration_id}/print", json={"key": answer["badge_token"]}
    )
    assert printed.status_code == 200 and printed.json()["reprint"] is False
    page = await client.get(printed.json()["url"])
    assert page.status_code == 200
    assert ticket.name in page.text and "ACME Motors" in page.text and "Kiosk Summit" in page.text
    assert "size: 90mm 60mm" in (await client.get("/static/badge.css")).text
    assert "REPRINT" not in page.text and 'data-autoprint="1"' in page.text
    svg = re.search(r"<svg.*?</svg>", page.text, re.S).group(0)
    decoded = zxingcpp.read_barcodes(svg_to_png(svg))
    assert [d.text for d in decoded] == [ticket.code]

    again = await client.post(
        f"/kiosk/badge/{ticket.registration_id}/print", json={"key": answer["badge_token"]}
    )
    assert again.json()["reprint"] is True
    reprint_page = await client.get(again.json()["url"])
    assert "REPRINT" in reprint_page.text
    prints = await BadgePrint.filter(registration_id=ticket.registration_id).order_by("id")
    assert [(p.reprint, p.source) for p in prints] == [(False, "kiosk"), (True, "kiosk")]
    # Another person's badge stays closed with this key.
    other = tickets[1].registration_id
    key = answer["badge_token"]
    assert (await client.get(f"/kiosk/badge/{other}?key={key}")).status_code == 403


async def test_staff_open_and_print_badges_too(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    _, tickets = await setup_event(app, client, admin, n=1)
    await log_in_to_pages(client, "staff")
    preview = await client.get(f"/kiosk/badge/{tickets[0].registration_id}?lang=zh-Hans")
    assert preview.status_code == 200 and tickets[0].name in preview.text
    assert "打印" in preview.text
    posted = await client.post(
        f"/kiosk/badge/{tickets[0].registration_id}",
        data={"_csrf_token": client.cookies.get("csrftoken", "")},
    )
    assert posted.status_code == 303
    assert (await BadgePrint.get(registration_id=tickets[0].registration_id)).source == "staff"
    assert (await client.get("/kiosk/badge/999999")).status_code == 404


async def test_the_badge_sheet_has_eight_a_page_and_the_names(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event = await event_now(client, admin, title="Sheet Summit")
    slug = await link_for(client, admin, event)
    for i in range(9):
        await ticket_for(app, client, event, slug, f"s{i}")
    await ticket_for(app, client, event, slug, "zh", name="李伟")
    n = 10
    assert (await client.get(f"/admin/events/{event['id']}/badges.pdf")).status_code == 302
    response = await client.get(f"/admin/events/{event['id']}/badges.pdf", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == math.ceil(n / 8) == 2
    first = reader.pages[0]
    assert round(float(first.mediabox.width)) == 595 and round(float(first.mediabox.height)) == 842
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Attendee s0" in text and "Attendee s8" in text
    # The Chinese name is drawn in the CID font (its glyphs, not empty boxes).
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("STSong-Light" in name for name in fonts), fonts
    door = await client.get(
        f"/admin/events/{event['id']}/badges.pdf",
        headers=await _door_headers(client),
    )
    assert door.status_code == 403
    missing = await client.get("/admin/events/999999/badges.pdf", headers=admin)
    assert missing.status_code == 404


async def _door_headers(client: httpx.AsyncClient) -> dict[str, str]:
    from events_service.auth.service import create_staff_user

    await create_staff_user("door-sheet@example.org", PASSWORD, ["staff"])
    token = (
        await client.post(
            "/api/v1/auth/login", json={"email": "door-sheet@example.org", "password": PASSWORD}
        )
    ).json()["access_token"]
    client.cookies.clear()
    return {"Authorization": f"Bearer {token}"}


async def test_the_decoder_webassembly_is_ours_and_served_as_wasm(
    client: httpx.AsyncClient,
) -> None:
    wasm = await client.get("/static/vendor/barcode-detector-3.2.2/zxing_reader.wasm")
    assert wasm.status_code == 200
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.content[:4] == b"\0asm"
    camera = (await client.get("/static/camera.js")).text
    assert "/static/vendor/barcode-detector-3.2.2/" in camera and "locateFile" in camera
    assert "jsdelivr" not in camera


async def test_typed_codes_are_rate_limited_per_kiosk(
    app: Litestar, client: httpx.AsyncClient, admin: dict
) -> None:
    event, tickets = await setup_event(app, client, admin, n=1)
    await start_kiosk(client, event["id"], "staff")
    guess = {"email": "attendeek0@example.org", "short_code": "AAAAAA"}
    for _ in range(app.state.settings.lookups_per_minute):
        assert (await client.post("/kiosk/lookup", json=guess)).json()["outcome"] == "no_match"
    refused = await client.post("/kiosk/lookup", json=guess)
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/rate-limited"
    # Even the right code waits: the limit is on the kiosk, not on wrong answers.
    right = {**guess, "short_code": short_code(tickets[0].code)}
    assert (await client.post("/kiosk/lookup", json=right)).status_code == 429
    # Another kiosk (another tablet, same address) is not held up.
    await start_kiosk(client, event["id"], "staff")
    assert (await client.post("/kiosk/lookup", json=right)).json()["outcome"] == "admitted"
