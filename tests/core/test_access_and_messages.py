"""Access rules (DESIGN.md §7), delivery status, message bodies and input validation."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.core import pacing
from threadline.core.access import (
    Principal,
    can_view,
    event_visible,
    require_manage,
    require_role,
)
from threadline.core.agents import (
    MAX_CONCURRENCY,
    Agent,
    AgentStatus,
    Role,
    validate_limits,
    validate_skill,
)
from threadline.core.classify import OutboundContext
from threadline.core.conversations import (
    CloseReason,
    Conversation,
    ConversationState,
    WaitingOn,
)
from threadline.core.customers import (
    CHANNELS,
    PHONE_CHANNELS,
    make_identity,
    validate_channel,
    validate_timezone,
)
from threadline.core.errors import DomainError, Forbidden, InvalidInput, InvalidTransition
from threadline.core.events import ACTOR_ROUTER, Event
from threadline.core.messages import MAX_BODY_CHARS, DeliveryStatus, advance_status, clean_body
from threadline.core.time import require_utc

S = ConversationState
D = DeliveryStatus
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ME = uuid.UUID("00000000-0000-4000-8000-0000000000e1")
OTHER = uuid.UUID("00000000-0000-4000-8000-0000000000e2")
THIRD = uuid.UUID("00000000-0000-4000-8000-0000000000e3")


def me(role: Role = Role.AGENT, skills: frozenset[str] = frozenset({"billing"})) -> Principal:
    return Principal(agent_id=ME, role=role, skills=skills)


def conversation(
    state: ConversationState,
    *,
    skill: str = "billing",
    assigned: uuid.UUID | None = None,
    owner: uuid.UUID | None = None,
) -> Conversation:
    return Conversation(
        id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        inbox_id=uuid.uuid4(),
        channel="web",
        skill=skill,
        state=state,
        session_id=uuid.uuid4(),
        session_seq=1,
        pace=30.0,
        opened_at=T0,
        updated_at=T0,
        assigned_agent_id=assigned,
        owner_agent_id=owner,
    )


def opened(skill: str = "billing") -> Conversation:
    return Conversation.open(
        id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        inbox_id=uuid.uuid4(),
        channel="web",
        skill=skill,
        session_id=uuid.uuid4(),
        now=T0,
        timing=pacing.timing_for("web"),
    )


# -- can_view ---------------------------------------------------------------------------------


def test_agent_sees_the_conversation_assigned_to_them() -> None:
    assert can_view(me(), conversation(S.ASSIGNED, assigned=ME, owner=ME))


def test_agent_sees_an_assigned_conversation_outside_their_skills() -> None:
    # A transfer may hand an agent work from a queue they do not watch.
    conv = conversation(S.ASSIGNED, skill="vip", assigned=ME, owner=ME)
    assert can_view(me(skills=frozenset()), conv)


def test_agent_sees_the_inactive_conversation_they_own() -> None:
    assert can_view(me(), conversation(S.INACTIVE, assigned=None, owner=ME))


def test_agent_does_not_see_another_agents_inactive_conversation() -> None:
    assert not can_view(me(), conversation(S.INACTIVE, assigned=None, owner=OTHER))


def test_agent_sees_queued_conversations_in_their_skills() -> None:
    assert can_view(me(skills=frozenset({"billing", "tech"})), conversation(S.QUEUED, skill="tech"))


def test_agent_does_not_see_queued_conversations_of_other_skills() -> None:
    assert not can_view(me(skills=frozenset({"billing"})), conversation(S.QUEUED, skill="tech"))


def test_agent_does_not_see_another_agents_conversation_even_in_their_skill() -> None:
    conv = conversation(S.ASSIGNED, skill="billing", assigned=OTHER, owner=OTHER)
    assert not can_view(me(skills=frozenset({"billing"})), conv)


def test_former_owner_of_a_requeued_conversation_sees_it_only_through_the_queue() -> None:
    conv = opened(skill="tech")
    conv.assign(ME, T0, actor=ACTOR_ROUTER, cause="routed")
    conv.requeue(T0, actor=ACTOR_ROUTER, cause="agent_offline")
    assert conv.owner_agent_id == ME
    assert not can_view(me(skills=frozenset({"billing"})), conv)
    assert can_view(me(skills=frozenset({"tech"})), conv)


def test_agent_does_not_see_a_conversation_still_with_the_bot() -> None:
    # The rule is: assigned to me, inactive or closed and owned by me, or queued in my skills.
    conv = conversation(S.BOT, skill="billing", owner=ME)
    assert not can_view(me(skills=frozenset({"billing"})), conv)


def test_an_agent_sees_the_closed_conversations_they_owned_but_not_others() -> None:
    mine = conversation(S.CLOSED, skill="billing", owner=ME)
    theirs = conversation(S.CLOSED, skill="billing", owner=OTHER)
    assert can_view(me(skills=frozenset({"billing"})), mine)
    assert not can_view(me(skills=frozenset({"billing"})), theirs)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN], ids=str)
@pytest.mark.parametrize("state", list(S), ids=str)
def test_supervisors_and_admins_see_every_conversation(
    role: Role, state: ConversationState
) -> None:
    conv = conversation(state, skill="vip", assigned=OTHER, owner=OTHER)
    assert can_view(me(role=role, skills=frozenset()), conv)


def test_transfer_moves_visibility_from_one_agent_to_the_other() -> None:
    conv = opened()
    conv.assign(ME, T0, actor=ACTOR_ROUTER, cause="routed")
    mine, theirs = me(skills=frozenset()), Principal(OTHER, Role.AGENT, frozenset())
    assert can_view(mine, conv)
    assert not can_view(theirs, conv)
    conv.transfer_to_agent(OTHER, T0, actor=f"agent:{ME}")
    assert not can_view(mine, conv)
    assert can_view(theirs, conv)


# -- require_manage / require_role --------------------------------------------------------------


def test_assigned_agent_may_manage_their_conversation() -> None:
    require_manage(me(), conversation(S.ASSIGNED, assigned=ME, owner=ME))


@pytest.mark.parametrize(
    "conv",
    [
        conversation(S.ASSIGNED, assigned=OTHER, owner=OTHER),
        conversation(S.QUEUED),
        conversation(S.INACTIVE, owner=OTHER),
    ],
    ids=["others", "queued", "inactive-of-other"],
)
def test_other_agents_may_not_manage(conv: Conversation) -> None:
    with pytest.raises(Forbidden) as info:
        require_manage(me(), conv)
    assert info.value.code == "forbidden"


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN], ids=str)
def test_supervisors_may_manage_any_conversation(role: Role) -> None:
    require_manage(me(role=role), conversation(S.ASSIGNED, assigned=OTHER, owner=OTHER))
    require_manage(me(role=role), conversation(S.QUEUED))


def test_require_role_accepts_listed_roles_and_refuses_others() -> None:
    require_role(me(role=Role.ADMIN), Role.ADMIN)
    require_role(me(role=Role.SUPERVISOR), Role.SUPERVISOR, Role.ADMIN)
    with pytest.raises(Forbidden, match="supervisor or admin"):
        require_role(me(role=Role.AGENT), Role.SUPERVISOR, Role.ADMIN)
    with pytest.raises(Forbidden):
        require_role(me(role=Role.SUPERVISOR), Role.ADMIN)


def test_only_supervisors_and_admins_see_everything() -> None:
    assert {r for r in Role if me(role=r).sees_everything} == {Role.SUPERVISOR, Role.ADMIN}


# -- event_visible ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent_id", "queue", "expected"),
    [
        (ME, None, True),  # about me
        (ME, "vip", True),  # about me, in a queue I do not watch
        (None, "billing", True),  # my queue
        (OTHER, "billing", True),  # another agent took work from my queue
        (OTHER, None, False),  # another agent's private business
        (OTHER, "vip", False),
        (None, "vip", False),
        (None, None, False),
    ],
)
def test_agent_sees_events_about_them_or_their_queues(
    agent_id: uuid.UUID | None, queue: str | None, expected: bool
) -> None:
    assert event_visible(me(skills=frozenset({"billing"})), agent_id, queue) is expected


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN], ids=str)
@pytest.mark.parametrize(("agent_id", "queue"), [(OTHER, None), (None, None), (None, "vip")])
def test_supervisors_see_every_event(
    role: Role, agent_id: uuid.UUID | None, queue: str | None
) -> None:
    assert event_visible(me(role=role, skills=frozenset()), agent_id, queue)


def visible(principal: Principal, events: list[Event]) -> list[str]:
    return [str(e.type) for e in events if event_visible(principal, e.agent_id, e.queue)]


def test_transfer_to_a_skill_reaches_the_old_agent_and_the_new_queue_only() -> None:
    conv = opened(skill="billing")
    conv.assign(ME, T0, actor=ACTOR_ROUTER, cause="routed")
    before = len(conv.events)
    conv.transfer_to_skill("tech", T0, actor=f"agent:{ME}")
    events = conv.events[before:]
    old_agent = me(skills=frozenset())
    tech_watcher = Principal(OTHER, Role.AGENT, frozenset({"tech"}))
    stranger = Principal(THIRD, Role.AGENT, frozenset({"sales"}))
    assert visible(old_agent, events) == [
        "conversation.transferred",
        "conversation.unassigned",
    ]
    assert "conversation.queued" in visible(tech_watcher, events)
    assert visible(stranger, events) == []


def test_transfer_to_an_agent_reaches_both_agents() -> None:
    conv = opened(skill="billing")
    conv.assign(ME, T0, actor=ACTOR_ROUTER, cause="routed")
    before = len(conv.events)
    conv.transfer_to_agent(OTHER, T0, actor=f"agent:{ME}")
    events = conv.events[before:]
    assert visible(me(skills=frozenset()), events) == [
        "conversation.transferred",
        "conversation.unassigned",
    ]
    assert visible(Principal(OTHER, Role.AGENT, frozenset()), events) == ["conversation.assigned"]
    assert visible(Principal(THIRD, Role.AGENT, frozenset({"sales"})), events) == []


def test_closing_reaches_the_agent_and_the_queue() -> None:
    conv = opened(skill="billing")
    conv.assign(ME, T0, actor=ACTOR_ROUTER, cause="routed")
    conv.close(T0, actor=f"agent:{ME}", reason=CloseReason.AGENT)
    closed = conv.events[-1]
    assert event_visible(me(skills=frozenset()), closed.agent_id, closed.queue)
    watcher = Principal(OTHER, Role.AGENT, frozenset({"billing"}))
    assert event_visible(watcher, closed.agent_id, closed.queue)


def test_messages_in_an_assigned_conversation_reach_only_its_agent() -> None:
    conv = opened(skill="billing")
    conv.assign(ME, T0, actor=ACTOR_ROUTER, cause="routed")
    conv.receive_customer_message(
        timing=pacing.timing_for(conv.channel),
        message_id=uuid.uuid4(),
        now=T0,
        new_session_id=uuid.uuid4(),
    )
    conv.record_agent_message(
        timing=pacing.timing_for(conv.channel),
        agent_id=ME,
        message_id=uuid.uuid4(),
        now=T0,
        context=OutboundContext.STATEMENT,
    )
    received, sent = conv.events[-2:]
    watcher = Principal(OTHER, Role.AGENT, frozenset({"billing"}))
    for event in (received, sent):
        assert event_visible(me(skills=frozenset()), event.agent_id, event.queue)
        assert not event_visible(watcher, event.agent_id, event.queue)
    assert conv.waiting_on is WaitingOn.CUSTOMER


# -- delivery status --------------------------------------------------------------------------

OUTBOUND = [D.QUEUED, D.SENT, D.DELIVERED, D.READ, D.FAILED]
REPORTABLE = [D.SENT, D.DELIVERED, D.READ, D.FAILED]
# current -> {reported: result}, written out by hand.
EXPECTED_STATUS = {
    D.QUEUED: {D.SENT: D.SENT, D.DELIVERED: D.DELIVERED, D.READ: D.READ, D.FAILED: D.FAILED},
    D.SENT: {D.SENT: D.SENT, D.DELIVERED: D.DELIVERED, D.READ: D.READ, D.FAILED: D.FAILED},
    D.DELIVERED: {
        D.SENT: D.DELIVERED,  # a late "sent" is ignored
        D.DELIVERED: D.DELIVERED,
        D.READ: D.READ,
        D.FAILED: D.FAILED,
    },
    D.READ: {D.SENT: D.READ, D.DELIVERED: D.READ, D.READ: D.READ, D.FAILED: D.READ},
    D.FAILED: {D.SENT: D.FAILED, D.DELIVERED: D.FAILED, D.READ: D.FAILED, D.FAILED: D.FAILED},
}


@pytest.mark.parametrize(
    ("current", "reported"), list(itertools.product(OUTBOUND, REPORTABLE)), ids=str
)
def test_delivery_status_table(current: DeliveryStatus, reported: DeliveryStatus) -> None:
    assert advance_status(current, reported) is EXPECTED_STATUS[current][reported]


RANK = {D.QUEUED: 0, D.SENT: 1, D.DELIVERED: 2, D.READ: 3, D.FAILED: 3}


@pytest.mark.parametrize(
    ("current", "reported"), list(itertools.product(OUTBOUND, REPORTABLE)), ids=str
)
def test_delivery_status_never_moves_backwards(
    current: DeliveryStatus, reported: DeliveryStatus
) -> None:
    assert RANK[advance_status(current, reported)] >= RANK[current]


@pytest.mark.parametrize("terminal", [D.READ, D.FAILED], ids=str)
@pytest.mark.parametrize("reported", REPORTABLE, ids=str)
def test_read_and_failed_are_terminal(terminal: DeliveryStatus, reported: DeliveryStatus) -> None:
    assert advance_status(terminal, reported) is terminal


@pytest.mark.parametrize("other", list(D), ids=str)
def test_received_has_no_delivery_status(other: DeliveryStatus) -> None:
    with pytest.raises(InvalidTransition):
        advance_status(D.RECEIVED, other)
    with pytest.raises(InvalidTransition):
        advance_status(other, D.RECEIVED)


@pytest.mark.parametrize("current", OUTBOUND, ids=str)
def test_channels_cannot_report_queued(current: DeliveryStatus) -> None:
    with pytest.raises(InvalidInput):
        advance_status(current, D.QUEUED)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(REPORTABLE), max_size=8))
def test_any_callback_sequence_moves_status_forward_only(reports: list[DeliveryStatus]) -> None:
    status = D.QUEUED
    for reported in reports:
        new = advance_status(status, reported)
        assert RANK[new] >= RANK[status]
        assert new in (status, reported)
        if status in (D.READ, D.FAILED):
            assert new is status
        status = new


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([D.SENT, D.DELIVERED, D.READ]), min_size=1, max_size=6))
def test_out_of_order_callbacks_end_at_the_furthest_status(
    reports: list[DeliveryStatus],
) -> None:
    status = D.QUEUED
    for reported in reports:
        status = advance_status(status, reported)
    assert status is max(reports, key=RANK.__getitem__)


# -- message bodies ---------------------------------------------------------------------------


def test_clean_body_strips_surrounding_whitespace() -> None:
    assert clean_body("  hello there \n\t") == "hello there"


def test_clean_body_keeps_inner_whitespace_and_unicode() -> None:
    assert clean_body(" line one\n\nline two 👍 ") == "line one\n\nline two 👍"


@pytest.mark.parametrize("body", ["", " ", "\n\t  \r\n"], ids=repr)
def test_clean_body_rejects_empty(body: str) -> None:
    with pytest.raises(InvalidInput) as info:
        clean_body(body)
    assert info.value.details == {"field": "text"}


@pytest.mark.parametrize("body", ["\x00", "hi\x00there", " a\x00 "], ids=repr)
def test_clean_body_rejects_nul(body: str) -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        clean_body(body)


def test_clean_body_accepts_exactly_the_limit() -> None:
    assert MAX_BODY_CHARS == 4096
    assert clean_body("x" * 4096) == "x" * 4096
    # The limit applies to the text, not the whitespace around it.
    assert clean_body("  " + "x" * 4096 + "\n") == "x" * 4096


def test_clean_body_rejects_one_over_the_limit() -> None:
    with pytest.raises(InvalidInput, match="4096"):
        clean_body("x" * 4097)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_clean_body_returns_stripped_text_or_refuses(body: str) -> None:
    try:
        cleaned = clean_body(body)
    except InvalidInput:
        assert not body.strip() or "\x00" in body
        return
    assert cleaned == body.strip()
    assert cleaned
    assert clean_body(cleaned) == cleaned


# -- agents -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("preferred", "max_load"), [(1, 1), (3, 5), (MAX_CONCURRENCY, 50)])
def test_validate_limits_accepts_sane_limits(preferred: int, max_load: int) -> None:
    assert validate_limits(preferred, max_load) is None


@pytest.mark.parametrize(
    ("preferred", "max_load", "field"),
    [
        (0, 5, "preferred_concurrency"),
        (-1, 1, "preferred_concurrency"),
        (3, 2, "max_load"),
        (1, MAX_CONCURRENCY + 1, "max_load"),
        (60, 60, "max_load"),
    ],
)
def test_validate_limits_rejects_bad_limits(preferred: int, max_load: int, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_limits(preferred, max_load)
    assert info.value.details["field"] == field


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("billing", "billing"),
        ("  Billing ", "billing"),
        ("TIER-2.en_US", "tier-2.en_us"),
        ("x" * 64, "x" * 64),
        ("7", "7"),
    ],
)
def test_validate_skill_normalizes(raw: str, clean: str) -> None:
    assert validate_skill(raw) == clean


@pytest.mark.parametrize(
    "raw", ["", "   ", "two words", "a/b", "a:b", "x" * 65, "bill\x00ing", "café!"], ids=repr
)
def test_validate_skill_rejects_bad_names(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_skill(raw)
    assert info.value.details == {"field": "skills"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=70))
def test_validate_skill_is_idempotent_or_refuses(raw: str) -> None:
    try:
        clean = validate_skill(raw)
    except InvalidInput:
        return
    assert 1 <= len(clean) <= 64
    assert clean == clean.strip().lower()
    assert validate_skill(clean) == clean


def make_agent(**overrides: object) -> Agent:
    fields: dict[str, object] = {
        "id": ME,
        "username": "ana",
        "display_name": "Ana",
        "role": Role.AGENT,
        "skills": frozenset({"billing"}),
        "preferred_concurrency": 2,
        "max_load": 3,
        "status": AgentStatus.ONLINE,
        "status_since": T0,
    }
    fields.update(overrides)
    return Agent(**fields)  # type: ignore[arg-type]


def test_idle_since_is_the_later_of_last_assignment_and_coming_online() -> None:
    assert make_agent().idle_since == T0
    later = T0 + timedelta(minutes=5)
    assert make_agent(last_assigned_at=later).idle_since == later
    earlier = T0 - timedelta(minutes=5)
    assert make_agent(last_assigned_at=earlier).idle_since == T0


@pytest.mark.parametrize(
    ("status", "active", "expected"),
    [
        (AgentStatus.ONLINE, 0, True),
        (AgentStatus.ONLINE, 1, True),
        (AgentStatus.ONLINE, 2, False),  # at P
        (AgentStatus.ONLINE, 3, False),  # above P (a reactivation), still at most M
        (AgentStatus.AWAY, 0, False),
        (AgentStatus.OFFLINE, 0, False),
    ],
)
def test_agent_takes_new_work_only_online_and_below_preferred(
    status: AgentStatus, active: int, expected: bool
) -> None:
    assert make_agent(status=status, active_count=active).can_take_new_work() is expected


# -- customers --------------------------------------------------------------------------------


def test_make_identity_strips_the_address() -> None:
    identity = make_identity("sms", "  +15551230000 ")
    assert (identity.channel, identity.address) == ("sms", "+15551230000")
    assert str(identity) == "sms:+15551230000"


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_make_identity_accepts_every_known_channel(channel: str) -> None:
    address = "+15551230000" if channel in PHONE_CHANNELS else "abc-123"
    assert make_identity(channel, address).channel == channel


@pytest.mark.parametrize(
    "written", ["+1 (555) 123-0000", "+1.555.123.0000", " +1 555 123 0000 ", "+1-555/1230000"]
)
@pytest.mark.parametrize("channel", sorted(PHONE_CHANNELS))
def test_a_phone_number_is_kept_in_e164_however_it_was_written(channel: str, written: str) -> None:
    assert make_identity(channel, written).address == "+15551230000"


@pytest.mark.parametrize(
    "written", ["5551230000", "+1 555 123 0000 ext 12", "+0155512300", "+1", "call me", ""]
)
def test_a_phone_number_without_its_country_code_or_with_more_than_digits_is_refused(
    written: str,
) -> None:
    with pytest.raises(InvalidInput, match="international form") as info:
        make_identity("sms", written)
    assert info.value.details == {"field": "address"}


@pytest.mark.parametrize("channel", ["fax", "", "SMS", " sms", "email"], ids=repr)
def test_unknown_channel_is_refused(channel: str) -> None:
    with pytest.raises(InvalidInput) as info:
        make_identity(channel, "+15551230000")
    assert info.value.details == {"field": "channel"}
    with pytest.raises(InvalidInput):
        validate_channel(channel)


@pytest.mark.parametrize(
    "address",
    ["", "   ", "two words", "tab\there", "new\nline", "nul\x00", "bell\x07", "x" * 256],
    ids=repr,
)
def test_bad_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidInput) as info:
        make_identity("web", address)
    assert info.value.details == {"field": "address"}


def test_address_of_255_characters_is_accepted() -> None:
    assert make_identity("web", "v" * 255).address == "v" * 255


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
def test_known_time_zones_are_accepted(tz: str) -> None:
    assert validate_timezone(tz) == tz


def test_no_time_zone_is_fine() -> None:
    assert validate_timezone(None) is None


@pytest.mark.parametrize(
    "tz",
    [
        "",
        " ",
        "Mars/Olympus",
        "Europe/Pariss",
        "America",
        "../etc/passwd",
        "/etc/localtime",
        "a\x00b",
        "UTC ",
        "x" * 300,
    ],
    ids=repr,
)
def test_unknown_time_zones_are_refused(tz: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_timezone(tz)
    assert info.value.details == {"field": "timezone"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_validate_timezone_never_fails_with_anything_but_invalid_input(tz: str) -> None:
    # "No input ever yields a 500": only the domain's InvalidInput may escape.
    try:
        result = validate_timezone(tz)
    except InvalidInput:
        return
    assert result == tz


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([*sorted(CHANNELS), "fax"]), st.text(max_size=40))
def test_make_identity_never_fails_with_anything_but_invalid_input(
    channel: str, address: str
) -> None:
    try:
        identity = make_identity(channel, address)
    except InvalidInput:
        return
    assert identity.channel in CHANNELS
    assert identity.address == address.strip()
    assert not any(ch.isspace() for ch in identity.address)


# -- time -------------------------------------------------------------------------------------


def test_require_utc_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="received_at must be timezone-aware"):
        require_utc(datetime(2026, 3, 2, 9, 0), "received_at")


def test_require_utc_converts_other_offsets_to_the_same_instant_in_utc() -> None:
    paris = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    result = require_utc(paris)
    assert result == T0
    assert result.utcoffset() == timedelta(0)
    assert result.hour == 9


def test_domain_errors_carry_their_code_and_details() -> None:
    error = InvalidInput("bad", field="x")
    assert isinstance(error, DomainError)
    assert (error.code, error.message, error.details) == ("invalid_input", "bad", {"field": "x"})
    assert Forbidden("no", code="custom").code == "custom"
