"""Running a command-line use case against the database, with readable failures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from threadline.adapters.database import Database
from threadline.cli.failure import fail, settings_or_fail
from threadline.core.errors import DomainError
from threadline.service.unit_of_work import Transactor

T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides THREADLINE_DATABASE_URL.", show_default=False),
]


def run_db(url: str, work: Callable[[Transactor], Awaitable[T]]) -> T:
    """Run `work` against the database, turning expected failures into messages."""

    try:
        db = Database(url)
    except ValueError as exc:  # a URL of no database we serve
        raise fail(str(exc)) from None

    async def main() -> T:
        try:
            return await work(Transactor(db))
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise fail(exc.message) from None
    except (OperationalError, ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            raise fail("the database has no schema yet: run `threadline db upgrade`") from None
        raise fail(f"database error: {exc.orig}") from None
    except (DBAPIError, OSError) as exc:
        raise fail(f"cannot use the database at {url}: {exc}") from None


def _url(database_url: str | None) -> str:
    return database_url or settings_or_fail().database_url
