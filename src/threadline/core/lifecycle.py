"""The states a conversation moves through and the rules between them (DESIGN.md §2)."""

from __future__ import annotations

import enum


class ConversationState(enum.StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    INACTIVE = "inactive"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self is not ConversationState.CLOSED


_S = ConversationState
ALLOWED_TRANSITIONS: dict[ConversationState, frozenset[ConversationState]] = {
    _S.BOT: frozenset({_S.QUEUED, _S.CLOSED}),
    # queued -> inactive: a conversation handed back while waiting on the customer, who
    # then stayed silent past the inactivity timeout, needs no agent until they write.
    _S.QUEUED: frozenset({_S.ASSIGNED, _S.INACTIVE, _S.CLOSED}),
    # assigned -> assigned is a transfer to another agent; -> queued is a transfer to a
    # skill or the agent going offline.
    # -> bot: the agent hands it to the bot for a routine, and gets it back after.
    _S.ASSIGNED: frozenset({_S.ASSIGNED, _S.QUEUED, _S.INACTIVE, _S.CLOSED, _S.BOT}),
    # Reactivation goes through queued in the same transaction: the service then hands
    # the conversation straight to its owner when the owner has room under M.
    _S.INACTIVE: frozenset({_S.QUEUED, _S.CLOSED}),
    # A closed conversation reopens as a new session.
    _S.CLOSED: frozenset({_S.BOT, _S.QUEUED}),
}


class WaitingOn(enum.StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    NOBODY = "nobody"


class CloseReason(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    BOT = "bot"
    CUSTOMER_DECLINED_MORE_HELP = "customer_declined_more_help"
    INACTIVITY = "inactivity"
    # The customer sent an opt-out keyword (STOP): nothing more can be sent to them there.
    CUSTOMER_OPTED_OUT = "customer_opted_out"
    # A thread opened only to record a compliance keyword (HELP, START) nobody answers.
    COMPLIANCE_KEYWORD = "compliance_keyword"
    # The customer closed the chat before an agent took it (the simulator's explicit
    # abandonment; a web chat's "end chat" would close with it too).
    CUSTOMER_LEFT = "customer_left"


class TimerKind(enum.StrEnum):
    """The durable timers a conversation keeps (DESIGN.md §4): one of each at most."""

    # The respond-by time passed while the customer still waited: an SLA breach event.
    RESPOND_BY = "respond_by"
    # Waiting on the customer for too long: the conversation goes inactive.
    INACTIVITY = "inactivity"
    # Inactive for the channel's close timeout: the conversation closes.
    AUTO_CLOSE = "auto_close"
