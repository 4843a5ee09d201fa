"""Bench: our concurrent pipeline vs the cookbook's one-after-another order, against fake Gemini.

A 6-scene story through the real google-genai SDK and the loopback fake server with fixed
latencies (story 3 s, picture 6 s, narration 3 s). Both runs use the same providers and the same
final assembly; only the order differs. The critical path is story + first picture + one more
picture (the others run beside it) + our assembly step, timed on its own inside our run.

The animated case: the same 6-scene story with every scene animated by Veo (Vertex AI express
mode on the same fake, each clip taking 60 s, polled every `STORYBOT_VIDEO_POLL_S` = 10 s as by
default). Its critical path is story + first picture + one more picture + one clip + its own
assembly: the clips run at once, not one after another.

Run: `python bench/pipeline.py` (or `make bench`). Prints the figures and, last,
`RESULT speedup=<cookbook order / ours> critical_path_ratio=<ours / critical path>
animated_critical_path_ratio=<ours animated / its critical path>`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.gemini_server

from core.assembly import assemble_story, save_fitted
from core.config import Settings
from core.limits import PipelineLimits
from core.models import JobId, StoryRequest, StoryVideo
from core.narration import SceneSpeech
from core.pipeline import Pipeline
from core.progress import ProgressEvent, Stage, StageProgressed, StageStarted
from core.providers import Providers, build_providers
from tests.gemini_server import FakeGemini

SCENES = 6
LATENCY = {"story": 3.0, "image": 6.0, "tts": 3.0}
CLIP_S = 60.0


def providers_for(
    fake: FakeGemini, data: Path, *, vertex: bool = False
) -> tuple[Providers, PipelineLimits]:
    """Google providers pointed at the fake, as `storybot` would build them from settings."""
    os.environ.update(
        GEMINI_API_KEY="bench-key",
        GEMINI_BASE_URL=fake.base_url,
        STORYBOT_DATA_DIR=str(data),
        # Pictures 2..N all start once picture 1 exists: 5 at once for 6 scenes.
        STORYBOT_IMAGE_CONCURRENCY=str(SCENES - 1),
        STORYBOT_VIDEO_CONCURRENCY=str(SCENES),  # one clip per scene, all at once
        GOOGLE_GENAI_USE_VERTEXAI=str(vertex).lower(),  # Veo is started on Vertex AI only
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return build_providers(settings), PipelineLimits.from_settings(settings)


async def cookbook_order(providers: Providers, limits: PipelineLimits, workdir: Path) -> float:
    """Story, then for each scene its picture and then its narration, then assembly."""
    request = StoryRequest(theme="a cat and a dog", scenes=SCENES)
    started = time.perf_counter()
    story = await providers.writer.write(request)
    pictures, speeches = [], []
    for index, scene in enumerate(story.scenes):
        data = await providers.illustrator.draw(scene, style=story.style, aspect=request.aspect)
        path = workdir / f"scene_{index + 1:02d}.png"
        pictures.append(await asyncio.to_thread(save_fitted, data, request.aspect.size, path))
        speeches.append(await providers.narrator.speak(scene.narration, voice=None, language="en"))
    spoken = [SceneSpeech(speech) for speech in speeches]
    await assemble_story(story, request, pictures, spoken, workdir, limits)
    return time.perf_counter() - started


async def ours(
    providers: Providers, limits: PipelineLimits, workdir: Path, *, animate: bool = False
) -> tuple[float, float]:
    """Our pipeline; returns its total time and the time of its assembly stage alone."""
    marks: dict[str, float] = {}

    async def sink(event: ProgressEvent, /) -> None:
        if isinstance(event, StageStarted) and event.stage is Stage.ASSEMBLY:
            marks["assembly_start"] = time.perf_counter()
        if isinstance(event, StageProgressed) and event.stage is Stage.ASSEMBLY:
            marks["assembly_end"] = time.perf_counter()

    request = StoryRequest(theme="a cat and a dog", scenes=SCENES, animate=animate)
    started = time.perf_counter()
    result = await Pipeline(providers, limits).run(JobId("bench"), request, workdir, sink)
    total = time.perf_counter() - started
    assert isinstance(result, StoryVideo)  # not a preview: no storyboard stop
    assert result.animated == (SCENES if animate else 0), result.notes
    return total, marks["assembly_end"] - marks["assembly_start"]


async def main() -> None:
    """Run both orders in one process and print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        async with FakeGemini(api_key=None, latency=dict(LATENCY), video_latency_s=CLIP_S) as fake:
            providers, limits = providers_for(fake, root / "data")
            try:
                print(
                    f"{SCENES} scenes; latencies story {LATENCY['story']:.0f} s, "
                    f"picture {LATENCY['image']:.0f} s, narration {LATENCY['tts']:.0f} s"
                )
                (root / "cookbook").mkdir()
                cookbook = await cookbook_order(providers, limits, root / "cookbook")
                print(f"cookbook order (one after another): {cookbook:6.2f} s")
                ours_total, assembly = await ours(providers, limits, root / "ours")
                print(f"ours (concurrent):                  {ours_total:6.2f} s")
                critical = LATENCY["story"] + 2 * LATENCY["image"] + assembly
                print(
                    f"critical path (story + 2 pictures + assembly {assembly:.2f} s): "
                    f"{critical:6.2f} s"
                )
            finally:
                await providers.aclose()
            providers, limits = providers_for(fake, root / "data", vertex=True)
            try:
                animated, assembly = await ours(providers, limits, root / "animated", animate=True)
            finally:
                await providers.aclose()
            print(f"ours animated ({SCENES} clips of {CLIP_S:.0f} s each): {animated:6.2f} s")
            animated_critical = LATENCY["story"] + 2 * LATENCY["image"] + CLIP_S + assembly
            print(
                f"animated critical path (story + 2 pictures + 1 clip + assembly "
                f"{assembly:.2f} s): {animated_critical:6.2f} s"
            )
    speedup = cookbook / ours_total
    ratio = ours_total / critical
    animated_ratio = animated / animated_critical
    print(
        f"speedup {speedup:.2f}x (target >= 3), ours / critical path {ratio:.2f} (target <= 1.2),"
        f" animated / its critical path {animated_ratio:.2f} (target <= 1.25)"
    )
    print(
        f"RESULT speedup={speedup:.2f} critical_path_ratio={ratio:.2f} "
        f"animated_critical_path_ratio={animated_ratio:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
