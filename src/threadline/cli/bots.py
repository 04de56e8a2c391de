"""`threadline inbox bot` and `threadline queue hours`: an inbox's bot, a queue's hours."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from threadline.adapters.providers.base import Secrets
from threadline.cli.failure import fail, settings_or_fail
from threadline.cli.running import DatabaseUrl, _url, run_db
from threadline.core.bots.config import BotKind, InboxBot
from threadline.core.bots.flow import Flow
from threadline.core.errors import DomainError
from threadline.service.unit_of_work import Transactor, UnitOfWork


def system_clock() -> datetime:
    # The API's clock, imported late as the other commands do: importing the API at
    # start would cost every command its framework's second of imports.
    from threadline.api.context import system_clock as clock

    return clock()


queue_app = typer.Typer(help="Queues (where conversations wait for agents).", no_args_is_help=True)


def bot_command(
    name: Annotated[str, typer.Argument(help="The inbox, by name.")],
    flow: Annotated[
        Path | None, typer.Option(help="A flow (YAML, docs/bots.md) for the built-in bot.")
    ] = None,
    external: Annotated[
        str | None, typer.Option(help="Your own bot's URL (docs/bots-protocol.md).")
    ] = None,
    secret_name: Annotated[
        str | None,
        typer.Option(help="The environment holds THREADLINE_SECRET_<NAME>_BOT_KEY."),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds your bot may take to answer.")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Take the inbox's bot away.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Give an inbox a bot: the built-in virtual agent with a flow, or your own bot."""
    from threadline.service import bot_settings  # imported late: see cli.wfm

    if sum((flow is not None, external is not None, remove)) != 1:
        raise fail("give exactly one of --flow, --external and --remove")
    text = None
    if flow is not None:
        try:
            text = flow.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"cannot read {flow}: {exc}") from None
    secrets = Secrets(settings_or_fail().channel_secrets)

    async def work(tx: Transactor) -> tuple[InboxBot, Flow | None] | int:
        async def use_case(uow: UnitOfWork) -> tuple[InboxBot, Flow | None] | int:
            found = {i.name: i for i in await uow.access.list_inboxes()}
            if name not in found:
                raise DomainError(f"no inbox named {name!r}")
            inbox_id = found[name].id
            if remove:
                return await bot_settings.remove_bot(uow, None, inbox_id, system_clock())
            return await bot_settings.set_bot(
                uow,
                None,
                inbox_id,
                kind=BotKind.BUILTIN if text is not None else BotKind.EXTERNAL,
                now=system_clock(),
                secrets=secrets,
                flow=text,
                url=external,
                timeout_seconds=timeout,
                secret_name=secret_name,
            )

        return await tx.write(use_case)

    done = run_db(_url(database_url), work)
    if isinstance(done, int):
        typer.echo(f"{name!r} has no bot now; {done} conversation(s) it had went to the queue")
        return
    bot, loaded = done
    if loaded is not None:
        intents = ", ".join(i.name for i in loaded.intents)
        typer.echo(f"{name!r} is served by {bot.name!r}, a flow with intents: {intents}")
    else:
        typer.echo(f"{name!r} is served by your bot at {bot.url}")


@queue_app.command("hours")
def queue_hours(
    queue: Annotated[str, typer.Argument(help="The queue (a skill).")],
    file: Annotated[
        Path | None,
        typer.Option(
            help='JSON: {"timezone": "Europe/Madrid", "weekly": {"mon": ["08:00-18:00"]}, '
            '"holidays": ["2026-12-25"]}'
        ),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Always staffed again.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Set when a queue's humans are in; outside them bots take requests down."""
    from threadline.service import bot_settings  # imported late: see cli.wfm

    if (file is None) == (not clear):
        raise fail("give exactly one of --file and --clear")
    data = None
    if file is not None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise fail(f"cannot read {file} as JSON: {exc}") from None
        if not isinstance(data, dict):
            raise fail(f"{file} holds a JSON object")

    async def work(tx: Transactor) -> None:
        async def use_case(uow: UnitOfWork) -> None:
            if data is None:
                if not await uow.bots.remove_hours(queue):
                    raise DomainError(f"queue {queue!r} has no business hours")
            else:
                await bot_settings.set_hours(uow, None, queue, data, system_clock())

        await tx.write(use_case)

    run_db(_url(database_url), work)
    typer.echo(f"queue {queue!r} is always staffed" if clear else f"queue {queue!r} hours set")
