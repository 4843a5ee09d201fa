"""Who may call the HTTP API: bearer tokens, a job visible to its own token only, the one
loopback identity when no token is set, and the refusal to listen beyond loopback unguarded;
real uvicorn on 127.0.0.1, the offline providers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx
import pytest

from bot.http_api import token_id
from core.errors import ConfigurationError
from core.models import JobStatus
from tests.http_client import TOKEN_A, A, B, finished, running_api, submit_video

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot


async def test_requests_without_a_valid_token_get_401(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token, another scheme or an unknown token: 401 with WWW-Authenticate, as JSON."""
    async with running_api(storybot, monkeypatch) as api:
        body = {"prompt": "a kitten"}
        basic = {"Authorization": "Basic eDp5"}
        unknown = {"Authorization": "Bearer nope"}
        longer = {"Authorization": f"Bearer {TOKEN_A}x"}
        refusals = [
            await api.client.post("/api/videos/generate", json=body),
            await api.client.post("/api/videos/generate", json=body, headers=basic),
            await api.client.get("/api/videos/status/abc", headers=unknown),
            await api.client.delete("/api/videos/abc", headers=longer),
        ]
        health = await api.client.get("/health")
        assert await api.jobs.recent() == []
    for response in refusals:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"error": "a valid bearer token is needed"}
    assert health.status_code == 200  # health needs no token


async def test_a_job_is_invisible_to_another_token(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Token B gets exactly the 404 of an unknown id for token A's job, on every endpoint,
    and cannot cancel it; the job's owner is a digest of the token, never the token."""
    async with running_api(storybot, monkeypatch) as api:
        job_id = (await submit_video(api, A))["job_id"]
        await finished(api, job_id, A)
        for path in ("/api/videos/status/{}", "/api/videos/result/{}", "/api/videos/file/{}/0"):
            foreign = await api.client.get(path.format(job_id), headers=B)
            unknown = await api.client.get(path.format("0123456789"), headers=B)
            assert foreign.status_code == unknown.status_code == 404
            assert foreign.json() == {"error": f"no job with id {job_id}"}
        deleted = await api.client.delete(f"/api/videos/{job_id}", headers=B)
        job = await api.jobs.get(job_id)
        mine = await api.client.get(f"/api/videos/result/{job_id}", headers=A)
    assert deleted.status_code == 404
    assert job.status is JobStatus.COMPLETED
    assert mine.status_code == 200
    assert (job.origin.platform, job.origin.user_id) == ("http", token_id(TOKEN_A))
    assert len(job.origin.user_id) == 16
    assert job.outcome is not None
    assert TOKEN_A not in json.dumps([job.origin.extra, job.outcome.model_dump(mode="json")])


async def test_without_tokens_loopback_callers_share_one_identity(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No STORYBOT_HTTP_TOKENS: every loopback caller is `local`, headers or not."""
    async with running_api(storybot, monkeypatch, env={"STORYBOT_HTTP_TOKENS": ""}) as api:
        job_id = (await submit_video(api, {}))["job_id"]
        async with httpx.AsyncClient(base_url=api.url) as other:
            seen = await other.get(f"/api/videos/status/{job_id}", headers=B)
        health = (await api.client.get("/health")).json()
        await api.client.delete(f"/api/videos/{job_id}")
        job = await api.jobs.get(job_id)
    assert seen.status_code == 200
    assert job.origin.user_id == "local"
    assert health["auth"] == "loopback"


async def test_without_tokens_the_api_will_not_bind_beyond_loopback(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.0.0.0 without tokens, or a short token, is refused before anything listens."""
    for env, words in [
        ({"STORYBOT_HTTP_HOST": "0.0.0.0", "STORYBOT_HTTP_TOKENS": ""}, "open to anyone"),
        ({"STORYBOT_HTTP_TOKENS": "short"}, "16 characters"),
    ]:
        with pytest.raises(ConfigurationError, match=words):
            async with running_api(storybot, monkeypatch, env=env):
                pass
