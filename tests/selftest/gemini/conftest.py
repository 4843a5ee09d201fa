"""Fixtures of the fake Gemini's self-tests: the fake and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from google import genai

from tests.gemini_server import FakeGemini
from tests.selftest.gemini.helpers import CATALOG, make_client, vertex_client


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(image_scale=0.25, models=CATALOG) as server:
        yield server


@pytest.fixture
async def client(fake: FakeGemini) -> AsyncIterator[genai.client.AsyncClient]:
    sync = make_client(fake)
    yield sync.aio
    await sync.aio.aclose()
    sync.close()


@pytest.fixture
async def vertex(fake: FakeGemini) -> AsyncIterator[genai.client.AsyncClient]:
    sync = vertex_client(fake)
    yield sync.aio
    await sync.aio.aclose()
    sync.close()


@pytest.fixture
async def express(fake: FakeGemini) -> AsyncIterator[genai.client.AsyncClient]:
    sync = vertex_client(fake, express=True)
    yield sync.aio
    await sync.aio.aclose()
    sync.close()
