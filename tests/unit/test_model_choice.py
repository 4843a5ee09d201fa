"""Reading model ids by Google's naming, and choosing each role's model from a listing."""

from __future__ import annotations

import logging

import pytest

from core.errors import ConfigurationError, ProviderUnavailable
from core.providers.catalog import ListedModel, Role, discover, role_of
from core.providers.resolver import ModelResolver, NoModelAvailable, check_setting

NEW_GENERATION = [
    ListedModel("gemini-4.2-flash", frozenset({"generateContent", "countTokens"})),
    ListedModel("gemini-4.2-flash-lite", frozenset({"generateContent"})),
    ListedModel("gemini-4.2-pro", frozenset({"generateContent"})),
    ListedModel("gemini-4.3-flash-preview", frozenset({"generateContent"})),
    ListedModel("gemini-4.1-flash", frozenset({"generateContent"})),
    ListedModel("gemini-4.2-flash-image", frozenset({"generateContent"})),
    ListedModel("gemini-4.2-pro-image", frozenset({"generateContent"})),
    ListedModel("gemini-4.2-flash-tts", frozenset({"generateContent"})),
    ListedModel("gemini-4.2-flash-lite-tts", frozenset({"generateContent"})),
    ListedModel("gemini-embedding-4", frozenset({"embedContent"})),
    ListedModel("gemini-4.2-voice", frozenset({"bidiGenerateContent"})),
    ListedModel("gemini-4.2-transcribe", frozenset({"generateContent"})),
    ListedModel("veo-4.0-generate-001", frozenset({"predictLongRunning"})),
    ListedModel("gemini-omni-2.0-flash", frozenset()),
]


@pytest.mark.parametrize(
    ("model", "role"),
    [
        ("gemini-3.8-flash", Role.TEXT),
        ("gemini-nano-banana-2.1", Role.IMAGE),
        ("gemini-3-pro-image", Role.IMAGE),
        ("gemini-3.8-flash-lite-tts", Role.TTS),
        ("gemini-2.5-flash-preview-tts", Role.TTS),
        ("gemini-3.8-live", Role.LIVE),
        ("gemini-live-2.5-flash-native-audio", Role.LIVE),
        ("veo-3.1-fast-generate-001", Role.VIDEO),
        ("gemini-omni-1.1-flash", Role.VIDEO),
        ("imagen-4.0-generate-001", Role.IMAGEN),
        ("gemini-embedding-001", None),
        ("gemini-3.5-transcribe", None),
        ("gemma-3-27b-it", None),
    ],
)
def test_roles_follow_googles_naming(model: str, role: Role | None) -> None:
    assert role_of(model) is role


def test_methods_decide_what_a_name_cannot() -> None:
    """`bidiGenerateContent` alone is a Live model; no `generateContent` is no text model."""
    assert role_of("gemini-4.2-voice", {"bidiGenerateContent"}) is Role.LIVE
    assert role_of("gemini-4.2-thing", {"embedContent"}) is None


def test_discovery_prefers_ga_flash_of_the_newest_generation() -> None:
    assert discover(Role.TEXT, NEW_GENERATION, vertex=False)[:3] == [
        "gemini-4.2-flash", "gemini-4.1-flash", "gemini-4.2-flash-lite",
    ]  # fmt: skip
    assert discover(Role.TEXT, NEW_GENERATION, vertex=False)[-1] == "gemini-4.3-flash-preview"
    assert discover(Role.IMAGE, NEW_GENERATION, vertex=False)[0] == "gemini-4.2-flash-image"
    assert discover(Role.TTS, NEW_GENERATION, vertex=False)[0] == "gemini-4.2-flash-tts"
    assert discover(Role.LIVE, NEW_GENERATION, vertex=False) == ["gemini-4.2-voice"]
    assert discover(Role.VIDEO, NEW_GENERATION, vertex=False) == ["gemini-omni-2.0-flash"]
    assert discover(Role.VIDEO, NEW_GENERATION, vertex=True) == ["veo-4.0-generate-001"]


def test_a_setting_of_another_role_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="is a TTS model, which cannot make pictures"):
        check_setting(Role.IMAGE, "gemini-3.8-flash-tts")
    with pytest.raises(ConfigurationError, match="STORYBOT_TEXT_MODEL=gemini-embedding-001"):
        check_setting(Role.TEXT, "gemini-embedding-001")
    check_setting(Role.TEXT, "tunedModels/my-story-writer")  # unreadable ids are let through
    check_setting(Role.TTS, None)


class Listing:
    """A lister over a list we change between calls; can fail."""

    def __init__(self, models: list[ListedModel]) -> None:
        self.models, self.calls, self.fail = models, 0, False

    async def __call__(self, candidates: list[str]) -> list[ListedModel]:
        self.calls += 1
        if self.fail:
            raise ProviderUnavailable("Gemini is overloaded right now")
        return list(self.models)


def resolver(listing: Listing, clock: list[float], **settings: str) -> ModelResolver:
    roles = {Role(k): v for k, v in settings.items()}
    return ModelResolver(
        listing, settings=roles, vertex=False, refresh_s=3600, clock=lambda: clock[0]
    )


async def test_setting_then_preference_then_discovery() -> None:
    listing = Listing([*NEW_GENERATION, ListedModel("gemini-3.6-flash")])
    clock = [0.0]
    models = resolver(listing, clock, text="gemini-4.2-pro")
    await models.refresh()
    assert models.choice(Role.TEXT) is not None
    assert models.choice(Role.TEXT).model == "gemini-4.2-pro"  # type: ignore[union-attr]
    assert models.choice(Role.TEXT).why == "setting"  # type: ignore[union-attr]
    plain = resolver(listing, clock)
    assert await plain.model(Role.TEXT) == "gemini-3.6-flash"  # listed and preferred
    assert await plain.model(Role.IMAGE) == "gemini-4.2-flash-image"
    assert plain.choice(Role.IMAGE).why == "discovered"  # type: ignore[union-attr]
    assert plain.in_use == {"story": "gemini-3.6-flash", "pictures": "gemini-4.2-flash-image"}


async def test_an_unlisted_setting_warns_once_and_falls_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    models = resolver(Listing(NEW_GENERATION), [0.0], text="gemini-3.5-flash")
    await models.refresh()
    await models.refresh()
    assert await models.model(Role.TEXT) == "gemini-4.2-flash"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "STORYBOT_TEXT_MODEL=gemini-3.5-flash is not available to these credentials; "
        "using gemini-4.2-flash"
    ]


async def test_no_model_of_a_role_names_the_setting() -> None:
    models = resolver(Listing([ListedModel("gemini-4.2-flash")]), [0.0])
    with pytest.raises(NoModelAvailable, match="set STORYBOT_IMAGE_MODEL"):
        await models.model(Role.IMAGE)


async def test_the_choice_is_cached_and_refreshed_after_the_period() -> None:
    listing = Listing(NEW_GENERATION)
    clock = [0.0]
    models = resolver(listing, clock)
    assert await models.model(Role.TEXT) == "gemini-4.2-flash"
    assert await models.model(Role.IMAGE) == "gemini-4.2-flash-image"
    assert listing.calls == 1
    listing.models = [ListedModel("gemini-4.5-flash"), *NEW_GENERATION]
    clock[0] = 3599.0
    assert await models.model(Role.TEXT) == "gemini-4.2-flash"  # still cached
    clock[0] = 3601.0
    assert await models.model(Role.TEXT) == "gemini-4.5-flash"
    assert listing.calls == 2


async def test_a_retired_model_moves_to_the_next_once(caplog: pytest.LogCaptureFixture) -> None:
    listing = Listing(NEW_GENERATION)
    models = resolver(listing, [0.0])
    assert await models.model(Role.IMAGE) == "gemini-4.2-flash-image"
    listing.models = [m for m in NEW_GENERATION if m.id != "gemini-4.2-flash-image"]
    assert await models.retired(Role.IMAGE, "gemini-4.2-flash-image") == "gemini-4.2-pro-image"
    # A second call that failed on the same model at the same time just gets the new one.
    assert await models.retired(Role.IMAGE, "gemini-4.2-flash-image") == "gemini-4.2-pro-image"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "the image model gemini-4.2-flash-image is no longer available; using gemini-4.2-pro-image"
    ]
    assert models.in_use["pictures"] == "gemini-4.2-pro-image"


async def test_without_a_listing_the_preference_list_is_walked_on_not_found() -> None:
    listing = Listing([])
    listing.fail = True
    models = resolver(listing, [0.0], image="gemini-x-image")
    await models.refresh()
    assert not models.listing_ok
    assert await models.model(Role.IMAGE) == "gemini-x-image"
    assert models.choice(Role.IMAGE).why == "setting"  # type: ignore[union-attr]
    assert await models.retired(Role.IMAGE, "gemini-x-image") == "gemini-nano-banana-2.1"
    assert models.choice(Role.IMAGE).why == "unverified"  # type: ignore[union-attr]
    assert await models.retired(Role.IMAGE, "gemini-nano-banana-2.1") == "gemini-3.1-flash-image"
