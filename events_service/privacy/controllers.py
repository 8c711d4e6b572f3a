"""Admin routes: erase a person now, export what the service holds about them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath

from events_service.auth.guards import privacy_officer
from events_service.deps import SettingsDep
from events_service.privacy import service


class ErasureOut(msgspec.Struct):
    person_id: int
    erased: bool
    fields: list[str]


class PeopleController(Controller):
    path = "/api/v1/people"
    tags = ["privacy"]
    guards = [privacy_officer]

    @post("/{person_id:int}/erase", status_code=200, summary="Erase a person's personal data")
    async def erase(
        self, request: Request[Any, Any, Any], person_id: FromPath[int], settings: SettingsDep
    ) -> ErasureOut:
        erased = await service.erase_person(
            person_id, actor=service.STAFF, staff_id=request.user.id, settings=settings
        )
        return ErasureOut(person_id, bool(erased), list(settings.retention_fields))

    @get("/{person_id:int}/export", summary="Everything held about a person (JSON)")
    async def export(self, person_id: FromPath[int]) -> dict[str, Any]:
        return await service.export_person(person_id)
