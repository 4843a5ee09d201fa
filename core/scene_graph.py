"""The ffmpeg run that encodes one segment of the video: the crossfade into a scene, blended
only on the frames that overlap, then the scene's move (or clip) with its caption laid over
the band it covers; fades at the video's two ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.clip_fit import Clip, fit_clip
from core.ffmpeg import ffmpeg_exe
from core.video import Caption, Cut, Motion

# superfast: x264 is most of the work; a quarter faster than veryfast, files ~15 % larger.
X264 = ("-c:v", "libx264", "-preset", "superfast", "-crf", "23", "-profile:v", "high")


@dataclass(frozen=True, slots=True)
class SceneInputs:
    """What one scene is made of: its still, or a clip shown instead of it, and its caption."""

    picture: Path
    caption: Caption | None = None
    clip: Clip | None = None


def motion_filter(
    motion: Motion, total: int, size: tuple[int, int], fps: int, *, first: int = 0, count: int
) -> str:
    """Frames `first`..`first + count` of a `total`-frame Ken Burns move over one still.

    The still is decoded and scaled once (one input frame); zoompan then crops and scales each
    output frame from it, so no frame is ever decoded or scaled at full size twice."""
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


@dataclass
class _Graph:
    """A filter graph under construction: its input files and its chains."""

    cut: Cut
    inputs: list[Path] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)

    def input(self, path: Path) -> str:
        self.inputs.append(path)
        return f"[{len(self.inputs) - 1}:v]"

    def scene(self, index: int, scene: SceneInputs, first: int, count: int, label: str) -> str:
        """Frames `first`..`first + count` of scene `index`, captioned, as `[label]`."""
        cut, fps = self.cut, self.cut.timeline.fps
        total = cut.scene_length(index)
        if scene.clip is None:
            source = self.input(scene.picture)
            move = motion_filter(
                Motion.for_scene(index), total, cut.size, fps, first=first, count=count
            )
        else:
            source = self.input(scene.clip.path)
            move = fit_clip(scene.clip, total, cut.size, fps, first=first, count=count)
        if scene.caption is None:
            self.chains.append(f"{source}{move}[{label}]")
            return f"[{label}]"
        caption = self.input(scene.caption.path)
        self.chains.append(f"{source}{move}[{label}_bare]")
        # The caption is decoded and converted once; only its band is blended into each frame.
        self.chains.append(
            f"[{label}_bare]{caption}overlay=x={scene.caption.x}:y={scene.caption.y}[{label}]"
        )
        return f"[{label}]"


def build_segment_args(
    scene: int, scenes: Sequence[SceneInputs], cut: Cut, out: Path, threads: int
) -> list[str]:
    """ffmpeg arguments encoding segment `scene` (video only) into `out`: the crossfade from
    the previous scene, then this scene's frames up to the next crossfade.

    The scene's move is made once over the segment; only the crossfade's frames are blended
    (the previous scene's last frames are made again here, from its picture)."""
    graph, fps = _Graph(cut), cut.timeline.fps
    head, length = cut.fade_into(scene), cut.segment_length(scene)
    shown = graph.scene(scene, scenes[scene], 0, length, "cur")
    if head:
        previous = scene - 1
        start = cut.scene_length(previous) - head
        before = graph.scene(previous, scenes[previous], start, head, "prev")
        graph.chains += [
            f"{shown}split=2[head_src][body_src]",
            f"[head_src]trim=end_frame={head},setpts=PTS-STARTPTS[head]",
            f"[body_src]trim=start_frame={head},setpts=PTS-STARTPTS[body]",
            # xfade blends in 4:4:4: back to 4:2:0 at once, so only these frames pay for it.
            f"{before}[head]xfade=transition=fade:duration={head / fps:.6f}:offset=0,"
            "format=yuv420p[blend]",
            "[blend][body]concat=n=2:v=1:a=0[joined]",
        ]
        shown = "[joined]"
    graph.chains.append(f"{shown}{''.join(_fades(cut, scene))}format=yuv420p[vout]")
    return [
        ffmpeg_exe(),
        "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        *(arg for path in graph.inputs for arg in ("-i", str(path))),
        "-filter_complex", ";".join(graph.chains),
        "-map", "[vout]", "-an", *X264, "-threads", str(threads),
        "-r", str(fps), "-frames:v", str(length),
        str(out),
    ]  # fmt: skip


def _fades(cut: Cut, scene: int) -> list[str]:
    """From black at the video's start and to black at its end, in the segments holding them."""
    length_s = cut.segment_length(scene) / cut.timeline.fps
    fade = min(cut.fade_s, cut.timeline.total_s / 4)
    fades = []
    if scene == 0:
        fades.append(f"fade=t=in:st=0:d={fade:.3f},")
    if scene == cut.count - 1:
        fades.append(f"fade=t=out:st={max(length_s - fade, 0):.6f}:d={fade:.3f},")
    return fades
