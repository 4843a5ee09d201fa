"""Fixtures of the fake Discord's self-tests: a bot connected to the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.selftest.discord.helpers import Running, running_bot


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    async with running_bot() as r:
        yield r
