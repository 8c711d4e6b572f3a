"""The console's entries of a competition: the table (a page at a time), the add and
edit forms (the API's own EntryIn and EntryPatch, through the entries service), and
the CSV import: the file is checked row by row and shown before anything is written
(`entries.check_entries_csv`, the API's own checks), then imported all or nothing
(`entries.import_entries`, as the API does). Between the two steps the file's text
travels in a hidden field of the preview's form, not on the server."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from events_service.console.layout import Paging, console_page, done, list_offset
from events_service.errors import DomainError, NotFound, Unprocessable
from events_service.judging import entries, rounds, schemas
from events_service.judging.competitions import competition
from events_service.locale import translatable
from events_service.web.forms import domain_errors, parse_form, uploaded_csv
from models import Entry, Event

PAGE_SIZE = 25
"""The largest CSV the console takes (its text goes back and forth in the preview)."""

FIELDS = ("title", "team_name", "organisation", "track", "summary")
"""The form's plain fields; the members are a text of lines `Name <email>`."""


def _crumbs(event: Event, *more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [
        (translatable("Competitions"), "/admin/competitions"),
        (event.title, f"/admin/competitions/{event.id}"),
        *more,
    ]


@get("/competitions/{competition_id:int}/entries", name="console:entries")
async def entries_list(request: Request[Any, Any, Any], competition_id: FromPath[int]) -> Template:
    event = await competition(competition_id)
    offset = list_offset(request.query_params.get("offset"))
    found, total = await entries.entries_page(event.id, limit=PAGE_SIZE, offset=offset)
    ids = [entry.id for entry in found]
    return console_page(
        request,
        "pages/console/entries/list.html",
        section="competitions",
        title=translatable("Entries"),
        crumbs=_crumbs(event),
        event=event,
        entries=await entries.entry_out(found),
        reached=await rounds.rounds_reached(ids),
        paging=Paging(f"/admin/competitions/{event.id}/entries", {}, offset, PAGE_SIZE, total),
    )


# Adding and editing one entry


def _members_text(members: list[schemas.MemberOut]) -> str:
    """The members to edit, one a line; those whose data was erased have no address
    to write and stay on the entry as they are (the form says how many)."""
    return "\n".join(f"{m.name} <{m.email}>" for m in members if m.email is not None)


async def _entry_form(
    request: Request[Any, Any, Any],
    event: Event,
    entry: Entry | None,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    erased_members: int = 0,
) -> Template:
    base = f"/admin/competitions/{event.id}/entries"
    return console_page(
        request,
        "pages/console/entries/form.html",
        section="competitions",
        title=translatable("Edit the entry") if entry else translatable("Add an entry"),
        crumbs=_crumbs(event, (translatable("Entries"), base)),
        status_code=status_code,
        event=event,
        entry=entry,
        action=f"{base}/{entry.id}/edit" if entry else f"{base}/new",
        values=values,
        errors=errors,
        erased_members=erased_members,
    )


def _posted_members(text: str, errors: dict[str, str]) -> list[schemas.MemberIn]:
    """The members typed one a line as `Name <email>`, read as the CSV import reads
    its members cell (lines are its `;`)."""
    cell = ";".join(line for line in text.splitlines() if line.strip())
    try:
        found = entries.parse_members(cell)
        return msgspec.convert(
            [{"email": m.email, "name": m.name} for m in found], list[schemas.MemberIn]
        )
    except Unprocessable as exc:
        errors["members"] = exc.detail
    except msgspec.ValidationError as exc:
        errors["members"] = translatable("Not a list of members: %(problem)s", problem=str(exc))
    return []


def _refusal(exc: DomainError) -> dict[str, str]:
    """The service's refusal beside its field: the members' checks are the only ones an
    entry's words can fail once the form is read."""
    if isinstance(exc, Unprocessable):
        return {"members": exc.detail}
    return domain_errors(exc)


async def _posted(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: value for key in form if isinstance(value := form.get(key), str)}


async def _entry_of(event: Event, entry_id: int) -> Entry:
    entry = await entries.get_entry(entry_id)
    if entry.event_id != event.id:  # type: ignore[attr-defined]
        raise NotFound(translatable("No entry %(entry_id)s.", entry_id=entry_id))
    return entry


@get("/competitions/{competition_id:int}/entries/new", name="console:entry-new")
async def new_entry(request: Request[Any, Any, Any], competition_id: FromPath[int]) -> Template:
    event = await competition(competition_id)
    return await _entry_form(request, event, None, {}, {})


@post("/competitions/{competition_id:int}/entries/new", name="console:entry-create")
async def create_entry(
    request: Request[Any, Any, Any], competition_id: FromPath[int]
) -> Template | Redirect:
    event = await competition(competition_id)
    raw = await _posted(request)
    form = parse_form(raw, schemas.EntryIn, only=FIELDS)
    errors = dict(form.errors)
    members = _posted_members(raw.get("members", ""), errors)
    if not errors and form.value is not None:
        try:
            entry = await entries.create_entry(
                event.id, msgspec.structs.replace(form.value, members=members)
            )
        except DomainError as exc:
            errors = _refusal(exc)
        else:
            return done(
                request,
                f"/admin/competitions/{event.id}/entries",
                translatable("“%(title)s” was added.", title=entry.title),
            )
    return await _entry_form(request, event, None, form.values, errors, status_code=422)


@get(
    "/competitions/{competition_id:int}/entries/{entry_id:int}/edit", name="console:entry-edit-form"
)
async def edit_entry(
    request: Request[Any, Any, Any], competition_id: FromPath[int], entry_id: FromPath[int]
) -> Template:
    event = await competition(competition_id)
    entry = await _entry_of(event, entry_id)
    shown = (await entries.entry_out([entry]))[0]
    erased = sum(1 for m in shown.members if m.email is None)
    values = {
        "title": shown.title,
        "team_name": shown.team_name,
        "organisation": shown.organisation or "",
        "track": shown.track,
        "summary": shown.summary,
        "members": _members_text(shown.members),
    }
    return await _entry_form(request, event, entry, values, {}, erased_members=erased)


@post("/competitions/{competition_id:int}/entries/{entry_id:int}/edit", name="console:entry-edit")
async def save_entry(
    request: Request[Any, Any, Any], competition_id: FromPath[int], entry_id: FromPath[int]
) -> Template | Redirect:
    event = await competition(competition_id)
    entry = await _entry_of(event, entry_id)
    raw = await _posted(request)
    # Every field is shown: an empty one means "empty" (the title's is an error).
    raw_full = {name: raw.get(name, "") for name in FIELDS}
    form = parse_form(raw_full, schemas.EntryIn, only=FIELDS)
    errors = dict(form.errors)
    members = _posted_members(raw.get("members", ""), errors)
    if not errors and form.value is not None:
        patch = schemas.EntryPatch(
            title=form.value.title,
            summary=form.value.summary,
            team_name=form.value.team_name,
            organisation=form.value.organisation,
            track=form.value.track,
            members=members,
        )
        try:
            saved = await entries.update_entry(entry.id, patch)
        except DomainError as exc:
            errors = _refusal(exc)
        else:
            return done(
                request,
                f"/admin/competitions/{event.id}/entries",
                translatable("Your changes to “%(title)s” were saved.", title=saved.title),
            )
    values = {**form.values, "members": raw.get("members", "")}
    return await _entry_form(request, event, entry, values, errors, status_code=422)


@post(
    "/competitions/{competition_id:int}/entries/{entry_id:int}/delete", name="console:entry-delete"
)
async def delete_entry(
    request: Request[Any, Any, Any], competition_id: FromPath[int], entry_id: FromPath[int]
) -> Redirect:
    """Deletes an entry nobody has scored (the service refuses otherwise, and says why)."""
    event = await competition(competition_id)
    entry = await _entry_of(event, entry_id)
    base = f"/admin/competitions/{event.id}/entries"
    try:
        await entries.delete_entry(entry.id)
    except DomainError as exc:
        return done(request, f"{base}/{entry.id}/edit", exc.detail, "bad")
    return done(request, base, translatable("“%(title)s” was deleted.", title=entry.title))


# The CSV import


async def _import_page(
    request: Request[Any, Any, Any],
    event: Event,
    *,
    text: str = "",
    rows: list[entries.CsvRow] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    base = f"/admin/competitions/{event.id}/entries"
    bad = [row for row in rows or [] if row.error is not None]
    return console_page(
        request,
        "pages/console/entries/import.html",
        section="competitions",
        title=translatable("Import entries"),
        crumbs=_crumbs(event, (translatable("Entries"), base)),
        status_code=status_code,
        event=event,
        columns=entries.CSV_COLUMNS,
        max_rows=entries.MAX_CSV_ROWS,
        text=text,
        rows=rows,
        bad=bad,
        errors=errors or {},
    )


@get("/competitions/{competition_id:int}/entries/import", name="console:entries-import-form")
async def import_form(request: Request[Any, Any, Any], competition_id: FromPath[int]) -> Template:
    return await _import_page(request, await competition(competition_id))


@post("/competitions/{competition_id:int}/entries/import", name="console:entries-import-preview")
async def import_preview(
    request: Request[Any, Any, Any], competition_id: FromPath[int]
) -> Template:
    """Checks the file and shows every row, each bad one with its error; writes nothing."""
    event = await competition(competition_id)
    try:
        text = await uploaded_csv(request)
        if not text.strip():
            raise Unprocessable(translatable("Choose a CSV file to import."))
        rows = entries.check_entries_csv(text)
    except Unprocessable as exc:
        return await _import_page(request, event, errors={"file": exc.detail}, status_code=422)
    bad = any(row.error is not None for row in rows)
    return await _import_page(request, event, text=text, rows=rows, status_code=422 if bad else 200)


@post("/competitions/{competition_id:int}/entries/import/confirm", name="console:entries-import")
async def import_confirm(
    request: Request[Any, Any, Any], competition_id: FromPath[int]
) -> Template | Redirect:
    """Imports the previewed file: every row, or (a bad row) none."""
    event = await competition(competition_id)
    text = ""
    try:
        text = await uploaded_csv(request)
        created = await entries.import_entries(event.id, text)
    except Unprocessable as exc:
        try:
            rows: list[entries.CsvRow] | None = entries.check_entries_csv(text)
        except Unprocessable:
            rows = None
        return await _import_page(
            request,
            event,
            text=text if rows else "",
            rows=rows,
            errors={"file": exc.detail},
            status_code=422,
        )
    return done(
        request,
        f"/admin/competitions/{event.id}/entries",
        translatable("Entries imported: %(count)s.", count=len(created)),
    )


ROUTES = [
    entries_list,
    new_entry,
    create_entry,
    edit_entry,
    save_entry,
    delete_entry,
    import_form,
    import_preview,
    import_confirm,
]
