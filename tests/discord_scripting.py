"""The test API of the fake Discord (a mixin of `FakeDiscord`): inspecting what the bot did
(`calls_to`, `wait_for`, `visible`, `last_text`, `videos`, `message`, `attachment_data`),
scripting the service (`fail_next`, `expire_token`, `advance`, `delete_message`, `deny_bot`,
`user_attachment`) and pushing interactions (`send_command`, `send_autocomplete`,
`press_button`)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import io
import mimetypes
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from PIL import Image

from tests.discord_wire import (
    ATTACHMENT_URL_TTL_S,
    CHANNEL_ID,
    EPHEMERAL,
    USER_ID,
    Call,
    Fault,
    Interaction,
    UploadedFile,
    custom_ids,
)


class ScriptingMixin:
    """What a test does with `FakeDiscord`."""

    calls: list[Call]
    interactions: dict[str, Interaction]
    channel_messages: dict[str, dict[str, Any]]
    attachments: dict[str, UploadedFile]
    user_attachments: dict[str, dict[str, Any]]
    bot_denied: int
    _signatures: dict[str, str]
    _faults: list[Fault]
    _ready: asyncio.Event
    _clock_offset_s: float

    def calls_to(self, method: str, path_contains: str) -> list[Call]:
        return [c for c in self.calls if self._matches(c, method, path_contains)]

    async def wait_for(
        self,
        method: str,
        path_contains: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 30,  # noqa: ASYNC109 - a deadline for the whole wait, like pytest's
        *,
        answered: bool = True,
    ) -> Call:
        """The first call matching `method`, `path_contains` and `predicate` (answered ones only
        unless `answered=False`)."""

        def find() -> Call | None:
            for call in self.calls:
                wanted = (call.status or not answered) and self._matches(
                    call, method, path_contains
                )
                if wanted and (predicate is None or predicate(call)):
                    return call
            return None

        def failure() -> str:
            seen = ", ".join(f"{c.method} {c.path}={c.status}" for c in self.calls[-20:])
            return f"no {method} …{path_contains}… within {timeout} s; calls: {seen}"

        return await self._wait_until(find, timeout, failure)

    async def wait_ready(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Until a client has IDENTIFYed and READY + GUILD_CREATE were sent to it."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    def fail_next(
        self,
        method: str,
        path_contains: str,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        times: int = 1,
        via: bool = True,
        predicate: Callable[[Call], bool] | None = None,
    ) -> None:
        """Answer the next `times` requests matching `method`, `path_contains` and `predicate`
        (e.g. `lambda c: bool(c.files)` for uploads) with `status` and `body` (a default per
        status, e.g. 429 `retry_after` 0.3, 403 50013). A 429 carries the `X-RateLimit-*`
        headers of an exhausted bucket; `via=False` drops the `Via` header, which makes
        discord.py treat a 429 as a Cloudflare ban (HTTPException at once)."""
        fault = Fault(method.upper(), path_contains, status, body, via, times, predicate)
        self._faults.append(fault)

    def expire_token(self, token: str, *, when: Callable[[Call], bool] | None = None) -> None:
        """From now on (or from the first webhook call matching `when`, e.g. an upload), this
        interaction's webhook calls get 401 50027 Invalid Webhook Token."""
        if when is None:
            self.interactions[token].expired = True
        else:
            self.interactions[token].expire_when = when

    def advance(self, seconds: float) -> None:
        """Let the fake's deadlines (token lifetime, 3 s acknowledgement) see `seconds` more
        pass, without waiting for them."""
        self._clock_offset_s += seconds

    def delete_message(self, message_id: str | int) -> None:
        """A user or moderator deletes a message (the bot's response, say): MESSAGE_DELETE is
        sent and later edits of it get 404 10008 Unknown Message."""
        self._deleted(self.channel_messages[str(message_id)])

    def deny_bot(self, permissions: int) -> None:
        """A channel overwrite denies the bot these permission bits (`VIEW_CHANNEL`,
        `SEND_MESSAGES`, `ATTACH_FILES`, …), as a server admin would; the channel routes then
        answer 403 50001 Missing Access / 50013 Missing Permissions, and CHANNEL_UPDATE tells
        connected clients."""
        self.bot_denied = permissions
        self._dispatch("CHANNEL_UPDATE", self._channel())

    def visible(self, channel_id: str = CHANNEL_ID) -> list[dict[str, Any]]:
        """The channel's messages as its members see them (no ephemeral ones), oldest first."""
        found = [m for m in self.channel_messages.values()
                 if m["channel_id"] == channel_id and not m["flags"] & EPHEMERAL]  # fmt: skip
        return sorted(found, key=lambda m: int(m["id"]))

    def last_text(self, channel_id: str = CHANNEL_ID) -> str:
        """The content of the newest message members of the channel see ("" if none)."""
        messages = self.visible(channel_id)
        return str(messages[-1]["content"]) if messages else ""

    def videos(self, channel_id: str = CHANNEL_ID) -> list[dict[str, Any]]:
        """Every video attachment the channel's visible messages hold."""
        return [a for m in self.visible(channel_id) for a in m["attachments"]
                if str(a.get("content_type", "")).startswith("video/")]  # fmt: skip

    def message(self, message_id: str | int) -> dict[str, Any]:
        return self.channel_messages[str(message_id)]

    def attachment_data(self, attachment: dict[str, Any]) -> bytes:
        """The bytes behind an attachment object (of a message, or from `user_attachment`)."""
        return self.attachments[str(attachment["id"])].data

    def user_attachment(
        self, data: bytes, filename: str, *, content_type: str | None = None
    ) -> dict[str, Any]:
        """A file a user picked for an attachment option: its attachment object, to pass as the
        option's value. The type is guessed from `filename` unless given; pictures get `width`
        and `height`, as Discord sends them."""
        attachment_id = self._snowflake()
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.attachments[attachment_id] = UploadedFile(filename, ctype, data)
        issued = int(time.time())
        signature = hashlib.sha256(f"{attachment_id}:{issued}".encode()).hexdigest()
        self._signatures[attachment_id] = signature
        url = (
            f"http://{self.host}:{self.port}/ephemeral-attachments/{CHANNEL_ID}/{attachment_id}/"
            f"{quote(filename)}?ex={issued + ATTACHMENT_URL_TTL_S:x}&is={issued:x}&hm={signature}&"
        )
        attachment: dict[str, Any] = {
            "id": attachment_id, "filename": filename, "size": len(data), "url": url,
            "proxy_url": url,
            "content_type": ctype, "ephemeral": True,
        }  # fmt: skip
        if ctype.startswith("image/"):
            with contextlib.suppress(OSError), Image.open(io.BytesIO(data)) as picture:
                attachment |= {"width": picture.width, "height": picture.height}
        self.user_attachments[attachment_id] = attachment
        return attachment

    # -- test API: interactions the bot receives

    def send_command(
        self,
        name: str,
        options: list[dict[str, Any]] | dict[str, Any] | None = None,
        *,
        user_id: str = USER_ID,
        locale: str = "en-US",
        attachment_size_limit: int | None = None,
        enforced_size_limit: int | None = None,
    ) -> Interaction:
        """Push a chat-input command (INTERACTION_CREATE type 2).

        `options` is `{name: value}` (types from the synced command, else from the value) or the
        raw option list (`{"name", "type", "value"}` or sub-commands with their own `options`).
        `attachment_size_limit` is the per-file limit the payload announces and the webhook
        routes enforce; `enforced_size_limit` makes them enforce another one (a server that
        lost a boost level after the command).
        """
        data = self._command_data(name, options, None)
        interaction = self._push(2, data, user_id=user_id, locale=locale,
                                 attachment_size_limit=attachment_size_limit)  # fmt: skip
        if enforced_size_limit is not None:
            interaction.attachment_size_limit = enforced_size_limit
        return interaction

    def send_autocomplete(
        self,
        name: str,
        options: list[dict[str, Any]] | dict[str, Any] | None,
        focused: str,
        *,
        user_id: str = USER_ID,
        locale: str = "en-US",
    ) -> Interaction:
        """Push an autocomplete request (type 4); option `focused` is marked ("" if absent)."""
        data = self._command_data(name, options, focused)
        return self._push(4, data, user_id=user_id, locale=locale)

    def press_button(
        self,
        custom_id: str,
        *,
        message_id: str | int,
        user_id: str = USER_ID,
        component_type: int = 2,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> Interaction:
        """Push a component interaction (type 3) for a component of a message the fake holds."""
        message = self.channel_messages.get(str(message_id))
        if message is None:
            raise KeyError(f"no message {message_id}")
        if custom_id not in custom_ids(message.get("components") or []):
            raise KeyError(f"message {message_id} has no component {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return self._push(3, data, user_id=user_id, locale=locale,
                          message=copy.deepcopy(message))  # fmt: skip
