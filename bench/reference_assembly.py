"""The `reference` arm of bench/assembly.py: our assembly of stills as it was before the
encoder-limit issue (commit bb997c0), frozen here so every run compares against it.

Per scene, one ffmpeg run after another: the still scaled 1.5x and moved with zoompan (the
same move as ours, `motion_filter`), the frame-sized caption overlaid on every frame, the
crossfade from the previous scene's tail (blended in 4:4:4), x264 with two threads; then a
join that copies the segments and encodes the narration to AAC. Only what the bench uses is
kept (no clips, no music)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from core.ffmpeg import ffmpeg_exe
from core.scene_graph import motion_filter  # the same Ken Burns move as ours
from core.video import Cut, Motion

_BASE = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def segment_args(
    scene: int, pictures: list[Path], captions: list[Path], cut: Cut, out: Path
) -> list[str]:
    """Segment `scene`: the crossfade from the previous scene, then this scene's frames."""
    fps, size = cut.timeline.fps, cut.size
    sources: list[Path] = []
    graph: list[str] = []

    def source(index: int, first: int, count: int, label: str) -> None:
        total = cut.scene_length(index)
        sources.extend([pictures[index], captions[index]])
        move = motion_filter(Motion.for_scene(index), total, size, fps, first=first, count=count)
        graph.append(f"[{len(sources) - 2}:v]{move}[m{label}]")
        graph.append(f"[m{label}][{len(sources) - 1}:v]overlay=0:0[{label}]")

    head = cut.fade_into(scene)
    source(scene, 0, cut.segment_length(scene), "cur")
    label = "cur"
    if head:
        source(scene - 1, cut.scene_length(scene - 1) - head, head, "prev")
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
        *_BASE,
        *(arg for path in sources for arg in ("-i", str(path))),
        "-filter_complex", ";".join(graph), "-map", "[vout]", "-an",
        "-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-profile:v", "high",
        "-threads", "2", "-r", str(fps), "-frames:v", str(cut.segment_length(scene)),
        str(out),
    ]  # fmt: skip


def assemble(
    pictures: list[Path], captions: list[Path], narration: Path, out: Path, cut: Cut
) -> None:
    """The segments one at a time, then the join (AAC encoded here)."""
    segments = [out.parent / f".segment_{scene:02d}.mp4" for scene in range(cut.count)]
    for scene, segment in enumerate(segments):
        subprocess.run(segment_args(scene, pictures, captions, cut, segment), check=True)
    listing = out.parent / ".segments.ffconcat"
    listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{s.name}'\n" for s in segments))
    subprocess.run(
        [
            *_BASE, "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(narration),
            "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-ac", "1",
            "-t", f"{cut.timeline.total_s:.6f}", "-movflags", "+faststart", str(out),
        ],
        check=True,
    )  # fmt: skip
