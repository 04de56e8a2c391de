"""`threadline`: serve, migrate, manage agents and inboxes, run the demo."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Annotated, TypeVar

import typer
from sqlalchemy.exc import DBAPIError

from threadline.adapters.migrate import current as migration_current
from threadline.adapters.migrate import upgrade as migration_upgrade
from threadline.cli.bots import bot_command, queue_app
from threadline.cli.classify import classify
from threadline.cli.failure import classifier_or_fail, fail, settings_or_fail
from threadline.cli.running import DatabaseUrl, _url, run_db
from threadline.cli.wfm import wfm_app
from threadline.core.agents import AgentStatus, Role
from threadline.core.errors import DomainError
from threadline.core.widgets import Widget
from threadline.service import agents as agent_service
from threadline.service import inboxes as inbox_service
from threadline.service.unit_of_work import Transactor, UnitOfWork

T = TypeVar("T")
# How long a stopping server waits for requests in flight before cutting them off.
SHUTDOWN_GRACE_SECONDS = 5

app = typer.Typer(help="Threadline: digital messaging for contact centers.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
agent_app = typer.Typer(help="Agents.", no_args_is_help=True)
inbox_app = typer.Typer(help="Inboxes (where customer messages come in).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(agent_app, name="agent")
app.add_typer(inbox_app, name="inbox")
app.add_typer(queue_app, name="queue")
app.add_typer(wfm_app, name="wfm")
app.command()(classify)
inbox_app.command("bot")(bot_command)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Overrides THREADLINE_HOST.")] = None,
    port: Annotated[
        int | None, typer.Option(help="Overrides THREADLINE_PORT.", min=0, max=65535)
    ] = None,
) -> None:
    """Run the HTTP + WebSocket service."""
    import uvicorn

    from threadline.api.app import create_app

    settings = settings_or_fail()
    classifier_or_fail(settings.lexicons_dir)  # bad lexicons: refused before serving
    _check_port_free(host or settings.host, port if port is not None else settings.port)
    run_db(settings.database_url, _check_schema)
    app = create_app(settings)
    # What is loaded by now (modules, the app) lives as long as the process: frozen,
    # the garbage collector stops rescanning it. Without this, each full collection
    # paused the event loop for ~65 ms, and every message in flight with it: those
    # pauses were the pipeline benchmark's p99 (docs/performance.md).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        # Held requests (a web chat's long poll waits up to 25 s) must not hold up a
        # restart; their clients simply poll again, from where they were.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


def _check_port_free(host: str, port: int) -> None:
    """A taken port, named in one line before anything starts."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise fail(
                f"cannot listen on {host}:{port} ({exc.strerror}): pick another --port"
            ) from None


async def _check_schema(tx: Transactor) -> None:
    await tx.read(lambda uow: uow.events.head())


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply the migrations (SQLite or PostgreSQL)."""
    url = _url(database_url)
    try:
        migration_upgrade(url, revision)
    except (DBAPIError, OSError) as exc:
        raise fail(f"cannot migrate {url}: {exc}") from None
    typer.echo(f"database at revision {revision}")


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Show the database's migration revision."""
    migration_current(_url(database_url))


@agent_app.command("create")
def agent_create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="THREADLINE_AGENT_PASSWORD",
            help="Asked for unless THREADLINE_AGENT_PASSWORD is set; never on the command line.",
        ),
    ],
    role: Annotated[Role, typer.Option(help="agent, supervisor or admin.")] = Role.AGENT,
    skill: Annotated[
        list[str] | None, typer.Option("--skill", help="Repeat for several skills.")
    ] = None,
    preferred: Annotated[
        int, typer.Option("--preferred", "-P", help="Preferred concurrency P.")
    ] = 3,
    max_load: Annotated[int, typer.Option("--max-load", "-M", help="Maximum load M (>= P).")] = 5,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an agent who can log in."""
    from threadline.api.context import system_clock

    new = agent_service.NewAgent(
        username=username,
        password=password,
        display_name=name,
        role=role,
        skills=frozenset(skill or ["general"]),
        preferred_concurrency=preferred,
        max_load=max_load,
    )
    agent = run_db(
        _url(database_url), lambda tx: agent_service.create_agent(tx, None, new, system_clock())
    )
    typer.echo(
        f"created {agent.role} {agent.username} ({agent.id}) "
        f"skills={','.join(sorted(agent.skills))} "
        f"P={agent.preferred_concurrency} M={agent.max_load}"
    )


@agent_app.command("list")
def agent_list(database_url: DatabaseUrl = None) -> None:
    """List agents with their status and load."""

    async def work(tx: Transactor) -> None:
        async def q(uow: UnitOfWork) -> None:
            for a in await uow.agents.all():
                mark = "●" if a.status is AgentStatus.ONLINE else "○"
                typer.echo(
                    f"{mark} {a.username:<16} {a.role:<10} {a.status:<7} "
                    f"{a.active_count}/{a.preferred_concurrency} (max {a.max_load})  "
                    f"{','.join(sorted(a.skills))}"
                )

        await tx.read(q)

    run_db(_url(database_url), work)


@inbox_app.command("create")
def inbox_create(
    name: Annotated[str, typer.Argument(help="A name for people, e.g. 'Web shop'.")],
    channel: Annotated[str, typer.Option(help="The channel its customers write on.")] = "api",
    queue: Annotated[
        str, typer.Option(help="The queue (skill) its conversations go to.")
    ] = "general",
    database_url: DatabaseUrl = None,
) -> None:
    """Create an inbox and print its API token (shown once)."""
    from threadline.api.context import system_clock

    created = run_db(
        _url(database_url),
        lambda tx: tx.write(
            lambda uow: inbox_service.create(uow, None, name, channel, queue, system_clock())
        ),
    )
    typer.echo(
        f"created inbox {created.inbox.name} ({created.inbox.id}) on {created.inbox.channel}"
    )
    typer.echo(f"token (shown once): {created.token}")


@inbox_app.command("widget")
def inbox_widget(
    name: Annotated[str, typer.Argument(help="The web inbox, by name.")],
    title: Annotated[str | None, typer.Option(help="The chat panel's title.")] = None,
    greeting: Annotated[str | None, typer.Option(help="Shown above the messages.")] = None,
    color: Annotated[str | None, typer.Option(help="Accent colour, like #1f4fd1.")] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(help="A site that may embed the chat (repeat); none given: unchanged."),
    ] = None,
    any_site: Annotated[bool, typer.Option(help="Let any site embed the chat.")] = False,
    rotate_identity_secret: Annotated[
        bool, typer.Option(help="Make a new secret for signed visitor identities.")
    ] = False,
    public_url: Annotated[
        str, typer.Option(help="Where browsers reach Threadline, for the script tag.")
    ] = "http://127.0.0.1:8000",
    database_url: DatabaseUrl = None,
) -> None:
    """Create or change a web inbox's chat widget and print its script tag."""
    from threadline.api.context import system_clock
    from threadline.service import widgets

    if any_site and origin:
        raise fail("--any-site and --origin contradict each other")
    change = widgets.WidgetChange(
        title, greeting, color, [] if any_site else (list(origin) if origin else None)
    )

    async def work(tx: Transactor) -> tuple[Widget, str | None]:
        now = system_clock()
        widget = await tx.write(lambda uow: widgets.configure_by_name(uow, name, change, now))
        if not rotate_identity_secret:
            return widget, None
        secret = await tx.write(
            lambda uow: widgets.rotate_identity_secret(uow, None, widget.inbox_id, now)
        )
        return widget, secret

    widget, secret = run_db(_url(database_url), work)
    base = public_url.rstrip("/")
    sites = ", ".join(widget.allowed_origins) or "any site"
    typer.echo(f"widget {widget.key} of {name!r}: {widget.look.title!r}, embeddable on {sites}")
    typer.echo(f'<script src="{base}/widget/loader.js" data-key="{widget.key}" async></script>')
    if secret is not None:
        typer.echo(f"identity secret (shown once; sign visitors' identities with it): {secret}")


@inbox_app.command("connect")
def inbox_connect(
    name: Annotated[str, typer.Argument(help="The inbox, by name.")],
    provider: Annotated[str, typer.Option(help="twilio, whatsapp, messenger, rbm or apple.")],
    account: Annotated[str, typer.Option(help="The provider account (docs/channels/).")],
    address: Annotated[str, typer.Option(help="The business's number, page, agent or id.")],
    secret_name: Annotated[
        str, typer.Option(help="The environment holds THREADLINE_SECRET_<NAME>_<PART>.")
    ],
    options: Annotated[
        str | None, typer.Option(help="JSON options: templates, keyword_replies…")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Connect an inbox to its messaging provider (docs/channels/)."""
    import json

    from threadline.adapters.providers.base import Connection, Secrets
    from threadline.api.context import system_clock
    from threadline.service import connections

    try:
        extra = json.loads(options) if options else {}
    except ValueError as exc:
        raise fail(f"--options is not JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise fail("--options is a JSON object")
    secrets = Secrets(settings_or_fail().channel_secrets)

    async def work(tx: Transactor) -> Connection:
        async def use_case(uow: UnitOfWork) -> Connection:
            found = {i.name: i for i in await uow.access.list_inboxes()}
            if name not in found:
                raise DomainError(f"no inbox named {name!r}")
            inbox_id = found[name].id
            wanted = Connection(inbox_id, provider, account, address, secret_name, extra)
            return await connections.connect(uow, None, inbox_id, wanted, secrets, system_clock())

        return await tx.write(use_case)

    conn = run_db(_url(database_url), work)
    typer.echo(f"{name!r} is connected to {conn.provider} at {conn.address}")


@app.command()
def demo(
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8000,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    database_url: Annotated[
        str, typer.Option("--database-url", help="The demo's own database, never your real one.")
    ] = "sqlite+aiosqlite:///./threadline-demo.db",
    # Nobody answers them but you: more than a couple a minute buries a newcomer's own
    # web chat under a queue within minutes.
    customers_per_minute: Annotated[float, typer.Option(min=0, max=600)] = 2.0,
) -> None:
    """Start the service with demo agents and a stream of simulated customers."""
    from threadline.demo import run_demo

    classifier_or_fail(settings_or_fail().lexicons_dir)
    _check_port_free(host, port)
    try:
        migration_upgrade(database_url)
        asyncio.run(run_demo(database_url, host, port, customers_per_minute))
    except KeyboardInterrupt:
        pass
    except DomainError as exc:
        raise fail(exc.message) from None
    except (DBAPIError, OSError) as exc:
        raise fail(str(exc)) from None
