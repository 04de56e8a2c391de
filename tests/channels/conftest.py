from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.channels import World, channel_world
from tests.support.clock import FakeClock


@pytest.fixture
async def world(database_url: str, clock: FakeClock) -> AsyncIterator[World]:
    """Threadline and the fake provider on loopback, an admin signed in."""
    async with channel_world(database_url, clock) as running:
        yield running
