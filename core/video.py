"""The story video's picture track, as numbers: scene lengths on the frame grid, each scene's
move, the crossfades between scenes, and where each caption sits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


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
    narration starts on its own picture. Segment k holds the crossfade into scene k and scene
    k's frames up to the next crossfade; the segments tile the video and are encoded apart.
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


@dataclass(frozen=True, slots=True)
class Caption:
    """A scene's caption: a picture of just its band (transparent around the text), and
    where its top-left corner sits in the frame (even, for 4:2:0 chroma)."""

    path: Path
    x: int
    y: int
