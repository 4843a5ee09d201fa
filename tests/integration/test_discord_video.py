"""/video on Discord: the real discord.py client against FakeDiscord, the real google-genai
against FakeGemini's Veo paths (Vertex AI express mode)."""

from __future__ import annotations

import io
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from bot import discord_uploads as uploads
from core.models import (
    Job,
    JobId,
    JobKind,
    JobOutcome,
    JobStatus,
    Origin,
    VideoClips,
    VideoRequest,
)
from core.store import JobStore
from tests.discord_bot import GEMINI_KEY, keep_endpoints, start_video_bot
from tests.discord_server import Call, FakeDiscord, Interaction
from tests.gemini_server import FakeGemini, VideoFiltered
from tests.probe import probe

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot

pytestmark = pytest.mark.slow

KEY = GEMINI_KEY


FAKE = FakeDiscord
GEMINI_IMAGE_SCALE = 0.5


@pytest.fixture(autouse=True)
def restore_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    keep_endpoints(monkeypatch)


async def start_bot(
    stack: AsyncExitStack,
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    **extra: str,
) -> JobStore:
    """The Discord adapter over a core whose animator is Veo on the fake (express mode)."""
    return (await start_video_bot(stack, fake, gemini, monkeypatch, **extra)).store


def png(size: tuple[int, int] = (320, 180)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


async def delivered(fake: FakeDiscord, interaction: Interaction) -> Call:
    """The edit of the response that ends the job (files, or an ❌)."""
    return await fake.wait_for(
        "PATCH", f"{interaction.token}/messages/@original",
        lambda c: bool(c.files) or (c.get("content") or "").startswith("❌"), timeout=60,
    )  # fmt: skip


def saved(call: Call, part: str, tmp_path: Path) -> tuple[str | None, Path]:
    upload = call.files[part]
    path = tmp_path / f"{part.replace('[', '-').strip(']')}.mp4"
    path.write_bytes(upload.data)
    return upload.filename, path


async def test_text_to_video_shows_progress_and_delivers_the_mp4(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """/video with a prompt only: a thinking defer, progress edits naming the video stage, then
    the MP4 (H.264, of the asked length) with a summary; Veo got the options and no image."""
    gemini.video_latency_s = 1.5
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        interaction = fake.send_command(
            "video", {"prompt": "a kitten chasing a leaf", "duration": 4, "aspect": "9:16"}
        )
        final = await delivered(fake, interaction)
    assert interaction.callback_type == 5
    edits = [c.get("content") or "" for c in fake.calls_to("PATCH", interaction.token)]
    assert any("Making the video" in text for text in edits[:-1]), edits
    assert final.json["content"].startswith("✅ 1 video of 4 s — “a kitten chasing a leaf”")
    assert [a["filename"] for a in final.json["attachments"]] == ["video.mp4"]
    name, path = saved(final, "files[0]", tmp_path)
    assert name == "video.mp4"
    p = probe(path)
    assert (p.video_codec, p.pix_fmt) == ("h264", "yuv420p")
    assert p.height > p.width
    assert abs(p.duration_s - 4) < 0.2
    (operation,) = gemini.operations.values()
    assert operation.image is None
    assert operation.prompt.startswith("a kitten chasing a leaf")
    params = operation.parameters
    assert (params["aspectRatio"], int(params["durationSeconds"])) == ("9:16", 4)
    assert (params["sampleCount"], params["personGeneration"]) == (1, "dont_allow")


async def test_a_picture_becomes_the_first_frame(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An attached 16:9 PNG is downloaded from its signed URL and reaches Veo unchanged as the
    first frame; the negative prompt and people option go along."""
    picture = png()
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        image = fake.user_attachment(picture, "garden.png")
        interaction = fake.send_command(
            "video", {"prompt": "the garden comes alive", "image": image, "duration": 4,
                      "negative": "rain", "people": True},
        )  # fmt: skip
        final = await delivered(fake, interaction)
    assert len(fake.downloads) == 1
    (operation,) = gemini.operations.values()
    assert operation.image == picture
    assert "rain" in operation.parameters["negativePrompt"]
    assert operation.parameters["personGeneration"] != "dont_allow"
    assert probe(saved(final, "files[0]", tmp_path)[1]).video_codec == "h264"


async def test_two_videos_arrive_in_one_message(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """count:2 asks Veo for two samples and delivers both as two attachments of one message."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        interaction = fake.send_command(
            "video", {"prompt": "a kitten chasing a leaf", "count": 2, "duration": 4}
        )
        final = await delivered(fake, interaction)
    (operation,) = gemini.operations.values()
    assert operation.parameters["sampleCount"] == 2
    assert final.json["content"].startswith("✅ 2 videos of 4 s")
    assert final.json["attachments"] == [
        {"id": 0, "filename": "video-1.mp4"},
        {"id": 1, "filename": "video-2.mp4"},
    ]
    names = [saved(final, part, tmp_path)[0] for part in ("files[0]", "files[1]")]
    assert names == ["video-1.mp4", "video-2.mp4"]
    attachments = interaction.original["attachments"] if interaction.original else []
    assert [len(fake.attachment_data(a)) for a in attachments] == [
        len(final.files[p].data) for p in ("files[0]", "files[1]")
    ]
    assert not interaction.followups


async def test_the_upload_limit_is_per_file(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord's limit applies to each file, not to the message: two videos that each fit go
    in one message, unshrunk, although together they exceed the limit."""
    prompt = {"prompt": "a kitten chasing a leaf", "count": 2, "duration": 4}
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        free = await delivered(fake, fake.send_command("video", prompt))
        sizes = [len(f.data) for f in free.files.values()]
        roomy = int(max(sizes) * 1.2)  # each fits, the two together do not
        both = fake.send_command("video", prompt, attachment_size_limit=roomy)
        together = await delivered(fake, both)
    assert sum(sizes) > roomy
    assert [len(f.data) for f in together.files.values()] == sizes
    assert [f.filename for f in together.files.values()] == ["video-1.mp4", "video-2.mp4"]
    assert not both.followups
    assert len(fake.videos()) == 4


async def test_a_message_carries_at_most_25_mib_and_10_files(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """Videos that each fit are grouped in order, a new message when the next one would take
    the message over the request limit (25 MiB) or past 10 attachments."""
    job_id = JobId("planned")
    folder = clean_env / "jobs" / job_id
    folder.mkdir(parents=True)
    names = []
    for n, size in enumerate([900, 900, 900, *[10] * 11], start=1):
        names.append(f"video_{n}.mp4")
        (folder / names[-1]).write_bytes(bytes(size))
    (folder / "video_1.jpg").write_bytes(b"\xff\xd8\xff")
    result = VideoClips(videos=tuple(names), thumbnail="video_1.jpg", duration_s=4.0,
                        width=320, height=180, prompt="p")  # fmt: skip
    job = Job(
        job_id, JobKind.VIDEO, Origin("discord", "1"), VideoRequest(prompt="p"),
        status=JobStatus.COMPLETED, outcome=JobOutcome(result=result, backend="fake"),
    )  # fmt: skip
    async with storybot(work=False) as bot:
        planned = await uploads.plan(bot.service, job, 0, 1000, 2000)
    assert [len(m) for m in planned] == [2, 10, 2]
    assert [name for m in planned for _, name in m][:3] == ["video-1.mp4", "video-2.mp4",
                                                            "video-3.mp4"]  # fmt: skip
    assert uploads.budget(1000) == int(25 * 1024 * 1024 * 0.95)
    assert uploads.budget(100 * 1024 * 1024) == 100 * 1024 * 1024


async def test_a_filtered_video_says_so(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A video Veo's safety filter removed ends the response with a short reason, no file."""
    gemini.script("video", VideoFiltered())
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        interaction = fake.send_command("video", {"prompt": "a kitten chasing a leaf"})
        final = await delivered(fake, interaction)
    assert final.json["content"] == "❌ the clip was blocked by Veo's safety filter"
    assert not any(c.files for c in fake.calls)


async def test_the_cancel_button_stops_a_video(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress of a video carries the Cancel button; pressing it ends the job, no file."""
    gemini.video_latency_s = 30
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, gemini, monkeypatch)
        interaction = fake.send_command("video", {"prompt": "a kitten chasing a leaf"})
        edit = await fake.wait_for(
            "PATCH", f"{interaction.token}/messages/@original",
            lambda c: "Making the video" in (c.get("content") or ""),
        )  # fmt: skip
        custom_id = edit.json["components"][0]["components"][0]["custom_id"]
        assert interaction.original is not None
        fake.press_button(custom_id, message_id=interaction.original["id"])
        await fake.wait_for(
            "PATCH", f"{interaction.token}/messages/@original",
            lambda c: "Cancelled" in (c.get("content") or ""),
        )  # fmt: skip
        (job,) = await store.recent()
    assert job.status is JobStatus.CANCELLED
    assert not any(c.files for c in fake.calls)


async def test_the_daily_video_limit_says_when_it_frees_up(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one animated job a day, the second /video is refused, visible only to the user,
    saying when the next one frees up; Veo is not called again."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch, STORYBOT_ANIMATED_PER_DAY="1")
        first = fake.send_command("video", {"prompt": "a kitten chasing a leaf", "duration": 4})
        await delivered(fake, first)
        second = fake.send_command("video", {"prompt": "a puppy chasing a ball"})
        answer = await fake.wait_for("POST", f"{second.id}/{second.token}/callback")
    assert answer.json["type"] == 4
    assert answer.json["data"]["flags"] & 64
    content = answer.json["data"]["content"]
    assert "the limit is 1" in content
    assert "frees up in 23 h 59 min" in content
    assert len(gemini.operations) == 1


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "reply"),
    [
        (b"shopping list: milk, eggs", "notes.txt", None, "“notes.txt” is not a picture"),
        (bytes(21 * 1024 * 1024), "huge.png", "image/png", "is 21 MB; send a picture under 20 MB"),
        (b"not really a PNG", "fake.png", "image/png", "not a picture I can read"),
    ],
    ids=["text", "too-big", "not-a-png"],
)
async def test_a_file_that_is_no_usable_picture_is_refused(
    fake: FakeDiscord,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    filename: str,
    content_type: str | None,
    reply: str,
) -> None:
    """A non-picture, an oversized picture (both refused before any download) or a file that
    only claims to be a PNG gets an ephemeral correction; no job, no Veo call."""
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, gemini, monkeypatch)
        image = fake.user_attachment(data, filename, content_type=content_type)
        options: dict[str, Any] = {"prompt": "a kitten chasing a leaf", "image": image}
        interaction = fake.send_command("video", options)
        answer = await fake.wait_for("POST", f"{interaction.id}/{interaction.token}/callback")
        jobs = await store.recent()
    assert answer.json["type"] == 4
    assert answer.json["data"]["flags"] & 64
    assert reply in answer.json["data"]["content"]
    assert len(fake.downloads) == (1 if filename == "fake.png" else 0)
    assert not jobs
    assert not gemini.operations


async def test_a_slow_picture_download_is_deferred_in_time(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A picture that takes 2 s to fetch: the interaction is deferred within the 3 s deadline;
    the video is then made from it. A slow file that is no picture after all is refused on the
    deferred response."""
    fake.download_latency_s = 2.0
    picture = png()
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        good = fake.send_command(
            "video", {"prompt": "the garden comes alive", "duration": 4,
                      "image": fake.user_attachment(picture, "garden.png")},
        )  # fmt: skip
        bad = fake.send_command(
            "video", {"prompt": "a kitten chasing a leaf",
                      "image": fake.user_attachment(b"not a PNG", "fake.png")},
            user_id=fake.other_user_id,
        )  # fmt: skip
        final = await delivered(fake, good)
        refused = await fake.wait_for(
            "PATCH", f"{bad.token}/messages/@original",
            lambda c: (c.get("content") or "").startswith("⚠️"),
        )  # fmt: skip
    for interaction in (good, bad):
        assert interaction.callback_type == 5
        assert interaction.acked_at is not None
        assert interaction.acked_at - interaction.created < 3.0
    (operation,) = gemini.operations.values()
    assert operation.image == picture
    assert probe(saved(final, "files[0]", tmp_path)[1]).video_codec == "h264"
    assert "not a picture I can read" in refused.json["content"]


async def test_help_mentions_video(
    fake: FakeDiscord, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/help lists /video and its options; /video is registered with an attachment option."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        interaction = fake.send_command("help")
        answer = await fake.wait_for("POST", f"{interaction.id}/{interaction.token}/callback")
    content = answer.json["data"]["content"]
    assert "/video prompt:" in content
    assert "count: 1 to 4 videos" in content
    assert len(content) <= 2000
    (video,) = [c for c in fake.commands if c["name"] == "video"]
    types = {o["name"]: o["type"] for o in video["options"]}
    assert types == {"prompt": 3, "image": 11, "aspect": 3, "duration": 4, "negative": 3,
                     "people": 5, "count": 4}  # fmt: skip
