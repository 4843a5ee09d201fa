"""The media the fake Gemini makes: pictures (`render_png`), speech (`speech_pcm`, WAV) and
clips (`render_mp4`: a real H.264 + AAC MP4 made by the bundled ffmpeg), at the sizes of the
real models.

Pictures are coloured by a hash of the prompt, with the prompt drawn on them; speech is one
syllable-like tone of about 0.3 s per word (raw PCM s16le mono 24 kHz), and an answer of several
turns (`turns_pcm`) speaks each turn at its voice's pitch (`VOICE_PITCH`) with `TURN_GAP_S` of
silence between turns; a clip is a slow zoom on a picture with a tone as audio, cached per
request.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import subprocess
import tempfile
import textwrap
import threading
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from tests.gemini_catalog import VOICES

# Output sizes of the real Gemini image models per aspect ratio.
IMAGE_SIZES = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344), "4:3": (1184, 864),
    "3:4": (864, 1184), "3:2": (1248, 832), "2:3": (832, 1248), "4:5": (896, 1152),
    "5:4": (1152, 896), "21:9": (1536, 672),
}  # fmt: skip
# Output sizes of Imagen 3/4 per aspect ratio.
IMAGEN_SIZES = {
    "1:1": (1024, 1024), "9:16": (768, 1408), "16:9": (1408, 768), "3:4": (896, 1280),
    "4:3": (1280, 896),
}  # fmt: skip
# Fake clip sizes (the real 720p is 1280x720), before `image_scale`.
VIDEO_SIZES = {"16:9": (320, 180), "9:16": (180, 320), "1:1": (240, 240)}
VIDEO_FPS = 24
DEFAULT_VIDEO_SECONDS = 8.0
TTS_RATE = 24_000
TTS_MIME = f"audio/L16;codec=pcm;rate={TTS_RATE}"


def render_png(
    prompt: str, size: tuple[int, int], reference: bytes | None = None, variant: int = 0
) -> bytes:
    """A PNG whose colour and caption follow `prompt`; `reference` is pasted as a thumbnail.

    `variant` > 0 changes the colour (the other samples of one Imagen call)."""
    digest = hashlib.sha256((f"{prompt}#{variant}" if variant else prompt).encode()).digest()
    colour = (60 + digest[0] % 160, 60 + digest[1] % 160, 60 + digest[2] % 160)
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    band = (255 - colour[0], 255 - colour[1], 255 - colour[2])
    draw.rectangle((0, h * 2 // 3, w, h), fill=band)
    draw.ellipse((w // 8, h // 6, w // 8 + w // 4, h // 6 + w // 4), fill=(240, 150, 40))  # cat
    draw.rectangle((w // 2, h // 4, w // 2 + w // 4, h // 4 + w // 5), fill=(120, 80, 40))  # dog
    font = ImageFont.load_default(size=max(10, h // 28))
    lines = textwrap.wrap(prompt, width=max(12, w // max(6, h // 50)))[:6]
    draw.multiline_text((8, h * 2 // 3 + 8), "\n".join(lines), fill=colour, font=font)
    if reference:
        with contextlib.suppress(OSError), Image.open(io.BytesIO(reference)) as ref:
            thumb = ref.convert("RGB")
            thumb.thumbnail((w // 5, h // 5))
            image.paste(thumb, (w - thumb.width - 4, 4))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def speech_pcm(text: str, rate: int = TTS_RATE, pitch: float | None = None) -> bytes:
    """Raw s16le mono PCM: per word a voiced, syllable-modulated tone, then a short silence
    (the tone's pitch follows the word, or is `pitch`)."""
    words = re.findall(r"\w+", text) or ["hm"]
    gap = np.zeros(int(0.06 * rate))
    chunks = [np.zeros(int(0.1 * rate))]
    for word in words:
        seed = int.from_bytes(hashlib.sha256(word.lower().encode()).digest()[:4], "big")
        f0 = pitch or 110.0 + seed % 140
        duration = 0.16 + 0.02 * min(len(word), 7)
        t = np.arange(int(duration * rate)) / rate
        syllables = max(1, min(4, len(re.findall(r"[aeiouy]+", word.lower()))))
        envelope = np.sin(np.pi * t / duration) * (
            0.55 + 0.45 * np.abs(np.sin(np.pi * syllables * t / duration))
        )
        tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3))
        chunks += [0.3 * envelope * tone / 1.84, gap]
    chunks.append(np.zeros(int(0.1 * rate)))
    return (np.concatenate(chunks) * 32767).astype("<i2").tobytes()


# Each voice speaks at its own pitch in a multi-turn answer (95 to 298 Hz, by name).
VOICE_PITCH = {name: 95.0 + 7.0 * index for index, name in enumerate(sorted(VOICES))}
TURN_GAP_S = 0.35  # the silence between two turns of one answer


def turns_pcm(turns: list[tuple[str | None, str]], rate: int = TTS_RATE) -> bytes:
    """Raw PCM of several turns ((voice, text) each), each at its voice's pitch, with
    `TURN_GAP_S` of silence between them (each turn's own 0.1 s edges included)."""
    gap = b"\x00\x00" * int((TURN_GAP_S - 0.2) * rate)
    return gap.join(
        speech_pcm(text, rate, VOICE_PITCH.get(voice or "", 180.0)) for voice, text in turns
    )


_MP4_CACHE: dict[tuple[str, str, float, tuple[int, int], bool], bytes] = {}
_MP4_LOCK = threading.Lock()


def _ffmpeg() -> str:
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def render_mp4(
    prompt: str,
    size: tuple[int, int],
    duration_s: float = DEFAULT_VIDEO_SECONDS,
    image: bytes | None = None,
    audio: bool = True,
) -> bytes:
    """A real H.264/AAC MP4 (blocking; cached): a slow zoom on `image` (cover-fitted, so the
    first frame is the whole picture) or on a `render_png` of `prompt`, with a tone whose pitch
    follows `prompt`. `size` must be even."""
    key = (hashlib.sha256(image or b"").hexdigest(), prompt, duration_s, size, audio)
    with _MP4_LOCK:
        if key in _MP4_CACHE:
            return _MP4_CACHE[key]
    w, h = size
    frame: Image.Image | None = None
    if image:
        with contextlib.suppress(OSError), Image.open(io.BytesIO(image)) as picture:
            frame = ImageOps.fit(picture.convert("RGB"), (2 * w, 2 * h))
    if frame is None:
        frame = Image.open(io.BytesIO(render_png(prompt, (2 * w, 2 * h)))).convert("RGB")
    frames = max(1, round(duration_s * VIDEO_FPS))
    pitch = 220 + int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:2], "big") % 440
    with tempfile.TemporaryDirectory(prefix="fake-veo-") as tmp:
        first, out = Path(tmp) / "first.png", Path(tmp) / "clip.mp4"
        frame.save(first)
        zoom = (
            f"zoompan=z='1+0.1*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
            f":d={frames}:s={w}x{h}:fps={VIDEO_FPS},format=yuv420p"
        )
        cmd = [_ffmpeg(), "-y", "-hide_banner", "-loglevel", "error", "-i", str(first)]
        if audio:
            sine = f"sine=frequency={pitch}:sample_rate=48000:duration={duration_s}"
            cmd += ["-f", "lavfi", "-i", sine]
        cmd += ["-filter_complex", f"[0:v]{zoom}[v]", "-map", "[v]"]
        cmd += ["-map", "1:a", "-c:a", "aac", "-b:a", "64k"] if audio else []
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage"]
        cmd += ["-t", f"{duration_s}", "-movflags", "+faststart", str(out)]
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ffmpeg failed: {done.stderr.decode(errors='replace')[-500:]}")
        clip = out.read_bytes()
    with _MP4_LOCK:
        _MP4_CACHE[key] = clip
    return clip


def pcm_to_wav(pcm: bytes) -> bytes:
    """Raw s16le mono PCM at `TTS_RATE` in a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(TTS_RATE)
        wav.writeframes(pcm)
    return out.getvalue()


def png_to_jpeg(png: bytes) -> bytes:
    out = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()
