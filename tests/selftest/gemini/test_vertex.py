"""The fake Gemini speaks Vertex AI (project and express mode): generateContent, publisher models
and Imagen, with bearer or key auth."""

from __future__ import annotations

import io

import aiohttp
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from tests.gemini_server import FakeGemini, RaiFiltered
from tests.selftest.gemini.helpers import (
    IMAGE,
    IMAGEN,
    TEXT,
    VEO,
    StoryOut,
    json_config,
    parts_of,
    vertex_client,
)

pytestmark = [
    # google-genai 3.4 subclasses aiohttp.ClientSession on its first async request
    pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession:DeprecationWarning"),
    # generate_images warns once per process that Imagen is deprecated
    pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning"),
    pytest.mark.timeout(30),
]


# ---------------------------------------------------------------- Vertex AI


async def test_vertex_generate_content_answers_every_kind_with_bearer_auth(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    text = await vertex.models.generate_content(model=TEXT, contents="hello")
    story = await vertex.models.generate_content(
        model=TEXT, contents="Write exactly 2 scenes.", config=json_config(StoryOut)
    )
    config = types.GenerateContentConfig(
        response_modalities=["IMAGE"], image_config=types.ImageConfig(aspect_ratio="16:9")
    )
    image = await vertex.models.generate_content(model=IMAGE, contents="a cat", config=config)

    assert "hello" in (text.text or "")
    assert isinstance(story.parsed, StoryOut)
    assert len(story.parsed.scenes) == 2
    (part,) = parts_of(image)
    assert part.inline_data
    assert part.inline_data.data
    assert Image.open(io.BytesIO(part.inline_data.data)).size == (336, 192)
    assert [r.kind for r in fake.requests] == ["text", "story", "image"]
    first = fake.requests[0]
    assert first.path == (
        "/v1beta1/projects/p/locations/us-central1/publishers/google/models/"
        "gemini-2.5-flash:generateContent"
    )
    assert (first.vertex, first.project, first.location) == (True, "p", "us-central1")
    assert first.headers["authorization"] == "Bearer test"
    assert "x-goog-api-key" not in first.headers


async def test_vertex_models_get_and_list_use_the_publisher_shape(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    model = await vertex.models.get(model=VEO)
    pager = await vertex.models.list(config={"page_size": 4})
    names = [m.name async for m in pager]
    with pytest.raises(errors.ClientError) as caught:
        await vertex.models.get(model="veo-0-retired")

    assert (model.name, model.version) == (f"publishers/google/models/{VEO}", "001")
    assert names == [f"publishers/google/models/{m}" for m in fake.models]
    assert caught.value.code == 404
    assert "Publisher model `publishers/google/models/veo-0-retired`" in (
        caught.value.message or ""
    )
    # the SDK reads base models without projects/..., still with the bearer token
    assert all(r.path.startswith("/v1beta1/publishers/google/models") for r in fake.requests)
    assert all(r.headers["authorization"] == "Bearer test" for r in fake.requests)


async def test_vertex_unknown_model_names_the_publisher_model(
    vertex: genai.client.AsyncClient,
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await vertex.models.generate_content(model="gemini-0.1-retired", contents="x")

    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"
    assert "projects/p/locations/us-central1/publishers/google/models/gemini-0.1-retired" in (
        caught.value.message or ""
    )


async def test_wrong_bearer_token_is_unauthenticated(fake: FakeGemini) -> None:
    sync = vertex_client(fake, token="expired")
    async with sync.aio as client:
        with pytest.raises(errors.ClientError) as caught:
            await client.models.generate_content(model=TEXT, contents="x")
    sync.close()

    assert caught.value.code == 401
    assert caught.value.status == "UNAUTHENTICATED"
    assert (caught.value.message or "").startswith(
        "Request had invalid authentication credentials. Expected OAuth 2 access token"
    )
    assert fake.requests[0].status == 401


async def test_project_path_without_a_bearer_token_is_unauthenticated(fake: FakeGemini) -> None:
    url = f"{fake.base_url}/v1beta1/projects/p/locations/us-central1/publishers/google/models/{TEXT}:generateContent"  # noqa: E501
    body = {"contents": [{"parts": [{"text": "x"}]}]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"x-goog-api-key": "test-key"}) as reply,
    ):
        assert reply.status == 401
        error = (await reply.json())["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["message"].startswith("Request is missing required authentication credential.")
    assert error["details"][0]["reason"] == "CREDENTIALS_MISSING"


async def test_developer_api_has_no_imagen_predict(fake: FakeGemini) -> None:
    url = f"{fake.base_url}/v1beta/models/{IMAGEN}:predict"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url, json={"instances": [{"prompt": "x"}]}, headers={"x-goog-api-key": "test-key"}
        ) as reply,
    ):
        assert reply.status == 404
        error = (await reply.json())["error"]
    assert error["status"] == "NOT_FOUND"
    assert "not supported for predict" in error["message"]


@pytest.mark.parametrize(
    ("aspect", "size"), [("9:16", (192, 352)), ("16:9", (352, 192)), ("1:1", (256, 256))]
)
async def test_imagen_draws_each_sample_at_the_imagen_size(
    fake: FakeGemini, vertex: genai.client.AsyncClient, aspect: str, size: tuple[int, int]
) -> None:
    config = types.GenerateImagesConfig(
        number_of_images=2,
        aspect_ratio=aspect,
        person_generation=types.PersonGeneration.DONT_ALLOW,
        negative_prompt="blurry",
        include_rai_reason=True,
        output_mime_type="image/png",
    )
    response = await vertex.models.generate_images(
        model=IMAGEN, prompt="Whiskers in a boat", config=config
    )

    assert response.generated_images
    pictures = [g.image.image_bytes for g in response.generated_images if g.image]
    assert len(pictures) == 2
    for data in pictures:
        assert data
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert Image.open(io.BytesIO(data)).size == size  # Imagen's size at scale 0.25
    assert pictures[0] != pictures[1]
    recorded = fake.requests[0]
    assert (recorded.kind, recorded.verb, recorded.project) == ("imagen", "predict", "p")
    assert recorded.instance == {"prompt": "Whiskers in a boat"}
    assert recorded.prompt == "Whiskers in a boat"
    assert recorded.aspect_ratio == aspect
    params = recorded.parameters
    assert (params["sampleCount"], params["negativePrompt"]) == (2, "blurry")
    assert params["personGeneration"] == "DONT_ALLOW"
    assert params["outputOptions"] == {"mimeType": "image/png"}


async def test_imagen_defaults_to_four_samples_and_can_answer_jpeg(
    vertex: genai.client.AsyncClient,
) -> None:
    config = types.GenerateImagesConfig(output_mime_type="image/jpeg")
    response = await vertex.models.generate_images(model=IMAGEN, prompt="a dog", config=config)

    assert response.generated_images
    assert len(response.generated_images) == 4
    image = response.generated_images[0].image
    assert image
    assert image.mime_type == "image/jpeg"
    assert (image.image_bytes or b"").startswith(b"\xff\xd8")


@pytest.mark.parametrize("with_reason", [True, False])
async def test_rai_filtered_imagen_with_and_without_the_reason(
    fake: FakeGemini, vertex: genai.client.AsyncClient, with_reason: bool
) -> None:
    fake.script("imagen", RaiFiltered())
    config = types.GenerateImagesConfig(number_of_images=1, include_rai_reason=with_reason)
    response = await vertex.models.generate_images(model=IMAGEN, prompt="x", config=config)

    if with_reason:
        assert response.generated_images
        (generated,) = response.generated_images
        assert generated.image is not None  # an empty Image, not None
        assert generated.image.image_bytes is None
        assert "Responsible AI practices" in (generated.rai_filtered_reason or "")
    else:
        assert response.generated_images is None  # the body is {}


async def test_rai_filtered_count_keeps_the_other_samples(
    fake: FakeGemini, vertex: genai.client.AsyncClient
) -> None:
    fake.script("imagen", RaiFiltered(reason="filtered", count=1))
    config = types.GenerateImagesConfig(number_of_images=3, include_rai_reason=True)
    response = await vertex.models.generate_images(model=IMAGEN, prompt="x", config=config)

    assert response.generated_images
    reasons = [g.rai_filtered_reason for g in response.generated_images]
    assert reasons == [None, None, "filtered"]
    assert all(g.image and g.image.image_bytes for g in response.generated_images[:2])


async def test_express_mode_sends_the_api_key_to_publisher_paths(
    fake: FakeGemini, express: genai.client.AsyncClient
) -> None:
    text = await express.models.generate_content(model=TEXT, contents="hello")
    config = types.GenerateImagesConfig(number_of_images=1, aspect_ratio="16:9")
    images = await express.models.generate_images(model=IMAGEN, prompt="a dog", config=config)

    assert "hello" in (text.text or "")
    assert images.generated_images
    picture = images.generated_images[0].image
    assert picture
    assert picture.image_bytes
    assert Image.open(io.BytesIO(picture.image_bytes)).size == (352, 192)
    first, second = fake.requests
    assert first.path == "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert second.path == f"/v1beta1/publishers/google/models/{IMAGEN}:predict"
    for recorded in (first, second):
        assert (recorded.vertex, recorded.project, recorded.location) == (True, None, None)
        assert recorded.headers["x-goog-api-key"] == "test-key"
        assert "authorization" not in recorded.headers


async def test_express_mode_with_a_wrong_key_gets_api_key_invalid(fake: FakeGemini) -> None:
    options = types.HttpOptions(base_url=fake.base_url)
    async with genai.Client(vertexai=True, api_key="wrong", http_options=options).aio as client:
        with pytest.raises(errors.ClientError) as caught:
            await client.models.generate_content(model=TEXT, contents="x")

    assert caught.value.code == 400
    assert "API_KEY_INVALID" in str(caught.value.details)
    assert "aiplatform.googleapis.com" in str(caught.value.details)
