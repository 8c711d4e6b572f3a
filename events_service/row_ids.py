"""Row ids as the outside world may name them.

Our primary keys are 32-bit integers on PostgreSQL. An id beyond that range names
no record, but PostgreSQL refuses to even compare it (asyncpg raises before the
query runs), so without a check at the edge a typo'd or hostile id became a 500.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Request

from events_service.errors import NotFound

MAX_ROW_ID = 2**31 - 1

# For ids in request bodies: out of range is a validation error naming the field.
RowId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ROW_ID)]


async def refuse_ids_out_of_range(request: Request) -> None:
    """An integer path parameter no row can have is a plain 404, as for any missing id.

    Runs before every handler (Litestar's before_request), after authentication and
    guards, so a stranger still learns nothing beyond 401/403.
    """
    for name, value in request.path_params.items():
        if isinstance(value, int) and not 0 <= value <= MAX_ROW_ID:
            raise NotFound(f"No record with {name} {value}.")
