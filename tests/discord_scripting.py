"""The test API of the fake Discord (a mixin of `FakeDiscord`): inspecting what the bot did
(`calls_to`, `wait_for`, `visible`, `last_text`, `videos`, `message`, `attachment_data`),
scripting the service (`fail_next`, `expire_token`, `advance`, `delete_message`, `deny_bot`,
`user_attachment`) and pushing interactions (`send_command`, `send_autocomplete`,
`press_button`, `submit_modal`)."""

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
    TEXT_INPUT,
    USER_ID,
    Call,
    Fault,
    Interaction,
    UploadedFile,
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
        """Push a component interaction (type 3) for a component of a message the fake holds
        (KeyError if it has none with `custom_id`; ValueError if it is disabled, as Discord's
        client cannot press it)."""
        message = self.channel_messages.get(str(message_id))
        if message is None:
            raise KeyError(f"no message {message_id}")
        component = find_component(message.get("components") or [], custom_id)
        if component is None:
            raise KeyError(f"message {message_id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"{custom_id!r} is disabled: Discord's client does not send it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return self._push(3, data, user_id=user_id, locale=locale,
                          message=copy.deepcopy(message))  # fmt: skip

    def submit_modal(self, opened: Interaction, values: dict[str, str]) -> Interaction:
        """Push the submit (type 5) of the modal the bot showed in answer to `opened` (callback
        type 9), by the user who opened it, with `values` by text input custom_id; inputs not
        given keep their prefilled value. Like Discord's client: a value outside the input's
        min/max length or a required input left empty cannot be sent (ValueError), and a modal
        is submitted once. A modal opened from a message's button carries that message."""
        modal = opened.modal
        if modal is None:
            raise ValueError(f"interaction {opened.token} was not answered with a modal")
        if opened.submitted:
            raise ValueError("that modal was submitted already: the form is closed")
        inputs = {str(i["custom_id"]): i for i in _text_inputs(modal["components"])}
        if unknown := set(values) - set(inputs):
            raise KeyError(f"the modal has no text input {sorted(unknown)}")
        for custom_id, item in inputs.items():
            value = values.get(custom_id, str(item.get("value") or ""))
            least = int(item.get("min_length") or (1 if item.get("required", True) else 0))
            if value and not least <= len(value) <= int(item.get("max_length") or 4000):
                raise ValueError(f"{custom_id!r}: {len(value)} characters is out of bounds")
            if not value and item.get("required", True):
                raise ValueError(f"{custom_id!r} is required")
            values = {**values, custom_id: value}
        if any(i.get("type") != TEXT_INPUT for i in _labelled(modal["components"])):
            raise ValueError("the fake submits modals of text inputs only")
        answered = [_answered(top, values, n) for n, top in enumerate(modal["components"], 1)]
        data = {"custom_id": modal["custom_id"], "components": answered}
        opened.submitted = True
        message = None
        if opened.type == 3 and (shown := opened.payload.get("message")) is not None:
            message = copy.deepcopy(self.channel_messages.get(str(shown["id"]), shown))
        user_id = str(opened.payload["member"]["user"]["id"])
        return self._push(5, data, user_id=user_id, locale=str(opened.payload["locale"]),
                          message=message)  # fmt: skip


def find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """The component with `custom_id` anywhere in a component tree, if any."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        for key in ("components", "accessory", "component"):
            children = component.get(key)
            if isinstance(children, dict):
                children = [children]
            found = find_component(children or [], custom_id)
            if found is not None:
                return found
    return None


def _text_inputs(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The text inputs of a modal, in order (in action rows or labels)."""
    found: list[dict[str, Any]] = []
    for component in components:
        if component.get("type") == TEXT_INPUT:
            found.append(component)
        inner = component.get("components") or ([component["component"]]
                                                 if "component" in component else [])  # fmt: skip
        found += _text_inputs(inner)
    return found


def _answered(top: dict[str, Any], values: dict[str, str], number: int) -> dict[str, Any]:
    """One top-level component of a modal as its submit carries it: ids and values only."""
    if "component" in top:  # a Label around the input
        inner = top["component"]
        answer = {"type": inner["type"], "id": number * 10 + 1, "custom_id": inner["custom_id"],
                  "value": values.get(inner["custom_id"], "")}  # fmt: skip
        return {"type": top["type"], "id": number * 10, "component": answer}
    rows = [{"type": TEXT_INPUT, "id": number * 10 + k, "custom_id": c["custom_id"],
             "value": values.get(c["custom_id"], "")}
            for k, c in enumerate(top.get("components") or [], 1)]  # fmt: skip
    return {"type": 1, "id": number * 10, "components": rows}


def _labelled(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each Label (or action row) of a modal holds."""
    return [c["component"] if "component" in c else (c.get("components") or [{}])[0]
            for c in components]  # fmt: skip
