"""The one CSV writer behind every export (registrations, round results, KPI records).

What a spreadsheet makes of the file matters more than the file:

- A cell of user text starting with `= + - @`, a tab or a carriage return is a
  formula to Excel and LibreOffice (`=HYPERLINK("http://evil.test","x")` as a name).
  Such text gets a leading single quote, as OWASP recommends for CSV injection;
  numbers and dates the service produced itself are written as they are.
- The body starts with a UTF-8 byte order mark, or Excel reads 王芳 as mojibake.
- Rows are streamed in chunks as they come from the database, so an export of a
  large event never sits whole in memory.
- One `Content-Type: text/csv; charset=utf-8` (Litestar adds the charset to a
  `text/` media type; naming it again sent it twice).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from litestar.response import Stream

MEDIA_TYPE = "text/csv"
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows per chunk written to the client: small enough to keep memory flat, large
# enough that a chunk is worth a write.
CHUNK_ROWS = 500


def cell(value: object) -> str:
    """One value as CSV text, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


async def _aiter(rows: Iterable[Sequence[object]]) -> AsyncIterator[Sequence[object]]:
    for row in rows:
        yield row


async def csv_chunks(
    header: Sequence[str], rows: AsyncIterable[Sequence[object]] | Iterable[Sequence[object]]
) -> AsyncIterator[bytes]:
    """The encoded file, BOM and header first, then about CHUNK_ROWS rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(header)
    pending = 0
    source = rows if isinstance(rows, AsyncIterable) else _aiter(rows)
    async for row in source:
        writer.writerow([cell(value) for value in row])
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


def csv_response(
    filename: str,
    header: Sequence[str],
    rows: AsyncIterable[Sequence[object]] | Iterable[Sequence[object]],
) -> Stream:
    """A streamed CSV download. Raise refusals (404, 403) before calling this: once the
    stream starts, the status line has been sent."""
    headers: dict[str, Any] = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Stream(csv_chunks(header, rows), media_type=MEDIA_TYPE, headers=headers)
