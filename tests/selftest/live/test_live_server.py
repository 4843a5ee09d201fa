"""The fake Gemini Live server speaks the wire protocol the real google-genai client expects."""

from __future__ import annotations

import asyncio
import signal
import ssl
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import websockets
from google import genai
from google.genai import errors, types
from google.genai.live import AsyncSession
from google.oauth2.credentials import Credentials
from websockets.asyncio.client import connect as ws_connect

from tests.gemini_server import speech_pcm
from tests.live_server import (
    BAD_KEY,
    LIVE_MIME,
    CloseWithError,
    Delay,
    FakeLive,
    NeverComplete,
    RefuseSetup,
)

if TYPE_CHECKING:
    from tests.conftest import WaitUntil

pytestmark = pytest.mark.timeout(30)

MODEL = "gemini-live-2.5-flash-preview"
VOICE = "Kore"
LINE = "Whiskers the cat found a mysterious map under the garden bench."
INSTRUCTED = f"Read the following line slowly and warmly.\n\n{LINE}"
ROOT = Path(__file__).resolve().parents[3]
ClientFactory = Callable[..., genai.Client]


def _config(
    system: str | None = "You are a calm narrator. Read the user's line aloud.",
) -> types.LiveConnectConfig:
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=VOICE)
            )
        ),
        system_instruction=system,
    )


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeLive]:
    async with FakeLive() as server:
        monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)  # before any genai.Client exists
        yield server


@pytest.fixture
def developer(fake: FakeLive) -> ClientFactory:
    def make(api_key: str = "test-key") -> genai.Client:
        options = types.HttpOptions(base_url=fake.base_url, api_version="v1beta")
        return genai.Client(api_key=api_key, http_options=options)

    return make


@pytest.fixture
def vertex(fake: FakeLive) -> ClientFactory:
    def make(token: str = "test") -> genai.Client:
        return genai.Client(
            vertexai=True,
            project="p",
            location="us-central1",
            credentials=Credentials(token=token),  # type: ignore[no-untyped-call]
            http_options=types.HttpOptions(base_url=fake.base_url),
        )

    return make


async def _speak(
    client: genai.Client, text: str = INSTRUCTED, *, realtime: bool = False
) -> list[types.LiveServerMessage]:
    async with client.aio as aio, aio.live.connect(model=MODEL, config=_config()) as session:
        if realtime:
            await session.send_realtime_input(text=text)
        else:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=text)]),
                turn_complete=True,
            )
        return [message async for message in session.receive()]


async def _collect(session: AsyncSession, into: list[types.LiveServerMessage]) -> None:
    """Receive one turn into `into` (what came is kept when `receive()` raises or is cancelled)."""
    async for message in session.receive():
        into.append(message)


def _audio(messages: list[types.LiveServerMessage]) -> bytes:
    return b"".join(message.data or b"" for message in messages)


async def test_developer_api_streams_the_line_as_pcm_in_several_messages(
    fake: FakeLive, developer: ClientFactory
) -> None:
    messages = await _speak(developer())

    (session,) = fake.sessions
    (turn,) = session.turns
    audio_messages = [m for m in messages if m.data]
    assert len(audio_messages) == turn.chunks > 1
    assert _audio(messages) == turn.audio == speech_pcm(LINE)  # the instruction is not read
    assert turn.text == INSTRUCTED
    assert turn.spoken == LINE
    assert turn.completed
    for message in audio_messages:
        assert message.server_content
        assert message.server_content.model_turn
        parts = message.server_content.model_turn.parts or []
        assert [p.inline_data.mime_type for p in parts if p.inline_data] == [LIVE_MIME]
    # generationComplete, then turnComplete (with usage) ends the receive() iteration
    assert messages[-2].server_content
    assert messages[-2].server_content.generation_complete
    last = messages[-1]
    assert last.server_content
    assert last.server_content.turn_complete
    assert last.usage_metadata
    assert last.usage_metadata.total_token_count
    # the wire: path by version, key in a header only, camelCase setup
    assert session.path == (
        "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    assert session.query == ""
    assert "test-key" not in session.path
    assert session.headers["x-goog-api-key"] == "test-key"
    assert "authorization" not in session.headers
    assert session.model == f"models/{MODEL}"
    assert session.response_modalities == ["AUDIO"]
    assert session.voice == VOICE
    assert session.system_text == "You are a calm narrator. Read the user's line aloud."
    # the SDK 3.4 mixes spellings: a snake_case key holding a camelCase one
    assert session.messages == [
        {"client_content": {"turns": [{"parts": [{"text": INSTRUCTED}], "role": "user"}],
                            "turnComplete": True}}
    ]  # fmt: skip


async def test_vertex_with_a_bearer_token(fake: FakeLive, vertex: ClientFactory) -> None:
    messages = await _speak(vertex())

    (session,) = fake.sessions
    assert session.api == "vertex"
    assert session.path == "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    assert session.headers["authorization"] == "Bearer test"
    assert "x-goog-api-key" not in session.headers
    assert session.model == f"projects/p/locations/us-central1/publishers/google/models/{MODEL}"
    assert session.response_modalities == ["AUDIO"]
    assert session.voice == VOICE
    assert len([m for m in messages if m.data]) > 1
    assert _audio(messages) == session.audio == speech_pcm(LINE)
    last = messages[-1]
    assert last.server_content
    assert last.server_content.turn_complete
    assert last.usage_metadata
    assert last.usage_metadata.response_token_count


async def test_vertex_express_mode_sends_the_key_in_a_header(fake: FakeLive) -> None:
    client = genai.Client(
        vertexai=True, api_key="test-key", http_options=types.HttpOptions(base_url=fake.base_url)
    )
    messages = await _speak(client)

    (session,) = fake.sessions
    assert session.api == "vertex"
    assert session.headers["x-goog-api-key"] == "test-key"
    assert "authorization" not in session.headers
    assert session.query == ""
    assert _audio(messages) == session.audio == speech_pcm(LINE)


async def test_realtime_text_input_is_answered_too(
    fake: FakeLive, developer: ClientFactory
) -> None:
    messages = await _speak(developer(), LINE, realtime=True)

    assert fake.sessions[0].messages == [{"realtime_input": {"text": LINE}}]  # snake_case here
    assert _audio(messages) == fake.sessions[0].audio == speech_pcm(LINE)


async def test_several_turns_in_one_session_and_text_frames(
    fake: FakeLive, developer: ClientFactory
) -> None:
    fake.binary_frames = False
    lines = ["Buster sniffs the trail.", "They cross a wobbly bridge."]
    collected: list[bytes] = []
    async with developer().aio as aio, aio.live.connect(model=MODEL, config=_config()) as session:
        for line in lines:
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=line)])
            )
            collected.append(_audio([m async for m in session.receive()]))

    assert collected == [turn.audio for turn in fake.sessions[0].turns]
    assert collected == [speech_pcm(line) for line in lines]


async def test_concurrent_sessions_each_get_their_own_line(
    fake: FakeLive, developer: ClientFactory
) -> None:
    lines = [f"Line number {word}." for word in ("one", "two", "three")]
    results = await asyncio.gather(*(_speak(developer(), line) for line in lines))

    assert [_audio(messages) for messages in results] == [speech_pcm(line) for line in lines]
    assert sorted(s.turns[0].text for s in fake.sessions) == sorted(lines)


async def test_wrong_key_closes_with_1007_and_connect_raises(
    fake: FakeLive, developer: ClientFactory
) -> None:
    with pytest.raises(errors.APIError) as caught:
        await _speak(developer("wrong-key"))

    assert type(caught.value) is errors.APIError  # 1007 is neither 4xx nor 5xx
    assert caught.value.code == BAD_KEY[0] == 1007
    assert caught.value.details == "API key not valid. Please pass a valid API key."
    assert str(caught.value) == "1007 None. API key not valid. Please pass a valid API key."
    (session,) = fake.sessions
    assert session.close_code == 1007
    assert session.turns == []
    assert session.setup is None


async def test_wrong_bearer_token_closes_with_1008(fake: FakeLive, vertex: ClientFactory) -> None:
    with pytest.raises(errors.APIError) as caught:
        await _speak(vertex("expired"))

    assert caught.value.code == 1008
    assert str(caught.value.details).startswith("Request had invalid authentication credentials")


async def test_unknown_model_closes_with_1008_not_found(
    fake: FakeLive, developer: ClientFactory
) -> None:
    fake.models = ["gemini-2.5-flash-native-audio-preview-09-2025"]
    with pytest.raises(errors.APIError) as caught:
        await _speak(developer())

    assert caught.value.code == 1008
    assert str(caught.value.details).startswith(
        f"models/{MODEL} is not found for API version v1beta, or is not supported for "
        "bidiGenerateContent."
    )
    assert len(str(caught.value.details).encode()) <= 123  # cut like a real close frame


async def test_refuse_setup_raises_from_connect(fake: FakeLive, developer: ClientFactory) -> None:
    fake.script(RefuseSetup(reason="Operation is not implemented, or supported, or enabled."))
    client = developer()
    async with client.aio as aio:
        with pytest.raises(errors.APIError) as caught:
            async with aio.live.connect(model=MODEL, config=_config()):
                pytest.fail("connect() should have raised")

    assert caught.value.code == 1008
    assert caught.value.details == "Operation is not implemented, or supported, or enabled."


async def test_never_complete_leaves_the_client_waiting(
    fake: FakeLive, developer: ClientFactory
) -> None:
    fake.script(NeverComplete(chunks=2))
    received: list[types.LiveServerMessage] = []
    async with developer().aio as aio, aio.live.connect(model=MODEL, config=_config()) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=LINE)])
        )
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1):
                await _collect(session, received)

    (turn,) = fake.sessions[0].turns
    assert len(received) == turn.chunks == 2
    assert not turn.completed
    assert _audio(received) == turn.audio
    assert 0 < len(turn.audio) < len(speech_pcm(LINE))


@pytest.mark.parametrize("after_chunks", [0, 2])
async def test_close_with_error_raises_from_receive(
    fake: FakeLive, developer: ClientFactory, after_chunks: int
) -> None:
    fake.script(CloseWithError(after_chunks=after_chunks))
    received: list[types.LiveServerMessage] = []
    async with developer().aio as aio, aio.live.connect(model=MODEL, config=_config()) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=LINE)])
        )
        with pytest.raises(errors.APIError) as caught:
            await _collect(session, received)

    assert type(caught.value) is errors.APIError
    assert caught.value.code == 1011
    assert caught.value.details == "Internal error occurred."
    assert len(received) == after_chunks == fake.sessions[0].turns[0].chunks


async def test_faults_are_one_shot_and_taken_in_order(
    fake: FakeLive, developer: ClientFactory
) -> None:
    fake.script(CloseWithError(code=1011, reason="The service is currently unavailable."),
                Delay(0.3))  # fmt: skip
    with pytest.raises(errors.APIError, match="currently unavailable"):
        await _speak(developer())
    started = time.monotonic()
    delayed = await _speak(developer())
    assert time.monotonic() - started >= 0.3
    assert _audio(delayed) == speech_pcm(LINE)
    assert _audio(await _speak(developer())) == speech_pcm(LINE)
    assert [type(s.fault).__name__ for s in fake.sessions] == [
        "CloseWithError", "Delay", "NoneType"
    ]  # fmt: skip


async def test_unknown_path_is_refused_at_the_handshake(fake: FakeLive) -> None:
    context = ssl.create_default_context(cafile=fake.ca_file)
    with pytest.raises(websockets.InvalidStatus) as caught:
        async with ws_connect(f"wss://127.0.0.1:{fake.port}/ws/nope", ssl=context):
            pass
    assert caught.value.response.status_code == 404
    assert fake.sessions == []


async def test_stop_ends_a_silent_session(
    developer: ClientFactory, fake: FakeLive, wait_until: WaitUntil
) -> None:
    fake.script(NeverComplete(chunks=1))
    async with developer().aio as aio, aio.live.connect(model=MODEL, config=_config()) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=LINE)])
        )
        received: list[types.LiveServerMessage] = []
        receiving = asyncio.ensure_future(_collect(session, received))
        await wait_until(lambda: received, timeout=10, what="the one chunk before the silence")
        await asyncio.wait_for(fake.stop(), 2)
        with pytest.raises(errors.APIError) as caught:
            await receiving
    assert caught.value.code == 1001  # going away


async def test_standalone_server_prints_its_url_and_serves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.live_server", "--port", "0",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        base_url = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        ca_file = (await asyncio.wait_for(process.stdout.readline(), 5)).decode().strip()
        assert base_url.startswith("https://127.0.0.1:")
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)
        options = types.HttpOptions(base_url=base_url, api_version="v1beta")
        messages = await _speak(genai.Client(api_key="anything", http_options=options), LINE)
        assert _audio(messages) == speech_pcm(LINE)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 0, stderr.decode()
    assert not await asyncio.to_thread(Path(ca_file).exists)  # the CA goes with the server


async def test_the_ca_must_be_trusted_before_the_client_is_built(
    fake: FakeLive, developer: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    client = developer()  # its websocket SSL context comes from certifi now
    monkeypatch.setenv("SSL_CERT_FILE", fake.ca_file)  # too late for this client
    with pytest.raises(ssl.SSLCertVerificationError):
        await _speak(client)
    assert fake.sessions == []
