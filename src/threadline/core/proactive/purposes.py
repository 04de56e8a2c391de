"""Whom the business may notify, for what, on which channel: consent by purpose.

Every consent change is a record (customer, channel, purpose or all purposes, opted in
or out, its source and time); the history is kept, and the newest applicable record
decides, refined by the rules below (docs/proactive.md, "Consent"):
- Marketing needs an explicit opt-in for marketing on that channel.
- Other purposes may go on the business's own basis (a fraud alert to an account holder,
  a receipt) where the business declares that basis for the purpose, unless the customer
  opted out of that purpose there.
- A channel-wide opt-out (an SMS "STOP") blocks every purpose on that channel except those
  the business declared may survive it (none by default), and never marketing. It holds
  until a START, whatever opt-in to a purpose is recorded meanwhile.
- An opt-out of a purpose holds until a newer opt-in to it: STOP and START do not lift it.
- At the same instant, an opt-out beats an opt-in.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from threadline.core.consent import ConsentState
from threadline.core.errors import InvalidInput
from threadline.core.proactive.caps import ALLOWED, Verdict


class Purpose(enum.StrEnum):
    TRANSACTIONAL = "transactional"
    FRAUD_ALERT = "fraud_alert"
    REMINDER = "reminder"
    MARKETING = "marketing"
    COLLECTIONS = "collections"


@dataclass(frozen=True)
class ConsentRecord:
    customer_id: uuid.UUID
    channel: str
    # None: every purpose on the channel (what an SMS keyword changes).
    purpose: Purpose | None
    state: ConsentState
    source: str
    at: datetime


@dataclass(frozen=True)
class Basis:
    """What the business may send without an opt-in: the purposes it has a basis for,
    and those of them that survive a channel-wide opt-out."""

    without_opt_in: frozenset[Purpose] = frozenset(
        {Purpose.TRANSACTIONAL, Purpose.FRAUD_ALERT, Purpose.REMINDER, Purpose.COLLECTIONS}
    )
    # Nothing by default: carriers (the CTIA), the FCC's 2015 fraud-alert exemption and
    # Twilio's Advanced Opt-Out all expect a STOP to stop everything. A business declares
    # what survives where its counsel and its carrier allow it.
    survives_channel_opt_out: frozenset[Purpose] = frozenset()

    def __post_init__(self) -> None:
        if Purpose.MARKETING in self.without_opt_in | self.survives_channel_opt_out:
            raise InvalidInput("marketing always needs an explicit opt-in", field="basis")


def _by_newest(
    records: Iterable[ConsentRecord],
    channel: str,
    purpose: Purpose,
    basis: Basis,
) -> Verdict:
    """The newest applicable record decides (the rules below refine this)."""
    mine = [r for r in records if r.channel == channel]
    specific = _newest(r for r in mine if r.purpose is purpose)
    wide = _newest(r for r in mine if r.purpose is None)
    if specific is not None and (wide is None or specific.at >= wide.at):
        if specific.state is ConsentState.OPTED_OUT:
            return Verdict(False, "opted_out_of_purpose")
        return ALLOWED
    if wide is not None and wide.state is ConsentState.OPTED_OUT:
        if purpose in basis.survives_channel_opt_out:
            return ALLOWED
        return Verdict(False, "opted_out_of_channel")
    if purpose is Purpose.MARKETING:
        # A channel-wide START restores messages; it is not a marketing opt-in.
        return Verdict(False, "no_marketing_opt_in")
    if purpose in basis.without_opt_in or (wide is not None and _in(wide)):
        return ALLOWED
    return Verdict(False, "no_consent")


def _in(record: ConsentRecord) -> bool:
    return record.state is ConsentState.OPTED_IN


def _newest(records: Iterable[ConsentRecord]) -> ConsentRecord | None:
    found = sorted(records, key=lambda r: r.at)
    return found[-1] if found else None


def consent_verdict(
    records: tuple[ConsentRecord, ...], channel: str, purpose: Purpose, basis: Basis
) -> Verdict:
    """Whether consent allows `purpose` on `channel`, from the customer's records:
    the newest applicable record decides, except that
    - a record about this very purpose is never undone by a channel-wide one it does
      not contradict: an opt-out of the purpose holds through a later STOP and START
      (and is not lifted for a purpose that survives a STOP), and an opt-in to it holds
      through a START that followed no STOP;
    - a STOP holds until a START, whatever opt-in to a purpose the business records
      after it: the platform refuses everything else on that channel until then (as
      the carriers do), so a notification decided "send" would only fail;
    - at the same instant, the "no" wins."""
    mine = [r for r in records if r.channel == channel]
    about = sorted((r for r in mine if r.purpose is purpose), key=lambda r: r.at)
    wide = sorted((r for r in mine if r.purpose is None), key=lambda r: r.at)
    specific = about[-1] if about else None
    if specific is not None and any(
        r.at == specific.at and r.state is ConsentState.OPTED_OUT for r in about
    ):
        # The newest says no (of two at the same instant, the "no").
        return Verdict(False, "opted_out_of_purpose")
    if wide and wide[-1].state is ConsentState.OPTED_OUT:
        if purpose in basis.survives_channel_opt_out:
            return ALLOWED
        return Verdict(False, "opted_out_of_channel")
    if specific is None:
        return _by_newest(mine, channel, purpose, basis)
    if not any(r.state is ConsentState.OPTED_OUT and r.at >= specific.at for r in wide):
        return ALLOWED
    # A STOP since (or with) the opt-in undid it, and the START after it restores
    # messages but not the opt-in to this purpose: the channel-wide records decide.
    return _by_newest(wide, channel, purpose, basis)
