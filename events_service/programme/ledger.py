"""Financing and service records: what the startups-financed and firms-served KPIs count.

Organisers enter them one by one or import a CSV; an import is all or nothing and
names the first bad line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from tortoise.transactions import in_transaction

from events_service.errors import NotFound, Unprocessable
from events_service.identity import organisation_key
from events_service.locale import Message, translatable
from events_service.web.forms import FORM_ERROR, parse_form
from models import FinancingRecord, Organisation, ServiceRecord
from models.enums import FinancingKind, OrganisationKind

MAX_IMPORT_ROWS = 5000
R = TypeVar("R", FinancingRecord, ServiceRecord)
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Note = Annotated[str, msgspec.Meta(max_length=2000)]
ServiceKind = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern="^[A-Z]{3}$")]


class FinancingIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation: Name
    partner: Name
    kind: FinancingKind
    amount: Decimal
    financed_on: date
    currency: Currency = "CNY"
    note: Note = ""


class FinancingPatch(msgspec.Struct, forbid_unknown_fields=True):
    partner: Name | None = None
    kind: FinancingKind | None = None
    amount: Decimal | None = None
    financed_on: date | None = None
    currency: Currency | None = None
    note: Note | None = None


class FinancingOut(msgspec.Struct):
    id: int
    organisation_id: int
    organisation: str
    partner: str
    kind: str
    amount: Decimal
    currency: str
    financed_on: date
    note: str


class ServiceIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation: Name
    service_kind: ServiceKind
    served_on: date
    note: Note = ""


class ServicePatch(msgspec.Struct, forbid_unknown_fields=True):
    service_kind: ServiceKind | None = None
    served_on: date | None = None
    note: Note | None = None


class ServiceOut(msgspec.Struct):
    id: int
    organisation_id: int
    organisation: str
    service_kind: str
    served_on: date
    note: str


FINANCING_COLUMNS = ("organisation", "partner", "kind", "amount", "currency", "financed_on", "note")
SERVICE_COLUMNS = ("organisation", "service_kind", "served_on", "note")


async def _organisation(name: str, kind: OrganisationKind | None = None) -> Organisation:
    name = " ".join(name.split())
    organisation, _ = await Organisation.get_or_create(
        name_key=organisation_key(name), defaults={"name": name, "kind": kind or "unspecified"}
    )
    # A financed organisation is a startup unless an organiser classified it otherwise.
    if kind is not None and organisation.kind == OrganisationKind.UNSPECIFIED:
        organisation.kind = kind
        await organisation.save(update_fields=["kind"])
    return organisation


def financing_out(record: FinancingRecord) -> FinancingOut:
    return FinancingOut(
        id=record.id,
        organisation_id=record.organisation.id,
        organisation=record.organisation.name,
        partner=record.partner,
        kind=record.kind.value,
        amount=record.amount,
        currency=record.currency,
        financed_on=record.financed_on,
        note=record.note or "",
    )


def service_out(record: ServiceRecord) -> ServiceOut:
    return ServiceOut(
        id=record.id,
        organisation_id=record.organisation.id,
        organisation=record.organisation.name,
        service_kind=record.service_kind,
        served_on=record.served_on,
        note=record.note or "",
    )


MAX_AMOUNT = Decimal("99999999999999")


def _check_amount(amount: Decimal | None) -> None:
    # msgspec checks ranges on int and float only, and reads "NaN", "sNaN" and
    # "Infinity" as decimals: is_finite() comes first, as NaN refuses to be compared.
    if amount is not None and not (
        amount.is_finite() and 0 <= amount <= MAX_AMOUNT and amount == round(amount, 2)
    ):
        problem = translatable(
            "amount must be between 0 and %(max)s with at most 2 decimals, got %(amount)s.",
            max=MAX_AMOUNT,
            amount=amount,
        )
        # Beside the field (a form, a CSV's cell), in words an organiser reads.
        beside = translatable(
            "Between 0 and %(max)s, with at most 2 decimals.", max=f"{MAX_AMOUNT:,}"
        )
        raise Unprocessable(problem, extra={"errors": [{"field": "amount", "message": beside}]})


async def create_financing(data: FinancingIn) -> FinancingRecord:
    _check_amount(data.amount)
    async with in_transaction():
        organisation = await _organisation(data.organisation, OrganisationKind.STARTUP)
        record = await FinancingRecord.create(
            organisation=organisation,
            partner=data.partner.strip(),
            kind=data.kind,
            amount=data.amount,
            currency=data.currency,
            financed_on=data.financed_on,
            note=data.note,
        )
    return record


async def _record(model: type[R], record_id: int) -> R:
    record = await model.get_or_none(id=record_id).select_related("organisation")
    if record is None:
        label = "financing" if model is FinancingRecord else "service"
        raise NotFound(
            translatable("No %(label)s record %(record_id)s.", label=label, record_id=record_id)
        )
    return record


async def _patched(record: R, patch: msgspec.Struct) -> R:
    for name, value in msgspec.structs.asdict(patch).items():
        if value is not None:  # fields left out of the PATCH body stay as they are
            setattr(record, name, value)
    await record.save()
    return record


async def get_financing(record_id: int) -> FinancingRecord:
    return await _record(FinancingRecord, record_id)


async def update_financing(record_id: int, patch: FinancingPatch) -> FinancingRecord:
    _check_amount(patch.amount)
    return await _patched(await get_financing(record_id), patch)


async def delete_financing(record_id: int) -> None:
    await (await get_financing(record_id)).delete()


async def list_financings() -> list[FinancingRecord]:
    return await FinancingRecord.all().select_related("organisation").order_by("financed_on", "id")


async def financings_page(*, limit: int, offset: int) -> tuple[list[FinancingRecord], int]:
    """A page of the financing records, the latest first, and how many there are."""
    query = FinancingRecord.all()
    found = (
        await query.select_related("organisation")
        .order_by("-financed_on", "-id")
        .offset(offset)
        .limit(limit)
    )
    return found, await query.count()


async def create_service(data: ServiceIn) -> ServiceRecord:
    async with in_transaction():
        organisation = await _organisation(data.organisation)
        record = await ServiceRecord.create(
            organisation=organisation,
            service_kind=data.service_kind.strip(),
            served_on=data.served_on,
            note=data.note,
        )
    return record


async def get_service(record_id: int) -> ServiceRecord:
    return await _record(ServiceRecord, record_id)


async def update_service(record_id: int, patch: ServicePatch) -> ServiceRecord:
    return await _patched(await get_service(record_id), patch)


async def delete_service(record_id: int) -> None:
    await (await get_service(record_id)).delete()


async def list_services() -> list[ServiceRecord]:
    return await ServiceRecord.all().select_related("organisation").order_by("served_on", "id")


async def services_page(*, limit: int, offset: int) -> tuple[list[ServiceRecord], int]:
    """A page of the service records, the latest first, and how many there are."""
    query = ServiceRecord.all()
    found = (
        await query.select_related("organisation")
        .order_by("-served_on", "-id")
        .offset(offset)
        .limit(limit)
    )
    return found, await query.count()


def _rows(text: str, columns: tuple[str, ...], required: set[str]) -> list[tuple[int, dict]]:
    """The CSV's data rows (line, cells) under a header naming `required` and only
    `columns`; a bad header, no rows or too many is the whole file's refusal. A row
    with more cells than columns keeps them under the key None."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = required - set(header)
    if missing:
        raise Unprocessable(
            translatable("The CSV header lacks: %(columns)s.", columns=", ".join(sorted(missing)))
        )
    unknown = set(header) - set(columns)
    if unknown:
        raise Unprocessable(
            translatable("Unknown CSV column(s): %(columns)s.", columns=", ".join(sorted(unknown)))
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        if len(rows) >= MAX_IMPORT_ROWS:
            raise Unprocessable(
                translatable(
                    "At most %(MAX_IMPORT_ROWS)s rows per import.", MAX_IMPORT_ROWS=MAX_IMPORT_ROWS
                )
            )
        rows.append((reader.line_num, row))
    if not rows:
        raise Unprocessable(translatable("The CSV has no rows."))
    return rows


S = TypeVar("S", FinancingIn, ServiceIn)
ROW = ""
"""The key of a row's problem that is no one column's (more cells than columns)."""


@dataclass(frozen=True)
class CsvRow(Generic[S]):
    """One row of a financings or services CSV as read: its line, its cells, and
    either the record it makes or each column's problem (`errors`, column -> Message;
    ROW for the row as a whole)."""

    line: int
    cells: dict[str, str]
    record: S | None
    errors: dict[str, str]

    @property
    def error(self) -> Message | None:
        """The row's first problem, its line and column named (the API's answer)."""
        if not self.errors:
            return None
        column, problem = next(iter(self.errors.items()))
        if column == ROW:
            return translatable("line %(line)s: %(problem)s", line=self.line, problem=problem)
        return translatable(
            "line %(line)s, %(column)s: %(problem)s",
            line=self.line,
            column=column,
            problem=problem,
        )


_ORDER = {name: i for i, name in enumerate((ROW, *FINANCING_COLUMNS, *SERVICE_COLUMNS))}


def _column_order(item: tuple[str, str]) -> int:
    return _ORDER.get(item[0], len(_ORDER))


def field_errors(exc: Unprocessable) -> dict[str, str]:
    """A refusal's problems by field, as `_check_amount` names them (else the row's)."""
    named = exc.extra.get("errors") if isinstance(exc.extra, dict) else None
    found = {
        item["field"]: item["message"]
        for item in named or []
        if isinstance(item, dict) and "field" in item and "message" in item
    }
    return found or {ROW: exc.detail}


def plain_amount(text: str) -> str:
    """An amount as typed ("1,500,000", "1 500 000.50") in the digits msgspec reads."""
    return "".join(text.replace(",", "").split())


def _checked_record(line: int, row: dict[Any, Any], schema: type[S]) -> CsvRow[S]:
    cells = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
    if None in row:
        return CsvRow(line, cells, None, {ROW: translatable("more cells than columns.")})
    values = dict(cells)
    errors: dict[str, str] = {}
    if values.get("amount"):
        values["amount"] = plain_amount(values["amount"])
        try:
            Decimal(values["amount"])
        except InvalidOperation:
            errors["amount"] = translatable("%(amount)r is not a number.", amount=cells["amount"])
            values["amount"] = "0"  # the other columns are still checked
    # The form's reading of the same schema: each column's problem in words.
    form = parse_form(values, schema)
    errors = {**{ROW if k == FORM_ERROR else k: v for k, v in form.errors.items()}, **errors}
    if form.value is None or errors:
        return CsvRow(line, cells, None, dict(sorted(errors.items(), key=_column_order)))
    try:
        _check_amount(getattr(form.value, "amount", None))
    except Unprocessable as exc:
        return CsvRow(line, cells, None, field_errors(exc))
    return CsvRow(line, cells, form.value, {})


def check_financings_csv(text: str) -> list[CsvRow[FinancingIn]]:
    """Every row of a financings CSV (a header row naming FINANCING_COLUMNS; amounts
    may have thousands separators), each checked as `import_financings` checks it; a
    bad row is kept with its problems (the console's preview shows them all). A bad
    file (header, no rows, too many) is refused."""
    required = {"organisation", "partner", "kind", "amount", "financed_on"}
    rows = _rows(text, FINANCING_COLUMNS, required)
    return [_checked_record(line, row, FinancingIn) for line, row in rows]


def check_services_csv(text: str) -> list[CsvRow[ServiceIn]]:
    """Every row of a services CSV, as `check_financings_csv`."""
    rows = _rows(text, SERVICE_COLUMNS, {"organisation", "service_kind", "served_on"})
    return [_checked_record(line, row, ServiceIn) for line, row in rows]


def _good(rows: list[CsvRow[S]]) -> list[S]:
    """The rows' records, or the first bad row's refusal (nothing is written)."""
    for row in rows:
        if row.error is not None:
            raise Unprocessable(row.error, extra={"line": row.line})
    return [row.record for row in rows if row.record is not None]


async def import_financings(text: str) -> list[FinancingRecord]:
    """Every row of the CSV, or none (see `check_financings_csv`)."""
    checked = _good(check_financings_csv(text))
    async with in_transaction():
        return [await create_financing(data) for data in checked]


async def import_services(text: str) -> list[ServiceRecord]:
    """Every row of the CSV, or none (see `check_services_csv`)."""
    checked = _good(check_services_csv(text))
    async with in_transaction():
        return [await create_service(data) for data in checked]
