"""The fake Gemini's scripted faults and error answers reach the google-genai client as the real
service's would: HTTP errors, latency, hangs, blocked and malformed content."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from google import genai
from google.genai import errors, types

from tests.gemini_server import (
    Delay,
    FakeGemini,
    Hang,
    HttpError,
    Malformed,
    NoImage,
    Persistent,
    PromptBlocked,
    ResponseBlocked,
)
from tests.selftest.gemini.helpers import IMAGE, TEXT, StoryOut, json_config, make_client, parts_of

if TYPE_CHECKING:
    from tests.conftest import WaitUntil


pytestmark = [
    # google-genai 3.4 subclasses aiohttp.ClientSession on its first async request
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
    # generate_images warns once per process that Imagen is deprecated
    pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning"),
    pytest.mark.timeout(30),
]


# ---------------------------------------------------------------- errors


async def test_quota_error_carries_retry_info(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("story", HttpError.quota(retry_delay="2s"))
    with pytest.raises(errors.ClientError) as caught:
        await client.models.generate_content(
            model=TEXT, contents="x", config=json_config(StoryOut)
        )

    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"
    details = caught.value.details["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"} in details
    # one-shot: the next call succeeds
    ok = await client.models.generate_content(
        model=TEXT, contents="x", config=json_config(StoryOut)
    )
    assert ok.parsed is not None


@pytest.mark.parametrize("fault", [HttpError.overloaded(), HttpError.internal()])
async def test_5xx_raise_server_error(
    fake: FakeGemini, client: genai.client.AsyncClient, fault: HttpError
) -> None:
    fake.script("text", fault)
    with pytest.raises(errors.ServerError) as caught:
        await client.models.generate_content(model=TEXT, contents="x")

    assert caught.value.code == fault.status
    assert caught.value.message == fault.message


async def test_wrong_api_key_gets_api_key_invalid(fake: FakeGemini) -> None:
    async with genai.Client(
        api_key="wrong", http_options=types.HttpOptions(base_url=fake.base_url)
    ).aio as client:
        with pytest.raises(errors.ClientError) as caught:
            await client.models.generate_content(model=TEXT, contents="x")

    assert caught.value.code == 400
    assert caught.value.status == "INVALID_ARGUMENT"
    assert "API_KEY_INVALID" in str(caught.value.details)
    assert fake.requests[0].path == "/v1/models/gemini-2.5-flash:generateContent"  # 3.x default


async def test_unknown_model_is_not_found(client: genai.client.AsyncClient) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await client.models.generate_content(model="gemini-0.1-retired", contents="x")

    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"


async def test_persistent_fault_hits_every_retry_of_the_sdk(fake: FakeGemini) -> None:
    fake.script("text", Persistent(HttpError.overloaded()))
    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02, jitter=0)
    sync = make_client(fake, retry_options=retry)
    async with sync.aio as client:
        with pytest.raises(errors.ServerError):
            await client.models.generate_content(model=TEXT, contents="x")
    sync.close()

    assert [r.status for r in fake.requests] == [503, 503, 503]
    fake.reset()
    assert fake.requests == []


async def test_hang_lets_the_client_time_out(fake: FakeGemini) -> None:
    fake.script("text", Hang())
    sync = make_client(fake, timeout=200)  # milliseconds
    async with sync.aio as client:
        with pytest.raises(TimeoutError):
            await client.models.generate_content(model=TEXT, contents="x")
    sync.close()


async def test_delay_fault_adds_latency_to_one_call(
    fake: FakeGemini, client: genai.client.AsyncClient, wait_until: WaitUntil
) -> None:
    """The delayed call is still unanswered when the next one, sent after it, has its answer:
    the delay held back that call and no other (no bound on how fast the second one is)."""
    fake.script("text", Delay(60))
    slow = asyncio.ensure_future(client.models.generate_content(model=TEXT, contents="slow"))
    await wait_until(lambda: fake.calls("text"), what="the first call to reach the fake")
    fast = await client.models.generate_content(model=TEXT, contents="fast")
    answered_first = slow.done()
    slow.cancel()

    assert "fast" in (fast.text or "")
    assert not answered_first
    assert [call.text for call in fake.calls("text")] == ["slow", "fast"]


# ---------------------------------------------------------------- safety and bad content


async def test_prompt_blocked_has_no_candidates(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("story", PromptBlocked())
    response = await client.models.generate_content(
        model=TEXT, contents="x", config=json_config(StoryOut)
    )

    assert response.candidates is None
    assert response.prompt_feedback is not None
    assert response.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT
    assert response.parsed is None


@pytest.mark.parametrize("reason", ["SAFETY", "IMAGE_SAFETY"])
async def test_response_blocked_has_a_finish_reason_and_no_content(
    fake: FakeGemini, client: genai.client.AsyncClient, reason: str
) -> None:
    fake.script("image", ResponseBlocked(finish_reason=reason))
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    response = await client.models.generate_content(model=IMAGE, contents="x", config=config)

    assert response.candidates
    assert response.candidates[0].finish_reason == reason
    assert response.candidates[0].content is None
    assert response.candidates[0].safety_ratings


async def test_malformed_story_gives_parsed_none(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("story", Malformed(), Malformed(text='{"title": "No scenes"}'))
    for _ in range(2):
        response = await client.models.generate_content(
            model=TEXT, contents="x", config=json_config(StoryOut)
        )
        assert response.parsed is None
        assert response.text


async def test_no_image_answers_with_text_only(
    fake: FakeGemini, client: genai.client.AsyncClient
) -> None:
    fake.script("image", NoImage())
    config = types.GenerateContentConfig(response_modalities=["IMAGE"])
    response = await client.models.generate_content(model=IMAGE, contents="x", config=config)

    assert [p.inline_data for p in parts_of(response)] == [None]
    assert response.candidates
    assert response.candidates[0].finish_reason == "STOP"
