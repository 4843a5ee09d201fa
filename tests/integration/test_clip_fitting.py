"""Animated scenes, judged on real outputs: clips fitted to their scenes' fixed lengths."""

from __future__ import annotations

import asyncio
import io
import itertools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import audio
from core.assembly import assemble
from core.clip_fit import Clip, probe_clip
from core.errors import RenderError
from core.ffmpeg import ffmpeg_exe
from core.models import Speech
from core.providers.offline.motion import OFFLINE_CLIP_S, render_clip
from core.video import Caption, Cut, Timeline
from tests.probe import Probe, probe, top_level_boxes

pytestmark = pytest.mark.slow

FPS = 24
SIZE = (320, 180)
PAUSE_S = 0.4
NARRATIONS_S = (2.0, 3.0, 6.0)
TONE_HZ = 1000  # the sound of the third scene's clip
VOICE_HZ = 220  # the stand-in narration
BOX_SPEED = 120  # px per second of the clips' white box, in the clip's own pixels
RED, GREEN, BLUE = (200, 40, 40), (40, 160, 60), (40, 60, 200)


def make_clip(
    path: Path, colour: tuple[int, int, int], size: tuple[int, int], fps: int, *, tone: bool
) -> Path:
    """A 3 s clip: a white box crossing a solid background at BOX_SPEED, optionally with a
    loud TONE_HZ tone (stereo, 44.1 kHz, as a camera clip would have)."""
    width, height = size
    hexcolour = "0x{:02x}{:02x}{:02x}".format(*colour)
    inputs = ["-f", "lavfi", "-i", f"color=c={hexcolour}:s={width}x{height}:r={fps}:d=3"]
    if tone:
        inputs += ["-f", "lavfi", "-i", f"aevalsrc=0.9*sin(2*PI*{TONE_HZ}*t):s=44100:d=3"]
    box = (
        f"color=c=white:s=40x80:r={fps}[box];"
        f"[0:v][box]overlay=x='t*{BOX_SPEED}':y={height // 2 - 40}:shortest=1,format=yuv420p"
    )
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *inputs,
            "-filter_complex", box, "-c:v", "libx264", "-preset", "ultrafast",
            *(["-ac", "2", "-c:a", "aac"] if tone else []),
            "-t", "3", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@dataclass
class ClipStory:
    """The three-scene story: [clip, still, clip], its cut, and two renditions."""

    cut: Cut
    clips: list[Clip]
    quiet: Probe  # clip_audio=False
    loud: Probe  # clip_audio=True
    rgb: np.ndarray  # quiet's frames, (n, 45, 80, 3)


def narration(seconds: float) -> Speech:
    """A stand-in narration: a VOICE_HZ tone at a speaking level."""
    t = np.arange(round(seconds * audio.SAMPLE_RATE)) / audio.SAMPLE_RATE
    pcm = (0.3 * 32767 * np.sin(2 * np.pi * VOICE_HZ * t)).astype("<i2").tobytes()
    return Speech(pcm, audio.SAMPLE_RATE)


def rgb_frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack(
            [
                frame.to_ndarray(format="rgb24", width=80, height=45).astype(np.float32)
                for frame in container.decode(video=0)
            ]
        )


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> ClipStory:
    workdir = tmp_path_factory.mktemp("clips")
    red = make_clip(workdir / "red.mp4", RED, (640, 360), 30, tone=False)
    blue = make_clip(workdir / "blue.mp4", BLUE, (720, 1280), 25, tone=True)  # portrait
    clips = [asyncio.run(probe_clip(red)), asyncio.run(probe_clip(blue))]
    pictures = []
    for name, colour in (("a", RED), ("b", GREEN), ("c", BLUE)):
        image = Image.new("RGB", SIZE, colour)
        ImageDraw.Draw(image).ellipse((100, 40, 220, 140), fill=(230, 230, 230))
        image.save(workdir / f"{name}.png")
        pictures.append(workdir / f"{name}.png")
    band = Image.new("RGBA", (SIZE[0], SIZE[1] - 140), (0, 0, 0, 200))  # a dark caption band
    band.save(workdir / "caption.png")
    joined, lengths = audio.join([narration(s) for s in NARRATIONS_S], PAUSE_S)
    wav = workdir / "narration.wav"
    wav.write_bytes(audio.to_wav(joined))
    timeline = Timeline.from_samples(lengths, joined.sample_rate, FPS)
    cut = Cut(timeline, SIZE, crossfade_frames=int(PAUSE_S * FPS * 0.75))
    scene_clips = [clips[0], None, clips[1]]
    outputs = {}
    for loud in (False, True):
        out = workdir / f"story-{loud}.mp4"
        captions = [Caption(workdir / "caption.png", 0, 140), None, None]
        render = assemble(pictures, captions, wav, out, cut, clips=scene_clips, clip_audio=loud)
        asyncio.run(render)
        outputs[loud] = out
    return ClipStory(
        cut, clips, probe(outputs[False]), probe(outputs[True]), rgb_frames(outputs[False])
    )


def starts(cut: Cut) -> list[int]:
    return [round(s * FPS) for s in cut.timeline.starts_s]


def colour_of(frame: np.ndarray) -> np.ndarray:
    """The background colour of a frame: the median of its top rows (clear of box and disc)."""
    return np.median(frame[:8].reshape(-1, 3), axis=0)


def box_x(frame: np.ndarray) -> float:
    """The white box's left edge in output pixels (80-px-wide analysis frame)."""
    white = (frame[15:30].min(axis=2) > 180).any(axis=0)  # the rows the box crosses
    return float(np.argmax(white)) * SIZE[0] / frame.shape[1]


def test_clips_keep_the_scene_lengths(story: ClipStory) -> None:
    """The video is exactly as long as the narrations and pauses: the clips never change it."""
    expected = sum(NARRATIONS_S) + 3 * PAUSE_S
    assert sum(story.cut.timeline.scene_frames) == len(story.quiet.frames)
    for p in (story.quiet, story.loud):
        assert abs(p.duration_s - expected) <= 1 / FPS
        assert len(p.frames) == round(expected * FPS)
        assert (p.width, p.height, p.pix_fmt) == (*SIZE, "yuv420p")
        assert abs(len(p.audio) / p.sample_rate - expected) <= 1 / FPS


def test_each_scene_starts_where_the_timeline_says(story: ClipStory) -> None:
    """The crossfade into each scene ends on the frame its narration starts: before it, a
    blend; from it on, the new scene's own picture (clip → still → clip)."""
    colours = [np.array(c, dtype=np.float32) for c in (RED, GREEN, BLUE)]
    head = story.cut.crossfade_frames
    for scene, start in enumerate(starts(story.cut)[1:], start=1):
        new, old = colours[scene], colours[scene - 1]
        assert np.abs(colour_of(story.rgb[start]) - new).max() < 12
        assert np.abs(colour_of(story.rgb[start - head]) - old).max() < 12
        for blend in range(start - head + 1, start):  # xfade starts on the old picture
            assert np.abs(colour_of(story.rgb[blend]) - new).max() > 12
            assert np.abs(colour_of(story.rgb[blend]) - old).max() > 12


def test_a_clip_longer_than_its_scene_is_trimmed(story: ClipStory) -> None:
    """The 3 s clip in a 2.4 s scene plays at its own speed up to the crossfade: no slowing,
    no hold; its caption lies over it."""
    fade = 13
    end = starts(story.cut)[1] - story.cut.crossfade_frames
    for index in range(fade, end):
        band, top = story.rgb[index][36:], story.rgb[index][:20]
        assert float(band.mean()) < 0.4 * float(top.mean())  # the caption band is dark
    speed = BOX_SPEED * SIZE[0] / 640  # output px per second
    for index in range(fade, end):
        assert abs(box_x(story.rgb[index]) - speed * index / FPS) <= 8
    assert box_x(story.rgb[end - 1]) > box_x(story.rgb[end - 3])  # still moving


def test_a_short_clip_is_slowed_then_held(story: ClipStory) -> None:
    """The 3 s clip in a 6.7 s scene runs 1.5x slower for 4.5 s, then holds its last frame."""
    first = starts(story.cut)[2] - story.cut.crossfade_frames  # the scene's motion starts here
    slowed = round(3.0 * 1.5 * FPS)  # frames of slowed clip
    fade_out = len(story.rgb) - 13
    speed = BOX_SPEED * SIZE[0] / 720 / 1.5  # the portrait clip is scaled to 320 px wide
    for n in range(story.cut.crossfade_frames + 1, slowed - 2):
        assert abs(box_x(story.rgb[first + n]) - speed * n / FPS) <= 8
    moving = [story.quiet.frames[i] for i in range(first + 30, first + slowed - 2, 10)]
    for a, b in itertools.pairwise(moving):
        assert float(np.abs(a - b).mean()) > 1.0
    held = story.quiet.frames[first + slowed + 2 : fade_out]
    assert len(held) > 24
    for frame in held:
        assert float(np.abs(frame - held[0]).mean()) < 0.5


def spectrum_peak(
    signal: np.ndarray, rate: int, start_s: float, hz: float, length_s: float = 1.0
) -> float:
    """Magnitude at `hz` relative to the strongest component, over `length_s` from `start_s`."""
    window = signal[int(start_s * rate) : int((start_s + length_s) * rate)]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    freqs = np.fft.rfftfreq(len(window), 1 / rate)
    return float(spectrum[np.abs(freqs - hz) < 5].max() / spectrum.max())


def test_clip_sound_is_mixed_in_only_when_asked(story: ClipStory) -> None:
    """With clip_audio the third scene carries its clip's tone under the narration (which
    stays the loudest) from the scene's start; without it, or in the other scenes, no tone."""
    third, second = story.cut.timeline.starts_s[2], story.cut.timeline.starts_s[1]
    loud, quiet = story.loud, story.quiet
    assert spectrum_peak(loud.audio, loud.sample_rate, third - 0.5, TONE_HZ, 0.45) < 0.01
    assert spectrum_peak(loud.audio, loud.sample_rate, third + 0.05, TONE_HZ, 0.45) > 0.3
    assert spectrum_peak(loud.audio, loud.sample_rate, third + 2.0, VOICE_HZ) == 1.0
    assert spectrum_peak(loud.audio, loud.sample_rate, third + 2.0, TONE_HZ) > 0.3
    assert spectrum_peak(loud.audio, loud.sample_rate, second + 1.0, TONE_HZ) < 0.01
    assert spectrum_peak(quiet.audio, quiet.sample_rate, third + 2.0, TONE_HZ) < 0.01
    assert spectrum_peak(quiet.audio, quiet.sample_rate, third + 2.0, VOICE_HZ) == 1.0


async def test_probe_clip_reads_length_and_sound(story: ClipStory, tmp_path: Path) -> None:
    """`probe_clip` reads a clip's length and sound track; a picture or junk is refused."""
    red, blue = story.clips
    assert abs(red.duration_s - 3.0) < 0.05
    assert abs(blue.duration_s - 3.0) < 0.05
    assert (red.has_audio, blue.has_audio) == (False, True)
    picture, junk = tmp_path / "p.png", tmp_path / "j.mp4"
    Image.new("RGB", (64, 64)).save(picture)
    junk.write_bytes(b"not a video at all" * 100)
    for path in (picture, junk, tmp_path / "missing.mp4"):
        with pytest.raises(RenderError, match="could not be read"):
            await probe_clip(path)


async def test_offline_clip_is_a_moving_h264_mp4(tmp_path: Path) -> None:
    """`render_clip` turns a JPEG of any size into a 3 s H.264 clip of the requested size,
    with faststart, no sound, and a picture that keeps moving."""
    image = Image.new("RGB", (500, 333), (90, 150, 220))
    draw = ImageDraw.Draw(image)
    for x in range(0, 500, 50):
        draw.rectangle((x, 200, x + 25, 333), fill=(40, 120, 40))
    draw.ellipse((200, 60, 300, 160), fill=(250, 220, 60))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    data = await render_clip(buffer.getvalue(), SIZE, fps=FPS)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    assert top_level_boxes(path).index("moov") < top_level_boxes(path).index("mdat")
    with av.open(str(path)) as container:
        assert not container.streams.audio
        stream = container.streams.video[0]
        codec = (stream.codec_context.name, stream.codec_context.pix_fmt)
        size = (stream.codec_context.width, stream.codec_context.height)
        duration = float(container.duration or 0) / av.time_base
        frames = [f.to_ndarray(format="gray").astype(np.float32) for f in container.decode(stream)]
    assert codec == ("h264", "yuv420p")
    assert size == SIZE
    assert abs(duration - OFFLINE_CLIP_S) <= 1 / FPS
    assert len(frames) == round(OFFLINE_CLIP_S * FPS)
    steps = [float(np.abs(b - a).mean()) for a, b in itertools.pairwise(frames[::12])]
    assert min(steps) > 0.5  # every half second, the picture has moved
    clip = await probe_clip(path)
    assert abs(clip.duration_s - OFFLINE_CLIP_S) <= 1 / FPS
    assert not clip.has_audio
