"""The console's programme: each KPI against its target with its pace and milestones,
the records behind each KPI (a page at a time, and the API's CSV of them all), and
the financing and service records the startups-financed and firms-served KPIs count:
listed, added, corrected and deleted through the ledger service with the API's own
FinancingIn/ServiceIn, and imported from a CSV checked row by row and shown before
anything is written (`ledger.check_financings_csv`/`check_services_csv`, the API's
own checks), then imported all or nothing. As in the entries' import, the file's text
travels between the two steps in a hidden field of the preview's form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.console.events import BASE_ZONE
from events_service.console.layout import Paging, console_page, done, list_offset
from events_service.errors import DomainError, Unprocessable
from events_service.locale import N_, translatable
from events_service.locale.dates import format_day, instant_formatter
from events_service.locale.numbers import format_money
from events_service.programme import ledger
from events_service.programme.kpis import programme_status
from events_service.programme.records import COLUMNS, check_kpi, kpi_records
from events_service.settings import Settings
from events_service.web.forms import domain_errors, parse_form, uploaded_csv
from events_service.web.login import staff_page_context
from models import FinancingRecord, Milestone, ServiceRecord
from models.enums import FinancingKind

PAGE_SIZE = 25
"""The largest CSV the console takes (its text goes back and forth in the preview)."""

KPI_TITLES = {
    "talents": translatable("Talents reached"),
    "companies": translatable("Companies benefitted"),
    "projects": translatable("Technical projects"),
    "financed_startups": translatable("Startups financed"),
    "firms": translatable("Firms served"),
}
"""The dashboard's names of the KPIs (the same words)."""
KPI_LEDGERS = {"financed_startups": "financings", "firms": "services"}
"""The KPIs counted from records entered here: where they are entered."""
COLUMN_WORDS = {
    "person_id": N_("No."),
    "organisation_id": N_("No."),
    "entry_id": N_("No."),
    "name": N_("Name"),
    "email": N_("E-mail"),
    "organisation": N_("Organisation"),
    "first_admitted_at": N_("First admitted"),
    "admissions": N_("Admissions"),
    "kind": N_("Kind"),
    "first_benefitted_at": N_("First benefitted"),
    "people_admitted": N_("People admitted"),
    "entries": N_("Entries"),
    "title": N_("Title"),
    "team_name": N_("Team"),
    "competition": N_("Competition"),
    "admitted_to_round_at": N_("First admitted to a round"),
    "furthest_round": N_("Furthest round"),
    "first_financed_on": N_("First financed"),
    "financings": N_("Financings"),
    "partners": N_("Partners"),
    "first_served_on": N_("First served"),
    "services": N_("Services"),
    "service_kinds": N_("Services given"),
}
ORGANISATION_KINDS = {
    "unspecified": N_("Not classified"),
    "company": N_("Company"),
    "startup": N_("Startup"),
    "institution": N_("Institution"),
}
FINANCING_KINDS = {
    FinancingKind.EQUITY.value: N_("Equity"),
    FinancingKind.LOAN.value: N_("Loan"),
    FinancingKind.GRANT.value: N_("Grant"),
}
EXAMPLES = {
    "financings": "organisation,partner,kind,amount,currency,financed_on,note\n"
    'Volt Start,Bank of the City,loan,"1,500,000",CNY,2026-10-01,first loan',
    "services": "organisation,service_kind,served_on,note\nDelta Parts,training,2026-10-01,",
}
"""A CSV's first lines, shown on the import page (the columns are the API's)."""
FINANCING_FIELDS = ("organisation", "partner", "kind", "amount", "currency", "financed_on", "note")
SERVICE_FIELDS = ("organisation", "service_kind", "served_on", "note")


def _crumbs(*more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(translatable("Programme"), "/admin/programme"), *more]


def _settings(request: Request[Any, Any, Any]) -> Settings:
    return request.app.state.settings


def _locale(request: Request[Any, Any, Any]) -> str:
    return str(staff_page_context(request)["locale"])


# The KPIs


@get("/programme", name="console:programme")
async def overview(request: Request[Any, Any, Any]) -> Template:
    status = await programme_status(_settings(request))
    locale = _locale(request)
    zone = ZoneInfo(BASE_ZONE)
    reached: dict[str, list[tuple[int, str]]] = {kpi.name: [] for kpi in status.kpis}
    for milestone in await Milestone.all().order_by("kpi", "percent"):
        day = format_day(milestone.reached_at.astimezone(zone).date(), locale)
        reached.setdefault(milestone.kpi, []).append((milestone.percent, day))
    return console_page(
        request,
        "pages/console/programme/overview.html",
        section="programme",
        title=translatable("Programme"),
        status=status,
        kpi_titles=KPI_TITLES,
        ledgers=KPI_LEDGERS,
        milestones=reached,
    )


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False


def _cells(columns: tuple[str, ...], item: dict[str, Any], locale: str, words: Any) -> list[Cell]:
    instant = instant_formatter(BASE_ZONE, locale)
    cells = []
    for column in columns:
        value = item.get(column)
        if column.endswith("_on") and isinstance(value, str):  # SQLite: a date's text
            value = date.fromisoformat(value[:10])
        if value is None and column == "name":  # a talent whose data was erased
            cells.append(Cell(words["person_name"](None)))
        elif value is None:
            cells.append(Cell(""))
        elif isinstance(value, datetime):
            cells.append(Cell(instant(value)))
        elif isinstance(value, date):
            cells.append(Cell(format_day(value, locale)))
        elif isinstance(value, int) and not isinstance(value, bool):
            cells.append(Cell(words["number"](value), numeric=True))
        elif column == "kind" and value in ORGANISATION_KINDS:
            cells.append(Cell(words["_"](ORGANISATION_KINDS[value])))
        else:
            cells.append(Cell(str(value)))
    return cells


@get("/programme/kpis/{kpi:str}", name="console:programme-kpi")
async def kpi_page(request: Request[Any, Any, Any], kpi: FromPath[str]) -> Template:
    check_kpi(kpi)
    settings = _settings(request)
    offset = list_offset(request.query_params.get("offset"))
    page = await kpi_records(kpi, settings, limit=PAGE_SIZE, offset=offset)
    status = await programme_status(settings)
    figure = next(k for k in status.kpis if k.name == kpi)
    context = staff_page_context(request)
    columns = COLUMNS[kpi]
    return console_page(
        request,
        "pages/console/programme/kpi.html",
        section="programme",
        title=KPI_TITLES[kpi],
        crumbs=_crumbs(),
        kpi=figure,
        # A company's name is an organisation's, not a person's.
        columns=[
            N_("Organisation") if (kpi, c) == ("companies", "name") else COLUMN_WORDS.get(c, c)
            for c in columns
        ],
        rows=[_cells(columns, item, context["locale"], context) for item in page.items],
        ledger=KPI_LEDGERS.get(kpi),
        paging=Paging(f"/admin/programme/kpis/{kpi}", {}, offset, PAGE_SIZE, page.total),
    )


# Financing and service records: what differs between the two ledgers


@dataclass(frozen=True)
class Ledger:
    key: str  # "financings" or "services": the path
    kpi: str
    fields: tuple[str, ...]
    title: str
    new_title: str
    edit_title: str
    import_title: str

    @property
    def base(self) -> str:
        return f"/admin/programme/{self.key}"


FINANCINGS = Ledger(
    "financings",
    "financed_startups",
    FINANCING_FIELDS,
    translatable("Financing records"),
    translatable("Add a financing"),
    translatable("Correct a financing"),
    translatable("Import financings"),
)
SERVICES = Ledger(
    "services",
    "firms",
    SERVICE_FIELDS,
    translatable("Service records"),
    translatable("Add a service"),
    translatable("Correct a service"),
    translatable("Import services"),
)


def _ledger_crumbs(kind: Ledger) -> list[tuple[str, str | None]]:
    return _crumbs((kind.title, kind.base))


def _page_context(request: Request[Any, Any, Any], kind: Ledger) -> dict[str, Any]:
    locale = _locale(request)
    return {
        "ledger": kind,
        "financing_kinds": FINANCING_KINDS,
        "money": lambda amount, currency: format_money(amount, currency, locale),
    }


async def _list_page(request: Request[Any, Any, Any], kind: Ledger) -> Template:
    offset = list_offset(request.query_params.get("offset"))
    if kind is FINANCINGS:
        found, total = await ledger.financings_page(limit=PAGE_SIZE, offset=offset)
        records: list[Any] = [ledger.financing_out(r) for r in found]
    else:
        found_services, total = await ledger.services_page(limit=PAGE_SIZE, offset=offset)
        records = [ledger.service_out(r) for r in found_services]
    return console_page(
        request,
        "pages/console/programme/records.html",
        section="programme",
        title=kind.title,
        crumbs=_crumbs(),
        records=records,
        paging=Paging(kind.base, {}, offset, PAGE_SIZE, total),
        **_page_context(request, kind),
    )


def _form_page(
    request: Request[Any, Any, Any],
    kind: Ledger,
    record: FinancingRecord | ServiceRecord | None,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    return console_page(
        request,
        "pages/console/programme/form.html",
        section="programme",
        title=kind.edit_title if record else kind.new_title,
        crumbs=_ledger_crumbs(kind),
        status_code=status_code,
        record=record,
        action=f"{kind.base}/{record.id}/edit" if record else f"{kind.base}/new",
        values=values,
        errors=errors,
        kinds=[("", N_("Choose the kind")), *FINANCING_KINDS.items()],
        **_page_context(request, kind),
    )


async def _posted(request: Request[Any, Any, Any], kind: Ledger) -> dict[str, str]:
    """The form's fields as typed (each shown field; an empty one is "not given")."""
    form = await request.form()
    raw = {name: str(form.get(name) or "") for name in kind.fields}
    if "amount" in raw:
        raw["amount"] = ledger.plain_amount(raw["amount"])
    return raw


def _refusal(exc: DomainError) -> dict[str, str]:
    """The ledger's refusal beside its field (the amount's range), else the form's."""
    if isinstance(exc, Unprocessable) and ledger.ROW not in ledger.field_errors(exc):
        return ledger.field_errors(exc)
    return domain_errors(exc)


async def _create(request: Request[Any, Any, Any], kind: Ledger) -> Template | Redirect:
    raw = await _posted(request, kind)
    schema = ledger.FinancingIn if kind is FINANCINGS else ledger.ServiceIn
    form = parse_form(raw, schema)
    errors = dict(form.errors)
    if form.value is not None and not errors:
        try:
            if isinstance(form.value, ledger.FinancingIn):
                await ledger.create_financing(form.value)
            else:
                await ledger.create_service(form.value)
        except DomainError as exc:
            errors = _refusal(exc)
        else:
            return done(
                request,
                kind.base,
                translatable(
                    "The record for %(organisation)s was added.",
                    organisation=form.value.organisation,
                ),
            )
    return _form_page(request, kind, None, form.values, errors, status_code=422)


def _values_of(record: FinancingRecord | ServiceRecord) -> dict[str, str]:
    if isinstance(record, FinancingRecord):
        out = ledger.financing_out(record)
        return {
            "organisation": out.organisation,
            "partner": out.partner,
            "kind": out.kind,
            "amount": f"{out.amount:f}",
            "currency": out.currency,
            "financed_on": out.financed_on.isoformat(),
            "note": out.note,
        }
    shown = ledger.service_out(record)
    return {
        "organisation": shown.organisation,
        "service_kind": shown.service_kind,
        "served_on": shown.served_on.isoformat(),
        "note": shown.note,
    }


async def _save(
    request: Request[Any, Any, Any], kind: Ledger, record: FinancingRecord | ServiceRecord
) -> Template | Redirect:
    raw = await _posted(request, kind)
    # The organisation is not changed by a correction (as in the API): it is shown,
    # not posted; every other field is, and an empty one is an empty one.
    raw["organisation"] = record.organisation.name
    errors: dict[str, str]
    try:
        if isinstance(record, FinancingRecord):
            form = parse_form(raw, ledger.FinancingIn)
            errors = dict(form.errors)
            if form.value is not None and not errors:
                value = form.value
                await ledger.update_financing(
                    record.id,
                    ledger.FinancingPatch(
                        partner=value.partner,
                        kind=value.kind,
                        amount=value.amount,
                        financed_on=value.financed_on,
                        currency=value.currency,
                        note=value.note,
                    ),
                )
        else:
            service_form = parse_form(raw, ledger.ServiceIn)
            errors = dict(service_form.errors)
            if service_form.value is not None and not errors:
                service = service_form.value
                await ledger.update_service(
                    record.id,
                    ledger.ServicePatch(
                        service_kind=service.service_kind,
                        served_on=service.served_on,
                        note=service.note,
                    ),
                )
    except DomainError as exc:
        errors = _refusal(exc)
    if not errors:
        return done(
            request,
            kind.base,
            translatable(
                "Your changes to the record for %(organisation)s were saved.",
                organisation=record.organisation.name,
            ),
        )
    return _form_page(request, kind, record, raw, errors, status_code=422)


async def _delete(
    request: Request[Any, Any, Any], kind: Ledger, record: FinancingRecord | ServiceRecord
) -> Redirect:
    if isinstance(record, FinancingRecord):
        await ledger.delete_financing(record.id)
    else:
        await ledger.delete_service(record.id)
    return done(
        request,
        kind.base,
        translatable(
            "The record for %(organisation)s was deleted.", organisation=record.organisation.name
        ),
    )


# The CSV import


def _import_page(
    request: Request[Any, Any, Any],
    kind: Ledger,
    *,
    text: str = "",
    rows: list[ledger.CsvRow[Any]] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    bad = [row for row in rows or [] if row.errors]
    columns = ledger.FINANCING_COLUMNS if kind is FINANCINGS else ledger.SERVICE_COLUMNS
    required = (
        ("organisation", "partner", "kind", "amount", "financed_on")
        if kind is FINANCINGS
        else ("organisation", "service_kind", "served_on")
    )
    return console_page(
        request,
        "pages/console/programme/import.html",
        section="programme",
        title=kind.import_title,
        crumbs=_ledger_crumbs(kind),
        status_code=status_code,
        columns=columns,
        required=required,
        max_rows=ledger.MAX_IMPORT_ROWS,
        text=text,
        rows=rows,
        bad=bad,
        errors=errors or {},
        row_problem=ledger.ROW,
        example=EXAMPLES[kind.key],
        **_page_context(request, kind),
    )


def _check(kind: Ledger, text: str) -> list[ledger.CsvRow[Any]]:
    if kind is FINANCINGS:
        return list(ledger.check_financings_csv(text))
    return list(ledger.check_services_csv(text))


async def _preview(request: Request[Any, Any, Any], kind: Ledger) -> Template:
    """Checks the file and shows every row, each bad one with its problems; writes nothing."""
    try:
        text = await uploaded_csv(request)
        if not text.strip():
            raise Unprocessable(translatable("Choose a CSV file to import."))
        rows = _check(kind, text)
    except Unprocessable as exc:
        return _import_page(request, kind, errors={"file": exc.detail}, status_code=422)
    bad = any(row.errors for row in rows)
    return _import_page(request, kind, text=text, rows=rows, status_code=422 if bad else 200)


async def _import(request: Request[Any, Any, Any], kind: Ledger) -> Template | Redirect:
    """Imports the previewed file: every row, or (a bad row) none."""
    text = ""
    try:
        text = await uploaded_csv(request)
        if kind is FINANCINGS:
            count = len(await ledger.import_financings(text))
        else:
            count = len(await ledger.import_services(text))
    except Unprocessable as exc:
        try:
            rows: list[ledger.CsvRow[Any]] | None = _check(kind, text)
        except Unprocessable:
            rows = None
        return _import_page(
            request,
            kind,
            text=text if rows else "",
            rows=rows,
            errors={"file": exc.detail},
            status_code=422,
        )
    return done(request, kind.base, translatable("Records imported: %(count)s.", count=count))


# The routes of each ledger


def _ledger_routes(
    kind: Ledger,
    one: str,
    get_record: Callable[[int], Awaitable[FinancingRecord | ServiceRecord]],
    new_values: dict[str, str],
) -> list[HTTPRouteHandler]:
    """A ledger's pages: its list, add, correct and delete, and its CSV import; `one`
    names a record in the routes' names and paths ("financing": `{financing_id}`),
    `new_values` fill a new one's form."""
    base = f"/programme/{kind.key}"
    record_path = f"{base}/{{{one}_id:int}}"

    async def record_of(request: Request[Any, Any, Any]) -> FinancingRecord | ServiceRecord:
        return await get_record(request.path_params[f"{one}_id"])

    @get(base, name=f"console:{kind.key}")
    async def records(request: Request[Any, Any, Any]) -> Template:
        return await _list_page(request, kind)

    @get(f"{base}/new", name=f"console:{one}-new-form")
    async def new_record(request: Request[Any, Any, Any]) -> Template:
        return _form_page(request, kind, None, dict(new_values), {})

    @post(f"{base}/new", name=f"console:{one}-new")
    async def create_record(request: Request[Any, Any, Any]) -> Template | Redirect:
        return await _create(request, kind)

    @get(f"{record_path}/edit", name=f"console:{one}-edit-form")
    async def edit_record(request: Request[Any, Any, Any]) -> Template:
        record = await record_of(request)
        return _form_page(request, kind, record, _values_of(record), {})

    @post(f"{record_path}/edit", name=f"console:{one}-edit")
    async def save_record(request: Request[Any, Any, Any]) -> Template | Redirect:
        return await _save(request, kind, await record_of(request))

    @post(f"{record_path}/delete", name=f"console:{one}-delete")
    async def delete_record(request: Request[Any, Any, Any]) -> Redirect:
        return await _delete(request, kind, await record_of(request))

    @get(f"{base}/import", name=f"console:{kind.key}-import-form")
    async def import_form(request: Request[Any, Any, Any]) -> Template:
        return _import_page(request, kind)

    @post(f"{base}/import", name=f"console:{kind.key}-import-preview")
    async def import_preview(request: Request[Any, Any, Any]) -> Template:
        return await _preview(request, kind)

    @post(f"{base}/import/confirm", name=f"console:{kind.key}-import")
    async def import_records(request: Request[Any, Any, Any]) -> Template | Redirect:
        return await _import(request, kind)

    return [records, new_record, create_record, edit_record, save_record, delete_record,
            import_form, import_preview, import_records]  # fmt: skip


ROUTES = [
    overview,
    kpi_page,
    *_ledger_routes(FINANCINGS, "financing", ledger.get_financing, {"currency": "CNY"}),
    *_ledger_routes(SERVICES, "service", ledger.get_service, {}),
]
