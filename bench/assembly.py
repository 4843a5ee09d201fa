"""Bench: assembling 6 scenes at 1280×720 — the cookbook's MoviePy code, our assembly as it was
(`reference`), ours, and the encoder's floor — on the same inputs, in one run.

Inputs: six 1280×720 pictures (the offline illustrator's) and six ~4 s eSpeak narrations.
- cookbook: the notebook's code on MoviePy 2, per scene `ImageClip(np.array(img))`,
  `CompositeVideoClip([clip]).with_audio(audio)`, `concatenate_videoclips`,
  `write_videofile(out, fps=24)` with MoviePy's defaults (no motion, no captions).
- reference: bench/reference_assembly.py, our assembly before the encoder-limit issue.
- ours: `core.assembly.assemble_story` (Ken Burns, captions, crossfades, narration).
- floor: a plain re-encode of our output's frames, decoded to a raw file beforehand, with our
  encoder settings (the fastest x264 threading for two cores).
Each arm runs in its own process through `bench.measure.run_measured` (wall time, CPU time and
peak memory of the whole process tree, start-up included). Then: the mean SSIM of ours against
the reference, and our encoder settings read back from the file against the reference's.

Run: `python bench/assembly.py`. Last line: `RESULT speedup=<cookbook ÷ ours>
memory=<ours ÷ cookbook> floor_ratio=<ours ÷ floor> cpu_s_per_min=<ours, per minute of video>`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import Measured, run_measured
from core import audio
from core.ffmpeg import ffmpeg_exe
from core.models import Aspect, Scene, Story, StoryRequest, Style
from core.scene_graph import X264

NARRATIONS = [
    "Once upon a time, a little cat and a friendly dog met in a sunny garden.",
    "They raced across the flowery meadow, laughing all the way to the river.",
    "By the sparkling water they found a shiny treasure hidden under a stone.",
    "The friends shared a yummy picnic while the birds sang in the trees.",
    "When the sun went down, they watched a beautiful rainbow over the hills.",
    "At last they curled up under the stars, the best of friends forever.",
]
PLACES = ["garden", "meadow", "river", "forest", "hills", "garden"]
SIZE = Aspect.LANDSCAPE.size
RAW = "frames.yuv"  # the floor's input: our output's frames, decoded before it is timed


async def prepare(folder: Path) -> None:
    """Draw the six pictures (1280×720) and speak the six narrations once, for every arm."""
    from core.providers.offline import OfflineIllustrator, OfflineNarrator

    scenes = []
    for i, (line, place) in enumerate(zip(NARRATIONS, PLACES, strict=True), start=1):
        scene = Scene(
            image_prompt=f"Mimi the cat and Rex the dog in a {place}",
            narration=line, character_description="Mimi the cat; Rex the dog.",
        )  # fmt: skip
        data = await OfflineIllustrator().draw(
            scene, style=Style.STORYBOOK, aspect=Aspect.LANDSCAPE
        )
        (folder / f"scene_{i:02d}.png").write_bytes(data)
        speech = await OfflineNarrator().speak(line, voice=None, language="en")
        (folder / f"scene_{i:02d}.wav").write_bytes(audio.to_wav(speech))
        scenes.append(scene.model_dump())
    (folder / "scenes.json").write_text(json.dumps(scenes))


def cookbook(folder: Path) -> None:
    """The notebook's assembly, on MoviePy 2."""
    import numpy as np
    from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, concatenate_videoclips
    from PIL import Image

    clips = []
    for i in range(1, 7):
        audio_clip = AudioFileClip(str(folder / f"scene_{i:02d}.wav"))
        image = Image.open(folder / f"scene_{i:02d}.png")
        image_clip = ImageClip(np.array(image)).with_duration(audio_clip.duration)
        clips.append(CompositeVideoClip([image_clip]).with_audio(audio_clip))
    final = concatenate_videoclips(clips)
    final.write_videofile(str(folder / "cookbook.mp4"), fps=24, logger=None)


def _fitted_inputs(folder: Path, work: Path) -> tuple[Story, list[Path], list[audio.Speech]]:
    """The story, its pictures fitted to the frame (as the pipeline fits each picture as it
    arrives) and its narrations: what both of our arms start from."""
    from core.assembly import save_fitted

    work.mkdir(exist_ok=True)
    scenes = [Scene(**s) for s in json.loads((folder / "scenes.json").read_text())]
    story = Story(title="Bench", theme="t", style=Style.STORYBOOK, language="en", scenes=scenes)

    def fit(i: int) -> Path:
        data = (folder / f"scene_{i:02d}.png").read_bytes()
        return save_fitted(data, SIZE, work / f"fitted_{i:02d}.png")

    pictures = [fit(i) for i in range(1, 7)]
    speeches = [audio.from_wav((folder / f"scene_{i:02d}.wav").read_bytes()) for i in range(1, 7)]
    return story, pictures, speeches


def ours(folder: Path) -> None:
    """Our assembly: Ken Burns, captions, crossfades, narration."""
    from core.assembly import assemble_story
    from core.limits import PipelineLimits
    from core.narration import SceneSpeech

    story, pictures, speeches = _fitted_inputs(folder, folder / "ours")
    spoken = [SceneSpeech(speech) for speech in speeches]
    request = StoryRequest(theme="t", scenes=6, aspect=Aspect.LANDSCAPE, captions=True)
    asyncio.run(
        assemble_story(story, request, pictures, spoken, folder / "ours", PipelineLimits())
    )


def reference(folder: Path) -> None:
    """Our assembly as it was: the same timeline, captions and moves, the old runs."""
    from bench import reference_assembly
    from core.captions import caption_overlay
    from core.limits import PipelineLimits
    from core.video import Cut, Timeline

    work = folder / "reference"
    story, pictures, speeches = _fitted_inputs(folder, work)
    limits = PipelineLimits()
    joined, lengths = audio.join(speeches, limits.scene_pause_s)
    (work / "narration.wav").write_bytes(audio.to_wav(joined))
    timeline = Timeline.from_samples(lengths, joined.sample_rate, limits.fps)
    captions = []
    for i, scene in enumerate(story.scenes, start=1):
        overlay = caption_overlay(scene.narration, SIZE)
        assert overlay is not None
        captions.append(work / f"caption_{i:02d}.png")
        overlay.save(captions[-1], "PNG", compress_level=1)
    crossfade = int(limits.scene_pause_s * limits.fps * 0.75)
    cut = Cut(timeline, SIZE, crossfade_frames=min(crossfade, min(timeline.scene_frames) - 1))
    reference_assembly.assemble(
        pictures, captions, work / "narration.wav", work / "story.mp4", cut
    )


def floor(folder: Path) -> None:
    """The encoder alone: our output's frames, already decoded, encoded with our settings."""
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{SIZE[0]}x{SIZE[1]}", "-r", "24",
            "-i", str(folder / RAW), *X264, str(folder / "floor.mp4"),
        ],
        check=True,
    )  # fmt: skip


def _decode_to_raw(video: Path, raw: Path) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(video),
         "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)],
        check=True,
    )  # fmt: skip


def _measure(arm: str, folder: Path, label: str, minutes: float) -> Measured:
    result = run_measured([sys.executable, str(Path(__file__).resolve()), arm, str(folder)])
    print(
        f"{label:44s} {result.wall_s:6.2f} s  {result.peak_mb:5.0f} MB  "
        f"{result.cpu_s / minutes:6.1f} CPU-s per min of video"
    )
    return result


def main() -> None:
    """Prepare the inputs, then time each arm in its own process and compare the outputs."""
    if len(sys.argv) == 3:  # an arm: `assembly.py cookbook|reference|ours|floor FOLDER`
        arms = {"cookbook": cookbook, "reference": reference, "ours": ours, "floor": floor}
        arms[sys.argv[1]](Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        asyncio.run(prepare(folder))
        seconds = sum(audio.from_wav(p.read_bytes()).duration_s for p in folder.glob("*.wav"))
        print(f"6 scenes, 1280×720 pictures, {seconds:.1f} s of narration")
        minutes = seconds / 60
        book = _measure(
            "cookbook", folder, "cookbook (MoviePy 2, no motion, no captions)", minutes
        )
        old = _measure("reference", folder, "reference (our assembly before this issue)", minutes)
        new = _measure("ours", folder, "ours (Ken Burns, captions, crossfades)", minutes)
        _decode_to_raw(folder / "ours" / "story.mp4", folder / RAW)
        plain = _measure(
            "floor", folder, "floor (plain encode of our frames, pre-decoded)", minutes
        )
        from bench.assembly_check import encoder_settings, mean_ssim

        ssim = mean_ssim(folder / "ours" / "story.mp4", folder / "reference" / "story.mp4")
        print(f"quality: mean SSIM of ours against the reference {ssim:.4f} (target >= 0.95)")
        settings = encoder_settings(folder / "ours" / "story.mp4")
        kept = settings == encoder_settings(folder / "reference" / "story.mp4")
        print(f"encoder settings: {settings.summary()}; same as the reference: {kept}")
        if not kept:
            raise SystemExit("our encoder settings differ from the reference's")
    speedup, memory, ratio = (
        book.wall_s / new.wall_s,
        new.peak_mb / book.peak_mb,
        new.wall_s / plain.wall_s,
    )
    print(f"speedup {speedup:.2f}x over the cookbook (target >= 6), ", end="")
    print(f"{old.wall_s / new.wall_s:.2f}x over the reference")
    print(f"memory {memory:.2f} of the cookbook's (target <= 0.4), ", end="")
    print(f"floor ratio {ratio:.2f} (target <= 1.5)")
    print(
        f"RESULT speedup={speedup:.2f} memory={memory:.2f} floor_ratio={ratio:.2f} "
        f"cpu_s_per_min={new.cpu_s / minutes:.1f}"
    )


if __name__ == "__main__":
    main()
