"""The bot worker: answers customers while a bot has their conversation.

Like the outbox, three steps so no transaction waits on the network: claim work under
a lease, think (the built-in engine with its lookups, or the business's own bot over
its webhook), and apply the outcome (`service.bot_turns`). A worker that dies mid-turn
leaves a lease that runs out, and the next claim takes the turn over; a turn that keeps
failing hands the customer to a human rather than leave them with a silent bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets as random_source
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import cast

from threadline.adapters.bots.external import ask_external
from threadline.adapters.bots.http import BotHttp
from threadline.adapters.providers.base import Secrets
from threadline.adapters.worker import BackgroundWorker
from threadline.core.bots.config import SECRET_PART, BotKind, InboxBot
from threadline.core.bots.engine import CODE_DIGITS, Call, CallResult, Context, Engine, Progress
from threadline.core.bots.intents import Recognizer
from threadline.core.bots.outcome import BotAnswer, HandoffReason, HandTo, Reply
from threadline.core.bots.protocol import (
    ExternalBotConfig,
    ExternalTurn,
    Sender,
    TranscriptLine,
    TurnMessage,
)
from threadline.core.bots.state import BotState
from threadline.core.classify import Classifier
from threadline.core.verification import Verification
from threadline.service import bot_turns
from threadline.service.bot_settings import flow_of
from threadline.service.bot_turns import Job, Outcome
from threadline.service.unit_of_work import Transactor, UnitOfWork

log = logging.getLogger(__name__)

# Turns claimed at once: each may wait seconds on a lookup or an external bot, and
# they run side by side, so this bounds the sockets and the memory of one round.
CONCURRENCY = 16
# Tries of one turn before the customer goes to a human: a bug or a poisoned message
# must not keep them with a bot that never answers.
MAX_ATTEMPTS = 3
# A failed turn's next try: soon, since a customer waits, but not in a tight loop.
RETRY_AFTER = timedelta(seconds=5)
# How often leftover rows are looked for: they hold nothing anyone waits on, only a
# secure answer that should not linger, so a minute is soon enough and cheap.
SWEEP_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class BotWorkerConfig:
    interval: float
    # Longer than any turn (lookups and an external bot are bounded by their timeouts).
    lease: timedelta


class BotWorker(BackgroundWorker):
    def __init__(
        self,
        tx: Transactor,
        http: BotHttp,
        secrets: Secrets,
        classifier: Classifier,
        clock: Callable[[], datetime],
        config: BotWorkerConfig,
        code: Callable[[], str] | None = None,
        after_apply: Callable[[], None] | None = None,
    ) -> None:
        self._tx = tx
        self._http = http
        self._secrets = secrets
        self._classifier = classifier
        self._clock = clock
        self._config = config
        self._code = code or _random_code
        # Called after a turn is applied (the app nudges the outbox with it).
        self.after_apply = after_apply
        self._wake = asyncio.Event()
        self._engines: dict[tuple[uuid.UUID, datetime], Engine] = {}
        self._warming: set[asyncio.Task[None]] = set()
        self._swept_at: datetime | None = None

    def nudge(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        try:
            await self.warm()
        except Exception:
            log.exception("loading the bots' flows failed; they load on first use")
        while True:
            try:
                while await self.run_once() >= CONCURRENCY:
                    pass
            except Exception:
                log.exception("bot round failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.interval)
            self._wake.clear()

    async def run_once(self) -> int:
        now = self._clock()
        until = now + self._config.lease

        async def claim(uow: UnitOfWork) -> list[uuid.UUID]:
            ids = await uow.bots.claimable(now, CONCURRENCY)
            await uow.bots.lease(ids, until)
            return ids

        # A read first: an idle worker must not take SQLite's one write lock every tick.
        if not await self._tx.read(lambda uow: uow.bots.claimable(now, 1, lock=False)):
            await self._sweep(now)
            return 0
        claimed = await self._tx.write(claim)
        await asyncio.gather(*(self._turn(cid) for cid in claimed))
        return len(claimed)

    async def _sweep(self, now: datetime) -> None:
        """Clear out, now and then, the rows of conversations others closed while the
        bot had them (a supervisor, a timer, an opt-out), with any secure answer."""
        if self._swept_at is not None and now - self._swept_at < SWEEP_EVERY:
            return
        self._swept_at = now
        if await self._tx.read(lambda uow: uow.bots.sweepable()):
            await self._tx.write(lambda uow: uow.bots.sweep())

    async def warm(self) -> None:
        """Every built-in bot's flow loaded and its classifier trained at start-up, so
        the first customer does not wait for it (the library import alone is a second)."""
        bots = await self._tx.read(lambda uow: uow.bots.all())
        for bot in bots:
            if bot.kind is BotKind.BUILTIN:
                await self.engine_for(bot)

    def warm_soon(self) -> None:
        """A flow was set: load and train it now, in the background, not on the next
        customer's message."""
        task = asyncio.create_task(self.warm())
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    async def engine_for(self, bot: InboxBot) -> Engine:
        """The inbox's flow, loaded and its classifier trained once per version."""
        key = (bot.inbox_id, bot.updated_at)
        engine = self._engines.get(key)
        if engine is None:
            flow = flow_of(bot)
            assert flow is not None
            # Training takes tens of milliseconds: off the event loop.
            recognizer = await asyncio.to_thread(
                Recognizer.train, flow.intents, threshold=flow.threshold, language=flow.language
            )
            engine = Engine(flow, recognizer, self._classifier)
            self._engines = {k: v for k, v in self._engines.items() if k[0] != bot.inbox_id}
            self._engines[key] = engine
        return engine

    async def _turn(self, conversation_id: uuid.UUID) -> None:
        try:
            job = await self._tx.read(lambda uow: bot_turns.load(uow, conversation_id))
            if job is None:
                await self._tx.write(
                    lambda uow: bot_turns.orphaned(uow, conversation_id, self._clock())
                )
                return
            if job.session.attempts > MAX_ATTEMPTS:
                outcome = _give_up(job, "the bot failed to answer several times")
            elif job.bot.kind is BotKind.EXTERNAL:
                outcome = await self._external(job)
            else:
                outcome = await self._builtin(job)
            applied = await self._tx.write(
                lambda uow: bot_turns.apply(uow, job, outcome, self._clock(), self._classifier)
            )
            if applied and self.after_apply is not None:
                self.after_apply()
            if applied and outcome.answer.end is None:
                # More may have arrived while the bot was thinking.
                self._wake.set()
        except Exception:
            # Tried again shortly (not at the end of its lease: the customer is waiting);
            # after MAX_ATTEMPTS the customer goes to a human.
            log.exception("bot turn in conversation %s failed", conversation_id)
            retry = self._clock() + RETRY_AFTER
            with contextlib.suppress(Exception):
                await self._tx.write(lambda uow: uow.bots.back_off(conversation_id, retry))

    # -- the built-in virtual agent ---------------------------------------------------

    async def _builtin(self, job: Job) -> Outcome:
        engine = await self.engine_for(job.bot)
        state = job.session.state
        version = job.bot.updated_at.isoformat()
        if state.flow != version:
            # New, or the flow changed since: a place in the old flow means nothing in
            # the new one, so the conversation starts it afresh (greeted already).
            # A routine starts over from its first step.
            state = BotState(greeted=state.greeted and job.session.routine is None, flow=version)
        replies: list[Reply] = []
        learned: dict[str, str] = {}
        verified = False
        end = None
        through = job.session.read_seq
        key = self._key(job.bot)

        last_call = time.monotonic() + self._config.lease.total_seconds() / 2

        async def settle(progress: Progress, ctx: Context) -> Progress:
            while progress.call is not None:
                collect(progress)
                if time.monotonic() > last_call:
                    # A flow chaining calls past half the lease: the rest would outlive
                    # it, and another worker would make the same calls again.
                    result = CallResult(None, None, "the bot's turn ran out of time")
                else:
                    result = await self._call(progress.call, key, job)
                progress = engine.on_call(progress.state, result, ctx)
            return progress

        def collect(progress: Progress) -> None:
            nonlocal verified
            replies.extend(progress.answer.replies)
            learned.update(progress.answer.fields)
            verified = verified or progress.answer.verified

        if job.session.routine is not None and state.routine is None and not state.greeted:
            ctx = self._context(job, verified)
            progress = await settle(
                engine.start_routine(job.session.routine, replace(state, greeted=True), ctx),
                ctx,
            )
            collect(progress)
            state, end = progress.state, progress.answer.end
        deadline = self._deadline()
        for seq, text, _ in job.unread:
            if end is not None:
                break  # what the customer wrote after the bot's end is the human's to read
            if time.monotonic() > deadline:
                break  # the rest waits for the next turn, well inside the lease
            ctx = self._context(job, verified)
            progress = await settle(engine.on_message(state, text, ctx), ctx)
            collect(progress)
            state, end, through = progress.state, progress.answer.end, seq
        kind = engine.awaiting_secure(state) if end is None else None
        return Outcome(
            state,
            BotAnswer(tuple(replies), learned, end, verified),
            through,
            str(kind) if kind else None,
        )

    def _context(self, job: Job, verified: bool) -> Context:
        conv = job.conversation
        return Context(
            now=self._clock(),
            verification=Verification.VERIFIED if verified else conv.verification,
            default_skill=conv.skill,
            hours=job.hours,
            customer_name=job.customer_name,
            new_code=self._code(),
            code_salt=random_source.token_hex(8),
        )

    async def _call(self, call: Call, key: bytes | None, job: Job) -> CallResult:
        body = dict(call.body) if call.body is not None else None
        if body is not None:
            body["conversation_id"] = str(job.conversation.id)
        result = await self._http.call(
            call.url,
            method="POST" if call.method == "POST" else "GET",
            body=body if call.method == "POST" else None,
            timeout=call.timeout,
            secret=key,
            idempotency_key=f"{job.session.token}:{job.session.version}:{call.purpose}:{call.url}",
        )
        return CallResult(result.status, result.body, result.error)

    # -- the business's own bot ---------------------------------------------------------

    async def _external(self, job: Job) -> Outcome:
        bot = job.bot
        assert bot.url is not None
        assert bot.secret_name is not None
        config = ExternalBotConfig(bot.url, bot.timeout_seconds or 5.0, bot.secret_name)
        key = self._key(bot)
        if key is None:
            return _give_up(job, f"THREADLINE_SECRET_{bot.secret_name.upper()}_BOT_KEY is not set")
        state = job.session.state
        fields = dict(state.fields)
        replies: list[Reply] = []
        end = None
        through = job.session.read_seq
        routine_start = job.session.routine is not None and not state.greeted
        turns: list[tuple[int, str, datetime] | None] = [None] if routine_start else []
        turns += list(job.unread)
        deadline = self._deadline()
        for unread in turns:
            if end is not None or time.monotonic() > deadline:
                break
            seq = unread[0] if unread else None
            turn = _external_turn(job, unread, fields)
            answer = await ask_external(self._http, config, key, turn)
            replies.extend(answer.replies)
            fields.update(answer.fields)
            end = answer.end
            if seq is not None:
                through = seq
        if routine_start and not replies and end is None:
            # The bot had nothing to say to the routine: back to the agent at once
            # rather than leave the conversation with nobody on either side.
            end = HandTo(HandoffReason.ROUTINE_DONE, detail="the bot did nothing for the routine")
        state = replace(state, greeted=True, fields=fields)
        return Outcome(state, BotAnswer(tuple(replies), {}, end), through)

    def _deadline(self) -> float:
        """After this (monotonic), a turn reads no more messages: a third of the lease,
        so even its last call, bounded by its own timeout, ends inside the lease."""
        return time.monotonic() + self._config.lease.total_seconds() / 3

    def _key(self, bot: InboxBot) -> bytes | None:
        if bot.secret_name is None:
            return None
        value = self._secrets.get(bot.secret_name, SECRET_PART)
        return value.encode() if value else None


def _external_turn(
    job: Job, unread: tuple[int, str, datetime] | None, fields: dict[str, str]
) -> ExternalTurn:
    conv = job.conversation
    message = None
    if unread is not None:
        seq, text, received = unread
        message = TurnMessage(f"{conv.id}:{seq}", seq, text, received)
    return ExternalTurn(
        event="routine" if unread is None else "message",
        idempotency_key=f"{job.session.token}:{unread[0] if unread else 'routine'}",
        conversation_id=str(conv.id),
        session_id=str(conv.session_id),
        inbox_id=str(conv.inbox_id),
        channel=conv.channel,
        customer_id=str(conv.customer_id),
        customer_name=job.customer_name,
        verification=str(conv.verification),
        language=None,
        message=message,
        fields=dict(fields),
        transcript=tuple(
            TranscriptLine(cast(Sender, sender), text, at) for sender, text, at in job.transcript
        ),
        routine=job.session.routine,
    )


def _give_up(job: Job, why: str) -> Outcome:
    return Outcome(
        job.session.state,
        bot_turns.failed_answer(why),
        job.unread[-1][0] if job.unread else job.session.read_seq,
    )


def _random_code() -> str:
    return "".join(random_source.choice("0123456789") for _ in range(CODE_DIGITS))


__all__ = ["BotState", "BotWorker", "BotWorkerConfig", "HandTo"]
