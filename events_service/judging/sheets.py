"""Judges' score sheets: drafts, submission, admin reopen, and the history of each sheet.

Every write of a sheet opens its transaction with a conditional update of the
assignment row (``status != submitted``, version + 1). On PostgreSQL that statement
takes the row lock, so concurrent writes of one sheet run one after the other and
each re-checks the state the previous one left; on SQLite the single writer gives the
same order. A submitted sheet therefore cannot be overwritten by a late draft, and
the stored sheet is always exactly one request's scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.judging import schemas
from events_service.judging.criteria import criterion_out
from events_service.judging.rounds import RoundAction, require_status
from events_service.locale import translatable
from models import Criterion, EntryMember, JudgeAssignment, Round, Score, ScoreHistory
from models.enums import AssignmentStatus, RoundStatus


class SheetSubmitted(Conflict):
    slug = "sheet-submitted"
    title = "The sheet is already submitted"


async def own_assignment(assignment_id: int, judge_id: int) -> JudgeAssignment:
    """The judge's own assignment; someone else's looks exactly like a missing one."""
    assignment = await JudgeAssignment.get_or_none(id=assignment_id, judge_id=judge_id)
    if assignment is None:
        raise NotFound(
            translatable("You have no assignment %(assignment_id)s.", assignment_id=assignment_id)
        )
    return assignment


def _checked_scores(
    scores: Sequence[schemas.ScoreIn], criteria: dict[int, Criterion]
) -> dict[int, schemas.ScoreIn]:
    checked: dict[int, schemas.ScoreIn] = {}
    for score in scores:
        criterion = criteria.get(score.criterion_id)
        if criterion is None:
            raise Unprocessable(
                translatable(
                    "Criterion %(criterion)s is not a criterion of this round.",
                    criterion=score.criterion_id,
                ),
                extra={"criterion_id": score.criterion_id},
            )
        if score.criterion_id in checked:
            raise Unprocessable(
                translatable(
                    "Criterion %(score_criterion_id)s is scored twice.",
                    score_criterion_id=score.criterion_id,
                )
            )
        low, high = Decimal(criterion.scale_min), Decimal(criterion.scale_max)
        step = Decimal(criterion.scale_step)
        value = Decimal(str(score.value))
        if not low <= value <= high or (value - low) % step:
            raise Unprocessable(
                translatable(
                    "%(criterion)s: %(value)s is not on the scale %(low)s-%(high)s "
                    "in steps of %(step)s.",
                    criterion=criterion.name,
                    value=score.value,
                    low=low,
                    high=high,
                    step=step,
                ),
                extra={"criterion_id": criterion.id},
            )
        checked[score.criterion_id] = score
    return checked


def _fmt(value: object) -> str:
    # One spelling per value on both engines ("7.0", never "7" or "7.00").
    return str(Decimal(str(value)).quantize(Decimal("0.1")))


def _snapshot(rows: Sequence[Score]) -> dict[str, dict[str, str]]:
    return {
        str(s.criterion_id): {"value": _fmt(s.value), "comment": s.comment}  # type: ignore[attr-defined]
        for s in sorted(rows, key=lambda s: s.criterion_id)  # type: ignore[attr-defined]
    }


def _require_window(round_: Round) -> None:
    """An open round still only takes scores between its opening and closing times."""
    now = timezone.now()
    if round_.opens_at and now < round_.opens_at:
        raise Conflict(translatable("Scoring opens at %(at)s.", at=round_.opens_at.isoformat()))
    if round_.closes_at and now > round_.closes_at:
        raise Conflict(translatable("Scoring closed at %(at)s.", at=round_.closes_at.isoformat()))


async def save_sheet(
    assignment_id: int, judge_id: int, scores: Sequence[schemas.ScoreIn], submit: bool
) -> JudgeAssignment:
    """Replace the judge's draft scores (and submit them if asked); nothing on refusal."""
    assignment = await own_assignment(assignment_id, judge_id)
    round_ = await Round.get(id=assignment.round_id)  # type: ignore[attr-defined]
    require_status(round_, RoundAction.SCORING)
    _require_window(round_)
    criteria = {c.id: c for c in await Criterion.filter(round_id=round_.id)}
    checked = _checked_scores(scores, criteria)
    if submit and set(checked) != set(criteria):
        missing = sorted(c.name for i, c in criteria.items() if i not in checked)
        raise Unprocessable(
            translatable(
                "A sheet is submitted complete; missing: %(missing)s.", missing=", ".join(missing)
            ),
            extra={"missing": missing},
        )
    now = timezone.now()
    new_status = AssignmentStatus.SUBMITTED if submit else AssignmentStatus.DRAFT
    async with in_transaction() as conn:
        changes: dict[str, Any] = {"version": F("version") + 1, "status": new_status}
        if submit:
            changes["submitted_at"] = now
        locked = (
            await JudgeAssignment.filter(id=assignment_id, status__not=AssignmentStatus.SUBMITTED)
            .using_db(conn)
            .update(**changes)
        )
        if not locked:
            raise SheetSubmitted(
                translatable("This sheet is submitted and final; an organiser can reopen it.")
            )
        # Read after taking the lock: a round closed meanwhile refuses the write.
        current_round = await Round.get(id=round_.id).using_db(conn)
        require_status(current_round, RoundAction.SCORING)
        previous = await Score.filter(assignment_id=assignment_id).using_db(conn)
        before = _snapshot(previous)
        await Score.filter(assignment_id=assignment_id).using_db(conn).delete()
        await Score.bulk_create(
            [
                Score(
                    assignment_id=assignment_id,
                    criterion_id=s.criterion_id,
                    value=Decimal(str(s.value)),
                    comment=s.comment.strip(),
                )
                for s in checked.values()
            ],
            using_db=conn,
        )
        after = {
            str(cid): {"value": _fmt(s.value), "comment": s.comment.strip()}
            for cid, s in sorted(checked.items())
        }
        if before != after or submit or assignment.status != new_status:
            action = "submit" if submit else ("create" if not previous else "update")
            await ScoreHistory.create(
                assignment_id=assignment_id,
                round_id=round_.id,
                entry_id=assignment.entry_id,  # type: ignore[attr-defined]
                judge_id=judge_id,
                action=action,
                actor_id=judge_id,
                status_before=str(assignment.status),
                status_after=str(new_status),
                before=before,
                after=after,
                using_db=conn,
            )
    return await JudgeAssignment.get(id=assignment_id)


async def reopen_sheet(assignment_id: int, admin_id: int, reason: str) -> JudgeAssignment:
    assignment = await JudgeAssignment.get_or_none(id=assignment_id).select_related("round")
    if assignment is None:
        raise NotFound(
            translatable("No assignment %(assignment_id)s.", assignment_id=assignment_id)
        )
    require_status(assignment.round, RoundAction.REOPENING_SHEET)
    async with in_transaction() as conn:
        reopened = (
            await JudgeAssignment.filter(id=assignment_id, status=AssignmentStatus.SUBMITTED)
            .using_db(conn)
            .update(
                status=AssignmentStatus.DRAFT,
                reopened_at=timezone.now(),
                version=F("version") + 1,
            )
        )
        if not reopened:
            raise Conflict(translatable("Only a submitted sheet can be reopened."))
        snapshot = _snapshot(await Score.filter(assignment_id=assignment_id).using_db(conn))
        await ScoreHistory.create(
            assignment_id=assignment_id,
            round_id=assignment.round.id,
            entry_id=assignment.entry_id,  # type: ignore[attr-defined]
            judge_id=assignment.judge_id,  # type: ignore[attr-defined]
            action="reopen",
            actor_id=admin_id,
            status_before=AssignmentStatus.SUBMITTED.value,
            status_after=AssignmentStatus.DRAFT.value,
            before=snapshot,
            after=snapshot,
            reason=reason.strip(),
            using_db=conn,
        )
    return await JudgeAssignment.get(id=assignment_id)


async def history(assignment_id: int) -> list[ScoreHistory]:
    if not await JudgeAssignment.exists(id=assignment_id):
        raise NotFound(
            translatable("No assignment %(assignment_id)s.", assignment_id=assignment_id)
        )
    return await ScoreHistory.filter(assignment_id=assignment_id).order_by("id")


async def round_history(round_id: int) -> list[ScoreHistory]:
    """Every sheet change of a round, removed assignments' included."""
    if not await Round.exists(id=round_id):
        raise NotFound(translatable("No round %(round_id)s.", round_id=round_id))
    return await ScoreHistory.filter(round_id=round_id).order_by("id")


async def remove_assignment(assignment_id: int, admin_id: int) -> None:
    """Remove an unsubmitted assignment; scores it held are logged before they go."""
    assignment = await JudgeAssignment.get_or_none(id=assignment_id).select_related("round")
    if assignment is None:
        raise NotFound(
            translatable("No assignment %(assignment_id)s.", assignment_id=assignment_id)
        )
    require_status(assignment.round, RoundAction.REMOVING_ASSIGNMENTS)
    async with in_transaction() as conn:
        await take_out_unsubmitted(conn, assignment, admin_id)


async def take_out_unsubmitted(
    conn: BaseDBAsyncClient, assignment: JudgeAssignment, admin_id: int
) -> None:
    """Delete an assignment whose sheet is not submitted, in the caller's transaction
    (`conn`); the scores it held are logged first. Refused (Conflict) once submitted."""
    assignment_id = assignment.id
    # Lock the row first, as every sheet write does, so a submission cannot slip in.
    locked = (
        await JudgeAssignment.filter(id=assignment_id, status__not=AssignmentStatus.SUBMITTED)
        .using_db(conn)
        .update(version=F("version") + 1)
    )
    if not locked:
        raise Conflict(translatable("The sheet is submitted; reopen it first if it must go."))
    before = _snapshot(await Score.filter(assignment_id=assignment_id).using_db(conn))
    if before:
        await ScoreHistory.create(
            assignment_id=assignment_id,
            round_id=assignment.round_id,  # type: ignore[attr-defined]
            entry_id=assignment.entry_id,  # type: ignore[attr-defined]
            judge_id=assignment.judge_id,  # type: ignore[attr-defined]
            action="remove",
            actor_id=admin_id,
            status_before=str(assignment.status),
            status_after="removed",
            before=before,
            after={},
            using_db=conn,
        )
    await JudgeAssignment.filter(id=assignment_id).using_db(conn).delete()


def history_out(h: ScoreHistory) -> schemas.HistoryOut:
    return schemas.HistoryOut(
        id=h.id,
        assignment_id=h.assignment_id,  # type: ignore[attr-defined]
        round_id=h.round_id,  # type: ignore[attr-defined]
        entry_id=h.entry_id,  # type: ignore[attr-defined]
        judge_id=h.judge_id,  # type: ignore[attr-defined]
        action=h.action,
        actor_id=h.actor_id,  # type: ignore[attr-defined]
        status_before=h.status_before,
        status_after=h.status_after,
        before=h.before,
        after=h.after,
        reason=h.reason,
        at=h.at,
    )


async def judge_assignments(
    judge_id: int, assignment_id: int | None = None
) -> list[schemas.JudgeAssignmentOut]:
    """The judge's own assignments with entry, criteria and only their own scores."""
    query = JudgeAssignment.filter(judge_id=judge_id).select_related(
        "round", "entry", "entry__organisation"
    )
    if assignment_id is not None:
        query = query.filter(id=assignment_id)
    assignments = await query.order_by("round_id", "entry_id")
    visible = [a for a in assignments if a.round.status != RoundStatus.DRAFT]
    if assignment_id is not None and not visible:
        # A draft round's assignments are not shown to judges yet.
        raise NotFound(
            translatable("You have no assignment %(assignment_id)s.", assignment_id=assignment_id)
        )
    assignments = visible
    round_ids = {a.round_id for a in assignments}  # type: ignore[attr-defined]
    criteria: dict[int, list[schemas.CriterionOut]] = {r: [] for r in round_ids}
    for c in await Criterion.filter(round_id__in=round_ids).order_by("position", "id"):
        criteria[c.round_id].append(criterion_out(c))  # type: ignore[attr-defined]
    scores: dict[int, list[schemas.ScoreOut]] = {a.id: [] for a in assignments}
    for s in await Score.filter(assignment_id__in=list(scores)).order_by("criterion_id"):
        scores[s.assignment_id].append(  # type: ignore[attr-defined]
            schemas.ScoreOut(criterion_id=s.criterion_id, value=float(s.value), comment=s.comment)  # type: ignore[attr-defined]
        )
    return [
        schemas.JudgeAssignmentOut(
            id=a.id,
            round_id=a.round.id,
            round_name=a.round.name,
            round_status=str(a.round.status),
            status=str(a.status),
            submitted_at=a.submitted_at,
            entry=schemas.JudgeEntryOut(
                id=a.entry.id,
                title=a.entry.title,
                summary=a.entry.summary,
                team_name=a.entry.team_name,
                track=a.entry.track,
                organisation=a.entry.organisation.name if a.entry.organisation else None,
            ),
            scores=scores[a.id],
            criteria=criteria[a.round.id],
        )
        for a in assignments
    ]


async def neighbours(judge_id: int, assignment_id: int) -> tuple[int | None, int | None]:
    """The judge's previous and next assignment, in the order of their list (round,
    entry; draft rounds hidden as there): ids only, one small query."""
    ids = list(
        await JudgeAssignment.filter(judge_id=judge_id)
        .exclude(round__status=RoundStatus.DRAFT)
        .order_by("round_id", "entry_id")
        .values_list("id", flat=True)
    )
    if assignment_id not in ids:
        return None, None
    at = ids.index(assignment_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


async def member_names(entry_id: int) -> list[str]:
    """The names of an entry's members, as its judge sees them (no contact details)."""
    return list(
        await EntryMember.filter(entry_id=entry_id)
        .order_by("id")
        .values_list("person__name", flat=True)  # type: ignore[attr-defined]
    )
