"""A storyboard through the HTTP API, with the real google-genai SDK against the fake Gemini: a
preview story stops at `awaiting_approval` with its storyboard (one story call, a picture per
scene, no narration) and fires its webhook; a scene's picture downloads as a PNG; a redraw
draws that one scene again; an edited line is in the video's subtitles after the render; the
409s, 404s and 422s of the storyboard routes. (A restart and the storyboard's expiry are the
core's, see test_storyboard.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.gemini_server import FakeGemini
from tests.http_client import A, Api, B, finished, running_api
from tests.integration.test_http_webhooks import receiver
from tests.storyboard_calls import check_redraw, check_storyboard, drawn

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

KEY = "AIzaSy-board-test-key-0123456789"
EDITED = "The cat waves goodnight to the moon."
HINT = "with a red balloon"


async def waiting(api: Api, job_id: str, wait_until: WaitUntil) -> Any:
    """The job's status once its storyboard is ready."""

    async def ready() -> Any:
        status = (await api.client.get(f"/api/videos/status/{job_id}", headers=A)).json()
        assert status["status"] not in ("completed", "failed", "cancelled"), status
        return status if status["status"] == "awaiting_approval" else None

    return await wait_until(ready, timeout=60, what="the storyboard")


async def test_a_storyboard_is_redrawn_edited_and_rendered_over_http(
    storybot: OpenStoryBot,
    monkeypatch: pytest.MonkeyPatch,
    clean_env: Path,
    wait_until: WaitUntil,
) -> None:
    """The whole flow, with one redraw per scene (STORYBOT_PREVIEW_REDRAWS=1)."""
    async with receiver() as (hooks, url), FakeGemini(api_key=KEY, image_scale=0.25) as fake:
        env = fake.env() | {"STORYBOT_DATA_DIR": str(clean_env), "STORYBOT_PREVIEW_REDRAWS": "1"}
        async with running_api(storybot, monkeypatch, env, preview_redraws=1) as api:
            body = {"theme": "a cat who wants to fly", "scenes": 3, "preview": True,
                    "webhook_url": url}  # fmt: skip
            answer = await api.client.post("/api/stories/generate", json=body, headers=A)
            assert answer.status_code == 202, answer.text
            job_id = answer.json()["job_id"]
            stories = f"/api/stories/{job_id}"

            # The storyboard: one story call, three pictures, no narration; its webhook.
            status = await waiting(api, job_id, wait_until)
            check_storyboard(fake, 3)
            scenes = status["storyboard"]["scenes"]
            assert [s["index"] for s in scenes] == [1, 2, 3]
            assert scenes[0]["picture_url"] == f"{api.url}{stories}/scenes/1/picture"
            assert [(s["redraws_left"], s["draws"]) for s in scenes] == [(1, 1)] * 3
            assert all(s["narration"] and s["image_prompt"] for s in scenes)
            assert status["story"]["title"]
            lines = [s["narration"] for s in status["story"]["scenes"]]
            assert lines == [s["narration"] for s in scenes]
            assert status["subtitles_url"] is None
            result = await api.client.get(f"/api/videos/result/{job_id}", headers=A)
            assert result.json()["storyboard"] == status["storyboard"]
            await wait_until(hooks.accepted.is_set, what="the storyboard's webhook")
            sent = json.loads(hooks.calls[0][0])
            assert (sent["status"], sent["has_data"]) == ("awaiting_approval", True)
            assert sent["data"]["storyboard"] == status["storyboard"]
            assert sent["data"]["story"] == status["story"]

            picture = await api.client.get(scenes[1]["picture_url"], headers=A)
            assert picture.status_code == 200
            assert picture.headers["content-type"] == "image/png"
            assert picture.content.startswith(b"\x89PNG\r\n\x1a\n")

            # Redraw scene 2 with a hint: that one picture, same reference, back to waiting.
            before = len(drawn(fake))
            redraw = await api.client.post(
                f"{stories}/scenes/2/redraw", json={"hint": HINT}, headers=A
            )
            assert redraw.status_code == 202, redraw.text
            assert redraw.json()["status"] in ("pending", "processing", "generating")
            status = await waiting(api, job_id, wait_until)
            check_redraw(fake, before, 2, HINT)
            scenes = status["storyboard"]["scenes"]
            assert [(s["redraws_left"], s["draws"]) for s in scenes] == [(1, 1), (0, 2), (1, 1)]
            await wait_until(lambda: len(hooks.calls) >= 2, what="the webhook, shown again")
            again = await api.client.post(f"{stories}/scenes/2/redraw", headers=A)
            assert again.status_code == 409
            assert "no redraws left" in again.json()["error"]

            # Lines and hints: a good line is kept (spaces folded), bad ones are a 422.
            edit = await api.client.patch(
                f"{stories}/scenes/3", json={"narration": f"  {EDITED}  "}, headers=A
            )
            assert edit.status_code == 200, edit.text
            assert edit.json() == {**scenes[2], "narration": EDITED}
            for bad in ("", "x" * 401):
                refused = await api.client.patch(
                    f"{stories}/scenes/3", json={"narration": bad}, headers=A
                )
                assert refused.status_code == 422, refused.text
                assert set(refused.json()["fields"]) == {"narration"}

            long_hint = await api.client.post(
                f"{stories}/scenes/1/redraw", json={"hint": "x" * 301}, headers=A
            )
            assert long_hint.status_code == 422, long_hint.text
            assert set(long_hint.json()["fields"]) == {"hint"}

            # Out of range, another token's job: 404.
            for other in (
                api.client.patch(f"{stories}/scenes/99", json={"narration": "Hi."}, headers=A),
                api.client.post(f"{stories}/scenes/99/redraw", headers=A),
                api.client.get(f"{stories}/scenes/99/picture", headers=A),
                api.client.get(scenes[0]["picture_url"], headers=B),
                api.client.post(f"{stories}/scenes/1/redraw", headers=B),
                api.client.patch(f"{stories}/scenes/1", json={"narration": "Hi."}, headers=B),
                api.client.post(f"{stories}/render", headers=B),
            ):
                missing = await other
                assert missing.status_code == 404, missing.text
                assert missing.json()["error"]

            # Render: the video tells the edited line, in its subtitles too.
            render = await api.client.post(f"{stories}/render", headers=A)
            assert render.status_code == 202, render.text
            done = await finished(api, job_id, A)
            assert done["status"] == "completed", done
            assert done["story"]["scenes"][2]["narration"] == EDITED
            assert done["storyboard"] is None
            assert done["subtitles_url"] == f"{api.url}{stories}/subtitles"
            subtitles = await api.client.get(done["subtitles_url"], headers=A)
            assert subtitles.status_code == 200
            assert EDITED in subtitles.text
            assert (await api.client.get(done["subtitles_url"], headers=B)).status_code == 404
            assert any(EDITED in call.text for call in fake.calls("tts"))
            assert len(drawn(fake)) == before + 1  # nothing was drawn again

            # Nothing waits for approval any more: 409 with a message.
            for late in (
                api.client.post(f"{stories}/scenes/1/redraw", headers=A),
                api.client.patch(f"{stories}/scenes/1", json={"narration": "Hi."}, headers=A),
                api.client.post(f"{stories}/render", headers=A),
            ):
                conflict = await late
                assert conflict.status_code == 409, conflict.text
                assert "completed" in conflict.json()["error"]
            await wait_until(lambda: len(hooks.calls) >= 3, what="the completion's webhook")
            document = (await api.client.get("/openapi.json")).json()
    assert json.loads(hooks.calls[2][0])["status"] == "completed"
    paths = document["paths"]
    assert {"409", "404"} <= set(paths["/api/stories/{job_id}/render"]["post"]["responses"])
    assert "422" in paths["/api/stories/{job_id}/scenes/{scene}"]["patch"]["responses"]
    assert "/api/stories/{job_id}/scenes/{scene}/picture" in paths
    assert "/api/stories/{job_id}/subtitles" in paths
