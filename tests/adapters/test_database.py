"""Connection settings the engine applies to every PostgreSQL connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support import databases
from threadline.adapters.database import Database


@pytest.mark.postgres
async def test_postgresql_plans_each_execution_for_its_parameters(pg_database: str) -> None:
    # Generic plans cached while tables were small turned 1 ms batch look-ups into
    # 100 ms ones as the tables grew (see adapters/database.py).
    db = Database(databases.pg_url(pg_database))
    try:
        for write in (False, True):
            async with db.connect(write=write) as conn:
                mode = (await conn.execute(sa.text("SHOW plan_cache_mode"))).scalar_one()
                assert mode == "force_custom_plan"
    finally:
        await db.dispose()
