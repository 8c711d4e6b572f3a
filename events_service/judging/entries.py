"""Entries of a competition: CRUD, members linked to people, CSV import."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
from tortoise import timezone
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.identity import checked_email, organisation_key
from events_service.judging import schemas
from events_service.judging.competitions import competition
from events_service.locale import Message, translatable
from events_service.reach.counter import benefit_organisation, recheck_organisation
from models import (
    Entry,
    EntryMember,
    Organisation,
    Person,
    Score,
    WinnerRecord,
)

MAX_CSV_ROWS = 5000
CSV_COLUMNS = ("title", "summary", "team_name", "organisation", "track", "members")
_MEMBER = re.compile(r"^\s*(?P<name>[^<>]+?)\s*<(?P<email>[^<>]+)>\s*$")


async def get_entry(entry_id: int) -> Entry:
    entry = await Entry.get_or_none(id=entry_id)
    if entry is None:
        raise NotFound(translatable("No entry %(entry_id)s.", entry_id=entry_id))
    return entry


# --- entries ---------------------------------------------------------------------------


async def organisation_named(name: str) -> Organisation | None:
    name = " ".join(name.split())
    if not name:
        return None
    organisation, _ = await Organisation.get_or_create(
        name_key=organisation_key(name), defaults={"name": name}
    )
    return organisation


def _checked_members(members: Sequence[schemas.MemberIn]) -> list[tuple[str, str, str]]:
    seen: set[str] = set()
    checked = []
    for member in members:
        email = checked_email(member.email)
        if email is None:
            raise Unprocessable(
                translatable(
                    "%(member_email)r is not an e-mail address.", member_email=member.email
                )
            )
        if email in seen:
            raise Unprocessable(translatable("%(email)s is listed twice as a member.", email=email))
        seen.add(email)
        checked.append((email, member.name.strip(), member.role.strip() or "member"))
    return checked


async def _set_members(entry: Entry, members: list[tuple[str, str, str]]) -> None:
    # A member whose data was erased cannot be given again (no address is left to
    # give): they stay on the entry, whatever list replaces the others.
    erased = await EntryMember.filter(
        entry_id=entry.id, person__erased_at__isnull=False
    ).values_list("id", flat=True)
    await EntryMember.filter(entry_id=entry.id).exclude(id__in=list(erased)).delete()
    for email, name, role in members:
        # Members are people: once admitted at an event they count toward the reach.
        person, _ = await Person.get_or_create(
            email=email, defaults={"name": name, "organisation_id": entry.organisation_id}
        )
        await EntryMember.create(entry_id=entry.id, person_id=person.id, role=role)


async def create_entry(event_id: int, data: schemas.EntryIn) -> Entry:
    await competition(event_id)
    members = _checked_members(data.members)
    async with in_transaction() as conn:
        organisation = await organisation_named(data.organisation)
        entry = await Entry.create(
            event_id=event_id,
            title=data.title.strip(),
            summary=data.summary.strip(),
            team_name=data.team_name.strip(),
            organisation_id=organisation.id if organisation else None,
            track=data.track.strip(),
        )
        await _set_members(entry, members)
        await benefit_organisation(conn, entry.organisation_id, entry.created_at)  # type: ignore[attr-defined]
    return entry


async def update_entry(entry_id: int, data: schemas.EntryPatch) -> Entry:
    entry = await get_entry(entry_id)
    members = _checked_members(data.members) if data.members is not None else None
    async with in_transaction() as conn:
        for name in ("title", "summary", "team_name", "track"):
            value = getattr(data, name)
            if value is not None:
                setattr(entry, name, value.strip())
        previous = entry.organisation_id  # type: ignore[attr-defined]
        if data.organisation is not None:
            organisation = await organisation_named(data.organisation)
            entry.organisation_id = organisation.id if organisation else None  # type: ignore[attr-defined]
        await entry.save()
        if entry.organisation_id != previous:  # type: ignore[attr-defined]
            await benefit_organisation(conn, entry.organisation_id, timezone.now())  # type: ignore[attr-defined]
            await recheck_organisation(conn, previous)
        if members is not None:
            await _set_members(entry, members)
    return entry


async def delete_entry(entry_id: int) -> None:
    entry = await get_entry(entry_id)
    if await Score.filter(assignment__entry_id=entry_id).exists():
        raise Conflict(translatable("The entry has been scored; it stays for the record."))
    if await WinnerRecord.filter(entry_id=entry_id).exists():
        raise Conflict(translatable("The entry is in a published winner record."))
    async with in_transaction() as conn:
        await entry.delete(using_db=conn)
        await recheck_organisation(conn, entry.organisation_id)  # type: ignore[attr-defined]


async def list_entries(event_id: int) -> list[Entry]:
    await competition(event_id)
    return await Entry.filter(event_id=event_id).order_by("id")


def parse_members(cell: str) -> list[schemas.MemberIn]:
    """Members written ``Name <email>; Name <email>`` (the CSV's members cell)."""
    members = []
    for part in filter(None, (p.strip() for p in cell.split(";"))):
        match = _MEMBER.match(part)
        if not match:
            raise Unprocessable(
                translatable("Member %(part)r is not written as 'Name <email>'.", part=part),
                extra={"part": part},
            )
        members.append(schemas.MemberIn(email=match["email"], name=match["name"]))
    return members


def _parse_members(cell: str, line: int) -> list[schemas.MemberIn]:
    try:
        return parse_members(cell)
    except Unprocessable as exc:
        raise Unprocessable(
            translatable(
                "line %(line)s: member %(part)r is not written as 'Name <email>'.",
                line=line,
                part=exc.extra["part"],
            ),
            extra={"line": line},
        ) from None


@dataclass(frozen=True)
class CsvRow:
    """One row of an entries CSV as read: its line, its cells, and either the entry
    it makes or why it makes none."""

    line: int
    cells: dict[str, str]
    entry: schemas.EntryIn | None
    error: Message | None


def check_entries_csv(text: str) -> list[CsvRow]:
    """Every row of a CSV with a header naming CSV_COLUMNS (title required, others
    optional), each checked as the import checks it; a bad row is kept with its error
    (the console's preview shows them all). A bad file (header, size) is refused.

    Members are written ``Name <email>; Name <email>``."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if "title" not in header:
        raise Unprocessable(
            translatable("The CSV needs a header row with at least a 'title' column.")
        )
    unknown = set(header) - set(CSV_COLUMNS)
    if unknown:
        raise Unprocessable(
            translatable("Unknown CSV column(s): %(columns)s.", columns=", ".join(sorted(unknown)))
        )
    reader.fieldnames = header
    rows: list[CsvRow] = []
    for row in reader:
        line = reader.line_num
        if len(rows) >= MAX_CSV_ROWS:
            raise Unprocessable(
                translatable(
                    "At most %(MAX_CSV_ROWS)s entries per import.", MAX_CSV_ROWS=MAX_CSV_ROWS
                )
            )
        cells = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
        if None in row:
            error = translatable("line %(line)s: more cells than columns.", line=line)
            rows.append(CsvRow(line, cells, None, error))
            continue
        try:
            entry = _checked_row(cells, line)
        except Unprocessable as exc:
            rows.append(CsvRow(line, cells, None, exc.detail))
        else:
            rows.append(CsvRow(line, cells, entry, None))
    if not rows:
        raise Unprocessable(translatable("The CSV holds no entries."))
    return rows


def _checked_row(cells: dict[str, str], line: int) -> schemas.EntryIn:
    values: dict[str, object] = dict(cells)
    values["members"] = [
        {"email": m.email, "name": m.name}
        for m in _parse_members(str(values.pop("members", "")), line)
    ]
    try:
        # msgspec.convert applies the same length limits as the JSON API.
        entry = msgspec.convert(values, schemas.EntryIn)
    except msgspec.ValidationError as exc:
        raise Unprocessable(
            translatable("line %(line)s: %(exc)s", line=line, exc=exc), extra={"line": line}
        ) from None
    try:
        _checked_members(entry.members)
    except Unprocessable as exc:
        raise Unprocessable(
            translatable("line %(line)s: %(exc_detail)s", line=line, exc_detail=exc.detail),
            extra={"line": line},
        ) from None
    return entry


def parse_entries_csv(text: str) -> list[schemas.EntryIn]:
    """The entries of a CSV (see `check_entries_csv`): every row is checked before
    anything is written, and the first bad row is reported with its line number."""
    rows = check_entries_csv(text)
    for row in rows:
        if row.error is not None:
            raise Unprocessable(row.error, extra={"line": row.line})
    return [row.entry for row in rows if row.entry is not None]


async def import_entries(event_id: int, text: str) -> list[Entry]:
    await competition(event_id)
    rows = parse_entries_csv(text)
    created = []
    # All or nothing: a failure half-way leaves no partial import behind.
    async with in_transaction() as conn:
        for data in rows:
            organisation = await organisation_named(data.organisation)
            entry = await Entry.create(
                event_id=event_id,
                title=data.title,
                summary=data.summary,
                team_name=data.team_name,
                organisation_id=organisation.id if organisation else None,
                track=data.track,
            )
            await _set_members(entry, _checked_members(data.members))
            await benefit_organisation(conn, entry.organisation_id, entry.created_at)  # type: ignore[attr-defined]
            created.append(entry)
    return created


async def entry_out(entries: Sequence[Entry]) -> list[schemas.EntryOut]:
    ids = [e.id for e in entries]
    org_ids = {e.organisation_id for e in entries if e.organisation_id}  # type: ignore[attr-defined]
    orgs = {o.id: o.name for o in await Organisation.filter(id__in=org_ids)}
    members: dict[int, list[schemas.MemberOut]] = {i: [] for i in ids}
    for m in await EntryMember.filter(entry_id__in=ids).select_related("person").order_by("id"):
        members[m.entry_id].append(  # type: ignore[attr-defined]
            schemas.MemberOut(
                person_id=m.person.id, name=m.person.name, email=m.person.email, role=m.role
            )
        )
    return [
        schemas.EntryOut(
            id=e.id,
            event_id=e.event_id,  # type: ignore[attr-defined]
            title=e.title,
            summary=e.summary,
            team_name=e.team_name,
            organisation_id=e.organisation_id,  # type: ignore[attr-defined]
            organisation=orgs.get(e.organisation_id),  # type: ignore[attr-defined]
            track=e.track,
            members=members[e.id],
            created_at=e.created_at,
        )
        for e in entries
    ]


async def entries_page(event_id: int, *, limit: int, offset: int) -> tuple[list[Entry], int]:
    """A page of a competition's entries (in the order they came) and how many it has."""
    await competition(event_id)
    query = Entry.filter(event_id=event_id)
    return await query.order_by("id").offset(offset).limit(limit), await query.count()


async def entry_counts(event_ids: Sequence[int]) -> dict[int, int]:
    """How many entries each competition has (one SQL aggregate)."""
    rows = (
        await Entry.filter(event_id__in=list(event_ids))
        .annotate(count=Count("id"))
        .group_by("event_id")
        .values_list("event_id", "count")
    )
    return {event_id: count for event_id, count in rows}
