"""A customer's consent to be messaged on a channel, and the SMS compliance keywords.

Carriers require that a texted STOP ends every message from the business on that
number, that START undoes it and that HELP answers with who we are and how to stop.
The keywords are matched on the whole message, case- and whitespace-insensitively, as
carriers and Twilio do: "stop" opts out, "please stop texting me" is a message for an
agent (who then sees it and can ask).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime


class ConsentState(enum.StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class Keyword(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# The CTIA's and the US carriers' standard words, which Twilio also honours. YES is
# left out: on a conversational number it answers questions far more often than it
# asks to resume messages.
_KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), Keyword.OPT_OUT),
    **dict.fromkeys(("START", "UNSTOP"), Keyword.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}


def keyword_of(text: str) -> Keyword | None:
    """The compliance keyword a whole message is, if it is one ("Stop ", "stop."),
    after dropping spaces and a trailing full stop or exclamation mark."""
    word = "".join(text.split()).upper().rstrip(".!")
    return _KEYWORDS.get(word)


@dataclass(frozen=True)
class Consent:
    customer_id: uuid.UUID
    channel: str
    state: ConsentState
    updated_at: datetime
    # What changed it: the keyword the customer sent, or "agent"/"api".
    source: str

    @property
    def allows_messages(self) -> bool:
        return self.state is ConsentState.OPTED_IN


@dataclass(frozen=True)
class KeywordReplies:
    """What the business answers to each keyword (per inbox; these defaults name no
    business, so an inbox should set its own)."""

    opt_out: str = (
        "You have been unsubscribed and will receive no more messages from us here. "
        "Reply START to resubscribe."
    )
    opt_in: str = "You are subscribed again. Reply STOP to unsubscribe, HELP for help."
    help: str = "Reply to this number to reach our team. Reply STOP to unsubscribe."

    def for_keyword(self, keyword: Keyword) -> str:
        return {
            Keyword.OPT_OUT: self.opt_out,
            Keyword.OPT_IN: self.opt_in,
            Keyword.HELP: self.help,
        }[keyword]
