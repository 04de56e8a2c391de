"""Firing due durable timers: inactivity, auto-close and respond-by breaches.

A timer fires in the transaction that applies its effect and deletes its row, so a
crash before the commit leaves the row to fire after the restart, and a commit leaves
nothing to fire twice. Several processes share the work: each locks the timers'
conversations with SKIP LOCKED (PostgreSQL) and re-reads the rows after the lock, so a
row another process fired meanwhile is gone (SQLite has one writer at a time).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from threadline.core import timers
from threadline.core.conversations import CloseReason, ConversationState
from threadline.service.routing import release_slots, route_waiting
from threadline.service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Timers fired per transaction: enough to clear a morning's backlog in a few seconds
# after downtime, few enough that one transaction holds its locks only briefly.
BATCH_SIZE = 200


async def fire_due(uow: UnitOfWork, now: datetime, *, limit: int = BATCH_SIZE) -> int:
    """Fire up to about `limit` due timers; returns how many it handled (fired, or found
    stale), so the caller knows whether more may be waiting."""
    candidates = await uow.timers.due(now, limit=limit)
    if not candidates:
        return 0
    locked = await uow.conversations.lock_many({t.conversation_id for t in candidates})
    by_id = {conv.id: conv for conv in locked}
    timings = await uow.timings()
    freed: dict[uuid.UUID, uuid.UUID] = {}  # conversation -> the agent whose slot it freed
    was_open = {conv.id for conv in locked if conv.state.is_open}
    due = await uow.timers.due_for(by_id.keys(), now)
    for timer in due:
        conv = by_id.get(timer.conversation_id)
        if conv is None:
            continue  # an earlier timer of this conversation failed
        try:
            holder = timers.fire(conv, timer.kind, now, timings(conv.channel))
        except Exception:
            # A bug in one conversation must not stop every other timer: leave this one
            # unsaved and its rows in place (retried, and logged, every tick).
            log.exception("timer %s of conversation %s failed", timer.kind, conv.id)
            del by_id[conv.id]
            freed.pop(conv.id, None)
            continue
        if holder is not None:
            freed[conv.id] = holder
    for conv in by_id.values():
        if conv.id in was_open and conv.state is ConversationState.CLOSED:
            await uow.conversations.close_session(conv.session_id, now, str(CloseReason.INACTIVITY))
        uow.collect(conv)
    await uow.conversations.save_all(list(by_id.values()))
    skills = await release_slots(uow, freed.values())
    if skills:
        await route_waiting(uow, now, skills=skills)
    return len(due)
