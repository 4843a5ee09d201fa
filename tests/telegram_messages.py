"""Messages in the fake Telegram: reading parameters, finding the chat, and sending or editing
the bot's messages as Telegram checks them (a mixin of `FakeTelegram`).

Message ids grow per chat, `date` is the real time, bot messages have `from` = the bot; edits
behave like Telegram's: identical text and markup → 400 "message is not modified…", unknown →
"message to edit not found", a user's message → "message can't be edited", an edit without
`reply_markup` drops the keyboard. Sending to a chat the fake never saw → 400 "chat not found";
`blocked` chats → 403. `parse_mode` HTML tags are stripped, Markdown is kept verbatim. A
`force_reply` markup must say `true` and keep its placeholder to 64 characters.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

from tests.fakeserver import LoopbackServer
from tests.telegram_wire import NOT_MODIFIED, PLACEHOLDER_MAX, ApiError, Call, bad_request


class MessagesMixin(LoopbackServer):
    """The message store of `FakeTelegram`."""

    bot_user: dict[str, Any]
    messages: dict[tuple[int, int], dict[str, Any]]
    chats: dict[int, dict[str, Any]]
    blocked: set[int]

    def _new_message(
        self, chat: dict[str, Any], sender: dict[str, Any], extra: dict[str, Any]
    ) -> dict[str, Any]:
        message_id = self._count(f"chat{chat['id']}")
        message = {"message_id": message_id, "from": sender, "chat": chat,
                   "date": int(time.time())} | extra  # fmt: skip
        self.messages[(int(chat["id"]), message_id)] = message
        return message

    @staticmethod
    def _int(call: Call, name: str, default: int | None = None) -> int:
        value = call.params.get(name)
        if value is None or value == "":
            if default is None:
                raise bad_request(f"{name} is required")
            return default
        try:
            return int(value)
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def _chat(self, call: Call) -> dict[str, Any]:
        if not call.params.get("chat_id"):
            raise bad_request("chat_id is empty")
        chat = self.chats.get(call.chat_id) if call.chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        if chat["id"] in self.blocked:
            raise ApiError(
                403,
                "Forbidden: bot was blocked by the user"
                if chat["type"] == "private"
                else "Forbidden: bot was kicked from the group chat",
            )
        return chat

    def _markup(self, call: Call) -> dict[str, Any] | None:
        markup = call.json("reply_markup")
        if isinstance(markup, dict) and "force_reply" in markup:
            _check_force_reply(markup)
        if not isinstance(markup, dict) or not markup.get("inline_keyboard"):
            return None  # reply keyboards and force_reply are not part of the Message object
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
        return markup

    def _text(self, call: Call, name: str, limit: int) -> str | None:
        text = call.params.get(name)
        if text is None:
            return None
        if call.params.get("parse_mode", "").lower() == "html":
            text = html.unescape(re.sub(r"<[^>]*>", "", text))
        if len(text) > limit:
            raise bad_request(
                "message is too long" if name == "text" else "message caption is too long"
            )
        return text

    def _replied(self, chat_id: int, message_id: int) -> dict[str, Any]:
        replied = self.messages.get((chat_id, message_id))
        if replied is None:
            raise bad_request("message to be replied not found")
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _send(self, call: Call, extra: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(call)
        if (markup := self._markup(call)) is not None:
            extra["reply_markup"] = markup
        reply = call.json("reply_parameters") or {}
        if "reply_to_message_id" in call.params:
            reply = {"message_id": self._int(call, "reply_to_message_id")}
        if "message_id" in reply:
            try:
                extra["reply_to_message"] = self._replied(chat["id"], int(reply["message_id"]))
            except ApiError:
                if not reply.get("allow_sending_without_reply"):
                    raise
        return self._new_message(chat, self.bot_user, extra)

    def _to_edit(self, call: Call) -> tuple[tuple[int, int], dict[str, Any]]:
        """The message an editMessage* call names, as Telegram finds it: the bot's own."""
        self._chat(call)
        key = (call.chat_id or 0, self._int(call, "message_id"))
        message = self.messages.get(key)
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from") != self.bot_user:
            raise bad_request("message can't be edited")
        return key, message

    def _edited(self, call: Call, part: str) -> dict[str, Any] | bool:
        """Shared part of the editMessage* methods: find, compare, apply."""
        if "inline_message_id" in call.params:
            return True
        key, message = self._to_edit(call)
        new = dict(message)
        if part == "text":
            if "text" not in message:
                raise bad_request("there is no text in the message to edit")
            new["text"] = self._text(call, "text", 4096) or ""
            if not new["text"]:
                raise bad_request("message text is empty")
        elif part == "caption":
            if "text" in message:
                raise bad_request("there is no caption in the message to edit")
            new.pop("caption", None)
            if caption := self._text(call, "caption", 1024):
                new["caption"] = caption
        new.pop("reply_markup", None)
        if (markup := self._markup(call)) is not None:
            new["reply_markup"] = markup
        if new == message:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return new


def _check_force_reply(markup: dict[str, Any]) -> None:
    """A ForceReply as Telegram checks it: `force_reply` is true, the placeholder 1–64."""
    if markup.get("force_reply") is not True:
        raise bad_request("can't parse reply keyboard markup JSON object")
    placeholder = markup.get("input_field_placeholder")
    if placeholder is not None and not 1 <= len(str(placeholder)) <= PLACEHOLDER_MAX:
        raise bad_request("can't parse reply keyboard markup JSON object")
