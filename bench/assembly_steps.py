"""Where assembly time goes: one segment of the bench story (scene 2, with the crossfade from
scene 1) built up step by step, for our assembly as it was (`reference`) and as it is.

Each row runs the segment's ffmpeg graph cut after one more step — decoding the pictures,
scaling them once, the motion, the caption, the crossfade, then x264 — to a null output (the
last to an MP4), best of three; a step's cost is its row's CPU time less the row before. Then
the whole-video runs after the segments: the sound and the join.

Run: `python bench/assembly_steps.py` (after `make bench` has installed the bench extra).
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import reference_assembly
from bench.assembly import SIZE, _fitted_inputs, prepare
from core import audio
from core.assembly import _save_caption
from core.captions import caption_overlay
from core.ffmpeg import ffmpeg_exe
from core.limits import PipelineLimits
from core.scene_graph import SceneInputs, build_segment_args, motion_filter
from core.soundtrack import build_join_args, build_soundtrack_args
from core.video import Cut, Motion, Timeline

SCENE = 1  # the second scene: its segment holds a crossfade
NULL = ["-f", "null", "-"]


def timed(args: list[str]) -> tuple[float, float]:
    """Best of three: (wall seconds, CPU seconds) of one ffmpeg run."""
    best = (float("inf"), 0.0)
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(args, check=True, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        best = min(best, (wall, cpu))
    return best


def steps(full: list[str], pictures: list[Path], cut: Cut) -> list[tuple[str, list[str]]]:
    """The segment's run cut after each step; `full` is the whole run (its output last)."""
    head = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    graph_at = full.index("-filter_complex")
    frames = full[full.index("-frames:v") + 1]
    picture = ["-i", str(pictures[SCENE])]
    scale = f"format=yuv420p,scale={SIZE[0] * 3 // 2}:{SIZE[1] * 3 // 2}:flags=bicubic"
    move = motion_filter(
        Motion.for_scene(SCENE), cut.scene_length(SCENE), SIZE, cut.timeline.fps,
        count=cut.segment_length(SCENE),
    )  # fmt: skip
    filters_only = [*full[: graph_at + 2], "-map", "[vout]", "-frames:v", frames, *NULL]
    return [
        ("decode the picture", [*head, *picture, *NULL]),
        ("+ scale it once (1.5x, 4:2:0)", [*head, *picture, "-vf", scale, *NULL]),
        ("+ motion (zoompan, every frame)", [*head, *picture, "-vf", move, *NULL]),
        ("+ caption, crossfade, fades (all filters)", filters_only),
        ("+ encode (x264)", full),
    ]


def report(name: str, rows: list[tuple[str, list[str]]]) -> None:
    """Time each row; print its CPU time and what its step added."""
    print(f"\n{name}: segment {SCENE + 1}")
    previous = 0.0
    for label, args in rows:
        wall, cpu = timed(args)
        print(f"  {label:44s} wall {wall:5.2f} s  CPU {cpu:5.2f} s  (step {cpu - previous:+.2f})")
        previous = cpu


def main() -> None:
    """Prepare the bench inputs, then profile a segment both ways and the final runs."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        asyncio.run(prepare(folder))
        story, pictures, speeches = _fitted_inputs(folder, folder / "work")
        limits = PipelineLimits()
        joined, lengths = audio.join(speeches, limits.scene_pause_s)
        narration = folder / "narration.wav"
        narration.write_bytes(audio.to_wav(joined))
        timeline = Timeline.from_samples(lengths, joined.sample_rate, limits.fps)
        crossfade = int(limits.scene_pause_s * limits.fps * 0.75)
        cut = Cut(timeline, SIZE, crossfade_frames=min(crossfade, min(timeline.scene_frames) - 1))
        full_frame, scenes = [], []
        for i, (scene, picture) in enumerate(zip(story.scenes, pictures, strict=True)):
            overlay = caption_overlay(scene.narration, SIZE)
            assert overlay is not None
            full_frame.append(folder / f"full_{i}.png")
            overlay.save(full_frame[-1], "PNG", compress_level=1)
            band = _save_caption(scene.narration, SIZE, folder / f"band_{i}.png")
            scenes.append(SceneInputs(picture, band))
        old = reference_assembly.segment_args(SCENE, pictures, full_frame, cut, folder / "r.mp4")
        report("reference", steps(old, pictures, cut))
        new = build_segment_args(SCENE, scenes, cut, folder / "o.mp4", threads=1)
        report("ours (one x264 thread: two segments run side by side)", steps(new, pictures, cut))
        for scene in range(cut.count):  # every segment, for the join
            out = folder / f"s{scene}.mp4"
            subprocess.run(build_segment_args(scene, scenes, cut, out, threads=2), check=True)
        listing = folder / "list.ffconcat"
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file 's{k}.mp4'\n" for k in range(cut.count))
        )
        print("\nthe whole video, after the segments")
        for label, args in (
            ("sound (narration to AAC, beside the segments)",
             build_soundtrack_args(narration, folder / "sound.m4a", cut)),
            ("join (segments and sound copied, faststart)",
             build_join_args(listing, folder / "sound.m4a", folder / "story.mp4", cut)),
        ):  # fmt: skip
            wall, cpu = timed(args)
            print(f"  {label:44s} wall {wall:5.2f} s  CPU {cpu:5.2f} s")


if __name__ == "__main__":
    main()
