"""Winner records: preview, publish into a SHA-256 hash chain, verify, supersede.

Each record's hash covers a canonical JSON document built only from the record's
own stored columns (sequence, entry, award, rank, score, ruleset, score snapshot,
publisher, time, what it supersedes and why) plus the previous record's hash.
Verification rebuilds that document from the database, so editing any column of
any record, or deleting one, shows up as a broken link. Records are only ever
inserted; the unique sequence number keeps two concurrent publications from
forking the chain (the loser gets a 409 and can retry).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import msgspec
from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from events_service.errors import Conflict, NotFound, Unprocessable
from events_service.judging import ranking
from events_service.judging.competitions import competition
from events_service.judging.results import RoundData, load, rank_data
from events_service.judging.rounds import RoundAction, require_status
from events_service.locale import translatable
from models import (
    Award,
    ConflictDeclaration,
    Entry,
    EntryMember,
    Event,
    Round,
    StaffUser,
    WinnerRecord,
)
from models.enums import RoundStatus
from notifications.outbox import Kind, dedupe_key, enqueue

GENESIS = "0" * 64


class PublicWinnerOut(msgspec.Struct):
    """A winner record as anyone may read it: the result, the rules and the hash.

    Not the scores snapshot: which judge gave which score is the jury's, for
    organisers only (WinnerOut). The hash still covers the snapshot, so
    GET /api/v1/winners/verify detects any change to it."""

    id: int | None
    sequence: int | None
    event_id: int
    round_id: int
    entry_id: int
    entry_title: str
    team_name: str
    organisation: str | None
    award_title: str
    rank: int
    final_score: str
    published_at: datetime | None
    published_by_id: int | None
    supersedes_id: int | None
    superseded_by_id: int | None
    reason: str
    hash: str | None
    previous_hash: str | None
    ruleset: dict[str, Any]


class WinnerOut(PublicWinnerOut):
    """A winner record with the exact scores it came from (admins only)."""

    scores_snapshot: dict[str, Any]


def public(record: WinnerOut) -> PublicWinnerOut:
    return PublicWinnerOut(
        **{name: getattr(record, name) for name in PublicWinnerOut.__struct_fields__}
    )


class VerifyOut(msgspec.Struct):
    valid: bool
    records: int
    head: str
    problems: list[dict[str, Any]]


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def record_document(record: WinnerRecord) -> dict[str, Any]:
    """What the hash covers, from the stored columns only."""
    return {
        "sequence": record.sequence,
        "round_id": record.round_id,  # type: ignore[attr-defined]
        "entry_id": record.entry_id,  # type: ignore[attr-defined]
        "award_id": record.award_id,  # type: ignore[attr-defined]
        "award_title": record.award_title,
        "rank": record.rank,
        "final_score": record.final_score,
        "ruleset": record.ruleset,
        "scores_snapshot": record.scores_snapshot,
        "published_by_id": record.published_by_id,  # type: ignore[attr-defined]
        "published_at": _timestamp(record.published_at),
        "supersedes_id": record.supersedes_id,  # type: ignore[attr-defined]
        "reason": record.reason,
        "previous_hash": record.previous_hash,
    }


def record_hash(record: WinnerRecord) -> str:
    return hashlib.sha256(canonical(record_document(record))).hexdigest()


async def final_round(event_id: int) -> Round:
    await competition(event_id)
    round_ = await Round.filter(event_id=event_id).order_by("-position").first()
    if round_ is None:
        raise Conflict(translatable("The competition has no rounds."))
    return round_


def _ruleset(data: Any, result: ranking.Ranking) -> dict[str, Any]:
    return {
        "round": {"id": data.round.id, "name": data.round.name},
        "method_requested": result.method_requested,
        "method_used": result.method_used,
        "fallback_reason": result.fallback_reason,
        "tie_break": result.tie_break,
        "disagreement_threshold": data.round.disagreement_threshold,
        "criteria": [
            {
                "id": c.id,
                "name": c.name,
                "weight": repr(c.weight),
                "scale_min": repr(c.scale_min),
                "scale_max": repr(c.scale_max),
            }
            for c in data.criteria
        ],
    }


def _entry_doc(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "team_name": entry.team_name,
        "organisation": entry.organisation.name if entry.organisation else None,
    }


def _fixed(value: float | None) -> str | None:
    # Text with fixed decimals: hashed exactly as stored, on either engine.
    return None if value is None else f"{value:.4f}"


def _snapshot(
    entry: Entry,
    result: ranking.EntryResult | None,
    data: RoundData,
    excluded: dict[tuple[int, int], str],
    conflicts: list[tuple[int, int]],
) -> dict[str, Any]:
    """What an entry's score came from: the exact score rows, exclusions, conflicts."""
    org = entry.organisation_id  # type: ignore[attr-defined]
    sheets = sorted(
        (s for s in data.sheets if s.entry_id == entry.id), key=lambda s: s.assignment_id or 0
    )
    return {
        "entry": _entry_doc(entry),
        "raw_mean": _fixed(result.raw_mean if result else None),
        "median": _fixed(result.median if result else None),
        "judges": result.judges if result else 0,
        "standard_error": _fixed(result.standard_error if result else None),
        "tie_break": result.tie_break if result else None,
        "scores": [
            {
                "assignment_id": s.assignment_id,
                "judge_id": s.judge_id,
                "criterion_id": cid,
                "value": f"{v:.1f}",
            }
            for s in sheets
            if (s.entry_id, s.judge_id) not in excluded
            for cid, v in sorted(s.scores.items())
        ],
        "excluded_sheets": [
            {"judge_id": j, "reason": why}
            for (e, j), why in sorted(excluded.items())
            if e == entry.id
        ],
        # Judges kept off this entry by a declared conflict with its organisation.
        "conflicts_excluded": [
            {"judge_id": j, "organisation_id": o}
            for j, o in sorted(conflicts)
            if org is not None and o == org
        ],
    }


async def _context(
    round_id: int,
) -> tuple[RoundData, ranking.Ranking, dict[tuple[int, int], str], list[tuple[int, int]]]:
    data = await load(round_id)
    result = rank_data(data)
    excluded = {(x.entry_id, x.judge_id): x.reason for x in result.excluded_sheets}
    conflicts = list(await ConflictDeclaration.all().values_list("judge_id", "organisation_id"))
    return data, result, excluded, conflicts


async def _candidates(event_id: int) -> tuple[Round, list[dict[str, Any]]]:
    """The records a publication would create now, without sequence, time or hash."""
    round_ = await final_round(event_id)
    data, result, excluded, conflicts = await _context(round_.id)
    awards = await Award.filter(round_id=round_.id).order_by("rank_from", "id")
    if not awards:
        raise Conflict(
            translatable("The final round has no awards; add them with POST /rounds/{id}/awards.")
        )
    by_rank: dict[int, list[ranking.EntryResult]] = {}
    for r in result.entries:
        if r.rank is not None:
            by_rank.setdefault(r.rank, []).append(r)
    entries = {
        e.id: e
        for e in await Entry.filter(id__in=[r.entry_id for r in result.entries]).select_related(
            "organisation"
        )
    }
    ruleset = _ruleset(data, result)
    records = []
    for award in awards:
        for rank_ in range(award.rank_from, award.rank_to + 1):
            for r in by_rank.get(rank_, []):
                entry = entries[r.entry_id]
                records.append(
                    {
                        "round_id": round_.id,
                        "entry_id": r.entry_id,
                        "entry_title": entry.title,
                        "team_name": entry.team_name,
                        "organisation": entry.organisation.name if entry.organisation else None,
                        "award_id": award.id,
                        "award_title": award.name,
                        "rank": rank_,
                        "final_score": _fixed(r.score),
                        "ruleset": ruleset,
                        "scores_snapshot": _snapshot(entry, r, data, excluded, conflicts),
                    }
                )
    return round_, records


def _out(record: dict[str, Any], event_id: int) -> WinnerOut:
    return WinnerOut(
        id=record.get("id"),
        sequence=record.get("sequence"),
        event_id=event_id,
        round_id=record["round_id"],
        entry_id=record["entry_id"],
        entry_title=record["entry_title"],
        team_name=record["team_name"],
        organisation=record["organisation"],
        award_title=record["award_title"],
        rank=record["rank"],
        final_score=record["final_score"],
        published_at=record.get("published_at"),
        published_by_id=record.get("published_by_id"),
        supersedes_id=record.get("supersedes_id"),
        superseded_by_id=record.get("superseded_by_id"),
        reason=record.get("reason", ""),
        hash=record.get("hash"),
        previous_hash=record.get("previous_hash"),
        ruleset=record["ruleset"],
        scores_snapshot=record["scores_snapshot"],
    )


async def preview(event_id: int) -> list[WinnerOut]:
    _, records = await _candidates(event_id)
    return [_out(r, event_id) for r in records]


async def _append(conn: Any, fields: dict[str, Any]) -> WinnerRecord:
    """Insert one record at the head of the chain (inside the caller's transaction)."""
    head = await WinnerRecord.all().using_db(conn).order_by("-sequence").first()
    record = WinnerRecord(
        sequence=(head.sequence + 1) if head else 1,
        previous_hash=head.hash if head else GENESIS,
        # Microseconds survive both engines' timestamp types unchanged.
        published_at=timezone.now(),
        hash="",
        **fields,
    )
    record.hash = record_hash(record)
    await record.save(using_db=conn)
    return record


async def publish(event_id: int, user: StaffUser) -> list[WinnerOut]:
    round_, records = await _candidates(event_id)
    require_status(round_, RoundAction.PUBLISHING_WINNERS)
    if not records:
        raise Conflict(translatable("No ranked entry falls within the awards."))
    try:
        async with in_transaction() as conn:
            # Only one publication per round: the conditional update is the gate.
            if (
                not await Round.filter(id=round_.id, status=RoundStatus.CLOSED)
                .using_db(conn)
                .update(status=RoundStatus.PUBLISHED)
            ):
                raise Conflict(translatable("The round was published meanwhile."))
            created = []
            for r in records:
                stored = await _append(
                    conn,
                    {
                        "round_id": r["round_id"],
                        "entry_id": r["entry_id"],
                        "award_id": r["award_id"],
                        "award_title": r["award_title"],
                        "rank": r["rank"],
                        "final_score": r["final_score"],
                        "ruleset": r["ruleset"],
                        "scores_snapshot": r["scores_snapshot"],
                        "published_by_id": user.id,
                    },
                )
                created.append(stored.id)
                await _tell_winners(conn, stored, round_, r)
    except IntegrityError:
        raise Conflict(
            translatable("Another publication took the same place in the chain; retry.")
        ) from None
    return [w for w in await list_winners() if w.id in created]


async def supersede(
    record_id: int,
    user: StaffUser,
    reason: str,
    entry_id: int | None,
    rank: int | None,
    award_title: str | None,
) -> WinnerOut:
    """A correction: a new record naming the old one and the reason; the old one stays."""
    old = await WinnerRecord.get_or_none(id=record_id)
    if old is None:
        raise NotFound(translatable("No winner record %(record_id)s.", record_id=record_id))
    if await WinnerRecord.exists(supersedes_id=record_id):
        raise Conflict(
            translatable(
                "Record %(record_id)s is already superseded; correct the newer one.",
                record_id=record_id,
            )
        )
    snapshot = dict(old.scores_snapshot)
    final_score = old.final_score
    new_entry = entry_id or old.entry_id  # type: ignore[attr-defined]
    if new_entry != old.entry_id:  # type: ignore[attr-defined]
        entry = await Entry.get_or_none(id=new_entry).select_related("organisation")
        old_round = await Round.get(id=old.round_id)  # type: ignore[attr-defined]
        if entry is None or entry.event_id != old_round.event_id:  # type: ignore[attr-defined]
            raise Unprocessable(
                translatable(
                    "Entry %(new_entry)s is not an entry of this competition.", new_entry=new_entry
                )
            )
        data, result, excluded, conflicts = await _context(old_round.id)
        found = next((r for r in result.entries if r.entry_id == new_entry), None)
        final_score = _fixed(found.score if found else None) or ""
        snapshot = _snapshot(entry, found, data, excluded, conflicts)
    try:
        async with in_transaction() as conn:
            record = await _append(
                conn,
                {
                    "round_id": old.round_id,  # type: ignore[attr-defined]
                    "entry_id": new_entry,
                    "award_id": old.award_id,  # type: ignore[attr-defined]
                    "award_title": award_title or old.award_title,
                    "rank": rank or old.rank,
                    "final_score": final_score,
                    "ruleset": old.ruleset,
                    "scores_snapshot": snapshot,
                    "published_by_id": user.id,
                    "supersedes_id": old.id,
                    "reason": reason.strip(),
                },
            )
    except IntegrityError:
        raise Conflict(
            translatable("The record was superseded or the chain moved meanwhile; retry.")
        ) from None
    return next(w for w in await list_winners() if w.id == record.id)


async def list_winners(event_id: int | None = None) -> list[WinnerOut]:
    query = WinnerRecord.all().select_related("round", "entry", "entry__organisation")
    if event_id is not None:
        query = query.filter(round__event_id=event_id)
    records = await query.order_by("sequence")
    superseded_by = {r.supersedes_id: r.id for r in records if r.supersedes_id}  # type: ignore[attr-defined]
    return [
        _out(
            {
                "id": r.id,
                "sequence": r.sequence,
                "round_id": r.round.id,
                "entry_id": r.entry.id,
                "entry_title": r.entry.title,
                "team_name": r.entry.team_name,
                "organisation": r.entry.organisation.name if r.entry.organisation else None,
                "award_title": r.award_title,
                "rank": r.rank,
                "final_score": r.final_score,
                "published_at": r.published_at,
                "published_by_id": r.published_by_id,  # type: ignore[attr-defined]
                "supersedes_id": r.supersedes_id,  # type: ignore[attr-defined]
                "superseded_by_id": superseded_by.get(r.id),
                "reason": r.reason,
                "hash": r.hash,
                "previous_hash": r.previous_hash,
                "ruleset": r.ruleset,
                "scores_snapshot": r.scores_snapshot,
            },
            r.round.event_id,  # type: ignore[attr-defined]
        )
        for r in records
    ]


async def verify() -> VerifyOut:
    """Recompute every hash and every link; list each record that does not match
    (each problem's `kind`: missing, link or modified; `problem` says it in English)."""
    problems: list[dict[str, Any]] = []
    previous = GENESIS
    expected_sequence = 1
    records = await WinnerRecord.all().order_by("sequence")
    for record in records:
        if record.sequence != expected_sequence:
            problems.append(
                {
                    "sequence": expected_sequence,
                    "kind": "missing",
                    "problem": f"record {expected_sequence} is missing from the chain",
                }
            )
        if record.previous_hash != previous:
            problems.append(
                {
                    "id": record.id,
                    "sequence": record.sequence,
                    "kind": "link",
                    "problem": "previous_hash does not match the hash of the record before",
                }
            )
        if record_hash(record) != record.hash:
            problems.append(
                {
                    "id": record.id,
                    "sequence": record.sequence,
                    "kind": "modified",
                    "problem": "content does not match its hash (the record was modified)",
                }
            )
        previous = record.hash
        expected_sequence = record.sequence + 1
    return VerifyOut(valid=not problems, records=len(records), head=previous, problems=problems)


async def detailed_winners(event_id: int) -> list[WinnerOut]:
    """A competition's records with the scores each came from (organisers)."""
    await competition(event_id)
    return await list_winners(event_id)


async def public_winners(event_id: int | None = None) -> list[PublicWinnerOut]:
    """The published records without the per-judge scores (the public list)."""
    return [public(w) for w in await list_winners(event_id)]


async def certificate(record_id: int) -> PublicWinnerOut:
    """A record as its public certificate shows it (anyone may open it)."""
    found = [w for w in await list_winners() if w.id == record_id]
    if not found:
        raise NotFound(translatable("No winner record %(record_id)s.", record_id=record_id))
    return public(found[0])


async def _tell_winners(
    conn: BaseDBAsyncClient, record: WinnerRecord, round_: Round, published: dict[str, Any]
) -> None:
    """The entry's members hear of their award in the publication's transaction."""
    members = (
        await EntryMember.filter(entry_id=record.entry_id)
        .using_db(conn)
        .values_list(  # type: ignore[attr-defined]
            "person__email", "person__name", "person__locale"
        )
    )
    event = await Event.get(id=round_.event_id).using_db(conn)  # type: ignore[attr-defined]
    entry = await Entry.get(id=record.entry_id).using_db(conn)  # type: ignore[attr-defined]
    for email, name, locale in members:
        if email is None:  # the member's data was erased: nobody to write to
            continue
        await enqueue(
            kind=Kind.WINNER_PUBLISHED,
            dedupe_key=dedupe_key(Kind.WINNER_PUBLISHED, record.id, email),
            recipient=email,
            locale=locale or "en",
            payload={
                "name": name,
                "award": published["award_title"],
                "entry": entry.title,
                "rank": published["rank"],
                "event": event.title,
                "path": f"/winners/{record.id}/certificate",
            },
            using_db=conn,
        )
