"""The routing invariants under random sequences of everything that can happen
(DESIGN.md §2-§4): customers writing (real requests, thanks, "no"), agents replying,
closing, setting aside and transferring, agents changing status, and the clock moving
so that durable timers fire. The real service layer runs against a real database
(SQLite and PostgreSQL); after every step the database itself is checked:

- no agent holds more than M active conversations, and routing never takes one past P
  (reactivations and deliberate transfers may go to M);
- no conversation is both queued and assigned, and an inactive one holds no slot;
- every open conversation waiting on an agent is assigned or queued;
- offline agents hold nothing active and own no inactive conversation;
- the agents' slot counters agree with the conversations they hold;
- work never waits in a queue while an online agent with the skill has room under P;
- no message and no conversation is lost, and every due timer has fired.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.support import databases
from tests.support.clock import FakeClock
from threadline.adapters.database import Database
from threadline.adapters.schema import (
    agent_skills,
    agents,
    conversation_timers,
    conversations,
    customer_identities,
    events,
)
from threadline.adapters.schema import inboxes as inboxes_table
from threadline.adapters.schema import messages as messages_table
from threadline.core.access import Principal
from threadline.core.agents import AgentStatus, Role
from threadline.core.errors import DomainError
from threadline.core.inboxes import Inbox
from threadline.service import agents as agent_service
from threadline.service import conversations as conversation_service
from threadline.service import inbound, inboxes, timers
from threadline.service.inbound import InboundMessage
from threadline.service.unit_of_work import Transactor, UnitOfWork

T = TypeVar("T")

SKILLS = ("billing", "tech")
# (preferred, max, skills): a specialist of each queue and a generalist.
AGENTS = ((1, 2, ("billing",)), (2, 3, ("tech",)), (1, 3, ("billing", "tech")))
CUSTOMERS = 3
CUSTOMER_TEXTS = (
    "I need help with my bill",  # substantive
    "My internet is down again",  # substantive
    "thanks!",  # ineffectual after a statement
    "no thanks, that's all",  # closing after "anything else?"
)
AGENT_TEXTS = ("Done, it is fixed now.", "Is there anything else I can help you with?")
# From seconds (nothing due) to past the inactivity timeouts and the one-day close.
CLOCK_STEPS = (5, 200, 700, 4000, 90_000)


# What the examples made happen, over the whole run: a guard against a property test
# that passes because nothing interesting ever happened in it.
SEEN: Counter[str] = Counter()
MUST_HAPPEN = (
    "conversation.assigned:routed",
    "conversation.assigned:reactivated",
    "conversation.assigned:reopened",
    "conversation.assigned:transfer",
    "conversation.inactive:customer_inactive",
    "conversation.inactive:agent",
    "conversation.reactivated:",
    "conversation.closed:inactivity",
    "conversation.closed:customer_declined_more_help",
    "conversation.respond_by_breached:",
    "conversation.unassigned:owner_offline",
    "conversation.queued:agent_offline",
)


@dataclass
class Staff:
    id: uuid.UUID
    principal: Principal
    preferred: int
    max_load: int


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self, database_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(database_url)
        self.tx = Transactor(self.db)
        self.clock = FakeClock()
        self.staff: list[Staff] = []
        self.inboxes: list[Inbox] = []
        self.sent = 0  # messages stored, by the model's count
        self.threads: set[tuple[int, int]] = set()  # (customer, inbox) that wrote
        self.head = 0  # events checked so far

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def write(self, use_case: Callable[[UnitOfWork], Awaitable[T]]) -> T | None:
        """One use case; a refusal (DomainError) rolls back and is a legal outcome."""
        try:
            return self.run(self.tx.write(use_case))
        except DomainError:
            return None

    def teardown(self) -> None:
        async def seen(uow: UnitOfWork) -> list[str]:
            rows = await uow.conn.execute(sa.select(events.c.type, events.c.payload))
            return [
                f"{r.type}:{r.payload.get('cause') or r.payload.get('reason') or ''}" for r in rows
            ]

        if self.inboxes:
            SEEN.update(self.run(self.tx.read(seen)))
        self.run(self.db.dispose())
        self.loop.close()

    # -- set-up --------------------------------------------------------------------------

    @initialize()
    def set_up(self) -> None:
        for n, (preferred, max_load, skills) in enumerate(AGENTS):
            new = agent_service.NewAgent(
                f"agent{n}",
                "password-123",
                None,
                Role.AGENT,
                frozenset(skills),
                preferred,
                max_load,
            )
            agent = self.run(agent_service.create_agent(self.tx, None, new, self.clock()))
            principal = Principal(agent.id, Role.AGENT, frozenset(skills))
            self.staff.append(Staff(agent.id, principal, preferred, max_load))
            # The shift has started: status changes are among the steps.
            self.run(
                self.tx.write(
                    lambda uow, p=principal: agent_service.set_status(
                        uow, p, p.agent_id, AgentStatus.ONLINE, self.clock()
                    )
                )
            )
        lead = agent_service.NewAgent("lead", "password-123", None, Role.SUPERVISOR)
        self.lead = Principal(
            self.run(agent_service.create_agent(self.tx, None, lead, self.clock())).id,
            Role.SUPERVISOR,
            frozenset(),
        )
        for skill in SKILLS:
            created = self.run(
                self.tx.write(
                    lambda uow, s=skill: inboxes.create(uow, None, s, "api", s, self.clock())
                )
            )
            self.inboxes.append(created.inbox)

    # -- what happens ----------------------------------------------------------------------

    @rule(
        customer=st.integers(0, CUSTOMERS - 1),
        inbox=st.integers(0, len(SKILLS) - 1),
        text=st.sampled_from(CUSTOMER_TEXTS),
    )
    def customer_writes(self, customer: int, inbox: int, text: str) -> None:
        message = InboundMessage(f"c{customer}", text, external_id=str(uuid.uuid4()))
        box, now = self.inboxes[inbox], self.clock()
        self.write(lambda uow: inbound.ingest(uow, box, message, now))
        self.sent += 1
        self.threads.add((customer, inbox))

    @rule(pick=st.integers(0, 20), text=st.sampled_from(CUSTOMER_TEXTS))
    def customer_answers(self, pick: int, text: str) -> None:
        """A customer the agent is waiting on (or who went quiet) answers in their own
        thread: what makes reactivations and "no thanks" closes likely, not lucky."""

        async def find(uow: UnitOfWork) -> list[tuple[str, str]]:
            c = conversations.c
            query = _in_stable_order(
                sa.select(customer_identities.c.address, inboxes_table.c.name).where(
                    c.state.in_(["assigned", "inactive"]), c.waiting_on == "customer"
                )
            )
            return [(r.address, r.name) for r in (await uow.conn.execute(query)).all()]

        found = self.run(self.tx.read(find))
        if found:
            address, inbox_name = found[pick % len(found)]
            self.customer_writes(int(address[1:]), SKILLS.index(inbox_name), text)

    @rule(pick=st.integers(0, 20), text=st.sampled_from(AGENT_TEXTS))
    def agent_replies(self, pick: int, text: str) -> None:
        found = self._held(pick, states=("assigned",))
        if found is None:
            return
        conv_id, staff = found
        sent = self.write(
            lambda uow: conversation_service.send_message(
                uow, staff.principal, conv_id, text, self.clock()
            )
        )
        self.sent += sent is not None

    @rule(pick=st.integers(0, 20))
    def agent_closes(self, pick: int) -> None:
        found = self._held(pick, states=("assigned", "inactive"))
        if found is not None:
            conv_id, staff = found
            self.write(
                lambda uow: conversation_service.close(uow, staff.principal, conv_id, self.clock())
            )

    @rule(pick=st.integers(0, 20))
    def agent_sets_aside(self, pick: int) -> None:
        found = self._held(pick, states=("assigned",))
        if found is not None:
            conv_id, staff = found
            self.write(
                lambda uow: conversation_service.mark_inactive(
                    uow, staff.principal, conv_id, self.clock()
                )
            )

    @rule(
        agent=st.integers(0, len(AGENTS) - 1),
        status=st.sampled_from([AgentStatus.ONLINE, AgentStatus.AWAY, AgentStatus.OFFLINE]),
    )
    def status_changes(self, agent: int, status: AgentStatus) -> None:
        staff = self.staff[agent]
        self.write(
            lambda uow: agent_service.set_status(
                uow, staff.principal, staff.id, status, self.clock()
            )
        )

    @rule(pick=st.integers(0, 20))
    def owner_of_set_aside_work_signs_off(self, pick: int) -> None:
        """A shift ends while the agent owns inactive conversations (a rare sequence
        for random status changes to hit, and one with its own rule: DESIGN.md §3)."""
        found = self._held(pick, states=("inactive",))
        if found is not None:
            staff = found[1]
            self.write(
                lambda uow: agent_service.set_status(
                    uow, staff.principal, staff.id, AgentStatus.OFFLINE, self.clock()
                )
            )

    @rule(pick=st.integers(0, 20), to=st.integers(0, len(AGENTS) + len(SKILLS) - 1))
    def supervisor_transfers(self, pick: int, to: int) -> None:
        conv_id = self._any_open(pick)
        if conv_id is None:
            return
        target: dict[str, Any] = (
            {"to_agent_id": self.staff[to].id}
            if to < len(AGENTS)
            else {"to_queue": SKILLS[to - len(AGENTS)]}
        )
        self.write(
            lambda uow: conversation_service.transfer(
                uow, self.lead, conv_id, self.clock(), **target
            )
        )

    @rule(seconds=st.sampled_from(CLOCK_STEPS))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)
        while self.run(self.tx.write(lambda uow: timers.fire_due(uow, self.clock(), limit=50))):
            pass

    @rule()
    def a_quiet_day_passes(self) -> None:
        # Auto-close needs a conversation to go inactive and then a whole day without
        # its customer: as one step among five clock steps, that came so rarely that a
        # run of 300 programs could miss it (seen once in CI). A rule of its own makes
        # the day as likely as any other event.
        self.time_passes(CLOCK_STEPS[-1])

    # -- the invariants --------------------------------------------------------------------

    @invariant()
    def routing_invariants_hold(self) -> None:
        if not self.inboxes:
            return
        self.run(self.tx.read(self._check))

    async def _check(self, uow: UnitOfWork) -> None:
        conn = uow.conn
        rows = (await conn.execute(sa.select(conversations))).all()
        by_agent = {
            r.id: r
            for r in (await conn.execute(sa.select(agents))).all()
            if r.role == str(Role.AGENT)
        }
        skills: dict[uuid.UUID, set[str]] = {}
        for s in (await conn.execute(sa.select(agent_skills))).all():
            skills.setdefault(s.agent_id, set()).add(s.skill)
        held: dict[uuid.UUID, int] = dict.fromkeys(by_agent, 0)
        for conv in rows:
            state = conv.state
            if state == "assigned":
                assert conv.assigned_agent_id is not None, conv
                held[conv.assigned_agent_id] += 1
            else:
                assert conv.assigned_agent_id is None, f"{state} conversation holds an agent"
            if conv.waiting_on == "agent" and state != "closed":
                assert state in ("assigned", "queued"), f"a waiting customer is {state}"
            if state == "inactive" and conv.owner_agent_id is not None:
                owner = by_agent.get(conv.owner_agent_id)
                assert owner is None or owner.status != "offline", "offline agent owns one"
        for agent_id, agent in by_agent.items():
            assert agent.active_count == held[agent_id], "slot counter disagrees"
            assert agent.active_count <= agent.max_load, "above M"
            if agent.status == "offline":
                assert agent.active_count == 0, "an offline agent holds work"
        for conv in rows:
            if conv.state != "queued":
                continue
            for agent_id, agent in by_agent.items():
                room = agent.status == "online" and agent.active_count < agent.preferred_concurrency
                assert not (room and conv.skill in skills.get(agent_id, set())), (
                    "work waits while an agent with the skill has room"
                )
        # Routing gives new work only under P; reactivation and transfers only under M.
        for event in await uow.events.after(self.head, limit=100_000):
            self.head = event.seq
            if event.type != "conversation.assigned" or event.agent_id not in by_agent:
                continue
            agent = by_agent[event.agent_id]
            load = event.payload["load"]
            limit = agent.max_load
            if event.payload["cause"] in ("routed", "reopened"):
                limit = agent.preferred_concurrency
            assert load is not None, event
            assert load <= limit, event
        stored = await conn.execute(sa.select(sa.func.count()).select_from(messages_table))
        assert stored.scalar_one() == self.sent, "a message was lost"
        assert len(rows) == len(self.threads), "a conversation was lost"
        overdue = await conn.execute(
            sa.select(sa.func.count())
            .select_from(conversation_timers)
            .where(conversation_timers.c.due_at <= self.clock())
        )
        assert overdue.scalar_one() == 0, "a due timer did not fire"
        # Every conversation has the timers its state needs (a breach fires once, so a
        # respond-by row may be gone once its time has passed).
        timer_rows = (await conn.execute(sa.select(conversation_timers))).all()
        kinds = {(t.conversation_id, t.kind) for t in timer_rows}
        for conv in rows:
            waiting = conv.state in ("assigned", "queued")
            if waiting and conv.waiting_on == "customer":
                assert (conv.id, "inactivity") in kinds, "no inactivity timer"
            if conv.state == "inactive":
                assert (conv.id, "auto_close") in kinds, "no auto-close timer"
            if waiting and conv.waiting_on == "agent" and conv.respond_by > self.clock():
                assert (conv.id, "respond_by") in kinds, "no respond-by timer"

    # -- helpers ---------------------------------------------------------------------------

    def _held(self, pick: int, *, states: tuple[str, ...]) -> tuple[uuid.UUID, Staff] | None:
        """A conversation in one of `states` chosen by `pick`, and the agent who holds
        (or, inactive, owns) it."""

        async def find(uow: UnitOfWork) -> list[tuple[uuid.UUID, uuid.UUID]]:
            c = conversations.c
            holder = sa.func.coalesce(c.assigned_agent_id, c.owner_agent_id)
            query = _in_stable_order(
                sa.select(c.id, holder.label("agent_id")).where(
                    c.state.in_(states), holder.is_not(None)
                )
            )
            rows = (await uow.conn.execute(query)).all()
            return [(r.id, r.agent_id) for r in rows]

        found = self.run(self.tx.read(find))
        if not found:
            return None
        conv_id, agent_id = found[pick % len(found)]
        return conv_id, next(s for s in self.staff if s.id == agent_id)

    def _any_open(self, pick: int) -> uuid.UUID | None:
        async def find(uow: UnitOfWork) -> list[uuid.UUID]:
            c = conversations.c
            query = _in_stable_order(sa.select(c.id).where(c.state.in_(["queued", "assigned"])))
            return [r.id for r in (await uow.conn.execute(query)).all()]

        found = self.run(self.tx.read(find))
        return found[pick % len(found)] if found else None


def _in_stable_order(query: sa.Select[Any]) -> sa.Select[Any]:
    """Conversations by customer address and inbox name: ids are random, and an order
    that changed between runs would make a failing example impossible to replay."""
    c = conversations.c
    return (
        query.join(customer_identities, customer_identities.c.customer_id == c.customer_id)
        .join(inboxes_table, inboxes_table.c.id == c.inbox_id)
        .order_by(customer_identities.c.address, inboxes_table.c.name)
    )


def _fresh_database(request: pytest.FixtureRequest, tmp_path: Path, template: Path) -> str:
    """Each example starts from an empty, migrated database."""
    if "sqlite" in request.node.callspec.params["database_url"]:
        path = tmp_path / f"{uuid.uuid4()}.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    name = request.getfixturevalue("pg_database")
    asyncio.run(databases.truncate_pg(name))
    return databases.pg_url(name)


# Rounds of random examples until every path in MUST_HAPPEN has been exercised. Random
# programs reach some paths (an owner signing off while owning a set-aside conversation)
# only now and then; more rounds, only when needed, make a miss vanishingly unlikely
# without slowing the usual run.
EXAMPLES_PER_ROUND = 50
MAX_ROUNDS = 6


def test_routing_invariants_hold_under_any_sequence_of_events(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> None:
    SEEN.clear()
    for _ in range(MAX_ROUNDS):
        run_state_machine_as_test(
            lambda: RoutingMachine(_fresh_database(request, tmp_path, sqlite_template)),
            settings=settings(
                max_examples=EXAMPLES_PER_ROUND,
                stateful_step_count=50,
                deadline=None,
                # Hypothesis derandomizes when CI is set, which would make every round
                # the same examples: each round must explore new sequences.
                derandomize=False,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
        missing = [what for what in MUST_HAPPEN if not SEEN[what]]
        if not missing:
            return
    pytest.fail(f"never exercised: {missing}; seen: {dict(SEEN)}")
