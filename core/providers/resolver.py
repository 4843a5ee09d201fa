"""Choosing each role's model at run time, from what the credentials can see.

Per role: the model its setting names when it is listed; else the first listed entry of the
role's preference list; else the best listed model of the role's family (`catalog.discover`);
else `NoModelAvailable`, naming the setting. The choice is cached, refreshed every few hours and
whenever a call answers NOT_FOUND (a model retired while the bot runs). When the listing cannot
be read, the setting or the preference list is trusted and a NOT_FOUND moves down the list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.errors import ConfigurationError, CoreError, CredentialsRejected
from core.providers.catalog import (
    KIND_NAMES,
    LABEL,
    PURPOSE,
    SETTING,
    ListedModel,
    Role,
    discover,
    preferred,
    role_of,
    serves_no_role,
)

log = logging.getLogger(__name__)

# Lists what the credentials can see: every model (Developer API), or which of the given
# candidates exist (Vertex AI, where listing publisher models is not dependable).
Lister = Callable[[list[str]], Awaitable[list[ListedModel]]]


# Where each role's model is recorded in a job's metadata (`models`), as before resolution.
METADATA_KEY = {
    Role.TEXT: "story", Role.IMAGE: "pictures", Role.IMAGEN: "pictures", Role.TTS: "narration",
    Role.LIVE: "narration", Role.VIDEO: "animation",
}  # fmt: skip


class NoModelAvailable(ConfigurationError):
    """No model the credentials can see does a role's job; safe to show."""


@dataclass(frozen=True, slots=True)
class Choice:
    """A role's model and why it was chosen: `setting`, `preferred`, `discovered`, or
    `unverified` (the model list could not be read, so it was not checked)."""

    role: Role
    model: str
    why: str


def check_setting(role: Role, model: str | None) -> None:
    """Refuse a setting that names a model of another role (e.g. a TTS model for pictures)."""
    if model is None:
        return
    actual = role_of(model)
    if actual is None and not serves_no_role(model):
        return  # an id we cannot read (a tuned or private model): the listing will tell
    if actual is not role and not (role is Role.IMAGE and actual is Role.IMAGEN):
        what = KIND_NAMES[actual] if actual is not None else "not a model StoryBot can use"
        raise ConfigurationError(
            f"{SETTING[role]}={model} is {what}, which cannot {PURPOSE[role]}"
        )


class ModelResolver:
    """The current model of each role, resolved against the listing and cached."""

    def __init__(
        self,
        lister: Lister,
        *,
        settings: dict[Role, str | None],
        vertex: bool,
        refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lister, self._settings, self._vertex = lister, settings, vertex
        self._refresh_s, self._clock = refresh_s, clock
        self._listed: dict[str, ListedModel] | None = None
        self._listed_at: float | None = None
        self._gone: set[str] = set()
        self._choices: dict[Role, Choice | None] = {}
        self._warned: set[tuple[Role, str]] = set()
        self._lock = asyncio.Lock()
        # step → model last used, read into each finished job's metadata
        self.in_use: dict[str, str] = {}

    @property
    def listing_ok(self) -> bool:
        """Whether the last refresh could read the model list."""
        return self._listed is not None

    def candidates(self, role: Role) -> list[str]:
        """The setting and the preference list of a role, in order, without repeats."""
        setting = self._settings.get(role)
        return list(dict.fromkeys([*([setting] if setting else []), *self._preferred(role)]))

    def _preferred(self, role: Role) -> tuple[str, ...]:
        return preferred(role, vertex=self._vertex)

    async def refresh(self) -> None:
        """Read the listing again and choose every role anew (models seen gone stay gone)."""
        wanted = sorted({m for role in Role for m in self.candidates(role)})
        try:
            listed = await self._lister(wanted)
        except CredentialsRejected:
            raise  # a bad key fails every call: say so at start
        except CoreError as exc:
            self._listed = None
            log.warning("could not list the models (%s); trusting the settings", exc)
        else:
            self._listed = {m.id: m for m in listed}
        self._listed_at = self._clock()
        self._choices = {role: self._choose(role) for role in Role}

    def _choose(self, role: Role) -> Choice | None:
        setting = self._settings.get(role)
        listed = self._listed
        if listed is None:  # trust the setting, then the list; NOT_FOUND moves on
            for model in self.candidates(role):
                if model not in self._gone:
                    why = "setting" if model == setting else "unverified"
                    return Choice(role, model, why)
            return None
        available = {m: info for m, info in listed.items() if m not in self._gone}
        choice: Choice | None = None
        if setting and setting in available:
            choice = Choice(role, setting, "setting")
        else:
            found = next((m for m in self._preferred(role) if m in available), None)
            if found is not None:
                choice = Choice(role, found, "preferred")
            else:
                discovered = discover(role, available.values(), vertex=self._vertex)
                choice = Choice(role, discovered[0], "discovered") if discovered else None
        if setting and (choice is None or choice.model != setting):
            self._warn_once(role, setting, choice)
        return choice

    def _warn_once(self, role: Role, setting: str, choice: Choice | None) -> None:
        if (role, setting) in self._warned:
            return
        self._warned.add((role, setting))
        instead = f"using {choice.model}" if choice is not None else "no other model found"
        log.warning(
            "%s=%s is not available to these credentials; %s", SETTING[role], setting, instead
        )

    def _stale(self) -> bool:
        return self._listed_at is None or self._clock() - self._listed_at > self._refresh_s

    def choice(self, role: Role) -> Choice | None:
        """The current choice of a role (None: no model; call `refresh` first)."""
        return self._choices.get(role)

    def current(self, role: Role) -> str:
        """The model a role uses now, without I/O: the choice, else the first candidate."""
        choice = self._choices.get(role)
        if choice is not None:
            return choice.model
        candidates = self.candidates(role)
        if not candidates:
            raise self.missing(role)
        return candidates[0]

    async def model(self, role: Role) -> str:
        """The model of a role, refreshed when stale; `NoModelAvailable` when none fits."""
        if self._stale():
            async with self._lock:
                if self._stale():
                    await self.refresh()
        choice = self._choices.get(role)
        if choice is None:
            raise self.missing(role)
        self.in_use[METADATA_KEY[role]] = choice.model
        return choice.model

    def missing(self, role: Role) -> NoModelAvailable:
        """The error for a role without a model."""
        return NoModelAvailable(
            f"no {LABEL[role]} that can {PURPOSE[role]} is available to these credentials; "
            f"set {SETTING[role]} (see `storybot doctor`)"
        )

    async def retired(self, role: Role, model: str) -> str | None:
        """`model` answered NOT_FOUND: forget it, list again and choose the next model of the
        role (one warning naming both). None when no other model fits."""
        async with self._lock:
            current = self._choices.get(role)
            if model in self._gone:  # another call already moved on
                return current.model if current is not None else None
            self._gone.add(model)
            await self.refresh()
        new = self._choices.get(role)
        if new is None:
            log.warning("the %s %s is no longer available, and no other fits", LABEL[role], model)
            return None
        log.warning("the %s %s is no longer available; using %s", LABEL[role], model, new.model)
        self.in_use[METADATA_KEY[role]] = new.model
        return new.model
