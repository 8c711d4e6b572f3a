"""The committed migrations describe exactly the models (every backend is built from them)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PENDING_CHANGES = """
import asyncio
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from events_service.db import tortoise_config

async def main():
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    for writer in writers:
        print(writer.name if hasattr(writer, "name") else writer)

asyncio.run(main())
"""


def test_models_have_no_changes_missing_from_the_migrations() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PENDING_CHANGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", (
        "models changed without a migration; run `tortoise makemigrations`:\n" + result.stdout
    )
