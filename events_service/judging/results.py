"""A round's results: loading sheets for the ranking, close, advance, CSV export."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tortoise import connections
from tortoise.transactions import in_transaction

from events_service.db import for_engine
from events_service.errors import Conflict, Unprocessable
from events_service.judging import ranking
from events_service.judging.rounds import RoundAction, get_round, require_status
from events_service.locale import translatable
from models import Criterion, Entry, JudgeAssignment, Round, RoundEntry
from models.enums import AssignmentStatus, RoundStatus


@dataclass(frozen=True)
class RoundData:
    round: Round
    entries: list[ranking.EntrySpec]
    criteria: list[ranking.CriterionSpec]
    sheets: list[ranking.Sheet]


# The one hot query of the ranking (21,000 rows for 500 entries x 7 judges x 6 criteria):
# read as plain tuples, skipping the ORM's per-row field conversion, which cost more
# than the ranking itself.
_SCORES_SQL = (
    "SELECT s.assignment_id, s.criterion_id, s.value FROM score s "
    "JOIN judge_assignment a ON a.id = s.assignment_id WHERE a.round_id = $1"
)


async def _score_rows(round_id: int) -> list[tuple[int, int, object]]:
    conn = connections.get("default")
    _, rows = await conn.execute_query(*for_engine(conn, _SCORES_SQL, [round_id]))
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def load(round_id: int) -> RoundData:
    """Everything the ranking needs, in four flat queries (no model objects per score)."""
    round_ = await get_round(round_id)
    entry_rows = (
        await Entry.filter(round_entries__round_id=round_id)
        .order_by("created_at", "id")
        .values_list("id", "title")
    )
    criteria = [
        ranking.CriterionSpec(cid, name, float(w), float(lo), float(hi))
        for cid, name, w, lo, hi in await Criterion.filter(round_id=round_id)
        .order_by("position", "id")
        .values_list("id", "name", "weight", "scale_min", "scale_max")
    ]
    assignments = await JudgeAssignment.filter(round_id=round_id).values_list(
        "id", "entry_id", "judge_id", "status"
    )
    values: dict[int, dict[int, float]] = defaultdict(dict)
    for assignment_id, criterion_id, value in await _score_rows(round_id):
        values[assignment_id][criterion_id] = float(value)
    sheets = [
        ranking.Sheet(
            entry_id=entry_id,
            judge_id=judge_id,
            scores=values.get(aid, {}),
            submitted=status == AssignmentStatus.SUBMITTED,
            assignment_id=aid,
        )
        for aid, entry_id, judge_id, status in assignments
    ]
    entries = [ranking.EntrySpec(eid, i, title) for i, (eid, title) in enumerate(entry_rows)]
    return RoundData(round_, entries, criteria, sheets)


ALIASES = {"entry_id": "earliest", "entry": "earliest", "created": "earliest"}


def tie_break_rules(stored: list[str], criteria: list[ranking.CriterionSpec]) -> list[str]:
    """The round's chain in the ranking's vocabulary.

    Organisers (and the demo data) may name a criterion by its name ("innovation")
    rather than "criterion:<id>"; both mean the higher mean on that criterion.
    """
    by_name = {c.name.casefold(): f"criterion:{c.id}" for c in criteria}
    rules = [by_name.get(r.casefold(), ALIASES.get(r, r)) for r in stored]
    return rules or list(ranking.DEFAULT_TIE_BREAK)


def rank_data(data: RoundData) -> ranking.Ranking:
    try:
        return ranking.rank(
            data.entries,
            data.criteria,
            data.sheets,
            method=str(data.round.ranking_method),
            tie_break=tie_break_rules(list(data.round.tie_break), data.criteria),
            disagreement_threshold=data.round.disagreement_threshold,
        )
    except ranking.RankingError as exc:
        raise Unprocessable(translatable("The round cannot be ranked: %(exc)s.", exc=exc)) from None


async def round_ranking(round_id: int) -> ranking.Ranking:
    return rank_data(await load(round_id))


async def close_round(round_id: int) -> Round:
    """Lock the scores: from now on no sheet of the round can change."""
    round_ = await get_round(round_id)
    async with in_transaction() as conn:
        closed = (
            await Round.filter(id=round_id, status=RoundStatus.OPEN)
            .using_db(conn)
            .update(status=RoundStatus.CLOSED)
        )
        if not closed:
            require_status(round_, RoundAction.CLOSING)
            raise Conflict(translatable("The round changed meanwhile; reload it."))
    await round_.refresh_from_db()
    return round_


async def next_round(round_: Round) -> Round | None:
    """The round after this one in its competition, if there is one."""
    return (
        await Round.filter(event_id=round_.event_id, position__gt=round_.position)  # type: ignore[attr-defined]
        .order_by("position")
        .first()
    )


async def advance(
    round_id: int, top: int | None = None, *, entry_ids: Sequence[int] | None = None
) -> tuple[Round, list[int]]:
    """Put entries of a closed round into the next (draft) round: its top N ranked
    entries, or the entries picked by hand (`entry_ids`, entries of this round), one or
    the other. Returns the next round and the entries it now holds from this one, in
    ranking order; entries already there stay as they are."""
    if (top is None) == (entry_ids is None):
        raise Unprocessable(translatable("Give either how many top entries or which entries."))
    round_ = await get_round(round_id)
    require_status(round_, RoundAction.ADVANCING_ENTRIES)
    following = await next_round(round_)
    if following is None:
        raise Conflict(translatable("There is no next round; create it first (entries: none)."))
    require_status(following, RoundAction.RECEIVING_ENTRIES)
    result = await round_ranking(round_id)
    ranked = [r for r in result.entries if r.rank is not None]
    if entry_ids is not None:
        picked = set(entry_ids)
        if not picked:
            raise Unprocessable(translatable("Pick at least one entry to advance."))
        in_round = {r.entry_id for r in result.entries}
        if picked - in_round:
            raise Unprocessable(
                translatable(
                    "Not entries of this round: %(ids)s.",
                    ids=", ".join(str(i) for i in sorted(picked - in_round)),
                )
            )
        chosen = [r.entry_id for r in result.entries if r.entry_id in picked]
    else:
        assert top is not None
        if top < 1:
            raise Unprocessable(translatable("Advance at least one entry."))
        if top > len(ranked):
            raise Unprocessable(
                translatable(
                    "Only %(ranked)s entries are ranked; cannot advance %(top)s.",
                    ranked=len(ranked),
                    top=top,
                )
            )
        chosen = [r.entry_id for r in ranked[:top]]
    async with in_transaction():
        present = set(
            await RoundEntry.filter(round_id=following.id).values_list("entry_id", flat=True)
        )
        await RoundEntry.bulk_create(
            [RoundEntry(round_id=following.id, entry_id=e) for e in chosen if e not in present]
        )
    return following, chosen


CSV_HEADER = [
    "rank",
    "entry_id",
    "title",
    "score",
    "raw_mean",
    "median",
    "judges",
    "spread",
    "disagreement",
    "effect",
    "standard_error",
    "tie_break_rule",
    "method",
]


def _cell(value: float | None) -> Decimal | None:
    # A number, not text: the CSV writer escapes text starting with "-" as a formula.
    return None if value is None else Decimal(f"{value:.4f}")


async def results_rows(round_id: int) -> list[list[object]]:
    """The ranking as rows under CSV_HEADER (web.csv_export writes and escapes them)."""
    result = await round_ranking(round_id)
    rows: list[list[object]] = []
    for r in result.entries:
        rows.append(
            [
                r.rank or "",
                r.entry_id,
                r.title,
                _cell(r.score),
                _cell(r.raw_mean),
                _cell(r.median),
                r.judges,
                _cell(r.spread),
                "yes" if r.disagreement else "no",
                _cell(r.effect),
                _cell(r.standard_error),
                (r.tie_break or {}).get("rule", ""),
                result.method_used,
            ]
        )
    return rows
