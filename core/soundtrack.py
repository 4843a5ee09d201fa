"""The story video's sound, encoded on its own while the pictures are, then the join: the
encoded picture runs and the sound copied into one MP4, nothing encoded twice."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.audio import SAMPLE_RATE
from core.clip_fit import CLIP_VOLUME, Clip
from core.ffmpeg import ffmpeg_exe
from core.video import Cut

AAC = ("-c:a", "aac", "-b:a", "96k", "-ac", "1")


def clip_sound(clip: Clip, scene: int, cut: Cut) -> str:
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


def build_soundtrack_args(
    narration: Path,
    out: Path,
    cut: Cut,
    music: Path | None = None,
    clips: Sequence[Clip | None] | None = None,
    clip_audio: bool = False,
) -> list[str]:
    """The sound run: the joined narration encoded to AAC once, with an optional music bed
    ducked under the voice and, if `clip_audio`, each clip's own sound quietly under its
    scene. Run alone, so no picture cut can end the sound early."""
    end = cut.timeline.total_s
    inputs = ["-i", str(narration)]
    graph: list[str] = []
    mix = ["[0:a]"]
    if music is not None:
        inputs += ["-stream_loop", "-1", "-i", str(music)]
        graph += [
            "[0:a]asplit=2[voice][key]",
            f"[1:a]aformat=channel_layouts=mono:sample_rates={SAMPLE_RATE},"
            f"volume=0.3,afade=t=out:st={max(end - 2.0, 0):.3f}:d=2[bed]",
            "[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[duck]",
        ]
        mix = ["[voice]", "[duck]"]
    sounding = [
        (scene, clip)
        for scene, clip in enumerate(clips or () if clip_audio else ())
        if clip is not None and clip.has_audio
    ]
    for index, (scene, clip) in enumerate(sounding, start=2 if music is not None else 1):
        inputs += ["-i", str(clip.path)]
        graph.append(f"[{index}:a]{clip_sound(clip, scene, cut)}[clip{scene}]")
        mix.append(f"[clip{scene}]")
    audio_map = ["-map", "0:a"]
    if len(mix) > 1:
        graph.append(f"{''.join(mix)}amix=inputs={len(mix)}:duration=first:normalize=0[aout]")
        audio_map = ["-filter_complex", ";".join(graph), "-map", "[aout]"]
    return [
        ffmpeg_exe(),
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        *inputs, *audio_map, *AAC, "-t", f"{end:.6f}",
        str(out),
    ]  # fmt: skip


def build_join_args(runs: Path, sound: Path, out: Path, cut: Cut) -> list[str]:
    """The final run: the encoded picture runs (an ffconcat listing) and the encoded sound,
    both copied as they are, cut to the narration's exact length, with faststart."""
    return [
        ffmpeg_exe(),
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(runs), "-i", str(sound),
        "-map", "0:v", "-map", "1:a", "-c", "copy",
        "-t", f"{cut.timeline.total_s:.6f}", "-movflags", "+faststart",
        str(out),
    ]  # fmt: skip
