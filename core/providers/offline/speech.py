"""Offline narrator: real speech from eSpeak NG, loaded from the espeakng-loader wheel."""

from __future__ import annotations

import asyncio
import ctypes
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import espeakng_loader

from core.audio import SAMPLE_RATE, resample
from core.errors import InvalidRequest, ProviderError
from core.models import Speech, Voice
from core.providers.offline.voice_cast import NARRATOR_DESCRIPTION, RUNGS, pick
from core.voicing import VoicedLine

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3  # 0-100, 50: the voice's own pitch
_ESPEAK_RANGE = 4  # intonation, 0-100, 50: the voice's own
_CAST_RANGE = 25  # a cast speaks with flatter intonation, so each voice keeps to its pitch
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
        lib.espeak_GetParameter.restype = ctypes.c_int
        lib.espeak_GetParameter.argtypes = (ctypes.c_int, ctypes.c_int)
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

    def synthesize(
        self, text: str, identifier: bytes, *, pitch: int | None = None, range_: int | None = None
    ) -> bytes:
        """Speak `text` with a voice identifier (optionally `+variant`) and, for this call
        only, a pitch and an intonation range (espeakPITCH, espeakRANGE); returns PCM."""
        changes = {_ESPEAK_PITCH: pitch, _ESPEAK_RANGE: range_}
        with self.lock:
            if self._lib.espeak_SetVoiceByName(identifier) != 0:
                raise ProviderError("the eSpeak NG voice could not be loaded")
            self._lib.espeak_SetParameter(_ESPEAK_RATE, _WORDS_PER_MINUTE, 0)
            before = {
                p: self._lib.espeak_GetParameter(p, 1) for p, v in changes.items() if v is not None
            }
            try:
                for parameter, value in changes.items():
                    if value is not None:
                        self._lib.espeak_SetParameter(parameter, value, 0)
                self._chunks = []
                data = text.encode()
                self._lib.espeak_Synth(
                    data, len(data) + 1, 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None
                )
                self._lib.espeak_Synchronize()
            finally:  # the next caller gets the voice's own pitch and intonation
                for parameter, value in before.items():
                    self._lib.espeak_SetParameter(parameter, value, 0)
            return b"".join(self._chunks)


@dataclass(frozen=True, slots=True)
class _Chosen:
    """A voice name resolved: what eSpeak loads, and the pitch to set (None: its own)."""

    identifier: bytes
    pitch: int | None


class OfflineNarrator:
    """Narrates with eSpeak NG: no key, no network, no system package; 24 kHz mono PCM.

    Voice names are `VOICE[+VARIANT][@PITCH]`: an eSpeak voice, optionally one of its variants
    and a pitch from 0 to 99 (50: the voice's own), e.g. `en-us+f3@80`. In `cast` mode each
    speaker gets one (`pick_voice`), and every line is its own eSpeak call.
    """

    name = "offline"
    max_speakers = 1  # eSpeak speaks one voice per call

    def voices(self) -> list[Voice]:
        """Every eSpeak voice; a variant can be appended as `VOICE+VARIANT` (e.g. `en-us+f3`)."""
        engine = _Espeak.get()
        return [Voice(v.tag, v.tag.split("-")[0], v.description) for v in engine.voices.values()]

    def cast_voices(self) -> list[Voice]:
        """The voices a cast gets in each story language: the narrator's, then the
        characters' variants and pitches, described."""
        engine = _Espeak.get()
        offered: list[Voice] = []
        for language, tag in _PREFERRED.items():
            if tag in engine.voices:
                offered.append(Voice(tag, language, NARRATOR_DESCRIPTION))
                offered += [Voice(r.voice(tag), language, r.description) for r in RUNGS]
        return offered

    def check_voice(self, voice: str | None, language: str) -> None:
        """Raise `InvalidRequest` for a voice eSpeak does not have, or a pitch outside 0–99."""
        self._choose(voice, language)

    def pick_voice(self, speaker: int, language: str, taken: Collection[str]) -> str:
        """Speaker `speaker`'s voice (0: the narrator, the language's own voice; 1…: a variant
        and pitch of it, at least 3 semitones from the others'), none of `taken`."""
        return pick(self._tag(language), speaker, taken)

    async def speak(self, text: str, *, voice: str | None, language: str) -> Speech:
        """Speak one narration line."""
        return await self._speak(text, self._choose(voice, language), range_=None)

    async def speak_lines(self, lines: Sequence[VoicedLine], *, language: str) -> list[Speech]:
        """Speak a cast's lines, one eSpeak call each, in its speaker's voice."""
        chosen = [self._choose(line.voice or None, language) for line in lines]
        return [
            await self._speak(line.text, voice, range_=_CAST_RANGE)
            for line, voice in zip(lines, chosen, strict=True)
        ]

    async def _speak(self, text: str, voice: _Chosen, *, range_: int | None) -> Speech:
        engine = _Espeak.get()
        pcm = await asyncio.to_thread(
            engine.synthesize, text, voice.identifier, pitch=voice.pitch, range_=range_
        )
        if not pcm:
            raise ProviderError("the speech engine produced no audio")
        return resample(Speech(pcm, engine.sample_rate), SAMPLE_RATE)

    def _tag(self, language: str) -> str:
        """The language's own voice (`en` → `en-us`)."""
        engine = _Espeak.get()
        base = language.lower()
        tag = _PREFERRED.get(base, base)
        if tag not in engine.voices:
            tag = next((t for t in engine.voices if t.split("-")[0] == base.split("-")[0]), "")
        if not tag:
            raise InvalidRequest(f"no offline voice speaks '{language}'")
        return tag

    def _choose(self, voice: str | None, language: str) -> _Chosen:
        engine = _Espeak.get()
        if voice is None:
            return _Chosen(engine.voices[self._tag(language)].identifier, None)
        name, at, pitch = voice.lower().partition("@")
        tag, _, variant = name.partition("+")
        entry = engine.voices.get(tag)
        variants = {v.lower(): v for v in engine.variants}
        if entry is None or (variant and variant not in variants):
            raise InvalidRequest(f"unknown voice '{voice}' — see `storybot voices`")
        if at and not (pitch.isascii() and pitch.isdigit() and len(pitch) <= 2):
            raise InvalidRequest(
                f"the pitch in '{voice}' must be a number from 0 to 99 — see `storybot voices`"
            )
        suffix = f"+{variants[variant]}" if variant else ""
        return _Chosen(entry.identifier + suffix.encode(), int(pitch) if pitch else None)
