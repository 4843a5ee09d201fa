"""Updates the fake Telegram queues for the bot, as a user's actions would make them: commands,
texts, photos, documents, button presses and edits (a mixin of `FakeTelegram`).

They are real Update JSON: a command has `entities[0]` = `bot_command` at offset 0 (UTF-16
lengths), as does a `/command` caption (`caption_entities`); a user's photo is a PhotoSize list,
smallest first; a reply carries `reply_to_message` (e.g. that photo); a button press is a
`callback_query` whose `message` is the current bot message.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.telegram_files import FilesMixin
from tests.telegram_wire import UploadedFile, image_size, utf16_len


class UpdatesMixin(FilesMixin):
    """The test API of `FakeTelegram` for what the bot receives."""

    messages: dict[tuple[int, int], dict[str, Any]]
    chats: dict[int, dict[str, Any]]
    users: dict[int, dict[str, Any]]
    updates: list[dict[str, Any]]
    _open_queries: set[str]
    webhook: dict[str, Any] | None

    def send_command(self, text: str, **kwargs: Any) -> int:
        """Queue a message whose first word is a command (`/story …` or `/story@bot …`)."""
        if not text.startswith("/"):
            raise ValueError(f"a command starts with '/': {text!r}")
        length = utf16_len(text.split(maxsplit=1)[0])
        entities = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.send_text(text, entities=entities, **kwargs)

    def send_text(
        self,
        text: str,
        *,
        chat_id: int = 4242,
        user_id: int = 4242,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Alice",
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> int:
        """Queue a text message from a user; returns its message_id."""
        extra: dict[str, Any] = {"text": text} | ({"entities": entities} if entities else {})
        return self._user_message(chat_id, user_id, chat_type, language_code, first_name,
                                  reply_to, extra)  # fmt: skip

    def send_photo(
        self,
        data: bytes,
        *,
        caption: str | None = None,
        chat_id: int = 4242,
        user_id: int = 4242,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Alice",
        reply_to: int | None = None,
    ) -> int:
        """Queue a photo with an optional caption (a `/command` caption gets its bot_command
        entity); each size is downloadable through getFile. Like Telegram, the `photo` list
        holds smaller JPEG renditions (sides 90, 320, 800) first and the largest size last;
        the largest is `data` itself (Telegram would re-encode it)."""
        stored = self._store(UploadedFile("photo.jpg", "image/jpeg", data), "photo")
        sizes = [*self._smaller_sizes(data), self._photo_size(stored)]
        extra = self._captioned({"photo": sizes}, caption)
        return self._user_message(chat_id, user_id, chat_type, language_code, first_name,
                                  reply_to, extra)  # fmt: skip

    def send_document(
        self,
        data: bytes,
        *,
        filename: str,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int = 4242,
        user_id: int = 4242,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Alice",
        reply_to: int | None = None,
    ) -> int:
        """Queue a file sent as a document (e.g. a picture sent "as file", kept byte for byte),
        with an optional caption; downloadable through getFile."""
        if mime_type is None:
            info = image_size(data)
            mime_type = f"image/{info[0].lower()}" if info else "application/octet-stream"
        stored = self._store(UploadedFile(filename, mime_type, data), "document")
        document = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
            "file_name": filename, "mime_type": mime_type, "file_size": len(data),
        }  # fmt: skip
        extra = self._captioned({"document": document}, caption)
        return self._user_message(chat_id, user_id, chat_type, language_code, first_name,
                                  reply_to, extra)  # fmt: skip

    @staticmethod
    def _captioned(extra: dict[str, Any], caption: str | None) -> dict[str, Any]:
        """`extra` with the caption, and a bot_command entity when it starts with `/`."""
        if not caption:
            return extra
        extra = extra | {"caption": caption}
        if caption.startswith("/"):
            length = utf16_len(caption.split(maxsplit=1)[0])
            extra["caption_entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return extra

    def press_button(
        self, *, chat_id: int, message_id: int, data: str, user_id: int = 4242
    ) -> str:
        """Queue a callback_query for a button of the bot's message; returns the query id."""
        message = self.messages.get((chat_id, message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        query_id = str(7_000_000 + self._count("query"))
        user = self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Alice"}
        self._open_queries.add(query_id)
        self._queue_update("callback_query", {
            "id": query_id, "from": user, "chat_instance": f"ci{chat_id}", "data": data,
            "message": json.loads(json.dumps(message)),
        })  # fmt: skip
        return query_id

    def add_chat(
        self, chat_id: int, chat_type: str = "private", *, name: str = "Alice"
    ) -> dict[str, Any]:
        """Make `chat_id` known (as if its user had written to the bot); returns the Chat."""
        if chat_type not in ("private", "group", "supergroup") or (
            (chat_type == "private") != (chat_id > 0)
        ):
            raise ValueError(f"chat {chat_id} cannot be of type {chat_type!r}")
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        chat |= {"first_name": name} if chat_type == "private" else {"title": name}
        self.chats[chat_id] = chat
        return chat

    def edit_user_message(self, chat_id: int, message_id: int, text: str) -> int:
        """Queue an `edited_message` update: the user changed the text of an earlier message."""
        message = dict(self.messages[(chat_id, message_id)])
        message |= {"text": text, "edit_date": int(time.time())}
        if text.startswith("/"):
            length = utf16_len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self.messages[(chat_id, message_id)] = message
        return self._queue_update("edited_message", message)

    def _user_message(
        self,
        chat_id: int,
        user_id: int,
        chat_type: str,
        language_code: str | None,
        first_name: str,
        reply_to: int | None,
        extra: dict[str, Any],
    ) -> int:
        chat = self.add_chat(chat_id, chat_type, name=first_name if chat_id > 0 else "Test group")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        if reply_to is not None:
            if (chat_id, reply_to) not in self.messages:
                raise KeyError(f"no message {reply_to} in chat {chat_id}")
            extra = extra | {"reply_to_message": self._replied(chat_id, reply_to)}
        message = self._new_message(chat, user, extra)
        self._queue_update("message", message)
        return int(message["message_id"])

    async def push_updates(self, base_url: str) -> list[int]:
        """Webhook mode: POST each queued update to the path of the webhook's URL on
        `base_url` (the load balancer's address here), with its secret token, as Telegram
        does; an update answered 2xx is confirmed. The HTTP statuses, in order."""
        if self.webhook is None:
            raise RuntimeError("no webhook is set")
        path = urlsplit(self.webhook["url"]).path
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret_token"] or ""}
        statuses = []
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            for update in list(self.updates):
                answer = await client.post(path, json=update, headers=headers)
                statuses.append(answer.status_code)
                if answer.is_success:
                    self.updates.remove(update)
        return statuses

    def _queue_update(self, key: str, payload: dict[str, Any]) -> int:
        update_id = self._count("update")
        self.updates.append({"update_id": update_id, key: payload})
        self._notify()
        return update_id
