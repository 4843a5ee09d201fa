"""Video assembly: ffmpeg turns stills or clips, captions and joined narration into an MP4."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.audio import SAMPLE_RATE
from core.errors import RenderError
from core.ffmpeg import ffmpeg_exe, ffmpeg_report, run_ffmpeg

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Where each scene starts and ends, in frames, from sample-exact narration lengths."""

    fps: int
    scene_frames: tuple[int, ...]  # frames per scene; sums to the video's frame count
    total_s: float  # exact audio length; the video is cut to it

    @classmethod
    def from_samples(cls, scene_samples: Sequence[int], sample_rate: int, fps: int) -> Timeline:
        """Frame counts by cumulative rounding, so picture changes never drift from the audio."""
        frames: list[int] = []
        elapsed = 0
        previous_frame = 0
        for samples in scene_samples:
            elapsed += samples
            boundary = round(elapsed * fps / sample_rate)
            frames.append(boundary - previous_frame)
            previous_frame = boundary
        return cls(fps, tuple(frames), elapsed / sample_rate)

    @property
    def starts_s(self) -> tuple[float, ...]:
        """Each scene's start time in seconds (on the frame grid)."""
        starts, frame = [], 0
        for count in self.scene_frames:
            starts.append(frame / self.fps)
            frame += count
        return tuple(starts)


@dataclass(frozen=True, slots=True)
class Motion:
    """A Ken Burns move over one scene: zoom from z0 to z1, pan from (x0, y0) to (x1, y1).

    Pan positions are fractions of the room the zoom leaves (0 = left/top edge, 1 = right/
    bottom), so the crop window never leaves the picture and no edge is ever shown.
    """

    z0: float
    z1: float
    x0: float
    x1: float
    y0: float
    y1: float

    @classmethod
    def for_scene(cls, index: int) -> Motion:
        """Varied, deterministic moves: in, out, pans; each gentle (at most 15 % zoom)."""
        moves = (
            cls(1.00, 1.15, 0.5, 0.5, 0.5, 0.45),  # slow push in
            cls(1.12, 1.02, 0.2, 0.7, 0.5, 0.5),  # pull out, drifting right
            cls(1.10, 1.10, 0.9, 0.1, 0.4, 0.6),  # pan right to left
            cls(1.02, 1.14, 0.3, 0.6, 0.7, 0.3),  # push in, rising
            cls(1.14, 1.04, 0.8, 0.4, 0.3, 0.6),  # pull out, settling left
        )
        return moves[index % len(moves)]


@dataclass(frozen=True, slots=True)
class Cut:
    """The story's picture track: scene lengths, frame size, crossfades and fades.

    Scene k's motion spans `scene_length(k)` frames: its own frames plus, after the first
    scene, the crossfade into it, which sits inside the previous scene's closing pause so each
    narration starts on its own picture. The video is encoded in segments, one per scene;
    segment k holds the crossfade into scene k and scene k's frames up to the next crossfade.
    """

    timeline: Timeline
    size: tuple[int, int]
    crossfade_frames: int = 0
    fade_s: float = 0.5  # from and to black at the very start and end

    @property
    def count(self) -> int:
        """Number of scenes."""
        return len(self.timeline.scene_frames)

    def fade_into(self, scene: int) -> int:
        """Crossfade frames at the start of scene `scene` (none before the first)."""
        return self.crossfade_frames if 0 < scene < self.count else 0

    def scene_length(self, scene: int) -> int:
        """Frames of scene `scene`'s motion, crossfade into it included."""
        return self.timeline.scene_frames[scene] + self.fade_into(scene)

    def segment_length(self, scene: int) -> int:
        """Frames of segment `scene`: the crossfade into it, then its frames up to the next."""
        return self.scene_length(scene) - self.fade_into(scene + 1)


def _zoompan(
    motion: Motion, total: int, size: tuple[int, int], fps: int, *, first: int = 0, count: int
) -> str:
    """Frames `first`..`first + count` of a `total`-frame Ken Burns move over one still."""
    width, height = size
    last = max(total - 1, 1)

    def ramp(a: float, b: float) -> str:
        return f"({a:.4f}+({b - a:.4f})*(on+{first})/{last})"

    return (
        # yuv420p from the start: half the bytes of RGB per frame, and no conversions later.
        # 1.5x first: the crop moves in steps of 2/3 output pixel, so motion does not jitter.
        f"format=yuv420p,scale={width * 3 // 2}:{height * 3 // 2}:flags=bicubic,"
        f"zoompan=z='{ramp(motion.z0, motion.z1)}'"
        f":x='(iw-iw/zoom)*{ramp(motion.x0, motion.x1)}'"
        f":y='(ih-ih/zoom)*{ramp(motion.y0, motion.y1)}'"
        f":d={count}:s={width}x{height}:fps={fps},setsar=1"
    )


# A clip shorter than its scene is slowed down at most this much, then held on its last frame.
MAX_SLOWDOWN = 1.5
CLIP_VOLUME = 0.3  # a clip's own sound, under the narration


@dataclass(frozen=True, slots=True)
class Clip:
    """An animated scene's video file: its length and whether it has a sound track."""

    path: Path
    duration_s: float
    has_audio: bool

    def fitting(self, scene_s: float) -> tuple[float, bool]:
        """How the clip fills a `scene_s`-second scene: the slow-down factor (1 when it is
        long enough and is only trimmed), and whether it then holds on its last frame."""
        if self.duration_s >= scene_s:
            return 1.0, False
        factor = min(MAX_SLOWDOWN, scene_s / self.duration_s)
        return factor, self.duration_s * factor < scene_s


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_MIN_CLIP_S = 0.1  # a picture file reads as a one-frame video (0.04 s): not a clip


async def probe_clip(path: Path) -> Clip:
    """Read a clip's length and whether it has sound from `ffmpeg -i`'s report; a file that
    is not a readable video raises `RenderError`."""
    _, report = await ffmpeg_report(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]  # no output: report only
    )
    streams = [line for line in report.splitlines() if line.lstrip().startswith("Stream #")]
    video = any(": Video:" in s and "(attached pic)" not in s for s in streams)
    found = _DURATION.search(report)
    hours, minutes, seconds = found.groups() if found else ("0", "0", "0")
    duration_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if not video or duration_s < _MIN_CLIP_S:
        log.warning("not a readable clip: %s: %s", path.name, report[-500:])
        raise RenderError("an animated scene could not be read")
    return Clip(path, duration_s, any(": Audio:" in s for s in streams))


def _fit_clip(
    clip: Clip, total: int, size: tuple[int, int], fps: int, *, first: int = 0, count: int
) -> str:
    """Frames `first`..`first + count` of `clip` fitted to a `total`-frame scene: slowed (or
    trimmed) and held as `Clip.fitting` says, at `fps`, scaled to cover `size`, centre-cropped.

    Frames are picked by index after the fitting, so the tail of a scene that the next
    segment blends from is exactly the continuation of that scene's own segment.
    """
    width, height = size
    factor, _ = clip.fitting(total / fps)
    slow = f"setpts={factor:.6f}*(PTS-STARTPTS)" if factor != 1 else "setpts=PTS-STARTPTS"
    return ",".join(
        [
            f"{slow},fps={fps}",
            # Always an endless hold of the last frame (the trim ends it): it shows only when
            # the clip runs out, but then every frame of the scene is filled even if the
            # container reported the clip longer than its pictures last.
            "tpad=stop=-1:stop_mode=clone",
            # Trim before scaling: frames outside the segment are never scaled.
            f"trim=start_frame={first}:end_frame={first + count},setpts=PTS-STARTPTS",
            f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic",
            f"crop={width}:{height},setsar=1,format=yuv420p",
        ]
    )


def build_segment_args(
    scene: int,
    pictures: Sequence[Path],
    captions: Sequence[Path | None],
    cut: Cut,
    out: Path,
    clips: Sequence[Clip | None] | None = None,
) -> list[str]:
    """ffmpeg arguments for segment `scene` (video only): the crossfade from the previous
    scene's last frames, then this scene with its motion (or its clip) and caption; fades at
    the ends. A scene with a clip in `clips` shows the clip fitted to it instead of its still."""
    fps, size = cut.timeline.fps, cut.size
    sources: list[Path] = []
    graph: list[str] = []

    def source(index: int, first: int, count: int, label: str) -> None:
        clip = clips[index] if clips is not None else None
        total = cut.scene_length(index)
        if clip is None:
            sources.append(pictures[index])
            move = _zoompan(Motion.for_scene(index), total, size, fps, first=first, count=count)
        else:
            sources.append(clip.path)
            move = _fit_clip(clip, total, size, fps, first=first, count=count)
        picture, caption = len(sources) - 1, captions[index]
        if caption is None:
            graph.append(f"[{picture}:v]{move}[{label}]")
            return
        sources.append(caption)
        graph.append(f"[{picture}:v]{move}[m{label}]")
        graph.append(f"[m{label}][{picture + 1}:v]overlay=0:0[{label}]")

    head = cut.fade_into(scene)
    source(scene, 0, cut.segment_length(scene), "cur")
    label = "cur"
    if head:
        previous = cut.scene_length(scene - 1)
        source(scene - 1, previous - head, head, "prev")
        graph.append("[cur]split=2[headsrc][bodysrc]")
        graph.append(f"[headsrc]trim=end_frame={head},setpts=PTS-STARTPTS[head]")
        graph.append(f"[bodysrc]trim=start_frame={head},setpts=PTS-STARTPTS[body]")
        graph.append(
            f"[prev][head]xfade=transition=fade:duration={head / fps:.6f}:offset=0[blend]"
        )
        graph.append("[blend][body]concat=n=2:v=1:a=0[joined]")
        label = "joined"
    length_s = cut.segment_length(scene) / fps
    fades = []
    fade = min(cut.fade_s, cut.timeline.total_s / 4)
    if scene == 0:
        fades.append(f"fade=t=in:st=0:d={fade:.3f}")
    if scene == cut.count - 1:
        fades.append(f"fade=t=out:st={max(length_s - fade, 0):.6f}:d={fade:.3f}")
    graph.append(f"[{label}]{','.join([*fades, 'format=yuv420p'])}[vout]")
    return [
        ffmpeg_exe(),
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        *(arg for path in sources for arg in ("-i", str(path))),
        "-filter_complex", ";".join(graph),
        "-map", "[vout]", "-an",
        # superfast: x264 is most of the work; a quarter faster than veryfast, files ~15 % larger
        "-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-profile:v", "high",
        "-threads", "2",  # one thread per core; more frame threads only cost memory
        "-r", str(fps), "-frames:v", str(cut.segment_length(scene)),
        str(out),
    ]  # fmt: skip


def _clip_sound(clip: Clip, scene: int, cut: Cut) -> str:
    """A clip's sound as heard in scene `scene`: slowed with its picture (pitch kept), from
    the frame shown when the scene starts, for the scene's length, quiet, placed at its start."""
    fps = cut.timeline.fps
    factor, _ = clip.fitting(cut.scene_length(scene) / fps)
    length_s = cut.timeline.scene_frames[scene] / fps
    steps = [f"aformat=channel_layouts=mono:sample_rates={SAMPLE_RATE}"]
    if factor != 1:
        steps.append(f"atempo={1 / factor:.6f}")
    return ",".join(
        [
            *steps,
            # The picture starts at the crossfade into the scene, the sound at the scene.
            f"atrim=start={cut.fade_into(scene) / fps:.6f}:duration={length_s:.6f}",
            f"asetpts=PTS-STARTPTS,volume={CLIP_VOLUME}",
            f"afade=t=in:d=0.05,afade=t=out:st={max(length_s - 0.3, 0):.6f}:d=0.3",
            f"adelay=delays={cut.timeline.starts_s[scene] * 1000:.3f}:all=1",
        ]
    )


def build_join_args(
    segments: Path,
    audio: Path,
    out: Path,
    cut: Cut,
    music: Path | None = None,
    clips: Sequence[Clip | None] | None = None,
    clip_audio: bool = False,
) -> list[str]:
    """The final run: the segments copied as they are (no re-encode) over the joined narration,
    encoded to AAC once, with an optional music bed ducked under the voice and, if
    `clip_audio`, each clip's own sound quietly under its scene; +faststart."""
    end = cut.timeline.total_s
    inputs = ["-f", "concat", "-safe", "0", "-i", str(segments), "-i", str(audio)]
    graph: list[str] = []
    mix = ["[1:a]"]
    if music is not None:
        inputs += ["-stream_loop", "-1", "-i", str(music)]
        graph += [
            "[1:a]asplit=2[voice][key]",
            f"[2:a]aformat=channel_layouts=mono:sample_rates={SAMPLE_RATE},"
            f"volume=0.3,afade=t=out:st={max(end - 2.0, 0):.3f}:d=2[bed]",
            "[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[duck]",
        ]
        mix = ["[voice]", "[duck]"]
    sounding = [
        (scene, clip)
        for scene, clip in enumerate(clips or () if clip_audio else ())
        if clip is not None and clip.has_audio
    ]
    for index, (scene, clip) in enumerate(sounding, start=3 if music is not None else 2):
        inputs += ["-i", str(clip.path)]
        graph.append(f"[{index}:a]{_clip_sound(clip, scene, cut)}[clip{scene}]")
        mix.append(f"[clip{scene}]")
    audio_map = ["-map", "1:a"]
    if len(mix) > 1:
        graph.append(f"{''.join(mix)}amix=inputs={len(mix)}:duration=first:normalize=0[aout]")
        audio_map = ["-filter_complex", ";".join(graph), "-map", "[aout]"]
    return [
        ffmpeg_exe(),
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        *inputs,
        "-map", "0:v", *audio_map,
        "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-ac", "1",
        "-t", f"{end:.6f}", "-movflags", "+faststart",
        str(out),
    ]  # fmt: skip


async def assemble(
    pictures: Sequence[Path],
    captions: Sequence[Path | None],
    audio: Path,
    out: Path,
    cut: Cut,
    music: Path | None = None,
    clips: Sequence[Clip | None] | None = None,
    clip_audio: bool = False,
) -> Path:
    """Encode the story video into `out`, atomically: one small ffmpeg run per scene (so
    memory stays flat however long the story), then one run that joins them over the audio.

    A scene with a clip in `clips` shows the clip instead of its picture; the clips' own
    sound is mixed in only with `clip_audio`.
    """
    if len(pictures) != cut.count or len(captions) != cut.count:
        raise RenderError("every scene needs a picture")
    if clips is not None and len(clips) != cut.count:
        raise RenderError("the animated scenes do not match the story")
    for scene, clip in enumerate(clips or ()):
        if clip is not None:
            factor, hold = clip.fitting(cut.scene_length(scene) / cut.timeline.fps)
            log.info(
                "scene %d: a %.2f s clip, slowed %.2fx%s", scene + 1, clip.duration_s, factor,
                ", then held" if hold else "",
            )  # fmt: skip
    workdir = out.parent
    segments = [workdir / f".segment_{scene:02d}.mp4" for scene in range(cut.count)]
    # One at a time: two side by side were 7 % faster but used 50 % more memory (bench/).
    for scene, segment in enumerate(segments):
        await run_ffmpeg(build_segment_args(scene, pictures, captions, cut, segment, clips))
    listing = workdir / ".segments.ffconcat"
    lines = ["ffconcat version 1.0", *(f"file '{segment.name}'" for segment in segments)]
    await asyncio.to_thread(listing.write_text, "\n".join(lines) + "\n")
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    await run_ffmpeg(build_join_args(listing, audio, partial, cut, music, clips, clip_audio))
    await asyncio.to_thread(os.replace, partial, out)
    for leftover in (*segments, listing):
        await asyncio.to_thread(leftover.unlink, True)
    return out
