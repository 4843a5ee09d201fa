"""The Bot API methods of the fake Telegram (a mixin of `FakeTelegram`): the name after
`_api_` is the method; dispatch is case-insensitive.

`getUpdates` long-polls: it holds up to `timeout` s, answers as soon as an update is queued,
drops updates below `offset` (a negative offset keeps the last -offset), honours `limit` and
`allowed_updates`, redelivers unconfirmed updates, and a newer poll ends an older one with 409
`Conflict`. Closing the server answers pending polls with `[]`. Albums (`sendMediaGroup`): 1–10
items of photo/video/audio/document (documents only with documents), each `attach://` part
present, checked before anything is sent; the messages share a `media_group_id` (a single item
is an ordinary message). `editMessageMedia` replaces a message's photo/video/… (an album item
only within its album's family: photos and videos together, audio, documents), its caption being
the new media's (none: removed; the wording of its errors is the fake's own).
`answerCallbackQuery` takes 0–200 characters of text.
`setWebhook` takes HTTPS URLs on Telegram's four ports and secret tokens
of its alphabet only; while a webhook is set, `getUpdates` is a 409. `conflicts` counts the 409s:
more than one consumer. Errors worded as TDLib's.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from tests.telegram_files import FilesMixin
from tests.telegram_wire import (
    ALBUM_KINDS,
    ALBUM_MAX,
    CALLBACK_ANSWER_MAX,
    CHAT_ACTIONS,
    CONFLICT,
    DOWNLOAD_LIMIT,
    EDIT_MEDIA_KINDS,
    QUERY_TOO_OLD,
    WEBHOOK_ACTIVE,
    ApiError,
    Call,
    StoredFile,
    bad_request,
)


class MethodsMixin(FilesMixin):
    """What `FakeTelegram` answers to each Bot API method."""

    bot_user: dict[str, Any]
    updates: list[dict[str, Any]]
    messages: dict[tuple[int, int], dict[str, Any]]
    files: dict[str, StoredFile]
    commands: dict[tuple[str, str], list[dict[str, Any]]]
    callback_answers: dict[str, dict[str, str]]
    _open_queries: set[str]
    _poll_generation: int
    webhook: dict[str, Any] | None
    conflicts: int

    def _api_getMe(self, call: Call) -> dict[str, Any]:
        return self.bot_user | {"can_join_groups": True, "can_read_all_group_messages": False,
                                "supports_inline_queries": False}  # fmt: skip

    def _api_deleteWebhook(self, call: Call) -> bool:
        if call.params.get("drop_pending_updates") == "true":
            self.updates.clear()
        self.webhook = None
        return True

    def _api_setWebhook(self, call: Call) -> bool:
        url = call.params.get("url", "")
        if not url:  # an empty URL removes the webhook
            return self._api_deleteWebhook(call)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in (443, 80, 88, 8443):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = call.params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = call.json("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        if call.params.get("drop_pending_updates") == "true":
            self.updates.clear()
        self.webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed or []}
        return True

    def _api_getWebhookInfo(self, call: Call) -> dict[str, Any]:
        hook = self.webhook or {"url": "", "allowed_updates": []}
        return {"url": hook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
                "allowed_updates": hook["allowed_updates"]}  # fmt: skip

    def _api_logOut(self, call: Call) -> bool:
        return True

    async def _api_getUpdates(self, call: Call) -> list[dict[str, Any]]:
        if self.webhook is not None:
            self.conflicts += 1
            raise ApiError(409, WEBHOOK_ACTIVE)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older poll still waiting now ends with 409
        offset = self._int(call, "offset", 0)
        if offset < 0:
            del self.updates[: max(0, len(self.updates) + offset)]
        elif offset:
            self.updates[:] = [u for u in self.updates if u["update_id"] >= offset]
        limit = min(max(self._int(call, "limit", 100), 1), 100)
        allowed = call.json("allowed_updates") or []
        try:  # an Integer for Telegram, but PTB sends e.g. "0.5" for a timedelta of 0.5 s
            timeout = float(call.params.get("timeout") or 0)
        except ValueError:
            raise bad_request('field "timeout" must be of type Integer') from None
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if generation != self._poll_generation:
                self.conflicts += 1  # two consumers at once: one bot instance too many
                raise ApiError(409, CONFLICT)
            if allowed:  # Telegram drops the kinds the bot did not ask for
                self.updates[:] = [u for u in self.updates if set(u) & set(allowed)]
            remaining = deadline - time.monotonic()
            if self.updates or remaining <= 0 or self._closing.is_set():
                return [json.loads(json.dumps(u)) for u in self.updates[:limit]]
            await self._wait_change(remaining)

    def _api_sendMessage(self, call: Call) -> dict[str, Any]:
        text = self._text(call, "text", 4096)
        if not text:
            raise bad_request("message text is empty")
        return self._send(call, {"text": text})

    def _api_editMessageText(self, call: Call) -> dict[str, Any] | bool:
        return self._edited(call, "text")

    def _api_editMessageCaption(self, call: Call) -> dict[str, Any] | bool:
        return self._edited(call, "caption")

    def _api_editMessageReplyMarkup(self, call: Call) -> dict[str, Any] | bool:
        return self._edited(call, "reply_markup")

    def _api_editMessageMedia(self, call: Call) -> dict[str, Any] | bool:
        """A message's media replaced (an upload, or a known file_id): the new media's caption
        replaces the old (none: removed), a keyboard not sent again is dropped."""
        if "media" not in call.params:
            raise bad_request('parameter "media" is required')
        item = call.json("media")
        if not isinstance(item, dict):
            raise bad_request("can't parse InputMedia JSON object")
        kind = str(item.get("type", ""))
        if kind not in EDIT_MEDIA_KINDS:
            raise bad_request(f'can\'t parse InputMedia: unsupported media type "{kind}"')
        if "inline_message_id" in call.params:
            return True
        key, message = self._to_edit(call)
        old = next((k for k in EDIT_MEDIA_KINDS if k in message), None)
        if old is None:
            raise bad_request("there is no media in the message to edit")
        if "media_group_id" in message and _family(old) != _family(kind):
            raise bad_request("can't edit a media album item to a media of another kind")
        media = item.get("media")
        if not media or (
            str(media).startswith("attach://")
            and str(media).removeprefix("attach://") not in call.files
        ):
            raise bad_request("can't parse InputMedia: media not found")
        new = {k: v for k, v in message.items() if k not in {old, "caption", "reply_markup"}}
        new |= self._media(call, kind, item | {kind: media}, "")
        if caption := item.get("caption"):
            if len(str(caption)) > 1024:
                raise bad_request("message caption is too long")
            new["caption"] = str(caption)
        if (markup := self._markup(call)) is not None:
            new["reply_markup"] = markup
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return new

    def _api_deleteMessage(self, call: Call) -> bool:
        self._chat(call)
        if self.messages.pop((call.chat_id or 0, self._int(call, "message_id")), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _api_sendChatAction(self, call: Call) -> bool:
        self._chat(call)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _api_sendVideo(self, call: Call) -> dict[str, Any]:
        return self._send_media(call, "video")

    def _api_sendDocument(self, call: Call) -> dict[str, Any]:
        return self._send_media(call, "document")

    def _api_sendPhoto(self, call: Call) -> dict[str, Any]:
        return self._send_media(call, "photo")

    def _api_sendMediaGroup(self, call: Call) -> list[dict[str, Any]]:
        """An album: each item is a message sharing one `media_group_id` (a single item is an
        ordinary message). Refused as a whole, before anything is sent, like Telegram."""
        if "media" not in call.params:
            raise bad_request('parameter "media" is required')
        items = call.json("media")
        if not isinstance(items, list) or not items:
            raise bad_request("there are no messages to send")
        if len(items) > ALBUM_MAX:
            raise bad_request("too many messages to send as an album")
        kinds = [str(item.get("type", "")) for item in items]
        if unknown := next((k for k in kinds if k not in ALBUM_KINDS), None):
            raise bad_request(f'can\'t parse InputMedia: type "{unknown}" can\'t be used in '
                       "sendMediaGroup")  # fmt: skip
        if "document" in kinds and set(kinds) != {"document"}:
            raise bad_request("document can't be mixed with other media types")
        self._chat(call)
        extras = []
        for item, kind in zip(items, kinds, strict=True):
            media = item.get("media")
            if not media or (
                str(media).startswith("attach://")
                and str(media).removeprefix("attach://") not in call.files
            ):
                raise bad_request("can't parse InputMedia: media not found")
            extra = self._media(call, kind, item | {kind: media}, "")
            if caption := item.get("caption"):
                if len(str(caption)) > 1024:
                    raise bad_request("message caption is too long")
                extra["caption"] = str(caption)
            extras.append(extra)
        album = (
            {"media_group_id": str(9_000_000 + self._count("album"))} if len(extras) > 1 else {}
        )
        return [self._send(call, extra | album) for extra in extras]

    def _api_answerCallbackQuery(self, call: Call) -> bool:
        query_id = call.params.get("callback_query_id", "")
        if query_id not in self._open_queries:
            raise bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        if len(call.params.get("text", "")) > CALLBACK_ANSWER_MAX:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = dict(call.params)
        return True

    def _commands_key(self, call: Call) -> tuple[str, str]:
        scope = call.json("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), call.params.get("language_code", "")

    def _api_setMyCommands(self, call: Call) -> bool:
        commands = call.json("commands", [])
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
        self.commands[self._commands_key(call)] = commands
        return True

    def _api_getMyCommands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(call), [])

    def _api_deleteMyCommands(self, call: Call) -> bool:
        self.commands.pop(self._commands_key(call), None)
        return True

    def _api_getFile(self, call: Call) -> dict[str, Any]:
        stored = self.files.get(call.params.get("file_id", ""))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data), "file_path": stored.file_path}  # fmt: skip


def _family(kind: str) -> str:
    """Which items may share an album: photos with videos; audio and documents on their own."""
    return "visual" if kind in ("photo", "video", "animation") else kind
