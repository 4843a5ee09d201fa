"""Vertex AI mode (express with a key, and project/location with bearer credentials) with the
real google-genai SDK against the fake server's Vertex paths: Imagen pictures, doctor output."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.oauth2.credentials import Credentials
from PIL import Image

from core.config import Settings
from core.doctor import diagnose
from core.errors import ConfigurationError
from core.models import JobId, StoryRequest
from core.pipeline import Pipeline
from core.providers import build_providers
from core.providers.imagen import ImagenIllustrator
from tests.fakes import RecordingSink
from tests.gemini_server import Delay, FakeGemini, RaiFiltered
from tests.probe import probe

KEY = "AQ.vertex-express-test-key-0123456789"
TOKEN = "ya29.static-test-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(api_key=KEY, bearer_token=TOKEN, image_scale=0.25) as server:
        yield server


def vertex_settings(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, *, express: bool, **extra: str
) -> Settings:
    env = fake.vertex_env(express=express)
    if express:
        env["GOOGLE_API_KEY"] = KEY
    for name, value in {**env, **extra}.items():
        monkeypatch.setenv(name, value)
    return Settings()


async def test_three_scene_story_with_imagen_in_project_mode(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Project/location mode with static bearer credentials: story and narration through
    generateContent, pictures through Imagen's `:predict` — people not allowed, the story's
    aspect ratio, one image per call — all on the project's Vertex paths."""
    settings = vertex_settings(fake, monkeypatch, express=False, STORYBOT_IMAGE_BACKEND="imagen")
    providers = build_providers(settings, credentials=Credentials(token=TOKEN))  # type: ignore[no-untyped-call]
    assert isinstance(providers.illustrator, ImagenIllustrator)
    assert providers.label == "vertex"
    request = StoryRequest(theme="a cat and a dog", scenes=3, aspect="9:16")
    try:
        result = await Pipeline(providers).run(JobId("v1"), request, tmp_path, RecordingSink())
    finally:
        await providers.aclose()
    imagen = fake.calls("imagen")
    assert len(imagen) == 3
    assert not fake.calls("image")  # no Gemini image model involved
    for call in imagen:
        assert call.vertex
        assert call.path.startswith("/v1beta1/projects/p/locations/us-central1/publishers/")
        assert call.headers["authorization"] == f"Bearer {TOKEN}"
        params = call.parameters
        assert params["personGeneration"] == "DONT_ALLOW"
        assert params["aspectRatio"] == "9:16"
        assert params["sampleCount"] == 1
        assert "Whiskers" in call.prompt  # the story's character description keeps them alike
    assert len(fake.calls("story")) == 1
    assert len(fake.calls("tts")) == 3
    assert all(r.path.startswith("/v1beta1/projects/p/") for r in fake.calls("story"))
    assert result.story.title.startswith("Whiskers")
    video = probe(result.video)
    assert (video.width, video.height) == (720, 1280)
    assert providers.models["pictures"] == "imagen-4.0-generate-001"


async def test_express_mode_uses_the_key_on_publisher_paths(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Express mode: the key as a header, no project in the path; the Gemini image model is
    the default picture back end in Vertex mode too."""
    providers = build_providers(vertex_settings(fake, monkeypatch, express=True))
    request = StoryRequest(theme="a cat and a dog", scenes=2)
    try:
        await Pipeline(providers).run(JobId("v2"), request, tmp_path, RecordingSink())
    finally:
        await providers.aclose()
    assert len(fake.calls("image")) == 2
    for call in fake.requests:
        assert call.path.startswith("/v1beta1/publishers/google/models/"), call.path
        assert call.headers["x-goog-api-key"] == KEY
        assert KEY not in call.path


async def test_rai_filtered_imagen_picture_is_a_safety_block(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A filtered Imagen result (no image, a reason) is handled like a Gemini safety block:
    the prompt is softened and drawn again; a second block reuses the previous picture."""
    settings = vertex_settings(fake, monkeypatch, express=True, STORYBOT_IMAGE_BACKEND="imagen")
    fake.script("imagen", RaiFiltered("Unable to show generated images. Responsible AI."))
    providers = build_providers(settings)
    request = StoryRequest(theme="a cat and a dog", scenes=2)
    try:
        result = await Pipeline(providers).run(JobId("v3"), request, tmp_path, RecordingSink())
    finally:
        await providers.aclose()
    assert len(fake.calls("imagen")) == 3  # scene 1 blocked, softened and drawn; scene 2
    rephrase = [r for r in fake.calls("story") if r.is_rephrase]
    assert len(rephrase) == 1
    assert "gentle" in fake.calls("imagen")[1].prompt.lower()
    assert not result.notes

    # Scene 1 (drawn first, the reference) passes; scene 2 is blocked twice.
    fake.script("imagen", Delay(0), RaiFiltered("blocked"), RaiFiltered("blocked again"))
    providers = build_providers(settings)
    try:
        result = await Pipeline(providers).run(
            JobId("v4"), request, tmp_path / "again", RecordingSink()
        )
    finally:
        await providers.aclose()
    assert "Scene 2's picture was blocked" in result.notes[0]  # it shows scene 1's, and says so


async def test_imagen_without_reasons_is_also_a_block(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything filtered without reasons: the body is `{}` — still a safety block."""
    from core.errors import ContentRejected
    from core.models import Aspect, Scene, Style

    settings = vertex_settings(fake, monkeypatch, express=True, STORYBOT_IMAGE_BACKEND="imagen")
    providers = build_providers(settings)
    scene = Scene(image_prompt="a fox", narration="A fox.", character_description="A red fox.")
    fake.script("imagen", RaiFiltered("hidden"))
    try:
        with pytest.raises(ContentRejected, match="Imagen's safety filter"):
            await providers.illustrator.draw(scene, style=Style.STORYBOOK, aspect=Aspect.SQUARE)
        picture = await providers.illustrator.draw(
            scene, style=Style.STORYBOOK, aspect=Aspect.SQUARE
        )
    finally:
        await providers.aclose()
    with Image.open(io.BytesIO(picture)) as image:
        assert image.width == image.height


async def test_imagen_needs_vertex(fake: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the Developer API, Imagen is refused at start with the way out."""
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.setenv("STORYBOT_IMAGE_BACKEND", "imagen")
    with pytest.raises(ConfigurationError, match="GOOGLE_GENAI_USE_VERTEXAI=true"):
        build_providers(Settings())


async def test_doctor_in_vertex_mode_reports_the_image_back_end_and_a_retired_imagen(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`storybot doctor` (the real command) in express mode with Imagen selected and the Imagen
    model gone: every other model is reported usable, Imagen clearly missing, exit 1."""
    fake.models = [m for m in fake.models if not m.startswith("imagen")]
    env = {
        **fake.vertex_env(express=True), "GOOGLE_API_KEY": KEY, "PATH": "/usr/bin:/bin",
        "STORYBOT_IMAGE_BACKEND": "imagen", "STORYBOT_NARRATOR": "live",
    }  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    report = " ".join((stdout.decode() + stderr.decode()).split())
    assert process.returncode == 1, report
    assert "✓ back end: gemini (Vertex AI express mode)" in report
    assert "✓ text model: gemini-2.5-flash" in report
    assert "✓ TTS model: gemini-2.5-flash-preview-tts" in report
    assert "✓ Live narration model: gemini-live-2.5-flash-native-audio" in report
    assert "✓ video model (animation): veo-3.1-fast-generate-001" in report
    assert (
        "✗ image model (imagen): imagen-4.0-generate-001 is not available to these credentials "
        "(Imagen models are being retired" in report
    )
    assert KEY not in report
    assert all(r.path.startswith("/v1beta1/publishers/google/models/") for r in fake.requests)


async def test_doctor_in_project_mode_with_working_models(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Project mode: the report names the project and region; every model is found."""
    settings = vertex_settings(fake, monkeypatch, express=False, STORYBOT_IMAGE_BACKEND="imagen")
    credentials = Credentials(token=TOKEN)  # type: ignore[no-untyped-call]
    checks = {c.name: c for c in await diagnose(settings, credentials=credentials)}
    assert checks["back end"].detail == "gemini (Vertex AI, project p in us-central1)"
    assert checks["credentials"].detail == "application default credentials"
    assert checks["image model (imagen)"].ok
    assert all(check.ok for check in checks.values()), checks
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in fake.requests)
