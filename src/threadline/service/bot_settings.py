"""Setting an inbox's bot and a queue's business hours (admins), and handing a
conversation to the bot for a routine (agents)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from threadline.adapters.providers.base import Secrets
from threadline.core.access import Principal, require_role
from threadline.core.agents import Role, validate_skill
from threadline.core.bots.config import SECRET_PART, BotKind, InboxBot
from threadline.core.bots.fields import is_secure
from threadline.core.bots.flow import Ask, Flow, Lookup
from threadline.core.bots.hours import BusinessHours, hours_from_json
from threadline.core.bots.load import load_flow
from threadline.core.bots.protocol import make_external_bot_config
from threadline.core.conversations import Conversation, ConversationState
from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.events import Event, EventType, actor_agent
from threadline.core.handoff import Handoff
from threadline.service import bot_turns, inboxes
from threadline.service.conversations import visible
from threadline.service.routing import release_and_route
from threadline.service.unit_of_work import UnitOfWork

# A flow is written by people; this is far beyond any real one and keeps a mistaken
# upload (a log file) out of the database.
MAX_FLOW_BYTES = 256 * 1024


def _check_secret(secrets: Secrets, name: str | None, needed: bool) -> None:
    if name is None:
        if needed:
            raise InvalidInput(
                "name the secret that signs the bot's requests (secret_name)", field="secret_name"
            )
        return
    missing = secrets.missing(name, (SECRET_PART,))
    if missing:
        raise InvalidInput(
            f"set {', '.join(missing)} in the server's environment first",
            field="secret_name",
            missing=missing,
        )


# Flows by their text: every GET of a bot, every desk opening a conversation and every
# routine read the routines of a flow that changes rarely; parsing 256 KiB of YAML each
# time is work nobody needs. Enough entries for the inboxes of a large center.
@functools.lru_cache(maxsize=128)
def _parsed(text: str) -> Flow:
    return load_flow(text)


def flow_of(bot: InboxBot) -> Flow | None:
    """The built-in bot's flow, parsed once per version of its text."""
    return _parsed(bot.flow) if bot.flow is not None else None


async def set_bot(
    uow: UnitOfWork,
    actor: Principal | None,
    inbox_id: uuid.UUID,
    *,
    kind: BotKind,
    now: datetime,
    secrets: Secrets,
    flow: str | None = None,
    url: str | None = None,
    timeout_seconds: float | None = None,
    secret_name: str | None = None,
) -> tuple[InboxBot, Flow | None]:
    """Create or replace the inbox's bot; `actor` None is the command line. A flow is
    loaded (every mistake reported with its line) before anything is stored."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    inbox = await inboxes.existing(uow, inbox_id)
    loaded: Flow | None = None
    if kind is BotKind.BUILTIN:
        if flow is None or url is not None or timeout_seconds is not None:
            raise InvalidInput("a built-in bot takes a flow (YAML), not a url", field="flow")
        if len(flow.encode()) > MAX_FLOW_BYTES:
            raise InvalidInput(f"a flow is at most {MAX_FLOW_BYTES // 1024} KiB", field="flow")
        loaded = _parsed(flow)
        # Requests to the business's systems are signed, so they can refuse anyone else.
        calls = loaded.code_delivery is not None or any(
            isinstance(step, Lookup)
            for steps in [
                *(i.steps for i in loaded.intents),
                *(r.steps for r in loaded.routines.values()),
            ]
            for step in steps
        )
        _check_secret(secrets, secret_name, needed=calls)
        bot = InboxBot(inbox.id, kind, loaded.name, now, flow=flow, secret_name=secret_name)
    else:
        if flow is not None:
            raise InvalidInput("an external bot takes a url, not a flow", field="flow")
        if url is None:
            raise InvalidInput("an external bot needs its url", field="url")
        config = make_external_bot_config(url, timeout_seconds or 5.0, secret_name or "x")
        _check_secret(secrets, secret_name, needed=True)
        assert secret_name is not None
        bot = InboxBot(
            inbox.id,
            kind,
            f"{inbox.name} bot"[:64],
            now,
            url=config.url,
            timeout_seconds=config.timeout,
            secret_name=secret_name,
        )
    await uow.bots.put(bot)
    uow.record(
        Event(
            EventType.BOT_UPDATED,
            now,
            actor_agent(actor.agent_id) if actor else "cli",
            payload={"inbox_id": str(inbox.id), "kind": str(kind), "name": bot.name},
        )
    )
    return bot, loaded


async def get_bot(uow: UnitOfWork, actor: Principal, inbox_id: uuid.UUID) -> InboxBot:
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    await inboxes.existing(uow, inbox_id)
    bot = await uow.bots.for_inbox(inbox_id)
    if bot is None:
        raise NotFound("this inbox has no bot: PUT one", inbox_id=str(inbox_id))
    return bot


async def remove_bot(
    uow: UnitOfWork, actor: Principal | None, inbox_id: uuid.UUID, now: datetime
) -> int:
    """No bot any more: conversations it had go to the queue. Returns how many."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    await inboxes.existing(uow, inbox_id)
    bot = await uow.bots.for_inbox(inbox_id)
    if bot is None:
        raise NotFound("this inbox has no bot", inbox_id=str(inbox_id))
    timing = await uow.timings()
    moved: list[Conversation] = []
    for conv_id in await uow.bots.with_bot(inbox_id):
        conv = await uow.conversations.get(conv_id, for_update=True)
        if conv is None or conv.state is not ConversationState.BOT:
            continue
        await bot_turns.take_from_bot(
            uow,
            conv,
            Handoff(bot=bot.name, summary="The bot was removed while it had this conversation."),
            now,
            actor=actor_agent(actor.agent_id) if actor else "cli",
            timing=timing(conv.channel),
            detail="the bot was removed",
        )
        moved.append(conv)
    await uow.bots.remove(inbox_id)
    uow.record(
        Event(
            EventType.BOT_UPDATED,
            now,
            actor_agent(actor.agent_id) if actor else "cli",
            payload={"inbox_id": str(inbox_id), "kind": None, "name": None},
        )
    )
    return len(moved)


async def set_hours(
    uow: UnitOfWork, actor: Principal | None, queue: str, data: Mapping[str, Any], now: datetime
) -> BusinessHours:
    if actor is not None:
        require_role(actor, Role.ADMIN)
    name = validate_skill(queue)
    if not await uow.access.queue_exists(name):
        raise NotFound(
            f"no queue {name!r}: no inbox routes to it and no agent has the skill",
            code="unknown_queue",
            queue=name,
        )
    hours = hours_from_json(data)
    if not any(hours.weekly.values()):
        # A queue that never opens would have every customer told "back later" for
        # ever; no hours at all (always staffed) is what DELETE is for.
        raise InvalidInput("weekly needs at least one opening interval", field="weekly")
    await uow.bots.put_hours(name, hours, now)
    return hours


async def get_hours(uow: UnitOfWork, actor: Principal, queue: str) -> BusinessHours:
    name = validate_skill(queue)
    found = (await uow.bots.hours()).get(name)
    if found is None:
        raise NotFound(f"queue {name!r} has no business hours: it is always staffed")
    return found


async def remove_hours(uow: UnitOfWork, actor: Principal, queue: str) -> None:
    require_role(actor, Role.ADMIN)
    if not await uow.bots.remove_hours(validate_skill(queue)):
        raise NotFound(f"queue {queue!r} has no business hours")


async def bot_of(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID
) -> InboxBot | None:
    conv = await visible(uow, principal, conversation_id, lock=False)
    return await uow.bots.for_inbox(conv.inbox_id)


async def hand_to_bot(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID, routine: str, now: datetime
) -> Conversation:
    """The assigned agent hands the conversation to the bot for a routine (agent to
    bot); it comes back to them with what the routine collected."""
    conv = await visible(uow, principal, conversation_id, lock=True)
    if conv.assigned_agent_id != principal.agent_id:
        raise Conflict(
            "only the agent the conversation is assigned to can hand it to the bot",
            code="not_assigned_to_you",
        )
    bot = await uow.bots.for_inbox(conv.inbox_id)
    if bot is None:
        raise Conflict("this conversation's inbox has no bot", code="no_bot")
    secure_kind = None
    if bot.kind is BotKind.BUILTIN:
        flow = flow_of(bot)
        assert flow is not None
        routines = flow.routines
        if routine not in routines:
            known = ", ".join(sorted(routines)) or "none"
            raise InvalidInput(
                f"the bot has no routine {routine!r} (it has: {known})", field="routine"
            )
        first = routines[routine].steps[0] if routines[routine].steps else None
        if isinstance(first, Ask) and is_secure(first):
            secure_kind = str(first.kind)
    agent = conv.lend_to_bot(routine, bot.name, now, actor=actor_agent(principal.agent_id))
    await uow.bots.begin(
        conv.id, now, read_seq=conv.message_count, routine=routine, secure_kind=secure_kind
    )
    await uow.conversations.save(conv)
    uow.collect(conv)
    await release_and_route(uow, agent, now)
    return conv
