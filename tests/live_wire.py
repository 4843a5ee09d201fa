"""The Gemini Live wire format as the fake speaks it: endpoints, the close codes and reasons of
the real service, scripted faults, and the records of sessions and turns.

`script(*faults)` queues one-shot faults, one per session (a connection whose credentials
pass), in order; a fault applies to the session's first turn only. `NeverComplete` sends some
audio then goes silent (the socket stays open until the client leaves or the server stops);
`CloseWithError` closes with its code when the turn arrives, or after `after_chunks` chunks;
`RefuseSetup` closes instead of answering the setup; `Delay` adds latency before the audio.

`sessions` records each connection (`LiveSession`): path, headers, setup, the client's messages
after the setup, and per turn (`LiveTurn`) the text, the part read aloud and the exact audio
bytes sent, so a test can compare them with what the client collected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from tests.gemini_media import TTS_RATE
from tests.gemini_requests import get_key

LIVE_MIME = f"audio/pcm;rate={TTS_RATE}"
GEMINI_PATH_RE = re.compile(
    r"/ws/google\.ai\.generativelanguage\.(v1alpha|v1beta|v1)\.GenerativeService"
    r"\.BidiGenerateContent"
)
VERTEX_PATH_RE = re.compile(
    r"/ws/google\.cloud\.aiplatform\.(v1beta1|v1)\.LlmBidiService/BidiGenerateContent"
)
BAD_KEY = (1007, "API key not valid. Please pass a valid API key.")
NO_KEY = (1007, "API Key not found. Please pass a valid API key.")
BAD_TOKEN = (
    1008,
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
)
INVALID_ARGUMENT = (1007, "Request contains an invalid argument.")
MAX_REASON_BYTES = 123  # a close frame holds 125 bytes: 2 for the code, the rest for the reason

Api = Literal["gemini", "vertex"]


def texts_of(content: Any) -> list[str]:
    """The texts of a Content dict, a list of them, or a bare string."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [text for item in content for text in texts_of(item)]
    parts = get_key(content, "parts") or []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]


def spoken_part(text: str) -> str:
    """What the fake reads aloud: the text after the last blank line (an instruction precedes)."""
    return text.rsplit("\n\n", 1)[-1].strip()


def not_found_reason(model: str, api: Api, version: str) -> str:
    """The reason the real service gives when closing for an unknown model."""
    if api == "vertex":
        return f"Publisher Model `{model}` not found."
    return (
        f"{model} is not found for API version {version}, or is not supported for "
        "bidiGenerateContent. Call ListModels to see the list of available models and their "
        "supported methods."
    )


def cut_reason(reason: str) -> str:
    """`reason` cut to what a close frame holds."""
    return reason.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


# ---------------------------------------------------------------- faults


@dataclass(frozen=True)
class NeverComplete:
    """Send `chunks` audio chunks of the turn, then nothing: no `turnComplete`, socket open."""

    chunks: int = 2


@dataclass(frozen=True)
class CloseWithError:
    """Close with `code`/`reason` when the turn arrives, or after `after_chunks` audio chunks."""

    code: int = 1011
    reason: str = "Internal error occurred."
    after_chunks: int = 0


@dataclass(frozen=True)
class RefuseSetup:
    """Close on the setup instead of `setupComplete`; `reason` None: the model's not-found text."""

    code: int = 1008
    reason: str | None = None


@dataclass(frozen=True)
class Delay:
    """A normal answer whose first audio chunk comes `seconds` late."""

    seconds: float


Fault: TypeAlias = NeverComplete | CloseWithError | RefuseSetup | Delay


# ---------------------------------------------------------------- recorded sessions


@dataclass
class LiveTurn:
    """One turn: the client's text, the part read aloud and the audio actually sent."""

    text: str
    spoken: str
    audio: bytes = b""
    chunks: int = 0  # audio messages sent
    completed: bool = False  # `turnComplete` sent


@dataclass
class LiveSession:
    """One websocket connection as the fake saw it."""

    path: str  # without the query string
    query: str
    api: Api
    version: str
    headers: dict[str, str]  # lower-cased names
    time: float
    setup: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # client messages after setup
    turns: list[LiveTurn] = field(default_factory=list)
    fault: Fault | None = None
    close_code: int | None = None  # set when the fake closed with an error
    close_reason: str = ""

    @property
    def model(self) -> str | None:
        model = get_key(self.setup, "model")
        return model if isinstance(model, str) else None

    @property
    def generation_config(self) -> dict[str, Any]:
        config = get_key(self.setup, "generationConfig")
        return config if isinstance(config, dict) else {}

    @property
    def response_modalities(self) -> list[str]:
        return list(get_key(self.generation_config, "responseModalities") or [])

    @property
    def voice(self) -> str | None:
        speech = get_key(self.generation_config, "speechConfig")
        prebuilt = get_key(get_key(speech, "voiceConfig"), "prebuiltVoiceConfig")
        name = get_key(prebuilt, "voiceName")
        return name if isinstance(name, str) else None

    @property
    def system_text(self) -> str:
        return "\n".join(texts_of(get_key(self.setup, "systemInstruction")))

    @property
    def audio(self) -> bytes:
        """All audio sent in this session."""
        return b"".join(turn.audio for turn in self.turns)


def usage_metadata(session: LiveSession, turn: LiveTurn) -> dict[str, Any]:
    """The `usageMetadata` of a completed turn (25 tokens per second of audio)."""
    prompt = len(turn.text.split()) + len(session.system_text.split())
    response = len(turn.audio) // (2 * TTS_RATE) * 25 + 1  # 25 tokens per second of audio
    kind = "candidates" if session.api == "vertex" else "response"  # Vertex's field names
    return {
        "promptTokenCount": prompt,
        f"{kind}TokenCount": response,
        "totalTokenCount": prompt + response,
        f"{kind}TokensDetails": [{"modality": "AUDIO", "tokenCount": response}],
    }
