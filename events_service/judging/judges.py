"""Judges of a round: conflicts of interest, assignment, progress."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.judging import schemas
from events_service.judging.assignment import AssignmentImpossible, plan_assignment
from events_service.judging.entries import organisation_named
from events_service.judging.rounds import get_round, require_status
from events_service.locale import translatable
from models import (
    ConflictDeclaration,
    Entry,
    Event,
    JudgeAssignment,
    Round,
    RoundEntry,
    Score,
    StaffUser,
)
from models.enums import AssignmentStatus, Role, RoundStatus
from notifications.outbox import Kind, dedupe_key, enqueue


class AssignmentNotPossible(Unprocessable):
    slug = "assignment-impossible"
    title = "No assignment satisfies the constraints"


# --- judges and conflicts -------------------------------------------------------------


async def active_judges(judge_ids: Sequence[int] | None = None) -> list[StaffUser]:
    query = StaffUser.filter(active=True).order_by("id")
    if judge_ids is not None:
        query = query.filter(id__in=judge_ids)
    judges = [u for u in await query if Role.JUDGE.value in u.roles]
    if judge_ids is not None:
        missing = set(judge_ids) - {j.id for j in judges}
        if missing:
            raise Unprocessable(translatable("Not active judges: %(ids)s.", ids=sorted(missing)))
    return judges


async def declare_conflict(
    judge_id: int, organisation_name: str, declared_by: int, reason: str = ""
) -> ConflictDeclaration:
    await active_judges([judge_id])
    organisation = await organisation_named(organisation_name)
    assert organisation is not None
    conflict, _ = await ConflictDeclaration.get_or_create(
        judge_id=judge_id,
        organisation_id=organisation.id,
        defaults={"declared_by_id": declared_by, "reason": reason.strip()},
    )
    return conflict


async def list_conflicts(judge_id: int | None = None) -> list[ConflictDeclaration]:
    query = ConflictDeclaration.all().select_related("organisation").order_by("id")
    if judge_id is not None:
        query = query.filter(judge_id=judge_id)
    return await query


async def get_conflict(conflict_id: int) -> ConflictDeclaration:
    conflict = await ConflictDeclaration.get_or_none(id=conflict_id).select_related("organisation")
    if conflict is None:
        raise NotFound(
            translatable("No conflict declaration %(conflict_id)s.", conflict_id=conflict_id)
        )
    return conflict


async def delete_conflict(conflict_id: int) -> None:
    if not await ConflictDeclaration.filter(id=conflict_id).delete():
        raise NotFound(
            translatable("No conflict declaration %(conflict_id)s.", conflict_id=conflict_id)
        )


def conflict_out(c: ConflictDeclaration) -> schemas.ConflictOut:
    return schemas.ConflictOut(
        id=c.id,
        judge_id=c.judge_id,  # type: ignore[attr-defined]
        organisation_id=c.organisation_id,  # type: ignore[attr-defined]
        organisation=c.organisation.name,
        declared_by_id=c.declared_by_id,  # type: ignore[attr-defined]
        reason=c.reason,
        created_at=c.created_at,
    )


async def _conflict_pairs() -> set[tuple[int, int]]:
    rows = await ConflictDeclaration.all().values_list("judge_id", "organisation_id")
    return {(j, o) for j, o in rows}


# --- assignment ------------------------------------------------------------------------


async def assign(round_id: int, seed: int, judge_ids: Sequence[int] | None) -> tuple[Round, bool]:
    """Replace the round's assignments by a balanced, conflict-free, connected plan."""
    round_ = await get_round(round_id)
    require_status(round_, RoundStatus.DRAFT, RoundStatus.OPEN, doing="assigning judges")
    judges = await active_judges(judge_ids)
    rows = await RoundEntry.filter(round_id=round_id).values_list(
        "entry_id", "entry__organisation_id", "anchor"
    )
    if not rows:
        raise Conflict(translatable("The round has no entries."))
    try:
        plan = plan_assignment(
            entries={e: org for e, org, _ in rows},
            judges=[j.id for j in judges],
            k=round_.judges_per_entry,
            conflicts=await _conflict_pairs(),
            anchors=[e for e, _, anchor in rows if anchor],
            seed=seed,
        )
    except AssignmentImpossible as exc:
        raise AssignmentNotPossible(str(exc)) from None
    async with in_transaction() as conn:
        if await Score.filter(assignment__round_id=round_id).exists():
            raise Conflict(
                translatable(
                    "Sheets of this round already hold scores; use manual add/remove instead."
                )
            )
        await JudgeAssignment.filter(round_id=round_id).delete()
        await JudgeAssignment.bulk_create(
            [JudgeAssignment(round_id=round_id, entry_id=e, judge_id=j) for e, j in plan.pairs]
        )
        await _tell_judges(conn, round_, judges, plan.pairs)
    return round_, plan.connected


async def _tell_judges(
    conn: BaseDBAsyncClient,
    round_: Round,
    judges: Sequence[StaffUser],
    pairs: Iterable[tuple[int, int]],
) -> None:
    """One message per judge with their share of the plan, in the plan's transaction.

    The key holds the judge's entries: running the same plan again queues nothing,
    a changed plan tells each judge whose share changed."""
    entries_of: dict[int, list[int]] = defaultdict(list)
    for entry_id, judge_id in pairs:
        entries_of[judge_id].append(entry_id)
    event = await Event.get(id=round_.event_id).using_db(conn)  # type: ignore[attr-defined]
    for judge in judges:
        share = sorted(entries_of.get(judge.id, []))
        if not share:
            continue
        digest = hashlib.sha256(",".join(map(str, share)).encode()).hexdigest()[:12]
        await enqueue(
            kind=Kind.JUDGE_ASSIGNED,
            dedupe_key=dedupe_key(Kind.JUDGE_ASSIGNED, round_.id, judge.id, digest),
            recipient=judge.email,
            payload={
                "name": judge.name or judge.email,
                "round": round_.name,
                "event": event.title,
                "count": len(share),
                "path": "/judge",
            },
            using_db=conn,
        )


async def add_assignment(round_id: int, entry_id: int, judge_id: int) -> JudgeAssignment:
    round_ = await get_round(round_id)
    require_status(round_, RoundStatus.DRAFT, RoundStatus.OPEN, doing="assigning judges")
    await active_judges([judge_id])
    entry = await RoundEntry.get_or_none(round_id=round_id, entry_id=entry_id).select_related(
        "entry"
    )
    if entry is None:
        raise Unprocessable(
            translatable(
                "Entry %(entry_id)s is not in round %(round_id)s.",
                entry_id=entry_id,
                round_id=round_id,
            )
        )
    org = entry.entry.organisation_id  # type: ignore[attr-defined]
    if org is not None and (judge_id, org) in await _conflict_pairs():
        raise Conflict(
            translatable(
                "Judge %(judge_id)s declared a conflict with this entry's organisation.",
                judge_id=judge_id,
            )
        )
    try:
        return await JudgeAssignment.create(round_id=round_id, entry_id=entry_id, judge_id=judge_id)
    except IntegrityError:
        raise Conflict(
            translatable(
                "Judge %(judge_id)s is already assigned to entry %(entry_id)s.",
                judge_id=judge_id,
                entry_id=entry_id,
            )
        ) from None


async def list_assignments(round_id: int) -> list[JudgeAssignment]:
    await get_round(round_id)
    return await JudgeAssignment.filter(round_id=round_id).order_by("entry_id", "judge_id")


def assignment_out(a: JudgeAssignment) -> schemas.AssignmentOut:
    return schemas.AssignmentOut(
        id=a.id,
        round_id=a.round_id,  # type: ignore[attr-defined]
        entry_id=a.entry_id,  # type: ignore[attr-defined]
        judge_id=a.judge_id,  # type: ignore[attr-defined]
        status=str(a.status),
        submitted_at=a.submitted_at,
        reopened_at=a.reopened_at,
    )


async def progress(round_id: int) -> schemas.ProgressOut:
    round_ = await get_round(round_id)
    rows = await JudgeAssignment.filter(round_id=round_id).values_list(
        "judge_id", "entry_id", "status"
    )
    judges = {
        u.id: u.name or u.email
        for u in await StaffUser.filter(id__in={j for j, _, _ in rows}).only("id", "name", "email")
    }
    titles = dict(await Entry.filter(round_entries__round_id=round_id).values_list("id", "title"))
    per_judge: dict[int, list[int]] = {}
    per_entry: dict[int, list[int]] = {e: [0, 0] for e in titles}
    for judge, entry, status in rows:
        counts = per_judge.setdefault(judge, [0, 0, 0])
        counts[0] += 1
        counts[1] += status == AssignmentStatus.SUBMITTED
        counts[2] += status == AssignmentStatus.DRAFT
        e = per_entry.setdefault(entry, [0, 0])
        e[0] += 1
        e[1] += status == AssignmentStatus.SUBMITTED
    return schemas.ProgressOut(
        round_id=round_id,
        status=str(round_.status),
        sheets=len(rows),
        submitted=sum(1 for _, _, s in rows if s == AssignmentStatus.SUBMITTED),
        judges=[
            schemas.JudgeProgress(
                judge_id=j, name=judges.get(j, ""), assigned=a, submitted=s, drafts=d
            )
            for j, (a, s, d) in sorted(per_judge.items())
        ],
        entries=[
            schemas.EntryProgress(entry_id=e, title=titles.get(e, ""), assigned=a, submitted=s)
            for e, (a, s) in sorted(per_entry.items())
        ],
    )
