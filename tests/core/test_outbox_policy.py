"""The outbox's decisions: back-off, retry budget, and never sending twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadline.core.errors import InvalidTransition
from threadline.core.outbox import (
    Accepted,
    OutboxItem,
    OutboxState,
    Rejected,
    Retry,
    RetryPolicy,
    Unknown,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _item() -> OutboxItem:
    return OutboxItem(
        id=uuid.uuid4(),
        message_id=uuid.uuid4(),
        inbox_id=uuid.uuid4(),
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=NOW,
        created_at=NOW,
    )


@given(attempts=st.integers(1, 40), jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_doubles_from_the_base_up_to_the_cap_and_jitter_keeps_half(
    attempts: int, jitter: float
) -> None:
    policy = RetryPolicy()
    step = min(policy.cap, policy.base * 2 ** (attempts - 1))
    delay = policy.delay(attempts, jitter)
    assert step / 2 <= delay <= step


def test_a_provider_outage_is_retried_until_the_budget_then_failed_with_its_error() -> None:
    policy = RetryPolicy(max_attempts=3)
    item = _item()
    for attempt in range(1, 4):
        assert item.claim(NOW, LEASE, idempotent=False)
        assert item.attempts == attempt
        item.record(Retry("503 from provider"), NOW, policy, idempotent=False, jitter=0.5)
    assert item.state is OutboxState.FAILED
    assert item.last_error == "503 from provider (gave up after 3 attempts)"


def test_a_retry_after_longer_than_the_backoff_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy()
    item = _item()
    item.claim(NOW, LEASE, idempotent=False)
    item.record(Retry("429", after=timedelta(seconds=90)), NOW, policy, idempotent=False, jitter=0)
    assert item.next_attempt_at == NOW + timedelta(seconds=90)
    item.claim(NOW, LEASE, idempotent=False)
    item.record(Retry("429", after=timedelta(hours=5)), NOW, policy, idempotent=False, jitter=0)
    assert item.next_attempt_at == NOW + policy.cap


def test_an_accepted_send_is_final_and_keeps_the_providers_id() -> None:
    item = _item()
    item.claim(NOW, LEASE, idempotent=False)
    item.record(Accepted("SM123"), NOW, RetryPolicy(), idempotent=False, jitter=0)
    assert (item.state, item.provider_id, item.lease_until) == (OutboxState.SENT, "SM123", None)
    with pytest.raises(InvalidTransition):
        item.claim(NOW, LEASE, idempotent=False)


def test_a_refusal_fails_at_once() -> None:
    item = _item()
    item.claim(NOW, LEASE, idempotent=True)
    item.record(Rejected("21211 invalid To"), NOW, RetryPolicy(), idempotent=True, jitter=0)
    assert (item.state, item.last_error) == (OutboxState.FAILED, "21211 invalid To")


def test_an_unknown_outcome_is_repeated_only_where_the_provider_drops_repeats() -> None:
    idempotent, plain = _item(), _item()
    for item, drops_repeats in ((idempotent, True), (plain, False)):
        item.claim(NOW, LEASE, idempotent=drops_repeats)
        item.record(Unknown("timeout"), NOW, RetryPolicy(), idempotent=drops_repeats, jitter=0)
    assert idempotent.state is OutboxState.PENDING
    assert plain.state is OutboxState.FAILED
    assert plain.last_error is not None
    assert plain.last_error.startswith("not confirmed")


def test_a_lapsed_lease_is_taken_over_only_where_the_provider_drops_repeats() -> None:
    for drops_repeats, expected in ((True, OutboxState.SENDING), (False, OutboxState.FAILED)):
        item = _item()
        item.claim(NOW, LEASE, idempotent=drops_repeats)  # its worker then died
        later = NOW + LEASE + timedelta(seconds=1)
        assert item.claim(later, LEASE, idempotent=drops_repeats) is drops_repeats
        assert item.state is expected
        # The same key on every attempt: the provider recognises the repeat.
        assert item.idempotency_key == str(item.id)


def test_a_long_retry_budget_never_overflows_the_backoff() -> None:
    policy = RetryPolicy(max_attempts=100)
    assert policy.delay(100, 0.99) <= policy.cap
