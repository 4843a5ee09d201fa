"""Messages in the fake Discord: composing a create or edit request into a message object,
validated as Discord validates it, storing attachments, echoing gateway events (a mixin of
`FakeDiscord`)."""

from __future__ import annotations

import copy
import mimetypes
import time
from typing import Any
from urllib.parse import quote

from tests.discord_wire import (
    APPLICATION_ID,
    BOT_USER_ID,
    DISCORD_EPOCH_MS,
    EPHEMERAL,
    GUILD_ID,
    GUILD_MESSAGES_INTENT,
    LOADING,
    MAX_ATTACHMENTS,
    MAX_CONTENT,
    MAX_EMBEDS,
    MAX_REQUEST_SIZE,
    SUPPRESS_EMBEDS,
    ApiError,
    Call,
    Interaction,
    UploadedFile,
    check_components,
    form_error,
    now_iso,
)


class MessagesMixin:
    """The message store of `FakeDiscord`."""

    def _snowflake(self) -> str:
        value = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_snowflake = max(value, self._last_snowflake + 1)
        return str(self._last_snowflake)

    def _stable_id(self, key: str) -> str:
        return str(10**17 + self._counters.setdefault(key, len(self._counters) + 1))

    def _attachments(
        self, call: Call, existing: list[dict[str, Any]], limit: int, channel_id: str
    ) -> list[dict[str, Any]] | None:
        """The message's new attachment list, or None when the request leaves it unchanged.

        413 40005 when a file is over `limit` (the limit is per file) or all files together are
        over the request limit (25 MiB, or one file's limit when that is bigger).
        """
        sizes = [len(upload.data) for upload in call.files.values()]
        if any(size > limit for size in sizes) or sum(sizes) > max(MAX_REQUEST_SIZE, limit):
            raise ApiError(413, 40005)
        specs = call.get("attachments")
        if specs is None and not call.files:
            return None
        unused = dict(call.files)
        result: list[dict[str, Any]] = [] if specs is not None else list(existing)
        for index, spec in enumerate(specs or []):
            sid = str(spec.get("id", ""))
            kept = next((a for a in existing if a["id"] == sid), None)
            if kept is not None:
                result.append(kept)
                continue
            part = f"files[{sid}]"
            if part not in unused:
                raise form_error(["attachments", index, "id"], "ATTACHMENT_NOT_FOUND",
                                  "Unknown attachment")  # fmt: skip
            result.append(self._store(unused.pop(part), channel_id, spec.get("filename"),
                                      spec.get("description")))  # fmt: skip
        result += [self._store(upload, channel_id, None, None) for upload in unused.values()]
        if len(result) > MAX_ATTACHMENTS:
            raise form_error(["attachments"], "BASE_TYPE_MAX_LENGTH",
                              f"Must be {MAX_ATTACHMENTS} or fewer in length.")  # fmt: skip
        return result

    def _store(
        self, upload: UploadedFile, channel_id: str, filename: str | None, description: str | None
    ) -> dict[str, Any]:
        attachment_id = self._snowflake()
        name = filename or upload.filename or "unknown"
        ctype = upload.content_type
        if ctype == "application/octet-stream":  # Discord sniffs; the name is good enough here
            ctype = mimetypes.guess_type(name)[0] or ctype
        self.attachments[attachment_id] = UploadedFile(name, ctype, upload.data)
        url = f"http://{self.host}:{self.port}/attachments/{channel_id}/{attachment_id}/"
        url += quote(name)
        attachment: dict[str, Any] = {
            "id": attachment_id, "filename": name, "size": len(upload.data), "url": url,
            "proxy_url": url, "content_type": ctype,
        }  # fmt: skip
        return attachment | ({"description": description} if description else {})

    def _compose(
        self,
        call: Call,
        message: dict[str, Any],
        *,
        limit: int,
        editing: bool,
        allowed_flags: int,
    ) -> dict[str, Any]:
        """`message` with the request's fields applied and validated (the original untouched)."""
        body = call.json if isinstance(call.json, dict) else {}
        new = copy.deepcopy(message)
        if "content" in body:
            new["content"] = str(body["content"] or "")
        for key in ("embeds", "components"):
            if key in body:
                new[key] = list(body[key] or [])
        if not editing:
            new["tts"] = bool(body.get("tts", False))
            if body.get("nonce") is not None:
                new["nonce"] = body["nonce"]
        flags = int(new.get("flags", 0)) & ~LOADING
        if body.get("flags") is not None:
            flags = (flags & ~SUPPRESS_EMBEDS) | (int(body["flags"]) & allowed_flags)
        new["flags"] = flags
        if len(new["content"]) > MAX_CONTENT:
            raise form_error(["content"], "BASE_TYPE_MAX_LENGTH",
                              f"Must be {MAX_CONTENT} or fewer in length.")  # fmt: skip
        if "components" in body:
            check_components(new["components"], flags)
        attachments = self._attachments(call, new["attachments"], limit, new["channel_id"])
        if attachments is not None:
            new["attachments"] = attachments
        if editing:
            new["edited_timestamp"] = now_iso()
        if len(new["embeds"]) > MAX_EMBEDS:
            raise form_error(["embeds"], "BASE_TYPE_MAX_LENGTH",
                              f"Must be {MAX_EMBEDS} or fewer in length.")  # fmt: skip
        if not any(new.get(k) for k in ("content", "embeds", "attachments", "components",
                                         "sticker_items", "poll")):  # fmt: skip
            raise ApiError(400, 50006)
        return new

    def _blank(
        self, channel_id: str, msg_type: int, interaction: Interaction | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self._snowflake(), "channel_id": channel_id, "author": dict(self.bot_user),
            "content": "", "timestamp": now_iso(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": False, "type": msg_type, "flags": 0, "components": [],
        }  # fmt: skip
        if interaction is not None:
            member = interaction.payload["member"]
            metadata: dict[str, Any] = {
                "id": interaction.id, "type": interaction.type, "user": member["user"],
                "authorizing_integration_owners": {"0": GUILD_ID},
            }  # fmt: skip
            if interaction.type == 2:
                name = interaction.payload["data"]["name"]
                metadata["name"] = name
                message["interaction"] = {"id": interaction.id, "type": 2, "name": name,
                                          "user": member["user"]}  # fmt: skip
            elif interaction.type == 3 and "message" in interaction.payload:
                metadata["interacted_message_id"] = interaction.payload["message"]["id"]
            message |= {"webhook_id": APPLICATION_ID, "application_id": APPLICATION_ID,
                        "interaction_metadata": metadata}  # fmt: skip
        return message

    def _created(self, message: dict[str, Any]) -> dict[str, Any]:
        self.channel_messages[message["id"]] = message
        if not message["flags"] & EPHEMERAL:
            event = copy.deepcopy(message) | {"guild_id": GUILD_ID,
                                              "member": self._member(BOT_USER_ID)}  # fmt: skip
            event["member"].pop("user")
            self._dispatch("MESSAGE_CREATE", event, intent=GUILD_MESSAGES_INTENT)
        return message

    def _updated(self, message: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        message.clear()
        message.update(new)  # in place: Interaction.original/followups see the edit
        if not message["flags"] & EPHEMERAL:
            event = copy.deepcopy(message) | {"guild_id": GUILD_ID}
            self._dispatch("MESSAGE_UPDATE", event, intent=GUILD_MESSAGES_INTENT)
        return message

    def _deleted(self, message: dict[str, Any]) -> None:
        self.channel_messages.pop(message["id"], None)
        if not message["flags"] & EPHEMERAL:
            event = {
                "id": message["id"],
                "channel_id": message["channel_id"],
                "guild_id": GUILD_ID,
            }
            self._dispatch("MESSAGE_DELETE", event, intent=GUILD_MESSAGES_INTENT)
