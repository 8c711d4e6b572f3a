"""The console's programme: the KPIs with their pace and milestones, each KPI's records
and their CSV, and the financing and service records (list, add, correct, delete, and
the CSV import's preview and all-or-nothing import), as an organiser's browser sees
them (both backends)."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import UTC, datetime

import httpx

from events_service.locale import words
from models import FinancingRecord, Milestone, ServiceRecord
from tests.console_helpers import follow, log_in_to_pages, post_form
from tests.visible_text import page_text

FINANCINGS = "/admin/programme/financings"
SERVICES = "/admin/programme/services"
A_FINANCING = {
    "organisation": "Volt Start",
    "partner": "Bank of the City",
    "kind": "loan",
    "amount": "1,500,000",
    "currency": "CNY",
    "financed_on": "2026-10-01",
    "note": "first loan",
}
A_SERVICE = {"organisation": "Delta Parts", "service_kind": "training", "served_on": "2026-10-02"}


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{name}">(.*?)</p>', html, re.S)
    return page_text(found.group(1)) if found else ""


def row_of(html: str, marker: str) -> str:
    """The visible text of the table row holding `marker` (an attribute)."""
    row = html.split(marker, 1)[1].split(">", 1)[1].split("</tr>", 1)[0]
    return page_text(row).replace(" :", ":")  # "<code>kind</code>: ..." reads "kind: ..."


def kpi_card(html: str, name: str) -> str:
    card = html.split(f'id="kpi-{name}"', 1)[1].split(">", 1)[1].split("</article>", 1)[0]
    return page_text(card)


async def test_a_financing_is_added_corrected_and_deleted_through_the_forms(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    empty = await client.get(FINANCINGS)
    assert empty.status_code == 200 and "No record yet." in page_text(empty.text)
    assert (await client.get(f"{FINANCINGS}/new")).status_code == 200

    added = await follow(client, await post_form(client, f"{FINANCINGS}/new", A_FINANCING))
    assert "The record for Volt Start was added." in page_text(added.text)
    record = await FinancingRecord.get(organisation__name="Volt Start")
    row = row_of(added.text, f'data-record="{record.id}"')
    assert "Volt Start" in row and "Bank of the City" in row and "Loan" in row
    assert "CN¥1,500,000.00" in row and "1 Oct 2026" in row
    chinese = await client.get(f"{FINANCINGS}?lang=zh-Hans")
    zh_row = row_of(chinese.text, f'data-record="{record.id}"')
    assert "¥1,500,000.00" in zh_row and "2026年10月1日" in zh_row
    assert words("zh-Hans").gettext("Loan") in zh_row
    await client.get(f"{FINANCINGS}?lang=en")  # the switch is remembered: back to English

    form = await client.get(f"{FINANCINGS}/{record.id}/edit")
    assert form.status_code == 200
    assert 'value="1500000.00"' in form.text and 'value="Bank of the City"' in form.text
    changes = {**A_FINANCING, "partner": "Seed Fund", "kind": "equity", "amount": "2000000"}
    saved = await follow(client, await post_form(client, f"{FINANCINGS}/{record.id}/edit", changes))
    assert "Your changes to the record for Volt Start were saved." in page_text(saved.text)
    row = row_of(saved.text, f'data-record="{record.id}"')
    assert "Seed Fund" in row and "Equity" in row and "CN¥2,000,000.00" in row

    gone = await follow(client, await post_form(client, f"{FINANCINGS}/{record.id}/delete"))
    assert "The record for Volt Start was deleted." in page_text(gone.text)
    assert await FinancingRecord.all().count() == 0
    missing = await client.get(f"{FINANCINGS}/{record.id}/edit")
    assert missing.status_code == 404


async def test_bad_input_gives_the_form_with_each_fields_error_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    bad = {**A_FINANCING, "partner": "", "kind": "donation", "amount": "lots", "currency": "yuan"}
    refused = await post_form(client, f"{FINANCINGS}/new", bad)
    assert refused.status_code == 422
    assert field_error(refused.text, "partner") == "Required."
    assert field_error(refused.text, "kind") == "Choose one of the options."
    assert field_error(refused.text, "amount") != ""
    assert field_error(refused.text, "currency") != ""
    assert 'value="Volt Start"' in refused.text  # what was typed is kept
    negative = await post_form(client, f"{FINANCINGS}/new", {**A_FINANCING, "amount": "-5"})
    assert negative.status_code == 422
    assert field_error(negative.text, "amount") == (
        "Between 0 and 99,999,999,999,999, with at most 2 decimals."
    )
    assert await FinancingRecord.all().count() == 0

    await follow(client, await post_form(client, f"{FINANCINGS}/new", A_FINANCING))
    record = await FinancingRecord.get()
    wrong = await post_form(
        client, f"{FINANCINGS}/{record.id}/edit", {**A_FINANCING, "financed_on": "yesterday"}
    )
    assert wrong.status_code == 422
    assert field_error(wrong.text, "financed_on") == "Enter a date."
    zh = await post_form(
        client, f"{FINANCINGS}/{record.id}/edit?lang=zh-Hans", {**A_FINANCING, "partner": ""}
    )
    assert field_error(zh.text, "partner") == words("zh-Hans").gettext("Required.")
    await client.get(f"{FINANCINGS}?lang=en")
    await record.refresh_from_db()
    assert record.partner == "Bank of the City" and str(record.financed_on) == "2026-10-01"

    service = await post_form(client, f"{SERVICES}/new", {**A_SERVICE, "served_on": "soon"})
    assert service.status_code == 422
    assert field_error(service.text, "served_on") == "Enter a date."
    assert await ServiceRecord.all().count() == 0


async def test_a_service_is_added_corrected_and_deleted_through_the_forms(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    added = await follow(client, await post_form(client, f"{SERVICES}/new", A_SERVICE))
    assert "The record for Delta Parts was added." in page_text(added.text)
    record = await ServiceRecord.get(organisation__name="Delta Parts")
    row = row_of(added.text, f'data-record="{record.id}"')
    assert "Delta Parts" in row and "training" in row and "2 Oct 2026" in row

    form = await client.get(f"{SERVICES}/{record.id}/edit")
    assert 'value="training"' in form.text and "Delta Parts" in page_text(form.text)
    changes = {**A_SERVICE, "service_kind": "cloud resources", "note": "credits"}
    saved = await follow(client, await post_form(client, f"{SERVICES}/{record.id}/edit", changes))
    row = row_of(saved.text, f'data-record="{record.id}"')
    assert "cloud resources" in row and "credits" in row

    gone = await follow(client, await post_form(client, f"{SERVICES}/{record.id}/delete"))
    assert "The record for Delta Parts was deleted." in page_text(gone.text)
    assert await ServiceRecord.all().count() == 0


GOOD_FINANCINGS = (
    "organisation,partner,kind,amount,currency,financed_on,note\n"
    'Volt Start,Bank of the City,loan,"1,500,000",CNY,2026-10-01,first loan\n'
    "Wheel AI,Seed Fund,equity,300000,USD,2026-11-02,\n"
)
BAD_FINANCINGS = (
    GOOD_FINANCINGS
    + "Broken Co,Some Fund,donation,100,CNY,2026-11-03,\n"
    + "Nameless,,grant,abc,CNY,2026-11-04,\n"
)


async def upload(client: httpx.AsyncClient, path: str, text: str) -> httpx.Response:
    if not client.cookies.get("csrftoken"):
        await client.get("/admin")
    return await client.post(
        path,
        data={"_csrf_token": client.cookies.get("csrftoken", "")},
        files={"file": ("records.csv", text.encode(), "text/csv")},
    )


async def confirm(client: httpx.AsyncClient, path: str, preview: httpx.Response) -> httpx.Response:
    hidden = re.search(r'name="csv" value="([^"]*)"', preview.text, re.S)
    assert hidden is not None, preview.text[:2000]
    return await post_form(client, f"{path}/confirm", {"csv": html_lib.unescape(hidden[1])})


async def test_the_financings_csv_preview_shows_bad_rows_and_writes_nothing_then_imports_all(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    path = f"{FINANCINGS}/import"
    assert (await client.get(path)).status_code == 200

    preview = await upload(client, path, BAD_FINANCINGS)
    assert preview.status_code == 422
    assert 'id="import-confirm"' not in preview.text
    assert "2 rows have an error" in page_text(preview.text)
    table = preview.text.split('id="preview"', 1)[1].split("</table>", 1)[0]
    assert "Ready" in row_of(table, 'data-line="2"') and "Ready" in row_of(table, 'data-line="3"')
    line4, line5 = row_of(table, 'data-line="4"'), row_of(table, 'data-line="5"')
    assert "Error" in line4 and "kind: Choose one of the options." in line4
    assert "partner: Required." in line5 and "amount: 'abc' is not a number." in line5
    assert await FinancingRecord.all().count() == 0

    zh = await upload(client, f"{path}?lang=zh-Hans", BAD_FINANCINGS)
    zh_line4 = row_of(zh.text.split('id="preview"', 1)[1], 'data-line="4"')
    assert words("zh-Hans").gettext("Choose one of the options.") in zh_line4
    await client.get(f"{path}?lang=en")

    negative = await upload(
        client, path, GOOD_FINANCINGS + "Minus Co,Fund,grant,-5,CNY,2026-11-05\n"
    )
    assert "amount: Between 0 and" in row_of(
        negative.text.split('id="preview"', 1)[1], 'data-line="4"'
    )

    # A tampered confirmation is refused as a whole, its line named.
    refused = await post_form(client, f"{path}/confirm", {"csv": BAD_FINANCINGS})
    assert refused.status_code == 422
    assert "line 4, kind: Choose one of the options." in page_text(refused.text)
    assert await FinancingRecord.all().count() == 0

    fixed = await upload(client, path, GOOD_FINANCINGS)
    assert fixed.status_code == 200 and "Import 2 records" in page_text(fixed.text)
    assert await FinancingRecord.all().count() == 0
    imported = await follow(client, await confirm(client, path, fixed))
    assert "Records imported: 2." in page_text(imported.text)
    assert "Wheel AI" in page_text(imported.text) and "US$300,000.00" in page_text(imported.text)
    assert await FinancingRecord.all().count() == 2

    # The KPI's page lists the new startups, and its CSV has them.
    kpi = await client.get("/admin/programme/kpis/financed_startups")
    assert kpi.status_code == 200
    listed = page_text(kpi.text.split('id="records"', 1)[1])
    assert "Volt Start" in listed and "Wheel AI" in listed and "Seed Fund" in listed
    assert "1 Oct 2026" in listed and "2 Nov 2026" in listed  # days in the reader's way
    link = re.search(r'id="records-csv"|href="([^"]+records\.csv)"', kpi.text)
    href = re.search(r'href="([^"]+\.csv)"', kpi.text)
    assert link is not None and href is not None
    download = await client.get(href[1])  # with the console's login cookie, as a browser
    assert download.status_code == 200, download.text[:500]
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert sorted(r["organisation"] for r in rows) == ["Volt Start", "Wheel AI"]


async def test_a_services_import_is_previewed_then_written_whole(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    path = f"{SERVICES}/import"
    good = "organisation,service_kind,served_on,note\nDelta Parts,training,2026-10-01,\n"
    good += "Sino Parts Co.,cloud resources,2026-10-05,credits\n"
    bad = good + "Late Co,mentoring,someday,\n,mentoring,2026-10-06,\n"
    preview = await upload(client, path, bad)
    assert preview.status_code == 422
    table = preview.text.split('id="preview"', 1)[1].split("</table>", 1)[0]
    assert "served_on: Enter a date." in row_of(table, 'data-line="4"')
    assert "organisation: Required." in row_of(table, 'data-line="5"')
    assert await ServiceRecord.all().count() == 0

    refused = await upload(client, path, "organisation,served_on\nA,2026-01-01\n")
    assert refused.status_code == 422
    assert "The CSV header lacks: service_kind." in page_text(refused.text)

    fixed = await upload(client, path, good)
    imported = await follow(client, await confirm(client, path, fixed))
    assert "Records imported: 2." in page_text(imported.text)
    assert await ServiceRecord.all().count() == 2
    kpi = await client.get("/admin/programme/kpis/firms")
    listed = page_text(kpi.text.split('id="records"', 1)[1])
    assert "Delta Parts" in listed and "Sino Parts Co." in listed


async def test_the_overview_shows_each_kpi_and_its_figure_moves_with_a_new_financing(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    before = await client.get("/admin/programme")
    assert before.status_code == 200
    text = page_text(before.text)
    # Talent reach comes first, then every other KPI, each with its target and pace.
    order = [text.index(name) for name in ("Talents reached", "Companies benefitted",
             "Technical projects", "Startups financed", "Firms served")]  # fmt: skip
    assert order == sorted(order)
    card = kpi_card(before.text, "financed_startups")
    assert card.startswith("Startups financed 0 of 20")
    assert "not at this pace" in card or "behind" in card
    assert 'href="/admin/programme/kpis/talents"' in before.text
    assert "none yet" in card

    await follow(client, await post_form(client, f"{FINANCINGS}/new", A_FINANCING))
    after = kpi_card((await client.get("/admin/programme")).text, "financed_startups")
    assert after.startswith("Startups financed 1 of 20 · 5%")
    assert "last 90 days" in after

    # A milestone with its date at the base (17:00 UTC is the next day in Shanghai).
    await Milestone.create(
        kpi="financed_startups",
        percent=25,
        value=5,
        target=20,
        reached_at=datetime(2026, 3, 1, 17, 0, tzinfo=UTC),
    )
    card = kpi_card((await client.get("/admin/programme")).text, "financed_startups")
    assert "25% on 2 Mar 2026" in card
    zh = kpi_card((await client.get("/admin/programme?lang=zh-Hans")).text, "financed_startups")
    assert "2026年3月2日" in zh and words("zh-Hans").gettext("Startups financed") in zh


async def test_a_kpis_records_are_shown_a_page_at_a_time_and_an_unknown_kpi_is_a_404(
    client: httpx.AsyncClient,
) -> None:
    await log_in_to_pages(client, "admin")
    body = "organisation,service_kind,served_on\n" + "".join(
        f"Firm {n:02},training,2026-10-{n:02}\n" for n in range(1, 31)
    )
    path = f"{SERVICES}/import"
    await follow(client, await confirm(client, path, await upload(client, path, body)))
    first = await client.get("/admin/programme/kpis/firms")
    assert "1–25 of 30" in page_text(first.text)
    assert "Firm 01" in page_text(first.text) and "Firm 30" not in page_text(first.text)
    second = await client.get("/admin/programme/kpis/firms?offset=25")
    assert "Firm 30" in page_text(second.text) and "Firm 01" not in page_text(second.text)
    services = await client.get(SERVICES)
    assert "1–25 of 30" in page_text(services.text)
    assert (await client.get("/admin/programme/kpis/nothing")).status_code == 404


async def test_staff_and_judges_get_403_on_the_programme_pages(client: httpx.AsyncClient) -> None:
    for role in ("staff", "judge"):
        await log_in_to_pages(client, role)
        for path in ("/admin/programme", FINANCINGS, f"{SERVICES}/import"):
            assert (await client.get(path)).status_code == 403, (role, path)
        refused = await post_form(client, f"{FINANCINGS}/new", A_FINANCING)
        assert refused.status_code == 403
    assert await FinancingRecord.all().count() == 0
