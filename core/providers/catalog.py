"""Which Google model does which job: the preference lists, and how an unknown id is read.

Google retires models every few months, so no id here is trusted: `ModelResolver` checks each
against what the credentials can see at run time. The lists only say what to prefer; a newer
generation that is not listed yet is found by `role_of` and `rank`, from Google's naming
conventions (`-image`, `-tts`, `live`/`native-audio`, `veo-`, `omni`, `imagen-`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A job a model does for StoryBot."""

    TEXT = "text"
    IMAGE = "image"
    IMAGEN = "imagen"
    TTS = "tts"
    LIVE = "live"
    VIDEO = "video"


# The setting that names each role's model, and what the role's model must be able to do.
SETTING = {
    Role.TEXT: "STORYBOT_TEXT_MODEL", Role.IMAGE: "STORYBOT_IMAGE_MODEL",
    Role.IMAGEN: "STORYBOT_IMAGEN_MODEL", Role.TTS: "STORYBOT_TTS_MODEL",
    Role.LIVE: "STORYBOT_LIVE_MODEL", Role.VIDEO: "STORYBOT_VIDEO_MODEL",
}  # fmt: skip
PURPOSE = {
    Role.TEXT: "write stories", Role.IMAGE: "make pictures",
    Role.IMAGEN: "make pictures with Imagen", Role.TTS: "speak narration",
    Role.LIVE: "narrate over the Live API", Role.VIDEO: "make video clips",
}  # fmt: skip
LABEL = {
    Role.TEXT: "text model", Role.IMAGE: "image model", Role.IMAGEN: "Imagen model",
    Role.TTS: "TTS model", Role.LIVE: "Live model", Role.VIDEO: "video model",
}  # fmt: skip

# What a listed model is, by its id and methods; for messages ("... is a TTS model").
KIND_NAMES = {
    Role.TEXT: "a text model", Role.IMAGE: "an image model", Role.IMAGEN: "an Imagen model",
    Role.TTS: "a TTS model", Role.LIVE: "a Live model", Role.VIDEO: "a video model",
}  # fmt: skip

# Newest first; GA ids before previews. Each line: the Google page it was read from, and when.
PREFERRED_TEXT = (
    "gemini-3.8-flash",  # ai.google.dev/gemini-api/docs/models, "new stable", read 2026-12-05;
    # released 2026-09-02 (ai.google.dev/gemini-api/docs/deprecations). 3.7 Flash is left out:
    # deprecated and routed to 3.8 (its model page, updated 2026-10-09)
    "gemini-3.6-flash",  # models page: stable; released 2026-07-21 (deprecations page)
    "gemini-3.5-flash-lite",  # models page: stable; released 2026-07-21 (deprecations page)
)
PREFERRED_IMAGE = (
    # Nano Banana 2.1, "new stable": ai.google.dev/gemini-api/docs/models, read 2026-12-05; its
    # id is from the changelog of 2026-10-06 (the models page's table row was not readable)
    "gemini-nano-banana-2.1",
    "gemini-3.1-flash-image",  # Nano Banana 2, stable: same page; GA in the changelog 2026-05-28
    "gemini-3-pro-image",  # Nano Banana Pro, stable: same page; GA in the changelog 2026-05-28
)
PREFERRED_TTS = (
    # Both GA ("new stable") on ai.google.dev/gemini-api/docs/models and GA on Vertex AI
    # (docs.cloud.google.com/text-to-speech/docs/gemini-tts), read 2026-12-05. Flash first: the
    # flagship, advised there for long-form narration with a stable voice.
    "gemini-3.8-flash-tts",
    "gemini-3.8-flash-lite-tts",  # ai.google.dev/gemini-api/docs/models/gemini-3.8-flash-lite-tts
)
PREFERRED_LIVE_DEVELOPER = (
    # ai.google.dev/gemini-api/docs/models/gemini-3.8-live (updated 2026-09): stable, "the
    # default option for most low-latency voice agent experiences"
    "gemini-3.8-live",
)
PREFERRED_LIVE_VERTEX = (
    # docs.cloud.google.com/gemini-enterprise-agent-platform/models/live-api, read 2026-12-05:
    # GA and recommended; no Vertex AI page lists 3.8 Live yet, so it comes second
    "gemini-live-2.5-flash-native-audio",
    "gemini-3.8-live",
)
PREFERRED_VIDEO_VERTEX = (
    # docs.cloud.google.com/gemini-enterprise-agent-platform/models/veo/3-1-generate, read
    # 2026-12-05: GA; Fast first, since a story pays for one clip per scene
    "veo-3.1-fast-generate-001",
    "veo-3.1-generate-001",
)
PREFERRED_VIDEO_DEVELOPER = (
    # ai.google.dev/gemini-api/docs/models: Gemini Omni Flash, stable; GA 2026-08-27 in the
    # changelog; served through the Interactions API only
    "gemini-omni-1.1-flash",
)
# None remain: firebase.google.com/docs/ai-logic/imagen-models-migration (read 2026-12-05)
# says every Imagen model shuts down, on the Developer API and Vertex AI alike. Without a
# listed Imagen model (e.g. STORYBOT_IMAGEN_MODEL), pictures come from the Gemini image model.
PREFERRED_IMAGEN: tuple[str, ...] = ()


def preferred(role: Role, *, vertex: bool) -> tuple[str, ...]:
    """The preference list of a role on the Developer API or on Vertex AI."""
    match role:
        case Role.TEXT:
            return PREFERRED_TEXT
        case Role.IMAGE:
            return PREFERRED_IMAGE
        case Role.IMAGEN:
            return PREFERRED_IMAGEN
        case Role.TTS:
            return PREFERRED_TTS
        case Role.LIVE:
            return PREFERRED_LIVE_VERTEX if vertex else PREFERRED_LIVE_DEVELOPER
        case Role.VIDEO:
            return PREFERRED_VIDEO_VERTEX if vertex else PREFERRED_VIDEO_DEVELOPER


@dataclass(frozen=True, slots=True)
class ListedModel:
    """A model the credentials can see: its id and, where the listing says, its methods."""

    id: str
    methods: frozenset[str] = frozenset()


# Words of models that are none of our roles (embeddings, transcription, agents…).
_OTHER = re.compile(
    r"embedding|embed|aqa|transcribe|translate|computer-use|robotics|deep-research|"
    r"learnlm|gemma|guard|-search|-code|diffusion|lyria|chirp|music"
)
_PREVIEW = re.compile(r"preview|-exp|experimental|-latest$")


def role_of(model: str, methods: Iterable[str] = ()) -> Role | None:
    """The role a model id plays by Google's naming (and its methods, where listed).

    `bidiGenerateContent` alone means a Live model; a model without `generateContent` (when
    methods are known) draws, speaks or writes nothing through it.
    """
    name = model.removeprefix("models/").lower()
    known = frozenset(methods)
    if name.startswith("imagen-"):
        return Role.IMAGEN
    if name.startswith("veo-") or "omni" in name:
        return Role.VIDEO
    if _OTHER.search(name):
        return None
    if "live" in name or "native-audio" in name or known == {"bidiGenerateContent"}:
        return Role.LIVE
    if known and "generateContent" not in known:
        return None
    if not name.startswith("gemini-"):
        return None
    if name.endswith("-tts") or "-tts-" in name:
        return Role.TTS
    if "-image" in name or "nano-banana" in name:
        return Role.IMAGE
    return Role.TEXT


def serves_no_role(model: str) -> bool:
    """Whether an id names a model that is none of StoryBot's roles (an embedding, ...)."""
    return bool(_OTHER.search(model.lower()))


def is_preview(model: str) -> bool:
    """Whether an id names a preview, experimental or alias model rather than a GA one."""
    return bool(_PREVIEW.search(model))


# Within a generation, the tier a story bot wants: plain Flash balances cost and quality.
_TIERS = ("flash", "flash-lite", "lite", "pro")


def _tier(model: str) -> int:
    for rank, tier in enumerate(_TIERS):
        if re.search(rf"-{tier}(?:-|$)", model) and not (
            tier == "flash" and re.search(r"-flash-lite(?:-|$)", model)
        ):
            return rank
    return len(_TIERS)


def version_of(model: str) -> tuple[int, ...]:
    """The generation in an id (`gemini-3.8-flash` → (3, 8)); empty when it has none."""
    match = re.search(r"-(\d+(?:\.\d+)*)", model)
    return tuple(int(n) for n in match.group(1).split(".")) if match else ()


def rank(model: str) -> tuple[bool, int, tuple[int, ...], str]:
    """Sort key for discovered models (smallest first): GA before preview, the preferred tier,
    then the newest version; the id last, so the order is stable."""
    negated = tuple(-n for n in version_of(model))
    return (is_preview(model), _tier(model), negated, model)


def discover(role: Role, listed: Iterable[ListedModel], *, vertex: bool) -> list[str]:
    """The listed models of a role, best first. Video means Veo on Vertex AI and a Gemini
    video model (Interactions API) on the Developer API."""
    found = [m.id for m in listed if role_of(m.id, m.methods) is role]
    if role is Role.VIDEO:
        found = [m for m in found if m.startswith("veo-") == vertex]
    return sorted(found, key=rank)
