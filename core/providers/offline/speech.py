"""Offline narrator: real speech from eSpeak NG, loaded from the espeakng-loader wheel."""

from __future__ import annotations

import asyncio
import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import espeakng_loader

from core.audio import SAMPLE_RATE, resample
from core.errors import InvalidRequest, ProviderError
from core.models import Speech, Voice

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_WORDS_PER_MINUTE = 150  # a little slower than eSpeak's 175: a storyteller's pace
_PREFERRED = {"en": "en-us", "fr": "fr-fr", "es": "es", "de": "de"}

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _EspeakVoice(ctypes.Structure):
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


@dataclass(frozen=True, slots=True)
class _VoiceEntry:
    tag: str  # what users type: en-us, fr-fr, de
    identifier: bytes  # what eSpeak loads: gmw/en-US
    description: str


class _Espeak:
    """The process-wide eSpeak NG library: loaded once, used by one thread at a time."""

    _instance: _Espeak | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = (
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        )
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))
        lib.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_Synth.argtypes = (
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        )  # fmt: skip
        data_path = espeakng_loader.get_data_path()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), 0)
        if rate <= 0:
            raise ProviderError("the eSpeak NG speech engine could not start")
        self._lib = lib
        self.sample_rate = int(rate)
        self._chunks: list[bytes] = []
        # Keep a reference: eSpeak calls it from inside espeak_Synth.
        self._callback = _SynthCallback(self._collect)
        lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()
        self.voices = self._list_voices()
        self.variants = sorted(p.name for p in (Path(data_path) / "voices" / "!v").iterdir())

    @classmethod
    def get(cls) -> _Espeak:
        """The shared instance, created on first use."""
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int) -> int:
        if count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def _list_voices(self) -> dict[str, _VoiceEntry]:
        entries: dict[str, _VoiceEntry] = {}
        table = self._lib.espeak_ListVoices(None)
        i = 0
        while table[i]:
            voice = table[i].contents
            # `languages` is a priority byte, then a NUL-terminated language tag.
            tag = (voice.languages or b"  ")[1:].decode(errors="ignore").lower()
            identifier = voice.identifier or b""
            if tag and identifier and tag not in entries:
                entries[tag] = _VoiceEntry(tag, identifier, (voice.name or b"").decode())
            i += 1
        return entries

    def synthesize(self, text: str, identifier: bytes) -> bytes:
        """Speak `text` with a voice identifier (optionally `+variant`); returns PCM."""
        with self.lock:
            if self._lib.espeak_SetVoiceByName(identifier) != 0:
                raise ProviderError("the eSpeak NG voice could not be loaded")
            self._lib.espeak_SetParameter(_ESPEAK_RATE, _WORDS_PER_MINUTE, 0)
            self._chunks = []
            data = text.encode()
            self._lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            return b"".join(self._chunks)


class OfflineNarrator:
    """Narrates with eSpeak NG: no key, no network, no system package; 24 kHz mono PCM."""

    name = "offline"

    def voices(self) -> list[Voice]:
        """Every eSpeak voice; a variant can be appended as `VOICE+VARIANT` (e.g. `en-us+f3`)."""
        engine = _Espeak.get()
        return [Voice(v.tag, v.tag.split("-")[0], v.description) for v in engine.voices.values()]

    def check_voice(self, voice: str | None, language: str) -> None:
        """Raise `InvalidRequest` for a voice eSpeak does not have."""
        self._identifier(voice, language)

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Speak one narration line."""
        identifier = self._identifier(voice, language)
        engine = _Espeak.get()
        pcm = await asyncio.to_thread(engine.synthesize, text, identifier)
        if not pcm:
            raise ProviderError("the speech engine produced no audio")
        return resample(Speech(pcm, engine.sample_rate), SAMPLE_RATE)

    def _identifier(self, voice: str | None, language: str) -> bytes:
        engine = _Espeak.get()
        if voice is None:
            base = language.lower()
            tag = _PREFERRED.get(base, base)
            if tag not in engine.voices:
                tag = next((t for t in engine.voices if t.split("-")[0] == base.split("-")[0]), "")
            if not tag:
                raise InvalidRequest(f"no offline voice speaks '{language}'")
            return engine.voices[tag].identifier
        tag, _, variant = voice.lower().partition("+")
        entry = engine.voices.get(tag)
        variants = {v.lower(): v for v in engine.variants}
        if entry is None or (variant and variant not in variants):
            raise InvalidRequest(f"unknown voice '{voice}' — see `storybot voices`")
        suffix = f"+{variants[variant]}" if variant else ""
        return entry.identifier + suffix.encode()
