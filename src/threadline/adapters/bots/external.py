"""Asking a business's own bot what to do with a turn (docs/bots-protocol.md).

A bot that is slow, down or talking nonsense never strands the customer: within the
configured timeout, retry included, the answer is either the bot's or a handoff to a
human whose detail says what went wrong.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from threadline.adapters.bots.http import BotHttp, CallResult
from threadline.core.bots.outcome import BotAnswer, HandoffReason, HandTo
from threadline.core.bots.protocol import (
    ExternalBotConfig,
    ExternalTurn,
    parse_answer,
    request_body,
)
from threadline.core.errors import InvalidInput

log = logging.getLogger(__name__)


def _unavailable(config: ExternalBotConfig, turn: ExternalTurn, why: str) -> BotAnswer:
    log.warning(
        "external bot %s unavailable for conversation %s: %s",
        config.url,
        turn.conversation_id,
        why,
    )
    return BotAnswer(end=HandTo(HandoffReason.BOT_UNAVAILABLE, detail=why))


def _why(result: CallResult, config: ExternalBotConfig, *, retry: bool) -> str:
    """The failure in words for the desk and the handoff event."""
    if result.timed_out:
        # A retry has what the first try left: the customer waited the whole
        # configured time, which is the figure worth reading.
        if retry:
            return f"the bot timed out ({config.timeout:.1f} s in all)"
        return f"the bot timed out after {config.timeout:.1f} s"
    if result.status is None:
        return f"the bot could not be reached ({result.error})"
    if not 200 <= result.status < 300:
        return f"the bot {result.error}"
    return f"the bot's answer was unusable ({result.error})"


async def ask_external(
    http: BotHttp,
    config: ExternalBotConfig,
    secret: bytes,
    turn: ExternalTurn,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> BotAnswer:
    """The bot's answer to `turn`, or a handoff to a human saying why there is none.

    A refused connection, a timeout, 429 or 5xx is tried once more, with the same
    idempotency key, if at least half the timeout is left; the two tries together
    never take longer than `config.timeout`."""
    started = clock()
    body = request_body(turn)
    failures: list[str] = []
    while True:
        result = await http.call(
            config.url,
            body=body,
            timeout=config.timeout - (clock() - started),
            secret=secret,
            idempotency_key=turn.idempotency_key,
        )
        if result.error is None and result.status is not None:
            try:
                return parse_answer({} if result.body is None else result.body)
            except InvalidInput as exc:
                return _unavailable(config, turn, f"the bot's answer was invalid ({exc.message})")
        failures.append(_why(result, config, retry=bool(failures)))
        left = config.timeout - (clock() - started)
        if not result.retryable or len(failures) > 1 or left < config.timeout / 2:
            return _unavailable(config, turn, "; on a retry, ".join(failures))
