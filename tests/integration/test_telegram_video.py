"""/video on Telegram: the real python-telegram-bot Application against FakeTelegram, the real
google-genai against FakeGemini's Veo paths (Vertex AI express mode)."""

from __future__ import annotations

import io
import itertools
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from PIL import Image

from core.models import JobStatus
from core.store import JobStore
from tests.gemini_server import FakeGemini, VideoFiltered
from tests.probe import probe
from tests.telegram_bot import edits_of, start_adapter, telegram_settings
from tests.telegram_server import Call, FakeTelegram

pytestmark = pytest.mark.slow

FAKE = FakeTelegram
KEY = "AIzaSy-telegram-video-test-key-012"
INTERVAL = 0.5  # progress edits of one message at least this far apart


async def start_bot(
    stack: AsyncExitStack,
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    **extra: str,
) -> JobStore:
    """The Telegram adapter over the core with Google's providers on the fake (express mode):
    Veo for clips, Gemini for stories, pictures and narration."""
    env = gemini.vertex_env(express=True) | {
        "GOOGLE_API_KEY": KEY, "STORYBOT_VIDEO_POLL_S": "0.05",
        "STORYBOT_PROGRESS_INTERVAL_S": str(INTERVAL),
    }  # fmt: skip
    settings = telegram_settings(fake, monkeypatch, **env, **extra)
    bot = await start_adapter(stack, settings)
    await fake.wait_for("setMyCommands")
    return bot.store


async def ended(fake: FakeTelegram, chat_id: int = 4242) -> Call:
    """The last word on a job's progress message: its ✅ summary or its ❌ reason."""
    return await fake.wait_for(
        "editMessageText",
        lambda c: (
            c.params["chat_id"] == str(chat_id) and c.params["text"].startswith(("✅", "❌"))
        ),
        timeout=60,
    )


def picture(size: tuple[int, int], kind: str = "JPEG") -> bytes:
    """A picture with four distinct quadrants, so a cropped or re-encoded copy differs."""
    image = Image.new("RGB", size, (230, 40, 40))
    width, height = size
    for (x, y), colour in zip(
        itertools.product((0, width // 2), (0, height // 2)),
        [(230, 40, 40), (40, 200, 60), (40, 60, 220), (240, 220, 30)],
        strict=True,
    ):
        image.paste(colour, (x, y, x + width // 2, y + height // 2))
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def saved(data: bytes, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def test_text_to_video_end_to_end(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`/video a kitten chasing a leaf` → one progress message edited in place (the video
    stage, then a summary) → one inline MP4 replying to the request; Veo got no image."""
    gemini.video_latency_s = 1.5
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        asked = fake.send_command("/video a kitten chasing a leaf")
        sent = await fake.wait_for("sendVideo", timeout=60)
        summary = await ended(fake)
    (first,) = fake.calls_to("sendMessage")
    assert first.params["text"] == "🎬 Got it — making your video…"
    assert first.json("reply_markup")["inline_keyboard"][0][0]["text"] == "Cancel"
    edits = edits_of(fake, first.result["message_id"])
    texts = [e.params["text"] for e in edits]
    assert any("Making the video" in t and "generating" in t for t in texts), texts
    assert texts[-1] == "✅ 1 video of 8 s — “a kitten chasing a leaf”"
    assert edits[-1] is summary
    gaps = [b.time - a.time for a, b in itertools.pairwise([first, *edits])]
    assert min(gaps) >= INTERVAL - 0.05, gaps
    # The video: a real MP4 as declared, with a JPEG thumbnail, replying to the request.
    assert fake.calls_to("sendMediaGroup") == []
    p = probe(saved(sent.files["video"].data, tmp_path, "sent.mp4"))
    assert (p.video_codec, p.pix_fmt) == ("h264", "yuv420p")
    assert (int(sent.params["width"]), int(sent.params["height"])) == (p.width, p.height)
    assert abs(int(sent.params["duration"]) - p.duration_s) <= 1
    assert sent.params["supports_streaming"] == "true"
    assert sent.params["caption"] == "a kitten chasing a leaf"
    assert sent.file("thumbnail") is not None
    assert sent.file("thumbnail").data[:3] == b"\xff\xd8\xff"  # type: ignore[union-attr]
    assert sent.json("reply_parameters")["message_id"] == asked
    # What Veo was asked for.
    (operation,) = gemini.operations.values()
    assert operation.image is None
    assert operation.prompt.startswith("a kitten chasing a leaf")
    assert operation.parameters["sampleCount"] == 1
    assert operation.parameters["aspectRatio"] == "16:9"
    assert int(operation.parameters["durationSeconds"]) == 8


async def test_photo_captioned_video_starts_from_the_photo(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 16:9 photo with the caption `/video …`: its largest size is fetched through getFile
    and reaches Veo byte for byte as the first frame."""
    photo = picture((1280, 720))
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        asked = fake.send_photo(photo, caption="/video aspect=16:9 the cat wakes up")
        sent = await fake.wait_for("sendVideo", timeout=60)
        await ended(fake)
    (operation,) = gemini.operations.values()
    assert operation.image == photo
    assert operation.prompt.startswith("the cat wakes up")
    largest = fake.messages[(4242, asked)]["photo"][-1]["file_id"]
    assert [c.params["file_id"] for c in fake.calls_to("getFile")] == [largest]
    assert sent.json("reply_parameters")["message_id"] == asked


async def test_reply_to_a_photo_and_a_picture_sent_as_file(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/video …` replying to a photo starts from that photo; a PNG sent as a file with the
    caption `/video@bot …` starts from that PNG; both reach Veo unchanged."""
    photo, png = picture((640, 360)), picture((320, 180), "PNG")
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch, STORYBOT_USER_JOBS_IN_FLIGHT="2")
        photo_id = fake.send_photo(photo)
        fake.send_command("/video the leaves start to fall", reply_to=photo_id)
        fake.send_document(png, filename="frame.png", caption="/video@story_test_bot it snows")
        while len([c for c in fake.calls_to("editMessageText") if "✅" in c.params["text"]]) < 2:
            await fake.wait_for("editMessageText", new=True, timeout=60)
    first_frames = {op.prompt: op.image for op in gemini.operations.values()}
    assert first_frames == {"the leaves start to fall": photo, "it snows": png}
    assert len(fake.calls_to("sendVideo")) == 2


async def test_count_two_is_one_album(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`/video count=2 …`: Veo makes two samples, sent as ONE album of two inline MP4s with
    the caption on the first and a thumbnail each."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        fake.send_command("/video count=2 duration=4 aspect=9:16 two kittens")
        album = await fake.wait_for("sendMediaGroup", timeout=60)
        summary = await ended(fake)
    assert fake.calls_to("sendVideo") == []
    assert album.status == 200
    assert summary.params["text"] == "✅ 2 videos of 4 s — “two kittens”"
    items = album.json("media")
    assert [i["type"] for i in items] == ["video", "video"]
    assert [i.get("caption") for i in items] == ["two kittens", None]
    assert all(i["supports_streaming"] is True for i in items)
    uploads = album.media_files()
    assert len(uploads) == 2
    for n, (item, upload) in enumerate(zip(items, uploads, strict=True)):
        assert upload is not None
        p = probe(saved(upload.data, tmp_path, f"album-{n}.mp4"))
        assert p.video_codec == "h264"
        assert (item["width"], item["height"]) == (p.width, p.height)
        assert p.height > p.width  # 9:16
        assert abs(item["duration"] - p.duration_s) <= 1
        thumbnail = album.files[item["thumbnail"].removeprefix("attach://")]
        assert thumbnail.data[:3] == b"\xff\xd8\xff"
    messages = album.result
    assert len({m["media_group_id"] for m in messages}) == 1
    (operation,) = gemini.operations.values()
    assert operation.parameters["sampleCount"] == 2
    assert operation.parameters["aspectRatio"] == "9:16"


async def test_album_fits_the_upload_limit_and_waits_out_flood_control(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Full-size clips over the upload limit are each re-encoded to fit; a 429 on the album
    is waited out once, then the album is sent, once."""
    async with AsyncExitStack() as stack:
        gemini = await stack.enter_async_context(FakeGemini(api_key=KEY))  # 1280x720 clips
        await start_bot(stack, fake, gemini, monkeypatch, STORYBOT_TELEGRAM_UPLOAD_LIMIT_MB="0.3")
        fake.fail_next("sendMediaGroup", status=429, retry_after=1)
        fake.send_command("/video count=2 duration=4 two kittens")
        summary = await ended(fake)
    refused, album = fake.calls_to("sendMediaGroup")
    assert (refused.status, album.status) == (429, 200)
    assert album.time - refused.time >= 1.0
    assert summary.params["text"].startswith("✅ 2 videos")
    for n, upload in enumerate(album.media_files()):
        assert upload is not None
        assert len(upload.data) <= 300_000 * 0.96
        assert probe(saved(upload.data, tmp_path, f"fit-{n}.mp4")).video_codec == "h264"
    sent = [m for m in fake.bot_messages(4242) if "video" in m]
    assert len(sent) == 2
    assert len({m["media_group_id"] for m in sent}) == 1


async def test_filtered_clip_is_explained_in_chat(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result Veo's safety filter removed fails the job; the progress message says so, in one
    short line, and nothing is uploaded."""
    gemini.script("video", VideoFiltered())
    async with AsyncExitStack() as stack:
        store = await start_bot(stack, fake, gemini, monkeypatch)
        fake.send_command("/video a kitten chasing a leaf")
        final = await ended(fake)
        job = (await store.recent())[0]
    assert final.params["text"] == "❌ the clip was blocked by Veo's safety filter"
    assert "reply_markup" not in final.params  # no Cancel button on a finished job
    assert job.status is JobStatus.FAILED
    assert fake.calls_to("sendVideo") == []
    assert fake.calls_to("sendMediaGroup") == []


@pytest.mark.parametrize(
    "first", ["/video a kitten chasing a leaf", "/story animate=on scenes=1 a cat"]
)
async def test_second_clip_job_of_the_day_is_refused(
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    first: str,
) -> None:
    """With one animated job a day, a /video after a /video (or after an animated story) is
    refused with when the next one frees up; Veo is not asked again."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch, STORYBOT_ANIMATED_PER_DAY="1")
        fake.send_command(first)
        assert (await ended(fake)).params["text"].startswith("✅")
        starts = len(gemini.calls("video"))
        assert starts == 1  # the first job did pay for a clip
        fake.send_command("/video a puppy in the snow")
        refusal = await fake.wait_for("sendMessage", lambda c: c.params["text"].startswith("⚠️"))
    text = refusal.params["text"]
    assert text.startswith("⚠️ You have made 1 animated videos in the last 24 hours"), text
    assert "(the limit is 1); the next one frees up in 23 h 59 min." in text
    assert "\n" not in text
    assert len(gemini.calls("video")) == starts


PROMPT_MISSING = "⚠️ say what the video should show, e.g. /video a kitten chasing a leaf"


@pytest.mark.parametrize(
    ("kind", "text", "reply"),
    [
        (
            "text",
            "/video duration=30 x",
            "⚠️ duration must be a number from 4 to 8 seconds, not '30'",
        ),
        ("text", "/video", PROMPT_MISSING),
        ("text", "/video count=2", PROMPT_MISSING),
        ("text", "/video colour=red a cat", "⚠️ unknown option 'colour' — the options are aspect="),
        ("text", "/video aspect=1:1 a cat", "⚠️ aspect must be 16:9 | 16:10 | 9:16"),
        ("text", "/video a dog with a gun", "isn't right for a children's story"),
        ("photo", "/video", PROMPT_MISSING),
        ("file", "/video a cat", "⚠️ that file is not a picture I can read; send a PNG or JPEG"),
    ],
)
async def test_bad_video_requests_get_a_one_line_correction(
    fake: FakeTelegram,
    gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    text: str,
    reply: str,
) -> None:
    """Bad options, a missing prompt (typed or as a caption), an unfit prompt and a file that
    only claims to be a picture each get a short reply; nothing reaches Veo."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        if kind == "photo":
            fake.send_photo(picture((320, 180)), caption=text)
        elif kind == "file":
            fake.send_document(b"GIF89a, honestly", filename="cat.png", mime_type="image/png",
                               caption=text)  # fmt: skip
        else:
            fake.send_command(text)
        answer = await fake.wait_for("sendMessage")
    assert reply in answer.params["text"]
    assert "\n" not in answer.params["text"]
    assert "Traceback" not in answer.params["text"]
    assert gemini.calls("video") == []


async def test_captions_for_other_bots_and_plain_photos_are_ignored(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a group, a photo captioned `/video@other_bot …` or with an ordinary caption gets no
    answer; `/help` then answers (so the earlier updates were seen and skipped)."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        group = {"chat_id": -100, "chat_type": "group"}
        fake.send_photo(picture((320, 180)), caption="/video@other_bot a cat", **group)
        fake.send_photo(picture((320, 180)), caption="my cat", **group)
        fake.send_command("/help", **group)
        answer = await fake.wait_for("sendMessage")
    assert answer.params["text"].startswith("I turn a theme")
    assert len(fake.calls_to("sendMessage")) == 1
    assert gemini.calls("video") == []


async def test_help_mentions_video_and_its_options(
    fake: FakeTelegram, gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/start and the command menu mention /video; the help lists its options and the photo
    forms."""
    async with AsyncExitStack() as stack:
        await start_bot(stack, fake, gemini, monkeypatch)
        fake.send_command("/start")
        answer = await fake.wait_for("sendMessage")
    text = answer.params["text"]
    assert "/video a kitten chasing a leaf" in text
    for option in ("aspect: 16:9 | 9:16", "duration: 4 to 8 seconds", "negative:", "people:",
                   "count: 1 to 4"):  # fmt: skip
        assert f"• {option}" in text
    assert "caption /video PROMPT" in text
    commands = fake.calls_to("setMyCommands")[0].json("commands")
    assert "video" in [c["command"] for c in commands]
