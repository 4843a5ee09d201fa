"""Asking for a cast of voices from every front end, over the offline back end: the HTTP API
(`"voices": "cast"`: the storyboard's lines by speaker, a scene's lines edited, the result's
lines with each speaker's voice, the `.srt` naming the speakers), Discord (`/story`'s `voices`
choice), the CLI (`--voices`) and Telegram (`voices=cast`)."""

from __future__ import annotations

import asyncio
import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.cli import main
from core.bootstrap import list_jobs
from core.config import Settings
from core.models import Job, StoryRequest, VoiceMode
from core.store import JobStore
from tests.discord_bot import discord_settings, keep_endpoints
from tests.discord_bot import start_adapter as start_discord
from tests.discord_server import FakeDiscord
from tests.http_client import A, Api, finished, running_api
from tests.integration.test_http_storyboard import waiting
from tests.telegram_bot import start_adapter as start_telegram
from tests.telegram_bot import telegram_settings
from tests.telegram_server import FakeTelegram

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

NARRATOR_LINE = "Once upon a time, two friends met by the river."
SAID = "What a lovely day for a swim!"


def voices_of(job: Job) -> VoiceMode:
    """The voice mode the job was asked with."""
    assert isinstance(job.request, StoryRequest)
    return job.request.voices


async def cues(api: Api, url: str) -> list[str]:
    """The texts of the `.srt` cues at `url`."""
    answer = await api.client.get(url, headers=A)
    assert answer.status_code == 200, answer.text
    blocks = re.split(r"\n\n+", answer.text.strip())
    return [" ".join(block.split("\n")[2:]).strip() for block in blocks]


async def test_a_cast_story_over_http(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """`"voices": "cast"`: the storyboard shows each scene's lines by speaker; `lines` edits a
    scene (an unknown speaker, or `lines` with `narration`, is a 422; `lines` in a story with
    one narrator too); the result names each line's speaker and voice, one voice per speaker
    in every scene, and the subtitles read `Speaker: line`. A story with one narrator shows
    no `lines`."""
    async with running_api(storybot, monkeypatch) as api:
        cast_body = {"theme": "a fox and an owl", "scenes": 2, "voices": "cast", "preview": True}
        one_body = {"theme": "a cat who wants to fly", "scenes": 1, "preview": True}
        started = [
            await api.client.post("/api/stories/generate", json=body, headers=A)
            for body in (cast_body, one_body)
        ]
        assert [answer.status_code for answer in started] == [202, 202], started[0].text
        cast_id, one_id = (answer.json()["job_id"] for answer in started)
        status = await waiting(api, cast_id, wait_until)
        one = await waiting(api, one_id, wait_until)

        # The storyboard: each scene's lines, by the narrator and the story's characters.
        scenes = status["storyboard"]["scenes"]
        assert all(scene.get("lines") for scene in scenes), "told by one narrator, not a cast"
        speakers = {line["speaker"] for scene in scenes for line in scene["lines"]}
        characters = sorted(speakers - {"narrator"})
        assert "narrator" in speakers, speakers
        assert characters, speakers
        for scene in scenes:
            assert scene["narration"] == " ".join(line["text"] for line in scene["lines"])
        drafted = status["story"]["scenes"]
        assert [[ln["text"] for ln in s["lines"]] for s in drafted] == [
            [ln["text"] for ln in s["lines"]] for s in scenes
        ]
        assert "lines" not in one["storyboard"]["scenes"][0]
        assert "lines" not in one["story"]["scenes"][0]

        # Edits: a scene's lines; refusals name the field, with the core's message.
        stories = f"/api/stories/{cast_id}/scenes"
        mine = [{"speaker": "narrator", "text": NARRATOR_LINE},
                {"speaker": characters[0].upper(), "text": f"  {SAID}  "}]  # fmt: skip
        edit = await api.client.patch(f"{stories}/1", json={"lines": mine}, headers=A)
        assert edit.status_code == 200, edit.text
        assert edit.json()["lines"] == [
            {"speaker": "narrator", "text": NARRATOR_LINE},
            {"speaker": characters[0], "text": SAID},
        ]
        assert edit.json()["narration"] == f"{NARRATOR_LINE} {SAID}"
        stranger = [{"speaker": "Stranger", "text": "Boo!"}]
        for body, field, says in (
            ({"lines": stranger}, "lines", "'Stranger' is not in this story"),
            ({"lines": [{"speaker": "narrator", "text": "  "}]}, "lines", "the new line is empty"),
            ({"narration": "Hi.", "lines": stranger}, "body", "narration or lines"),
            ({}, "body", "narration or lines"),
        ):
            refused = await api.client.patch(f"{stories}/2", json=body, headers=A)
            assert refused.status_code == 422, refused.text
            assert says in refused.json()["fields"][field], refused.json()
        narrator_only = await api.client.patch(
            f"/api/stories/{one_id}/scenes/1", json={"lines": mine}, headers=A
        )
        assert narrator_only.status_code == 422, narrator_only.text
        assert "one narrator" in narrator_only.json()["fields"]["lines"]

        # The video: every line with its speaker's voice, one voice per speaker.
        render = await api.client.post(f"/api/stories/{cast_id}/render", headers=A)
        assert render.status_code == 202, render.text
        done = await finished(api, cast_id, A)
        assert done["status"] == "completed", done
        result = (await api.client.get(f"/api/videos/result/{cast_id}", headers=A)).json()
        subtitles = await cues(api, done["subtitles_url"])
    assert result["generation_metadata"]["config_used"]["voices"] == "cast"
    told = [line for scene in result["story"]["scenes"] for line in scene["lines"]]
    assert [(line["speaker"], line["text"]) for line in told[:2]] == [
        ("narrator", NARRATOR_LINE), (characters[0], SAID)
    ]  # fmt: skip
    voices: dict[str, set[str]] = {}
    for line in told:
        assert line["voice"], line
        voices.setdefault(line["speaker"], set()).add(line["voice"])
    assert all(len(kept) == 1 for kept in voices.values()), voices
    assert len({voice for (voice,) in voices.values()}) == len(voices)  # each their own
    assert subtitles[:2] == [NARRATOR_LINE, f"{characters[0]}: {SAID}"]
    assert subtitles == [
        line["text"] if line["speaker"] == "narrator" else f"{line['speaker']}: {line['text']}"
        for line in told
    ]


async def stored_jobs(store: JobStore, count: int, wait_until: WaitUntil) -> list[Job]:
    """The store's `count` jobs, oldest first, once they exist."""

    async def there() -> list[Job] | None:
        jobs = await store.recent(limit=count)
        return jobs if len(jobs) >= count else None

    return list(reversed(await wait_until(there, what=f"{count} job(s)")))


async def test_discord_story_has_a_voices_choice(
    monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """`/story` is registered with a `voices` choice (narrator, cast); unset, the job takes
    STORYBOT_VOICES_DEFAULT; set, the choice."""
    keep_endpoints(monkeypatch)
    async with FakeDiscord() as fake, AsyncExitStack() as stack:
        settings = discord_settings(
            fake, monkeypatch, STORYBOT_VOICES_DEFAULT="cast", STORYBOT_USER_JOBS_IN_FLIGHT="2"
        )
        bot = await start_discord(stack, settings)
        await fake.wait_for("PUT", "/commands", timeout=60)
        for options in ({}, {"voices": "narrator"}):
            asked = {"theme": "a fox and an owl", "scenes": 1, "preview": True, **options}
            fake.send_command("story", asked)
        jobs = await stored_jobs(bot.store, 2, wait_until)
    (story,) = [command for command in fake.commands if command["name"] == "story"]
    (option,) = [option for option in story["options"] if option["name"] == "voices"]
    assert [choice["value"] for choice in option["choices"]] == ["narrator", "cast"]
    assert option["description"]
    assert not option.get("required", False)
    assert [voices_of(job) for job in jobs] == [VoiceMode.CAST, VoiceMode.NARRATOR]


async def test_telegram_story_takes_voices_cast(
    monkeypatch: pytest.MonkeyPatch, wait_until: WaitUntil
) -> None:
    """`/story voices=cast …` asks for a cast (parsed as every option is)."""
    async with FakeTelegram() as fake, AsyncExitStack() as stack:
        bot = await start_telegram(stack, telegram_settings(fake, monkeypatch))
        await fake.wait_for("setMyCommands")
        fake.send_command("/story voices=cast preview=on scenes=1 a fox and an owl")
        (job,) = await stored_jobs(bot.store, 1, wait_until)
    assert voices_of(job) is VoiceMode.CAST
    assert job.subject == "a fox and an owl"


async def test_cli_story_takes_voices(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`storybot story --voices cast` reaches the request (shown in `--help`)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["story", "--help"])
    assert exit_info.value.code == 0
    assert "--voices {narrator,cast}" in capsys.readouterr().out
    args = ["story", "a fox and an owl", "--voices", "cast", "--preview", "--scenes", "1"]
    code = await asyncio.to_thread(main, [*args, "--out", str(tmp_path / "tale.mp4")])
    assert code == 0, capsys.readouterr().err
    (job,) = await list_jobs(Settings(), 1)
    assert voices_of(job) is VoiceMode.CAST
