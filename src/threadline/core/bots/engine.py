"""The built-in virtual agent: runs a flow one customer message at a time.

Pure: where a step needs the outside world (a lookup, a step-up code to deliver) the
engine stops with a `Call` for the service to make, and `on_call` goes on from the
answer. Each entry point returns a `Progress`: the new state, what the bot says and
learned, and how its part ends, if it does.

Escalation (issue 6): the customer asks for a person; two messages in a row not
understood (an unrecognised request, an answer that does not validate, an order the
lookup cannot find); a step the flow says hands over; a step-up that fails. A handoff
while the queue is closed first takes the customer's request down for the morning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from threadline.core.bots import fields as fieldsmod
from threadline.core.bots.flow import (
    Ask,
    Close,
    FieldKind,
    Flow,
    HandOver,
    Lookup,
    Say,
    Step,
    Then,
    Verify,
)
from threadline.core.bots.hours import BusinessHours, describe_reopening, is_open
from threadline.core.bots.intents import Recognizer, asks_for_human
from threadline.core.bots.outcome import BotAnswer, Finish, HandoffReason, HandTo, Reply
from threadline.core.bots.state import Awaiting, BotState, PendingCode, code_digest
from threadline.core.classify import Classifier, MessageKind, OutboundContext
from threadline.core.verification import Verification

# Six digits, as banks and carriers send them: short enough to type from a lock screen,
# and with three tries a guesser has 3 in a million.
CODE_DIGITS = 6
_CODE = re.compile(r"(?<!\d)(\d[\d -]{4,10}\d)(?!\d)")
# A message recognised as another request while the bot waits for an answer switches
# to that request only when the classifier is this sure: an answer that merely looks
# like a request ("my order") must stay an answer.
SWITCH_CONFIDENCE = 0.75


@dataclass(frozen=True)
class Context:
    """What the engine needs to know of the world for one turn."""

    now: datetime
    verification: Verification
    # The inbox's queue: where a handoff goes when the intent names none.
    default_skill: str
    # Opening hours per queue; a queue not listed is always staffed.
    hours: Mapping[str, BusinessHours] = field(default_factory=dict)
    customer_name: str | None = None
    # A fresh random code and salt, used if this turn sends a step-up code: the engine
    # mints nothing itself.
    new_code: str = ""
    code_salt: str = ""


@dataclass(frozen=True)
class Call:
    """An HTTP request the service makes for the engine, then calls `on_call`."""

    purpose: str  # "lookup" | "code"
    url: str
    method: str
    body: Mapping[str, str] | None
    timeout: float


@dataclass(frozen=True)
class CallResult:
    status: int | None
    body: object | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None


@dataclass(frozen=True)
class Progress:
    state: BotState
    answer: BotAnswer
    call: Call | None = None


class _Turn:
    """Collects a turn's replies and fields as the steps run."""

    def __init__(self, state: BotState, ctx: Context) -> None:
        self.state = state
        # "Hi {customer_name}!" still reads when the channel gave no name.
        self.always = {"customer_name": ctx.customer_name or "there"}
        self.replies: list[Reply] = []
        self.learned: dict[str, str] = {}
        self.verified = False

    def say(self, text: str, suggestions: tuple[str, ...] = ()) -> None:
        self.replies.append(Reply(fieldsmod.fill(text, self.values()), suggestions))

    def values(self) -> dict[str, str]:
        return {**self.always, **self.state.fields}

    def learn(self, name: str, shown: str, clear: str | None = None) -> None:
        self.state = self.state.with_fields(**{name: shown})
        if clear is not None:
            self.state = replace(self.state, secure={**self.state.secure, name: clear})
        self.learned[name] = shown

    def done(self, end: HandTo | Finish | None = None, call: Call | None = None) -> Progress:
        return Progress(
            self.state,
            BotAnswer(tuple(self.replies), dict(self.learned), end, self.verified),
            call,
        )


class Engine:
    def __init__(self, flow: Flow, recognizer: Recognizer, classifier: Classifier) -> None:
        self.flow = flow
        self.recognizer = recognizer
        self.classifier = classifier

    # -- entry points -----------------------------------------------------------------

    def start_routine(self, name: str, state: BotState, ctx: Context) -> Progress:
        """An agent hands the conversation to the bot for `name`: its steps run now."""
        turn = _Turn(replace(state, routine=name, intent=None, step=0, fallbacks=0), ctx)
        return self._run(turn, ctx)

    def on_message(self, state: BotState, text: str, ctx: Context) -> Progress:
        turn = _Turn(state, ctx)
        if asks_for_human(text, self.flow.escalation_phrases):
            return self._hand_over(turn, ctx, HandoffReason.CUSTOMER_ASKED)
        first = not state.greeted
        if first:
            turn.state = replace(turn.state, greeted=True)
            turn.say(self.flow.messages.greeting)
        if state.awaiting is Awaiting.ANSWER:
            return self._answer(turn, text, ctx)
        if state.awaiting is Awaiting.CODE:
            return self._code(turn, text, ctx)
        if state.awaiting is Awaiting.ANYTHING_ELSE:
            kind = self.classifier.classify_in(text, OutboundContext.CLOSING_QUESTION).kind
            if kind is not MessageKind.SUBSTANTIVE:
                turn.say(self.flow.messages.closing)
                return turn.done(Finish())
        return self._request(turn, text, ctx, first=first)

    def on_call(self, state: BotState, result: CallResult, ctx: Context) -> Progress:
        turn = _Turn(state, ctx)
        step = self._step(state)
        if isinstance(step, Verify):
            return self._code_sent(turn, result, ctx)
        assert isinstance(step, Lookup), "a call answers a lookup or a code delivery"
        if result.ok:
            missing = [path for path in step.save.values() if _dig(result.body, path) is None]
            if missing:
                # What follows would read `{field}`s the answer did not give: the bot
                # cannot answer properly, so a human does.
                detail = f"{step.name}: the answer had no {', '.join(missing)}"
                return self._hand_over(turn, ctx, HandoffReason.LOOKUP_FAILED, detail=detail)
            for name, path in step.save.items():
                turn.learn(name, _dig(result.body, path) or "")
            # The clear values a secure answer was kept for have been used; a record
            # was found, so the customer's answers were understood.
            turn.state = replace(turn.state, secure={}, step=state.step + 1, fallbacks=0)
            return self._run(turn, ctx)
        if result.status == 404:
            return self._not_found(turn, step, ctx)
        return self._hand_over(
            turn, ctx, HandoffReason.LOOKUP_FAILED, detail=f"{step.name}: {result.error}"
        )

    def awaiting_secure(self, state: BotState) -> FieldKind | None:
        """The kind of the secure answer the bot waits on (its message is stored
        masked), or None."""
        step = self._step(state)
        if state.awaiting is Awaiting.ANSWER and isinstance(step, Ask):
            return step.kind if fieldsmod.is_secure(step) else None
        return None

    # -- what the customer said ---------------------------------------------------------

    def _request(self, turn: _Turn, text: str, ctx: Context, *, first: bool) -> Progress:
        found = self.recognizer.recognize(text)
        if found.intent is None:
            if first:
                # The greeting says what the bot can do; a "hi" is not a failure.
                turn.state = replace(turn.state, awaiting=Awaiting.REQUEST)
                return turn.done()
            return self._not_understood(turn, ctx, self.flow.messages.fallback)
        intent = self.flow.intent(found.intent)
        assert intent is not None, "the recognizer knows only the flow's intents"
        turn.state = replace(
            turn.state,
            intent=intent.name,
            confidence=round(found.confidence, 3),
            routine=None,
            step=0,
            fallbacks=0,
            awaiting=Awaiting.REQUEST,
        )
        return self._run(turn, ctx)

    def _answer(self, turn: _Turn, text: str, ctx: Context) -> Progress:
        step = self._step(turn.state)
        assert isinstance(step, Ask), "an answer is awaited only at an ask step"
        value = fieldsmod.validate(step, text, ctx.now.date())
        if value is None:
            if turn.state.routine is None and not fieldsmod.is_secure(step):
                found = self.recognizer.recognize(text)
                if found.intent is not None and found.confidence >= SWITCH_CONFIDENCE:
                    return self._request(turn, text, ctx, first=False)
            error = step.error or self.flow.messages.fallback
            return self._not_understood(turn, ctx, error, again=step)
        if fieldsmod.is_secure(step):
            turn.learn(step.field, fieldsmod.mask(step, value), clear=value)
        else:
            turn.learn(step.field, value)
        # Understood, unless the lookup that follows finds no such record (a well-formed
        # order number that does not exist): that one still counts, so a customer
        # guessing numbers reaches a human instead of looping.
        checked = isinstance(self._step(replace(turn.state, step=turn.state.step + 1)), Lookup)
        fallbacks = turn.state.fallbacks if checked else 0
        turn.state = replace(turn.state, step=turn.state.step + 1, fallbacks=fallbacks)
        return self._run(turn, ctx)

    def _code(self, turn: _Turn, text: str, ctx: Context) -> Progress:
        code = turn.state.code
        assert code is not None, "a code is awaited only after one was sent"
        if ctx.now >= code.expires_at:
            if code.tries_left <= 1:
                return self._step_up_failed(turn, ctx, "the code expired")
            step = self._step(turn.state)
            assert isinstance(step, Verify)
            turn.say(self.flow.messages.code_expired)
            to = fieldsmod.fill(step.to, turn.values()).strip()
            return self._send_code(turn, ctx, to, tries=code.tries_left - 1)
        typed = _CODE.search(text)
        entered = re.sub(r"\D", "", typed.group(1)) if typed else ""
        if len(entered) == CODE_DIGITS and code.matches(entered):
            step = self._step(turn.state)
            assert isinstance(step, Verify)
            turn.verified = True
            turn.say(self.flow.messages.verified)
            turn.state = replace(
                turn.state,
                code=None,
                verified_to=fieldsmod.fill(step.to, turn.values()).strip(),
                awaiting=Awaiting.REQUEST,
                step=turn.state.step + 1,
            )
            return self._run(turn, ctx)
        if code.tries_left <= 1:
            return self._step_up_failed(turn, ctx, "wrong codes")
        turn.state = replace(turn.state, code=replace(code, tries_left=code.tries_left - 1))
        turn.say(self.flow.messages.code_wrong)
        return turn.done()

    # -- running steps ------------------------------------------------------------------

    def _steps(self, state: BotState) -> tuple[Step, ...]:
        if state.routine is not None:
            routine = self.flow.routines.get(state.routine)
            return routine.steps if routine else ()
        intent = self.flow.intent(state.intent) if state.intent else None
        return intent.steps if intent else ()

    def _step(self, state: BotState) -> Step | None:
        steps = self._steps(state)
        return steps[state.step] if state.step < len(steps) else None

    def _run(self, turn: _Turn, ctx: Context) -> Progress:
        while (step := self._step(turn.state)) is not None:
            values = turn.values()
            if isinstance(step, Say):
                turn.say(step.text)
            elif isinstance(step, Ask):
                turn.say(step.prompt, step.choices)
                turn.state = replace(turn.state, awaiting=Awaiting.ANSWER)
                return turn.done()
            elif isinstance(step, Lookup):
                body = None
                if step.method == "POST":
                    # What the customer gave and lookups found; not the stand-ins for
                    # text ("there" for an unknown name).
                    body = {**turn.state.fields, **turn.state.secure}
                url = fieldsmod.fill_url(step.url, values)
                return turn.done(call=Call("lookup", url, step.method, body, step.timeout))
            elif isinstance(step, Verify):
                to = fieldsmod.fill(step.to, values).strip()
                if not to or "{" in to:
                    return self._step_up_failed(turn, ctx, "no address on file")
                if to == turn.state.verified_to:
                    # Proven for this very address already. A proof for another record
                    # (another order, another account) proves nothing here, nor does a
                    # signed identity the looked-up record was never matched against.
                    turn.state = replace(turn.state, step=turn.state.step + 1)
                    continue
                return self._send_code(turn, ctx, to, tries=self._delivery_attempts())
            elif isinstance(step, HandOver):
                return self._hand_over(
                    turn, ctx, HandoffReason.FLOW, skill=step.skill, message=step.message
                )
            elif isinstance(step, Close):
                if step.message:
                    turn.say(step.message)
                return turn.done(Finish())
            turn.state = replace(turn.state, step=turn.state.step + 1)
        return self._after_steps(turn, ctx)

    def _after_steps(self, turn: _Turn, ctx: Context) -> Progress:
        state = turn.state
        if state.routine is not None:
            routine = self.flow.routines.get(state.routine)
            if routine and routine.done:
                turn.say(routine.done)
            turn.state = replace(state, routine=None, step=0, awaiting=Awaiting.REQUEST)
            return turn.done(HandTo(HandoffReason.ROUTINE_DONE, detail=state.routine))
        intent = self.flow.intent(state.intent) if state.intent else None
        then = intent.then if intent else Then.ANYTHING_ELSE
        if then is Then.CLOSE:
            turn.say(self.flow.messages.closing)
            return turn.done(Finish())
        if then is Then.HANDOFF:
            return self._hand_over(turn, ctx, HandoffReason.FLOW)
        turn.say(self.flow.messages.closing_question)
        turn.state = replace(state, awaiting=Awaiting.ANYTHING_ELSE, step=0)
        return turn.done()

    # -- lookups and step-up codes -------------------------------------------------------

    def _not_found(self, turn: _Turn, step: Lookup, ctx: Context) -> Progress:
        """The business has no such record: say so and ask the last question again
        (a mistyped order number), which counts as not understood."""
        steps = self._steps(turn.state)
        back = max((i for i in range(turn.state.step) if isinstance(steps[i], Ask)), default=None)
        message = step.not_found or self.flow.messages.fallback
        if back is None:
            return self._not_understood(turn, ctx, message)
        ask = steps[back]
        assert isinstance(ask, Ask)
        turn.state = replace(turn.state, step=back, secure={})
        return self._not_understood(turn, ctx, message, again=ask)

    def _delivery_attempts(self) -> int:
        delivery = self.flow.code_delivery
        return delivery.attempts if delivery else 3

    def _send_code(self, turn: _Turn, ctx: Context, to: str, *, tries: int) -> Progress:
        delivery = self.flow.code_delivery
        if delivery is None or len(ctx.new_code) != CODE_DIGITS:
            return self._step_up_failed(turn, ctx, "codes cannot be sent")
        sent_to = _masked_address(to)
        turn.state = replace(
            turn.state,
            code=PendingCode(
                code_digest(ctx.code_salt, ctx.new_code),
                ctx.code_salt,
                ctx.now + timedelta(minutes=delivery.expires_minutes),
                tries,
                sent_to,
            ),
            awaiting=Awaiting.CODE,
        )
        body = {"to": to, "code": ctx.new_code}
        return turn.done(call=Call("code", delivery.url, "POST", body, delivery.timeout))

    def _code_sent(self, turn: _Turn, result: CallResult, ctx: Context) -> Progress:
        code = turn.state.code
        assert code is not None
        if not result.ok:
            return self._step_up_failed(turn, ctx, f"the code could not be sent: {result.error}")
        turn.say(self.flow.messages.code_sent.replace("{to}", code.sent_to))
        return turn.done()

    def _step_up_failed(self, turn: _Turn, ctx: Context, why: str) -> Progress:
        # What a lookup found stays with the bot's state; the customer was shown nothing
        # that needed the step-up, and the agent sees the level is not verified.
        turn.state = replace(turn.state, code=None, secure={})
        return self._hand_over(turn, ctx, HandoffReason.VERIFICATION_FAILED, detail=why)

    # -- endings ------------------------------------------------------------------------

    def _not_understood(
        self, turn: _Turn, ctx: Context, message: str, again: Ask | None = None
    ) -> Progress:
        fallbacks = turn.state.fallbacks + 1
        turn.state = replace(turn.state, fallbacks=fallbacks)
        if fallbacks >= self.flow.max_fallbacks:
            return self._hand_over(turn, ctx, HandoffReason.FALLBACKS)
        turn.say(message)
        if again is not None:
            turn.say(again.prompt, again.choices)
            turn.state = replace(turn.state, awaiting=Awaiting.ANSWER)
        return turn.done()

    def _hand_over(
        self,
        turn: _Turn,
        ctx: Context,
        reason: HandoffReason,
        *,
        skill: str | None = None,
        message: str | None = None,
        detail: str | None = None,
    ) -> Progress:
        state = turn.state
        intent = self.flow.intent(state.intent) if state.intent else None
        queue = skill or (intent.skill if intent else None) or ctx.default_skill
        hand = HandTo(
            reason,
            skill=queue,
            intent=state.intent,
            confidence=state.confidence,
            detail=detail,
        )
        hours = ctx.hours.get(queue)
        turn.state = replace(state, awaiting=Awaiting.REQUEST, step=0, code=None, secure={})
        # A routine goes back to the agent who lent it, whatever the queue's hours.
        if state.routine is None and hours is not None and not is_open(hours, ctx.now):
            # Handed over now all the same: the customer's next words (their request)
            # wait in the queue for the team, and no customer is left with the bot.
            reopens = describe_reopening(hours, ctx.now, self.flow.language)
            turn.say(self.flow.messages.out_of_hours.replace("{reopens}", reopens))
            return turn.done(replace(hand, out_of_hours=True))
        turn.say(message or self.flow.messages.handoff)
        return turn.done(hand)


def _dig(body: object, path: str) -> str | None:
    """The value at a dotted path of a JSON answer, as text (None when absent)."""
    node = body
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]  # "items.0.name": the first item's name
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    if node is None or isinstance(node, dict | list):
        return None
    if isinstance(node, bool):
        return "yes" if node else "no"
    return str(node)[:500]


def _masked_address(to: str) -> str:
    """Enough of the address for the customer to recognise it, not enough to learn it."""
    if "@" in to:
        name, _, domain = to.partition("@")
        return f"{name[:1]}•••@{domain}"
    return f"the number ending {to[-4:]}" if len(to) > 4 else "your number on file"
