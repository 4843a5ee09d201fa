"""Bench: assembling 6 scenes the cookbook's MoviePy way vs ours (motion and captions on).

Same inputs for both: six 1024×1024 pictures (the offline illustrator's) and six ~4 s eSpeak
narrations. The cookbook's notebook code on MoviePy 2: per scene
`ImageClip(np.array(img)).with_duration(d)`, `CompositeVideoClip([clip]).with_audio(audio)`,
`concatenate_videoclips`, `write_videofile(out, fps=24)` with MoviePy's defaults. Ours:
`core.assembly.assemble_story` (fit, Ken Burns, captions, crossfades, one ffmpeg run). Each runs
in its own process; wall time and the peak memory of the whole process tree are measured.

Run: `python bench/assembly.py`. Last line:
`RESULT speedup=<cookbook time / ours> memory=<our peak / cookbook peak>`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.measure import run_measured
from core import audio
from core.models import Aspect, Scene, Story, StoryRequest, Style

NARRATIONS = [
    "Once upon a time, a little cat and a friendly dog met in a sunny garden.",
    "They raced across the flowery meadow, laughing all the way to the river.",
    "By the sparkling water they found a shiny treasure hidden under a stone.",
    "The friends shared a yummy picnic while the birds sang in the trees.",
    "When the sun went down, they watched a beautiful rainbow over the hills.",
    "At last they curled up under the stars, the best of friends forever.",
]
PLACES = ["garden", "meadow", "river", "forest", "hills", "garden"]


async def prepare(folder: Path) -> None:
    """Draw the six pictures (1024×1024) and speak the six narrations once, for both runs."""
    from PIL import Image

    from core.providers.offline import OfflineIllustrator, OfflineNarrator

    scenes = []
    for i, (line, place) in enumerate(zip(NARRATIONS, PLACES, strict=True), start=1):
        scene = Scene(
            image_prompt=f"Mimi the cat and Rex the dog in a {place}",
            narration=line, character_description="Mimi the cat; Rex the dog.",
        )  # fmt: skip
        data = await OfflineIllustrator().draw(scene, style=Style.STORYBOOK, aspect=Aspect.SQUARE)
        picture = Image.open(__import__("io").BytesIO(data)).resize((1024, 1024))
        picture.save(folder / f"scene_{i:02d}.png")
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


def ours(folder: Path) -> None:
    """Our assembly: fit to 1080×1080, Ken Burns, captions, crossfades, one ffmpeg run."""
    from core.assembly import assemble_story, save_fitted
    from core.limits import PipelineLimits

    scenes = [Scene(**s) for s in json.loads((folder / "scenes.json").read_text())]
    story = Story(title="Bench", theme="t", style=Style.STORYBOOK, language="en", scenes=scenes)
    request = StoryRequest(theme="t", scenes=6, aspect=Aspect.SQUARE, captions=True)
    work = folder / "ours"
    work.mkdir(exist_ok=True)
    with ThreadPoolExecutor(2) as pool:  # as the pipeline does: each picture as it arrives
        pictures = list(
            pool.map(
                lambda i: save_fitted(
                    (folder / f"scene_{i:02d}.png").read_bytes(), request.aspect.size,
                    work / f"fitted_{i:02d}.png",
                ),
                range(1, 7),
            )
        )  # fmt: skip
    speeches = [audio.from_wav((folder / f"scene_{i:02d}.wav").read_bytes()) for i in range(1, 7)]
    asyncio.run(assemble_story(story, request, pictures, speeches, work, PipelineLimits()))


def main() -> None:
    """Prepare the inputs, then time each approach in its own process."""
    if len(sys.argv) == 3:  # a worker: `assembly.py cookbook|ours FOLDER`
        {"cookbook": cookbook, "ours": ours}[sys.argv[1]](Path(sys.argv[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        asyncio.run(prepare(folder))
        seconds = sum(audio.from_wav(p.read_bytes()).duration_s for p in folder.glob("*.wav"))
        print(f"6 scenes, 1024×1024 pictures, {seconds:.1f} s of narration")
        script = str(Path(__file__).resolve())
        book_s, book_mb = run_measured([sys.executable, script, "cookbook", str(folder)])
        print(f"cookbook (MoviePy 2, no motion, no captions): {book_s:6.2f} s  {book_mb:5.0f} MB")
        ours_s, ours_mb = run_measured([sys.executable, script, "ours", str(folder)])
        print(f"ours (Ken Burns, captions, crossfades):       {ours_s:6.2f} s  {ours_mb:5.0f} MB")
    speedup, memory = book_s / ours_s, ours_mb / book_mb
    print(f"speedup {speedup:.2f}x (target >= 4), memory {memory:.2f} of the cookbook's (<= 0.5)")
    print(f"RESULT speedup={speedup:.2f} memory={memory:.2f}")


if __name__ == "__main__":
    main()
