"""Judges of a round: conflicts of interest, assignment, progress."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.judging import schemas
from events_service.judging.assignment import AssignmentImpossible, Plan, plan_assignment
from events_service.judging.entries import organisation_named
from events_service.judging.rounds import RoundAction, get_round, require_status, update_round
from events_service.judging.sheets import take_out_unsubmitted
from events_service.locale import DEFAULT_LOCALE, LOCALES, translatable
from events_service.locale.dates import format_instant
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
    if organisation is None:
        raise Unprocessable(translatable("Name the organisation."))
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


@dataclass(frozen=True)
class ProposedPlan:
    """The plan `assign` would save, worked out without writing anything."""

    round: Round
    judges: list[StaffUser]
    k: int
    seed: int
    plan: Plan
    entries: dict[int, str]
    """Entry id -> title, for the entries of the round."""
    excluded: int
    """Judge-entry pairs among the chosen judges that declared conflicts rule out."""
    replaced: int
    """Assignments of the round that saving the plan replaces."""
    scored: bool
    """Sheets of the round already hold scores: saving a new plan is refused."""

    @property
    def digest(self) -> str:
        """A fingerprint of the pairs: the plan shown is the plan saved, or nothing is."""
        text = ";".join(f"{e},{j}" for e, j in self.plan.pairs)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


async def propose_assignment(
    round_id: int, seed: int, judge_ids: Sequence[int] | None, k: int | None = None
) -> ProposedPlan:
    """The balanced, conflict-free, connected plan for the round (the dry run `assign`
    saves): the same seed, judges, k and data give the same plan. `k` defaults to the
    round's judges per entry. Refusals say why in words (AssignmentNotPossible)."""
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.ASSIGNING_JUDGES)
    k = k or round_.judges_per_entry
    judges = await active_judges(judge_ids)
    rows = (
        await RoundEntry.filter(round_id=round_id)
        .order_by("entry_id")
        .values_list("entry_id", "entry__organisation_id", "anchor", "entry__title")
    )
    if not rows:
        raise Conflict(translatable("The round has no entries."))
    conflicts = await _conflict_pairs()
    ids = [j.id for j in judges]
    if not ids:
        raise AssignmentNotPossible(translatable("Choose at least one judge."))
    if len(ids) < k:
        raise AssignmentNotPossible(
            translatable(
                "Each entry needs %(k)s judges but the plan has only %(judges)s: choose more "
                "judges or lower the number of judges per entry.",
                k=k,
                judges=len(ids),
            )
        )
    excluded = 0
    for _, org, anchor, title in rows:
        barred = sum(1 for j in ids if org is not None and (j, org) in conflicts)
        excluded += barred
        if not anchor and len(ids) - barred < k:
            raise AssignmentNotPossible(
                translatable(
                    "Of the judges chosen, only %(available)s can judge “%(title)s” (the others "
                    "declared a conflict with its organisation); each entry needs %(k)s.",
                    available=len(ids) - barred,
                    title=title,
                    k=k,
                )
            )
    try:
        plan = plan_assignment(
            entries={e: org for e, org, _, _ in rows},
            judges=ids,
            k=k,
            conflicts=conflicts,
            anchors=[e for e, _, anchor, _ in rows if anchor],
            seed=seed,
        )
    except AssignmentImpossible as exc:
        raise AssignmentNotPossible(exc.args[0] if exc.args else str(exc)) from None
    return ProposedPlan(
        round=round_,
        judges=judges,
        k=k,
        seed=seed,
        plan=plan,
        entries={e: title for e, _, _, title in rows},
        excluded=excluded,
        replaced=await JudgeAssignment.filter(round_id=round_id).count(),
        scored=await Score.filter(assignment__round_id=round_id).exists(),
    )


async def assign(
    round_id: int,
    seed: int,
    judge_ids: Sequence[int] | None,
    k: int | None = None,
    expected: str | None = None,
) -> tuple[Round, bool]:
    """Replace the round's assignments by the plan `propose_assignment` gives; a `k`
    other than the round's is stored on it. `expected`: the digest of the plan shown,
    refused if the plan is now another one."""
    proposal = await propose_assignment(round_id, seed, judge_ids, k)
    round_ = proposal.round
    if expected is not None and proposal.digest != expected:
        raise Conflict(
            translatable(
                "The plan changed since it was shown (a judge, an entry or a conflict changed): "
                "look at it again before saving."
            )
        )
    async with in_transaction() as conn:
        if await Score.filter(assignment__round_id=round_id).exists():
            raise Conflict(
                translatable(
                    "Sheets of this round already hold scores; use manual add/remove instead."
                )
            )
        await JudgeAssignment.filter(round_id=round_id).delete()
        if proposal.k != round_.judges_per_entry:
            round_ = await update_round(round_id, schemas.RoundPatch(judges_per_entry=proposal.k))
        await JudgeAssignment.bulk_create(
            [
                JudgeAssignment(round_id=round_id, entry_id=e, judge_id=j)
                for e, j in proposal.plan.pairs
            ]
        )
        await _tell_judges(conn, round_, proposal.judges, proposal.plan.pairs)
    return round_, proposal.plan.connected


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
    require_status(round_, RoundAction.ASSIGNING_JUDGES)
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


async def move_assignment(
    round_id: int, assignment_id: int, to_judge_id: int, admin_id: int
) -> JudgeAssignment:
    """Give one entry's sheet to another judge, in one transaction: the new judge must
    be an active judge without a conflict on the entry's organisation and not already
    on it; the sheet must not be submitted (its draft scores are logged, then go)."""
    assignment = await JudgeAssignment.get_or_none(
        id=assignment_id, round_id=round_id
    ).select_related("round", "entry")
    if assignment is None:
        raise NotFound(
            translatable("No assignment %(assignment_id)s.", assignment_id=assignment_id)
        )
    round_ = assignment.round
    require_status(round_, RoundAction.MOVING_ASSIGNMENTS)
    entry_id = assignment.entry_id  # type: ignore[attr-defined]
    if to_judge_id == assignment.judge_id:  # type: ignore[attr-defined]
        raise Unprocessable(translatable("The entry is with this judge already."))
    (judge,) = await active_judges([to_judge_id])
    org = assignment.entry.organisation_id  # type: ignore[attr-defined]
    if org is not None and (to_judge_id, org) in await _conflict_pairs():
        raise Conflict(
            translatable(
                "%(judge)s declared a conflict with this entry's organisation.",
                judge=judge.name or judge.email,
            )
        )
    taken = translatable(
        "%(judge)s is already assigned to “%(title)s”.",
        judge=judge.name or judge.email,
        title=assignment.entry.title,
    )
    if await JudgeAssignment.filter(
        round_id=round_id, entry_id=entry_id, judge_id=to_judge_id
    ).exists():
        raise Conflict(taken)
    try:
        async with in_transaction() as conn:
            await take_out_unsubmitted(conn, assignment, admin_id)
            moved = await JudgeAssignment.create(
                round_id=round_id, entry_id=entry_id, judge_id=to_judge_id, using_db=conn
            )
            share = (
                await JudgeAssignment.filter(round_id=round_id, judge_id=to_judge_id)
                .using_db(conn)
                .values_list("entry_id", flat=True)
            )
            await _tell_judges(conn, round_, [judge], [(e, to_judge_id) for e in share])
    except IntegrityError:
        raise Conflict(taken) from None
    return moved


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


# --- lateness and reminders ------------------------------------------------------------

DUE_SOON = timedelta(hours=24)
"""A judge is late once the round's deadline is this near (or past) and some of their
sheets are not submitted."""


def deadline_state(round_: Round, now: datetime | None = None) -> str:
    """ "none" (no deadline, or the round is not open for scoring), "ahead", "soon"
    (within DUE_SOON) or "passed"."""
    if round_.status != RoundStatus.OPEN or round_.closes_at is None:
        return "none"
    now = now or timezone.now()
    if round_.closes_at <= now:
        return "passed"
    return "soon" if round_.closes_at - now <= DUE_SOON else "ahead"


@dataclass(frozen=True)
class LateJudge:
    judge: StaffUser
    pending: int
    """Sheets of the round not submitted yet (drafts included)."""


async def late_judges(round_id: int, now: datetime | None = None) -> list[LateJudge]:
    """The active judges of an open round whose deadline is near or past (DUE_SOON)
    with sheets still unsubmitted; nobody is late in a round without a deadline."""
    round_ = await get_round(round_id)
    if deadline_state(round_, now) not in ("soon", "passed"):
        return []
    pending = Counter(
        await JudgeAssignment.filter(
            round_id=round_id, status__not=AssignmentStatus.SUBMITTED
        ).values_list("judge_id", flat=True)
    )
    judges = await StaffUser.filter(id__in=list(pending), active=True).order_by("id")
    return [LateJudge(judge=j, pending=pending[j.id]) for j in judges]


async def remind_late_judges(round_id: int, now: datetime | None = None) -> int:
    """Queue one reminder (JUDGE_REMINDER) to each late judge, in their language; the
    key holds the day in the event's time zone, so a judge is reminded once a day
    however often this runs. How many were queued."""
    now = now or timezone.now()
    round_ = await get_round(round_id)
    late = await late_judges(round_id, now)
    if not late or round_.closes_at is None:
        return 0
    event = await Event.get(id=round_.event_id)  # type: ignore[attr-defined]
    day = now.astimezone(ZoneInfo(event.timezone)).date().isoformat()
    queued = 0
    async with in_transaction() as conn:
        for one in late:
            judge = one.judge
            locale = judge.preferred_locale if judge.preferred_locale in LOCALES else DEFAULT_LOCALE
            queued += await enqueue(
                kind=Kind.JUDGE_REMINDER,
                dedupe_key=dedupe_key(Kind.JUDGE_REMINDER, round_.id, judge.id, day),
                recipient=judge.email,
                locale=locale,
                payload={
                    "name": judge.name or judge.email,
                    "round": round_.name,
                    "event": event.title,
                    "count": one.pending,
                    "closes": format_instant(round_.closes_at, event.timezone, locale),
                    "path": "/judge",
                },
                using_db=conn,
            )
    return queued
