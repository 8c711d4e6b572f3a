"""Benchmark: ranking a round of 500 entries x 7 judges x 6 criteria.

Seeds a fresh database (every judge scores every entry: 3,500 submitted sheets,
21,000 score rows, judges with different severities), starts the real server
(`events-service serve`), and times GET /api/v1/rounds/{id}/ranking end to end over
HTTP. Beside it, the ceiling: the pure ranking function on the same data already in
memory, and the database load alone.

    .venv/bin/python bench/ranking.py                      # SQLite file in a temp dir
    .venv/bin/python bench/ranking.py --database-url postgres://postgres@127.0.0.1:5432/events_bench

Target: median end-to-end time below 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events_service.auth.service import create_staff_user  # noqa: E402
from events_service.db import database, migrate  # noqa: E402
from events_service.judging import ranking, results  # noqa: E402
from models import (  # noqa: E402
    Criterion,
    Entry,
    Event,
    JudgeAssignment,
    Round,
    RoundEntry,
    Score,
)

ENTRIES, JUDGES, CRITERIA = 500, 7, 6
ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.org", "bench-password-1"
TARGET_MS = 200.0


async def seed(url: str) -> int:
    """The round to rank, created straight in the database (setup is not measured)."""
    await migrate(url)
    rng = random.Random(42)
    async with database(url):
        await create_staff_user(ADMIN_EMAIL, ADMIN_PASSWORD, ["admin"])
        judges = [
            await create_staff_user(f"judge{j}@example.org", ADMIN_PASSWORD, ["judge"])
            for j in range(JUDGES)
        ]
        start = datetime.now(UTC) + timedelta(days=30)
        event = await Event.create(
            kind="competition", title="Bench", starts_at=start, ends_at=start + timedelta(hours=8)
        )
        round_ = await Round.create(event=event, name="Preliminary", judges_per_entry=JUDGES)
        criteria = [
            await Criterion.create(
                round=round_,
                name=f"C{c}",
                weight=Decimal(1 + c % 3),
                scale_step=Decimal("0.5"),
                position=c,
            )
            for c in range(CRITERIA)
        ]
        await Entry.bulk_create(
            [Entry(event_id=event.id, title=f"Entry {i}") for i in range(ENTRIES)]
        )
        entries = await Entry.filter(event_id=event.id).order_by("id")
        await RoundEntry.bulk_create(
            [RoundEntry(round_id=round_.id, entry_id=e.id) for e in entries]
        )
        await JudgeAssignment.bulk_create(
            [
                JudgeAssignment(
                    round_id=round_.id,
                    entry_id=e.id,
                    judge_id=j.id,
                    status="submitted",
                    submitted_at=start,
                )
                for e in entries
                for j in judges
            ],
            batch_size=1000,
        )
        quality = {e.id: rng.uniform(3, 8) for e in entries}
        severity = {j.id: rng.uniform(-1.5, 1.5) for j in judges}
        scores = []
        for a in await JudgeAssignment.filter(round_id=round_.id).values_list(
            "id", "entry_id", "judge_id"
        ):
            aid, entry_id, judge_id = a
            for c in criteria:
                raw = quality[entry_id] + severity[judge_id] + rng.gauss(0, 1)
                value = min(10.0, max(0.0, round(raw * 2) / 2))
                scores.append(
                    Score(assignment_id=aid, criterion_id=c.id, value=Decimal(str(value)))
                )
        await Score.bulk_create(scores, batch_size=2000)
        await Round.filter(id=round_.id).update(status="closed")
        return round_.id


async def in_process(url: str, round_id: int, repeat: int) -> tuple[list[float], list[float]]:
    """Database load alone, and the pure ranking function on the loaded data (ms)."""
    load_ms, pure_ms = [], []
    async with database(url):
        for _ in range(repeat):
            t0 = time.perf_counter()
            data = await results.load(round_id)
            load_ms.append((time.perf_counter() - t0) * 1000)
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = ranking.rank(data.entries, data.criteria, data.sheets, method="additive")
            pure_ms.append((time.perf_counter() - t0) * 1000)
        assert result.method_used == "additive" and len(result.entries) == ENTRIES
    return load_ms, pure_ms


def serve(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from tests.server import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTS_")}
    env.update({"EVENTS_DATABASE_URL": url, "EVENTS_DATA_DIR": str(data_dir)})
    process = subprocess.Popen(
        [sys.executable, "-m", "events_service.cli", "serve", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/health", timeout=1)
            return process, base
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("the server did not start") from None
            time.sleep(0.2)


def summary(label: str, values: list[float]) -> str:
    return (
        f"{label:34} median {statistics.median(values):7.1f} ms   "
        f"min {min(values):7.1f}   max {max(values):7.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: temp SQLite file)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="three timed requests (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 3
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = args.database_url or f"sqlite://{data_dir / 'bench.db'}"
        t0 = time.perf_counter()
        round_id = asyncio.run(seed(url))
        seconds = time.perf_counter() - t0
        scores = ENTRIES * JUDGES * CRITERIA
        print(f"seeded {ENTRIES} entries x {JUDGES} judges x {CRITERIA} criteria")
        print(f"({scores} scores) in {seconds:.1f} s")
        print(f"database: {url.split('://')[0]}")
        load_ms, pure_ms = asyncio.run(in_process(url, round_id, args.repeat))
        process, base = serve(url, data_dir)
        try:
            with httpx.Client(base_url=base, timeout=30) as http:
                token = http.post(
                    "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                ).json()["access_token"]
                http.cookies.clear()
                headers = {"Authorization": f"Bearer {token}"}
                http.get(f"/api/v1/rounds/{round_id}/ranking", headers=headers)  # warm up
                api_ms = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    response = http.get(f"/api/v1/rounds/{round_id}/ranking", headers=headers)
                    api_ms.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.text
                body = response.json()
                assert body["method_used"] == "additive" and len(body["entries"]) == ENTRIES
        finally:
            process.terminate()
            process.wait(timeout=15)
    print(summary("GET /ranking over HTTP (end to end)", api_ms))
    print(summary("  database load (4 queries)", load_ms))
    print(summary("  pure ranking (ceiling)", pure_ms))
    verdict = "OK" if statistics.median(api_ms) < TARGET_MS else "OVER TARGET"
    print(f"target < {TARGET_MS:.0f} ms end to end: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
