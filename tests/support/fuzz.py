"""Fuzzing a served webhook with Hypothesis: examples run in a worker thread with a
blocking client, while the server keeps serving on the test's event loop."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.live import Live

Case = TypeVar("Case")
ALLOWED = frozenset({200, 204, 400, 403, 404, 413})


async def fuzz_webhook(
    live: Live,
    cases: st.SearchStrategy[Case],
    post: Callable[[httpx.Client, Case], httpx.Response],
    *,
    examples: int = 100,
) -> Counter[int]:
    """Posts each example; every answer must be a 2xx or a 4xx, and a refused one must
    have written nothing (the event log's head stays where it was). Returns the count
    of each status seen, for the test to check the fuzz got past the first check."""
    loop = asyncio.get_running_loop()
    seen: Counter[int] = Counter()

    def head() -> int:
        return asyncio.run_coroutine_threadsafe(live.event_head(), loop).result(10)

    def run(client: httpx.Client) -> None:
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(cases)
        def check(case: Case) -> None:
            before = head()
            r = post(client, case)
            seen[r.status_code] += 1
            assert r.status_code in ALLOWED, (r.status_code, r.text, case)
            if r.status_code >= 400:
                assert head() == before, (r.status_code, case)

        check()

    with httpx.Client(base_url=live.base_url, timeout=10) as client:
        await asyncio.to_thread(run, client)
    return seen
