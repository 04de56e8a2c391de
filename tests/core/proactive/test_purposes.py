"""Consent by purpose: marketing needs an opt-in; a STOP blocks marketing but not the
fraud alerts the business has a basis for; the newest record decides."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from threadline.core.consent import ConsentState
from threadline.core.errors import InvalidInput
from threadline.core.proactive.purposes import (
    Basis,
    ConsentRecord,
    Purpose,
    consent_verdict,
)

CUSTOMER = uuid.UUID(int=1)
T0 = datetime(2026, 11, 1, tzinfo=UTC)
# A business that declared that fraud alerts survive a channel-wide STOP.
BASIS = Basis(survives_channel_opt_out=frozenset({Purpose.FRAUD_ALERT}))


def record(
    purpose: Purpose | None, state: ConsentState, days: int, channel: str = "sms"
) -> ConsentRecord:
    return ConsentRecord(CUSTOMER, channel, purpose, state, "test", T0 + timedelta(days=days))


IN, OUT = ConsentState.OPTED_IN, ConsentState.OPTED_OUT


def verdict(records: list[ConsentRecord], purpose: Purpose, channel: str = "sms") -> str | None:
    found = consent_verdict(records, channel, purpose, BASIS)
    return None if found.allowed else found.rule


def test_marketing_needs_an_explicit_opt_in_on_that_channel() -> None:
    assert verdict([], Purpose.MARKETING) == "no_marketing_opt_in"
    assert verdict([record(Purpose.MARKETING, IN, 0)], Purpose.MARKETING) is None
    assert verdict([record(Purpose.MARKETING, IN, 0, "whatsapp")], Purpose.MARKETING) == (
        "no_marketing_opt_in"
    )
    # START after a STOP resumes messages; it does not sign anyone up for marketing.
    assert verdict([record(None, OUT, 0), record(None, IN, 1)], Purpose.MARKETING) == (
        "no_marketing_opt_in"
    )


def test_a_stop_on_sms_blocks_marketing_there_but_not_fraud_alerts_declared_to_survive() -> None:
    history = [record(Purpose.MARKETING, IN, 0), record(None, OUT, 1)]
    assert verdict(history, Purpose.MARKETING) == "opted_out_of_channel"
    assert verdict(history, Purpose.REMINDER) == "opted_out_of_channel"
    assert verdict(history, Purpose.FRAUD_ALERT) is None
    # Undeclared (the default), a STOP stops fraud alerts too.
    found = consent_verdict(history, "sms", Purpose.FRAUD_ALERT, Basis())
    assert found.rule == "opted_out_of_channel"
    # Other channels are untouched.
    assert verdict(history, Purpose.REMINDER, "whatsapp") is None


def test_an_opt_out_of_one_purpose_holds_even_for_fraud_alerts() -> None:
    assert verdict([record(Purpose.FRAUD_ALERT, OUT, 0)], Purpose.FRAUD_ALERT) == (
        "opted_out_of_purpose"
    )
    assert verdict([record(Purpose.FRAUD_ALERT, OUT, 0)], Purpose.REMINDER) is None


def test_a_stop_holds_until_start_whatever_opt_in_comes_between() -> None:
    again = [
        record(Purpose.MARKETING, IN, 0),
        record(None, OUT, 1),
        record(Purpose.MARKETING, IN, 2),
    ]
    # The carriers refuse everything after a STOP until START: an opt-in the business
    # records meanwhile waits for it.
    assert verdict(again, Purpose.MARKETING) == "opted_out_of_channel"
    assert verdict([*again, record(None, IN, 3)], Purpose.MARKETING) is None
    later_stop = [record(Purpose.MARKETING, IN, 2), record(None, OUT, 3)]
    assert verdict(later_stop, Purpose.MARKETING) == "opted_out_of_channel"


def test_without_a_declared_basis_a_purpose_needs_an_opt_in() -> None:
    narrow = Basis(
        without_opt_in=frozenset({Purpose.TRANSACTIONAL}), survives_channel_opt_out=frozenset()
    )
    assert not consent_verdict([], "sms", Purpose.REMINDER, narrow).allowed
    assert consent_verdict([record(None, IN, 0)], "sms", Purpose.REMINDER, narrow).allowed
    assert not consent_verdict([record(None, OUT, 0)], "sms", Purpose.FRAUD_ALERT, narrow).allowed


def test_marketing_can_never_be_sent_on_the_business_basis() -> None:
    with pytest.raises(InvalidInput, match="marketing"):
        Basis(without_opt_in=frozenset({Purpose.MARKETING}))
