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


IMAGEN = "imagen-4.0-generate-001"


def vertex_settings(
    fake: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    *,
    express: bool,
    imagen: bool = False,
    **extra: str,
) -> Settings:
    """Vertex AI settings for the fake; `imagen`: a project that still has an Imagen model
    (Google shut them down in 2026), named in STORYBOT_IMAGEN_MODEL and drawing."""
    env = fake.vertex_env(express=express)
    if imagen:
        fake.models = [*fake.models, IMAGEN]
        env |= {"STORYBOT_IMAGE_BACKEND": "imagen", "STORYBOT_IMAGEN_MODEL": IMAGEN}
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
    settings = vertex_settings(fake, monkeypatch, express=False, imagen=True)
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
    video = probe(tmp_path / result.video)
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
    settings = vertex_settings(fake, monkeypatch, express=True, imagen=True)
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

    settings = vertex_settings(fake, monkeypatch, express=True, imagen=True)
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


@pytest.mark.parametrize("vertex", [True, False])
async def test_without_an_imagen_model_the_gemini_image_model_draws(
    fake: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    vertex: bool,
) -> None:
    """Imagen chosen, but no Imagen model left (Vertex AI) or none served at all (Developer
    API): the story is drawn by the Gemini image model, after one warning."""
    if vertex:
        settings = vertex_settings(
            fake, monkeypatch, express=True, STORYBOT_IMAGE_BACKEND="imagen"
        )
    else:
        for name, value in {**fake.env(), "GEMINI_API_KEY": KEY}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("STORYBOT_IMAGE_BACKEND", "imagen")
        settings = Settings()
    providers = build_providers(settings)
    request = StoryRequest(theme="a cat and a dog", scenes=2)
    try:
        await providers.prepare()
        await Pipeline(providers).run(JobId("v5"), request, tmp_path, RecordingSink())
    finally:
        await providers.aclose()
    assert not fake.calls("imagen")
    assert len(fake.calls("image")) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len([w for w in warnings if "Imagen" in w]) == 1, warnings
    assert "drawing with the Gemini image model instead" in warnings[-1]


async def test_doctor_in_vertex_mode_reports_each_role_and_the_missing_imagen(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`storybot doctor` (the real command) in express mode with Imagen and Live narration
    selected: each role's model and why, within 80 columns and with no id cut; no Imagen
    model, so the Gemini image model will draw; exit 0."""
    env = {
        **fake.vertex_env(express=True), "GOOGLE_API_KEY": KEY, "PATH": "/usr/bin:/bin",
        "STORYBOT_IMAGE_BACKEND": "imagen", "STORYBOT_NARRATOR": "live", "COLUMNS": "80",
    }  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    lines = stdout.decode().splitlines()
    assert process.returncode == 0, stdout.decode() + stderr.decode()
    assert all(len(line) <= 80 for line in lines), lines
    assert "✓ back end: gemini (Vertex AI express mode)" in lines
    assert "✓ text model: gemini-3.8-flash (preferred)" in lines
    assert "✓ image model: gemini-nano-banana-2.1 (preferred)" in lines
    assert "✓ Imagen model: none available; the image model draws" in lines
    assert "✓ TTS model: gemini-3.8-flash-tts (preferred)" in lines
    assert "✓ Live model: gemini-live-2.5-flash-native-audio (preferred)" in lines
    assert "✓ video model: veo-3.1-fast-generate-001 (preferred)" in lines
    assert KEY not in stdout.decode() + stderr.decode()
    assert all(r.path.startswith("/v1beta1/publishers/google/models/") for r in fake.requests)


async def test_doctor_in_project_mode_with_working_models(
    fake: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Project mode: the report names the project and region; every model is found."""
    settings = vertex_settings(fake, monkeypatch, express=False, imagen=True)
    credentials = Credentials(token=TOKEN)  # type: ignore[no-untyped-call]
    checks = {c.name: c for c in await diagnose(settings, credentials=credentials)}
    assert checks["back end"].detail == "gemini (Vertex AI, project p in us-central1)"
    assert checks["credentials"].detail == "application default credentials"
    assert checks["Imagen model"].detail == f"{IMAGEN} (your setting)"
    assert all(check.ok for check in checks.values()), checks
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in fake.requests)
