"""Programme routes: KPIs (public), their records (admin), financing and service records."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, PathParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from events_service.auth.guards import admin_only
from events_service.boundary import Limit, Offset
from events_service.deps import SettingsDep
from events_service.programme import ledger
from events_service.programme.kpis import ProgrammeStatus, programme_status
from events_service.programme.records import kpi_records
from events_service.web.bodies import csv_text
from models import Milestone


class MilestoneOut(msgspec.Struct):
    kpi: str
    percent: int
    value: int
    target: int
    reached_at: datetime


class RecordPageOut(msgspec.Struct):
    kpi: str
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


def _csv(rows: list[dict[str, Any]], filename: str) -> Response[str]:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@get("/api/v1/programme", tags=["programme"], summary="KPIs against targets, with pace (public)")
async def programme(settings: SettingsDep) -> ProgrammeStatus:
    return await programme_status(settings)


@get(
    "/api/v1/programme/milestones",
    tags=["programme"],
    summary="Milestones reached: 25/50/75/100 % of a target (public)",
)
async def milestones() -> list[MilestoneOut]:
    return [
        MilestoneOut(m.kpi, m.percent, m.value, m.target, m.reached_at)
        for m in await Milestone.all().order_by("reached_at", "id")
    ]


KpiName = Annotated[str, PathParameter(min_length=1, max_length=40)]


class KpiRecordsController(Controller):
    path = "/api/v1/programme/kpis/{name:str}"
    tags = ["programme"]
    guards = [admin_only]

    @get("/records", summary="The records behind a KPI, paginated")
    async def records(
        self, name: KpiName, settings: SettingsDep, limit: Limit = 50, offset: Offset = 0
    ) -> RecordPageOut:
        page = await kpi_records(name, settings, limit=limit, offset=offset)
        return RecordPageOut(page.kpi, page.total, page.limit, page.offset, page.items)

    @get("/records.csv", summary="Every record behind a KPI, as CSV")
    async def records_csv(self, name: KpiName, settings: SettingsDep) -> Response[str]:
        page = await kpi_records(name, settings, limit=None)
        return _csv(page.items, f"{name}-records.csv")


class FinancingController(Controller):
    path = "/api/v1/financings"
    tags = ["programme"]
    guards = [admin_only]

    @get(summary="Financing records (startups financed)")
    async def list_financings(self) -> list[ledger.FinancingOut]:
        return [ledger.financing_out(r) for r in await ledger.list_financings()]

    @post(summary="Record a financing")
    async def create_financing(self, data: JSONBody[ledger.FinancingIn]) -> ledger.FinancingOut:
        return ledger.financing_out(await ledger.create_financing(data))

    @patch("/{record_id:int}", summary="Correct a financing record")
    async def update_financing(
        self, record_id: FromPath[int], data: JSONBody[ledger.FinancingPatch]
    ) -> ledger.FinancingOut:
        return ledger.financing_out(await ledger.update_financing(record_id, data))

    @delete("/{record_id:int}", status_code=HTTP_204_NO_CONTENT, summary="Delete a record")
    async def delete_financing(self, record_id: FromPath[int]) -> None:
        await ledger.delete_financing(record_id)

    @post(
        "/import",
        summary="Import financing records from CSV (all or nothing)",
        description="Columns: " + ",".join(ledger.FINANCING_COLUMNS) + " (UTF-8, header row).",
    )
    async def import_financings(self, request: Request[Any, Any, Any]) -> list[ledger.FinancingOut]:
        text = await csv_text(request)
        return [ledger.financing_out(r) for r in await ledger.import_financings(text)]


class ServiceController(Controller):
    path = "/api/v1/services"
    tags = ["programme"]
    guards = [admin_only]

    @get(summary="Service records (firms served)")
    async def list_services(self) -> list[ledger.ServiceOut]:
        return [ledger.service_out(r) for r in await ledger.list_services()]

    @post(summary="Record a service given to a firm")
    async def create_service(self, data: JSONBody[ledger.ServiceIn]) -> ledger.ServiceOut:
        return ledger.service_out(await ledger.create_service(data))

    @patch("/{record_id:int}", summary="Correct a service record")
    async def update_service(
        self, record_id: FromPath[int], data: JSONBody[ledger.ServicePatch]
    ) -> ledger.ServiceOut:
        return ledger.service_out(await ledger.update_service(record_id, data))

    @delete("/{record_id:int}", status_code=HTTP_204_NO_CONTENT, summary="Delete a record")
    async def delete_service(self, record_id: FromPath[int]) -> None:
        await ledger.delete_service(record_id)

    @post(
        "/import",
        summary="Import service records from CSV (all or nothing)",
        description="Columns: " + ",".join(ledger.SERVICE_COLUMNS) + " (UTF-8, header row).",
    )
    async def import_services(self, request: Request[Any, Any, Any]) -> list[ledger.ServiceOut]:
        text = await csv_text(request)
        return [ledger.service_out(r) for r in await ledger.import_services(text)]
