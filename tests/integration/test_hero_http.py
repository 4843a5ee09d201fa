"""Your own hero and sequels through the HTTP API, with the real google-genai SDK against the
fake Gemini: the photo goes to the vision call and the character-sheet call only, the sheet is
every scene's reference, the writer hears of the hero, nothing of the photo is left or logged;
a sequel continues the story with the same cast."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.cast import CAST_PICTURE
from tests.gemini_server import FakeGemini
from tests.hero_calls import check_hero_story
from tests.http_client import A, B, finished, running_api
from tests.pictures import hero_photo, plain_picture

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot

KEY = "AIzaSy-hero-test-key-0123456789"


async def test_a_photo_becomes_the_hero_of_every_scene_and_is_not_kept(
    storybot: OpenStoryBot,
    monkeypatch: pytest.MonkeyPatch,
    clean_env: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    photo = hero_photo()
    caplog.set_level(logging.DEBUG)
    async with FakeGemini(api_key=KEY, image_scale=0.25) as fake:
        env = fake.env() | {"STORYBOT_DATA_DIR": str(clean_env)}
        async with running_api(storybot, monkeypatch, env) as api:
            body = {"theme": "a day at the seaside", "scenes": 3,
                    "hero_image_base64": base64.b64encode(photo).decode()}  # fmt: skip
            answer = await api.client.post("/api/stories/generate", json=body, headers=A)
            assert answer.status_code == 202, answer.text
            status = await finished(api, answer.json()["job_id"], A)
    assert status["status"] == "completed", status
    check_hero_story(fake, photo, 3, clean_env, caplog.text)


@pytest.mark.parametrize(
    ("picture", "says"),
    [
        (b"just some text, not a picture", "not a picture"),
        ("gif", "moves"),
        ("dot", "1×1"),
    ],
)
async def test_bad_hero_photos_get_one_line(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, picture: bytes | str, says: str
) -> None:
    if picture == "gif":
        data = plain_picture("GIF")
    elif picture == "dot":
        data = plain_picture("PNG", (1, 1))
    else:
        assert isinstance(picture, bytes)
        data = picture
    async with running_api(storybot, monkeypatch) as api:
        body = {"theme": "a cat", "hero_image_base64": base64.b64encode(data).decode()}
        answer = await api.client.post("/api/stories/generate", json=body, headers=A)
        jobs = await api.store.recent(limit=5)
    assert answer.status_code == 422
    message = answer.json()["error"]
    assert says in message
    assert "\n" not in message
    assert jobs == []


async def test_an_oversized_photo_is_refused_before_it_is_decoded(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(storybot, monkeypatch, {"STORYBOT_HTTP_MAX_IMAGE_MB": "0.1"}) as api:
        body = {"theme": "a cat", "hero_image_base64": base64.b64encode(b"x" * 200_000).decode()}
        answer = await api.client.post("/api/stories/generate", json=body, headers=A)
    assert answer.status_code == 413


async def test_a_sequel_continues_the_story_with_the_same_cast(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    async with FakeGemini(api_key=KEY, image_scale=0.25) as fake:
        env = fake.env() | {"STORYBOT_DATA_DIR": str(clean_env)}
        async with running_api(storybot, monkeypatch, env) as api:
            first = {"theme": "a lighthouse", "scenes": 2, "style": "watercolor",
                     "voice": "Puck"}  # fmt: skip
            answer = await api.client.post("/api/stories/generate", json=first, headers=A)
            first_id = answer.json()["job_id"]
            done = await finished(api, first_id, A)
            assert done["status"] == "completed", done
            title = (await api.jobs.get(first_id)).result.story.title  # type: ignore[union-attr]
            before = len(fake.calls("image"))
            missing = await api.client.post(
                "/api/stories/generate", json={"sequel_of": first_id}, headers=B
            )
            second = await api.client.post(
                "/api/stories/generate",
                json={"sequel_of": first_id, "theme": "the storm comes back"}, headers=A,
            )  # fmt: skip
            assert second.status_code == 202, second.text
            sequel = await finished(api, second.json()["job_id"], A)
            job = await api.jobs.get(second.json()["job_id"])
    assert missing.status_code == 404  # another caller's story is invisible
    assert sequel["status"] == "completed", sequel
    writer = fake.calls("story")[-1]
    assert title in writer.text
    assert "part 2" in writer.text.lower()
    assert "the storm comes back" in writer.text
    assert job.result is not None
    assert job.result.story.title.endswith("— Part 2")
    assert (job.request.style.value, job.request.voice) == ("watercolor", "Puck")
    first_scene_1 = (clean_env / "jobs" / f"cast-{first_id}" / CAST_PICTURE).read_bytes()
    for call in fake.calls("image")[before:]:
        assert call.inline_images == [first_scene_1]  # the first story's cast picture


async def test_a_sequel_of_an_expired_cast_is_a_410(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(storybot, monkeypatch) as api:
        answer = await api.client.post(
            "/api/stories/generate", json={"theme": "a cat", "scenes": 1}, headers=A
        )
        first_id = answer.json()["job_id"]
        assert (await finished(api, first_id, A))["status"] == "completed"
        await api.store.database.atomic(
            lambda tx: tx.execute("UPDATE casts SET created_at = '2000-01-01T00:00:00+00:00'")
        )
        expired = await api.client.post(
            "/api/stories/generate", json={"sequel_of": first_id}, headers=A
        )
        unknown = await api.client.post(
            "/api/stories/generate", json={"sequel_of": "nosuchjob"}, headers=A
        )
        neither = await api.client.post("/api/stories/generate", json={}, headers=A)
    assert expired.status_code == 410
    assert unknown.status_code == 404
    assert neither.status_code == 422
    assert "theme" in neither.json()["fields"]
