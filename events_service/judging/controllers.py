"""HTTP routes of competitions and judging: parse, guard, call the service, shape."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from litestar.response import Stream
from litestar.security.jwt import Token
from litestar.status_codes import HTTP_200_OK

from events_service.auth.guards import admin_only, judge_only
from events_service.boundary import RowIdFilter
from events_service.errors import Forbidden, Unprocessable
from events_service.judging import (
    awards,
    criteria,
    entries,
    judges,
    results,
    rounds,
    schemas,
    sheets,
    winners,
)
from events_service.judging.ranking import Ranking
from events_service.locale import translatable
from events_service.web.bodies import csv_text
from events_service.web.csv_export import MEDIA_TYPE as CSV_MEDIA_TYPE
from events_service.web.csv_export import csv_response
from models import Award, StaffUser
from models.enums import Role

AuthRequest = Request[StaffUser, Token, Any]
PUBLIC = {"exclude_from_auth": True}


class CompetitionController(Controller):
    path = "/api/v1/competitions/{event_id:int}"
    tags = ["judging: organiser"]
    guards = [admin_only]

    @get("/entries", summary="Entries of a competition")
    async def list_entries(self, event_id: FromPath[int]) -> list[schemas.EntryOut]:
        return await entries.entry_out(await entries.list_entries(event_id))

    @post("/entries", summary="Add an entry (team, organisation, members, track)")
    async def create_entry(
        self, event_id: FromPath[int], data: JSONBody[schemas.EntryIn]
    ) -> schemas.EntryOut:
        entry = await entries.create_entry(event_id, data)
        return (await entries.entry_out([entry]))[0]

    @post(
        "/entries/import",
        summary="Import entries from CSV (text/csv body; all rows or none)",
        description="Header: title, summary, team_name, organisation, track, members; "
        "members as `Name <email>; Name <email>`.",
    )
    async def import_entries(
        self, event_id: FromPath[int], request: AuthRequest
    ) -> schemas.ImportOut:
        created = await entries.import_entries(event_id, await csv_text(request))
        return schemas.ImportOut(created=len(created), entries=await entries.entry_out(created))

    @get("/rounds", summary="Rounds of a competition")
    async def list_rounds(self, event_id: FromPath[int]) -> list[schemas.RoundOut]:
        return [await rounds.round_out(r) for r in await rounds.list_rounds(event_id)]

    @post("/rounds", summary="Create a round")
    async def create_round(
        self, event_id: FromPath[int], data: JSONBody[schemas.RoundIn]
    ) -> schemas.RoundOut:
        return await rounds.round_out(await rounds.create_round(event_id, data))

    @get("/winners/preview", summary="The winner records a publication would create now")
    async def preview_winners(self, event_id: FromPath[int]) -> list[winners.WinnerOut]:
        return await winners.preview(event_id)

    @get("/winners", summary="Published winner records with the scores each came from")
    async def winners_in_detail(self, event_id: FromPath[int]) -> list[winners.WinnerOut]:
        return await winners.detailed_winners(event_id)

    @post("/winners", summary="Publish the winners of the closed final round")
    async def publish_winners(
        self, event_id: FromPath[int], request: AuthRequest
    ) -> list[winners.WinnerOut]:
        return await winners.publish(event_id, request.user)


class EntryController(Controller):
    path = "/api/v1/entries/{entry_id:int}"
    tags = ["judging: organiser"]
    guards = [admin_only]

    @get("/", summary="One entry")
    async def get_entry(self, entry_id: FromPath[int]) -> schemas.EntryOut:
        return (await entries.entry_out([await entries.get_entry(entry_id)]))[0]

    @patch("/", summary="Change an entry")
    async def update_entry(
        self, entry_id: FromPath[int], data: JSONBody[schemas.EntryPatch]
    ) -> schemas.EntryOut:
        return (await entries.entry_out([await entries.update_entry(entry_id, data)]))[0]

    @delete("/", summary="Delete an entry that has not been scored")
    async def delete_entry(self, entry_id: FromPath[int]) -> None:
        await entries.delete_entry(entry_id)


class RoundController(Controller):
    path = "/api/v1/rounds/{round_id:int}"
    tags = ["judging: organiser"]
    guards = [admin_only]

    @get("/", summary="One round")
    async def get_round(self, round_id: FromPath[int]) -> schemas.RoundOut:
        return await rounds.round_out(await rounds.get_round(round_id))

    @patch("/", summary="Change a round's settings (draft or open)")
    async def update_round(
        self, round_id: FromPath[int], data: JSONBody[schemas.RoundPatch]
    ) -> schemas.RoundOut:
        return await rounds.round_out(await rounds.update_round(round_id, data))

    @post("/entries", status_code=HTTP_200_OK, summary="Add entries to a draft round")
    async def add_entries(
        self, round_id: FromPath[int], data: JSONBody[schemas.RoundEntriesIn]
    ) -> schemas.RoundOut:
        round_ = await rounds.set_round_entries(round_id, data.entry_ids, anchors=False)
        return await rounds.round_out(round_)

    @delete("/entries/{entry_id:int}", summary="Take an entry out of a draft round")
    async def remove_entry(self, round_id: FromPath[int], entry_id: FromPath[int]) -> None:
        await rounds.remove_round_entry(round_id, entry_id)

    @put("/anchors", summary="Name the anchor entries every judge scores")
    async def set_anchors(
        self, round_id: FromPath[int], data: JSONBody[schemas.RoundEntriesIn]
    ) -> schemas.RoundOut:
        round_ = await rounds.set_round_entries(round_id, data.entry_ids, anchors=True)
        return await rounds.round_out(round_)

    @get("/criteria", summary="Criteria of a round")
    async def list_criteria(self, round_id: FromPath[int]) -> list[schemas.CriterionOut]:
        return [criteria.criterion_out(c) for c in await criteria.list_criteria(round_id)]

    @post("/criteria", summary="Add a criterion (draft round)")
    async def create_criterion(
        self, round_id: FromPath[int], data: JSONBody[schemas.CriterionIn]
    ) -> schemas.CriterionOut:
        return criteria.criterion_out(await criteria.create_criterion(round_id, data))

    @post("/assign", status_code=HTTP_200_OK, summary="Balanced, conflict-free assignment")
    async def assign(
        self, round_id: FromPath[int], data: JSONBody[schemas.AssignIn]
    ) -> schemas.AssignPlanOut:
        _, connected = await judges.assign(round_id, data.seed, data.judge_ids)
        assignments = await judges.list_assignments(round_id)
        loads: dict[int, int] = {}
        for a in assignments:
            loads[a.judge_id] = loads.get(a.judge_id, 0) + 1  # type: ignore[attr-defined]
        return schemas.AssignPlanOut(
            round_id=round_id,
            seed=data.seed,
            assignments=[judges.assignment_out(a) for a in assignments],
            loads=loads,
            connected=connected,
            warning=None
            if connected
            else "The judge-entry graph is disconnected, so judge bias cannot be estimated "
            "across groups and the ranking will fall back to z-scores; name an anchor entry "
            "(PUT /rounds/{id}/anchors) or raise judges per entry, then assign again.",
        )

    @get("/assignments", summary="Assignments of a round")
    async def list_assignments(self, round_id: FromPath[int]) -> list[schemas.AssignmentOut]:
        return [judges.assignment_out(a) for a in await judges.list_assignments(round_id)]

    @post("/assignments", summary="Assign one judge to one entry by hand")
    async def add_assignment(
        self, round_id: FromPath[int], data: JSONBody[schemas.AssignmentIn]
    ) -> schemas.AssignmentOut:
        assignment = await judges.add_assignment(round_id, data.entry_id, data.judge_id)
        return judges.assignment_out(assignment)

    @get("/history", summary="Every sheet change of the round, removed sheets included")
    async def history(self, round_id: FromPath[int]) -> list[schemas.HistoryOut]:
        return [sheets.history_out(h) for h in await sheets.round_history(round_id)]

    @get("/progress", summary="Submitted sheets per judge and per entry")
    async def progress(self, round_id: FromPath[int]) -> schemas.ProgressOut:
        return await judges.progress(round_id)

    @post("/open", status_code=HTTP_200_OK, summary="Open the round for scoring")
    async def open_round(self, round_id: FromPath[int]) -> schemas.RoundOut:
        return await rounds.round_out(await rounds.open_round(round_id))

    @post("/close", status_code=HTTP_200_OK, summary="Close the round: scores are locked")
    async def close_round(self, round_id: FromPath[int]) -> schemas.RoundOut:
        return await rounds.round_out(await results.close_round(round_id))

    @post(
        "/advance",
        status_code=HTTP_200_OK,
        summary="Move the top N, or the entries picked, to the next round",
    )
    async def advance(
        self, round_id: FromPath[int], data: JSONBody[schemas.AdvanceIn]
    ) -> schemas.AdvanceOut:
        following, chosen = await results.advance(round_id, data.top, entry_ids=data.entry_ids)
        return schemas.AdvanceOut(
            from_round_id=round_id, to_round_id=following.id, entry_ids=chosen
        )

    @get("/ranking", summary="Ranking with bias correction, uncertainty and tie-breaks")
    async def ranking(self, round_id: FromPath[int]) -> Ranking:
        return await results.round_ranking(round_id)

    @get("/results.csv", summary="Results as CSV", media_type=CSV_MEDIA_TYPE)
    async def results_csv(self, round_id: FromPath[int]) -> Stream:
        rows = await results.results_rows(round_id)
        return csv_response(f"round-{round_id}-results.csv", results.CSV_HEADER, rows)

    @get("/awards", summary="Awards of a round")
    async def list_awards(self, round_id: FromPath[int]) -> list[schemas.AwardOut]:
        await rounds.get_round(round_id)
        return [_award_out(a) for a in await Award.filter(round_id=round_id).order_by("rank_from")]

    @post("/awards", summary="Add an award filled by rank (e.g. first prize: rank 1)")
    async def create_award(
        self, round_id: FromPath[int], data: JSONBody[schemas.AwardIn]
    ) -> schemas.AwardOut:
        return _award_out(await awards.create_award(round_id, data))


def _award_out(a: Award) -> schemas.AwardOut:
    return schemas.AwardOut(
        id=a.id,
        round_id=a.round_id,  # type: ignore[attr-defined]
        name=a.name,
        rank_from=a.rank_from,
        rank_to=a.rank_to,
    )


class CriterionController(Controller):
    path = "/api/v1/criteria/{criterion_id:int}"
    tags = ["judging: organiser"]
    guards = [admin_only]

    @patch("/", summary="Change a criterion (draft round)")
    async def update_criterion(
        self, criterion_id: FromPath[int], data: JSONBody[schemas.CriterionPatch]
    ) -> schemas.CriterionOut:
        return criteria.criterion_out(await criteria.update_criterion(criterion_id, data))

    @delete("/", summary="Delete a criterion (draft round)")
    async def delete_criterion(self, criterion_id: FromPath[int]) -> None:
        await criteria.delete_criterion(criterion_id)


class AssignmentController(Controller):
    path = "/api/v1/assignments/{assignment_id:int}"
    tags = ["judging: organiser"]
    guards = [admin_only]

    @delete("/", summary="Remove an assignment whose sheet is not submitted (scores logged)")
    async def remove(self, assignment_id: FromPath[int], request: AuthRequest) -> None:
        await sheets.remove_assignment(assignment_id, request.user.id)

    @post("/reopen", status_code=HTTP_200_OK, summary="Reopen a submitted sheet (logged)")
    async def reopen(
        self, assignment_id: FromPath[int], data: JSONBody[schemas.ReopenIn], request: AuthRequest
    ) -> schemas.AssignmentOut:
        assignment = await sheets.reopen_sheet(assignment_id, request.user.id, data.reason)
        return judges.assignment_out(assignment)

    @get("/history", summary="Every change of the sheet: before, after, who, when")
    async def history(self, assignment_id: FromPath[int]) -> list[schemas.HistoryOut]:
        return [sheets.history_out(h) for h in await sheets.history(assignment_id)]


class ConflictController(Controller):
    path = "/api/v1/conflicts"
    tags = ["judging: organiser"]
    guards = [admin_only]

    @get("/", summary="Declared conflicts of interest")
    async def list_conflicts(self) -> list[schemas.ConflictOut]:
        return [judges.conflict_out(c) for c in await judges.list_conflicts()]

    @post("/", summary="Declare a judge's conflict with an organisation")
    async def declare(
        self, data: JSONBody[schemas.ConflictIn], request: AuthRequest
    ) -> schemas.ConflictOut:
        if data.judge_id is None:
            raise Unprocessable(translatable("Name the judge (judge_id)."))
        conflict = await judges.declare_conflict(
            data.judge_id, data.organisation, request.user.id, data.reason
        )
        return judges.conflict_out(await judges.get_conflict(conflict.id))

    @delete("/{conflict_id:int}", summary="Withdraw a conflict declaration")
    async def withdraw(self, conflict_id: FromPath[int]) -> None:
        await judges.delete_conflict(conflict_id)


class JudgeController(Controller):
    path = "/api/v1/judge"
    tags = ["judging: judge"]
    guards = [judge_only]

    @get("/assignments", summary="My assignments (open and closed rounds)")
    async def my_assignments(self, request: AuthRequest) -> list[schemas.JudgeAssignmentOut]:
        return await sheets.judge_assignments(request.user.id)

    @get("/assignments/{assignment_id:int}", summary="One of my assignments")
    async def my_assignment(
        self, assignment_id: FromPath[int], request: AuthRequest
    ) -> schemas.JudgeAssignmentOut:
        return (await sheets.judge_assignments(request.user.id, assignment_id))[0]

    @put("/assignments/{assignment_id:int}/scores", summary="Save a draft or submit my sheet")
    async def save_scores(
        self, assignment_id: FromPath[int], data: JSONBody[schemas.SheetIn], request: AuthRequest
    ) -> schemas.JudgeAssignmentOut:
        await sheets.save_sheet(assignment_id, request.user.id, data.scores, data.submit)
        return (await sheets.judge_assignments(request.user.id, assignment_id))[0]

    @get("/conflicts", summary="My declared conflicts")
    async def my_conflicts(self, request: AuthRequest) -> list[schemas.ConflictOut]:
        return [judges.conflict_out(c) for c in await judges.list_conflicts(request.user.id)]

    @post("/conflicts", summary="Declare a conflict with an organisation")
    async def declare(
        self, data: JSONBody[schemas.ConflictIn], request: AuthRequest
    ) -> schemas.ConflictOut:
        if (
            data.judge_id not in (None, request.user.id)
            and Role.ADMIN.value not in request.user.roles
        ):
            raise Forbidden(translatable("A judge declares their own conflicts."))
        judge_id = data.judge_id or request.user.id
        conflict = await judges.declare_conflict(
            judge_id, data.organisation, request.user.id, data.reason
        )
        return judges.conflict_out(await judges.get_conflict(conflict.id))


class WinnersController(Controller):
    path = "/api/v1/winners"
    tags = ["winners"]

    @get(
        "/",
        summary="Published winner records (public): results and hashes, not the judges' scores",
        description="The per-judge scores each record came from are for organisers: "
        "GET /api/v1/competitions/{event_id}/winners.",
        opt=PUBLIC,
    )
    async def list_winners(self, event_id: RowIdFilter = None) -> list[winners.PublicWinnerOut]:
        return await winners.public_winners(event_id)

    @get("/verify", summary="Recompute the hash chain and report tampering (public)", opt=PUBLIC)
    async def verify(self) -> winners.VerifyOut:
        return await winners.verify()

    @post(
        "/{record_id:int}/supersede",
        guards=[admin_only],
        summary="Correct a record: a new record that supersedes it, with the reason",
    )
    async def supersede(
        self, record_id: FromPath[int], data: JSONBody[schemas.SupersedeIn], request: AuthRequest
    ) -> winners.WinnerOut:
        return await winners.supersede(
            record_id, request.user, data.reason, data.entry_id, data.rank, data.award_title
        )
