"""A fake Discord REST API + Gateway (aiohttp, one loopback port) that the real discord.py uses.

Point discord.py 2.7 at it before `login()` (both are class attributes; every Route, webhook and
interaction routes included, builds `BASE + path`, so these two patches cover everything):

    discord.http.Route.BASE = fake.api_base                      # http://127.0.0.1:PORT/api/v10
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

Faithful to the real service (as described in the project's discord-wire.md reference):

* Gateway (`/gateway`, JSON text frames; `compress=zlib-stream` is ignored, which discord.py
  accepts because it only inflates binary frames): HELLO (op 10) → IDENTIFY (op 2; a wrong token
  closes with 4004, a second IDENTIFY with 4005, anything but a heartbeat before it with 4003,
  invalid JSON with 4002, an unknown op with 4001) → READY (user, application, the guild as
  unavailable, session_id, resume_gateway_url) → GUILD_CREATE (a full guild: @everyone role, one
  text channel, every list field; `members` holds the bot, plus the test users only if the client
  asked for GUILD_PRESENCES, as Discord documents). Heartbeats (op 1) are answered with op 11;
  RESUME (op 6) of a known session gets RESUMED, an unknown one op 9. Dispatches carry a growing
  `s` per connection. INTERACTION_CREATE payloads have every field discord.py reads (`version`
  and `attachment_size_limit` included); non-ephemeral messages the bot creates, edits or deletes
  are echoed as MESSAGE_CREATE / MESSAGE_UPDATE / MESSAGE_DELETE to clients with GUILD_MESSAGES.
* REST: every answer is `Content-Type: application/json` exactly (no charset: discord.py compares
  with `==`) or an empty 204, and carries `Via: 1.1 google` like the real edge, so a scripted 429
  is honoured (sleep `retry_after`, re-send). Errors are `{"message": …, "code": …}` with the real
  codes: 10003 Unknown Channel, 10008 Unknown Message, 10015 Unknown Webhook, 10062 Unknown
  interaction, 40005 Request entity too large (413), 40060 already acknowledged, 50005 not your
  message, 50006 empty message, 50027 Invalid Webhook Token (401), 50035 Invalid Form Body (with
  `errors`), 50109 invalid JSON; a wrong `Authorization: Bot …` on bot routes → 401 `0`, which
  `login()` turns into LoginFailure. Interaction routes need no Authorization.
* Interactions: the initial callback (`with_response=1` → 200 `{"interaction", "resource"}`) is
  due within `ack_deadline_s` (3 s) of INTERACTION_CREATE, else 404 10062; a second one → 400
  40060; the callback type must suit the interaction (8 only for autocomplete, 6/7 only for
  components). A deferred (5) original has flag 128 LOADING until it is edited; the first
  followup after a thinking defer replaces the thinking message (same id). Webhook calls
  (`/webhooks/{app}/{token}…`) after `token_ttl_s` (15 min) or `expire_token` → 401 50027; a
  followup before the initial response → 404 10015.
* Messages have the full object shape (id, channel_id, author, content, timestamp,
  edited_timestamp, tts, mention_everyone, mentions, mention_roles, attachments, embeds, pinned,
  type, flags, components; interaction replies add webhook_id, application_id,
  interaction_metadata and interaction). Bodies are JSON or multipart (`payload_json` +
  `files[n]`); `attachments: [{"id": n}]` in an edit keeps the listed existing attachments and
  adds part `files[n]`, no `attachments` key appends the uploads. A file above the interaction's
  `attachment_size_limit` (webhook and callback routes) or `attachment_size_limit` of the fake
  (channel routes, 10 MiB by default) → 413 40005. Content above 2000 characters, more than 10
  attachments or embeds → 50035. Attachments can be downloaded from their `url`; a message's
  several files arrive as parts `files[0]`, `files[1]`… named in `payload_json` `attachments`,
  and each is kept (`Call.files`, `attachment_data`).
* Attachment options (type 11): `user_attachment(data, filename)` stands for a file a user
  picked in the command box; pass it as an option value (`{"image": fake.user_attachment(…)}`)
  and the option carries its id while `data.resolved.attachments` holds the object (`id`,
  `filename`, `size`, `url`, `proxy_url`, `content_type`, `width`/`height` for pictures,
  `ephemeral`). Its `url` points at this server (`/ephemeral-attachments/…`, signed with `ex`,
  `is` and `hm` like the CDN's; a wrong or missing signature → 404) and serves the bytes after
  `download_latency_s` (0 by default); every download is recorded in `downloads`.
* Application commands: `PUT` global or guild commands validates names/descriptions/option order
  lightly (→ 50035), echoes them with `id` (kept across syncs for the same name), `application_id`,
  `version`, and `guild_id` for guild commands. `send_command` fills in the registered command's
  id, `guild_id` and each option's type.

Test API: `calls`/`calls_to`/`wait_for` (every REST request as a `Call`), `wait_ready`,
`send_command`/`send_autocomplete`/`press_button` (each returns the `Interaction` record, also in
`interactions` by token), `user_attachment` (a file for an attachment option), `attachment_data`
(the bytes behind an attachment object), `downloads`, `channel_messages` (every message by id,
kept current), `commands`, `fail_next` (scripted errors, e.g. a 429 with or without `Via`),
`expire_token`, `gateway_log`, `identify`. Ids are the module constants (`APPLICATION_ID`,
`GUILD_ID`, `CHANNEL_ID`, `USER_ID`).

Simplified: one guild, one text channel, no DMs, threads, roles beyond @everyone, permission
checks or privileged-intent checks; no rate limits of its own (script them with `fail_next`) and
no `X-RateLimit-*` bucket headers; no heartbeat timeout, zlib compression, sharding, or replay of
missed events on RESUME; `mentions` is always empty and `allowed_mentions` is ignored; option
`resolved` data is made for attachments only (not users, roles or channels), and their signed
links never expire; modal submits (type 5) cannot be pushed (a type 9 callback is only
recorded); the 413 check is per file, not per request;
followups have message type 0 and edits always set `edited_timestamp`; snowflakes are time-based
but made by the fake, tokens are readable (`itok-3`).

Standalone: `python -m tests.discord_server --port 8082` prints the URLs and the token and serves
until Ctrl-C; lines typed on stdin become interactions (`/story theme="a cat" scenes=3` a slash
command, `image=@cat.png` a file for an attachment option, `press <message_id> <custom_id>` a
button press).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import datetime as dtm
import hashlib
import io
import json
import mimetypes
import re
import shlex
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote

from aiohttp import BodyPartReader, WSMsgType, web
from PIL import Image

API_VERSION = 10
DISCORD_EPOCH_MS = 1_420_070_400_000
APPLICATION_ID = "900000000000000001"
BOT_USER_ID = APPLICATION_ID  # a modern bot user shares its application's id
GUILD_ID = "800000000000000001"
CHANNEL_ID = "800000000000000002"
USER_ID = "700000000000000001"  # "alice", the guild owner and default interaction user
OTHER_USER_ID = "700000000000000002"  # "bob", a second member
PERMISSIONS = "2248473465835073"  # what the members and the app get (a realistic bit set)
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10_485_760  # 10 MiB since 2025-01-16
GUILD_MESSAGES_INTENT, GUILD_PRESENCES_INTENT = 1 << 9, 1 << 8
LOADING, EPHEMERAL, SUPPRESS_EMBEDS, COMPONENTS_V2 = 128, 64, 4, 1 << 15
SUPPRESS_NOTIFICATIONS = 1 << 12
MAX_CONTENT, MAX_ATTACHMENTS, MAX_EMBEDS = 2000, 10, 10
OPTION_TYPES = {bool: 5, int: 4, float: 10, str: 3}  # bool before int: isinstance order matters
ATTACHMENT_OPTION = 11
ATTACHMENT_URL_TTL_S = 86_400  # the CDN's signed links last about a day

ERROR_MESSAGES = {
    0: "", 10003: "Unknown Channel", 10008: "Unknown Message", 10015: "Unknown Webhook",
    10062: "Unknown interaction", 40005: "Request entity too large",
    40060: "Interaction has already been acknowledged.",
    50005: "Cannot edit a message authored by another user", 50006: "Cannot send an empty message",
    50013: "Missing Permissions", 50027: "Invalid Webhook Token", 50035: "Invalid Form Body",
    50109: "The request body contains invalid JSON.",
}  # fmt: skip
_DEFAULT_FAULT_BODIES: dict[int, dict[str, Any]] = {
    401: {"message": "401: Unauthorized", "code": 0},
    403: {"message": "Missing Permissions", "code": 50013},
    404: {"message": "404: Not Found", "code": 0},
    413: {"message": "Request entity too large", "code": 40005},
    429: {"message": "You are being rate limited.", "retry_after": 0.3, "global": False},
    500: {"message": "500: Internal Server Error", "code": 0},
}
# gateway close codes
CLOSE_UNKNOWN_OPCODE, CLOSE_DECODE_ERROR, CLOSE_NOT_AUTHENTICATED = 4001, 4002, 4003
CLOSE_AUTHENTICATION_FAILED, CLOSE_ALREADY_AUTHENTICATED = 4004, 4005
_CLOSE_REASONS = {
    4001: "Unknown opcode.", 4002: "Error while decoding payload.", 4003: "Not authenticated.",
    4004: "Authentication failed.", 4005: "Already authenticated.",
}  # fmt: skip


class ApiError(Exception):
    """An error answer: HTTP `status` with the JSON body `{"message", "code"[, "errors"]}`."""

    def __init__(
        self, status: int, code: int, message: str | None = None, errors: Any = None
    ) -> None:
        self.status, self.code = status, code
        self.message = message if message is not None else ERROR_MESSAGES.get(code, "")
        self.errors = errors
        super().__init__(f"{status} {code} {self.message}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        return body | ({"errors": self.errors} if self.errors is not None else {})


def _form_error(path: Sequence[str | int], code: str, message: str) -> ApiError:
    """A 50035 Invalid Form Body whose `errors` nest along `path` like Discord's."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return ApiError(400, 50035, errors=errors)


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part as received."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One REST request as received, and what was answered.

    `path` is relative to `/api/v10` (e.g. `/webhooks/9…/itok-1/messages/@original`); `json` is the
    decoded JSON body or, for multipart, the decoded `payload_json` part (None without either);
    `form` holds any other non-file parts.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    time: float
    json: Any = None
    files: dict[str, UploadedFile] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    status: int = 0  # 0 while being answered
    response: Any = None

    def get(self, key: str, default: Any = None) -> Any:
        """`json[key]` when the body is a JSON object, else `default`."""
        return self.json.get(key, default) if isinstance(self.json, dict) else default


@dataclass
class Interaction:
    """An interaction the fake pushed, and what the bot did with it.

    `original` and `followups` are the very message dicts kept in `FakeDiscord.channel_messages`
    (edited in place), `callback_type`/`callback_data` the initial response.
    """

    id: str
    token: str
    type: int
    payload: dict[str, Any]
    created: float  # time.monotonic() when pushed
    attachment_size_limit: int
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    acked_at: float | None = None
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    expired: bool = False

    @property
    def acked(self) -> bool:
        return self.acked_at is not None

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        """The autocomplete result (callback type 8), if any."""
        if self.callback_type != 8 or self.callback_data is None:
            return None
        return list(self.callback_data.get("choices", []))


@dataclass
class _Fault:
    method: str
    path_contains: str
    status: int
    body: dict[str, Any] | None
    via: bool
    remaining: int


@dataclass
class _Session:
    """One gateway connection."""

    ws: web.WebSocketResponse
    query: dict[str, str]
    outbox: asyncio.Queue[str | int] = field(default_factory=asyncio.Queue)
    session_id: str | None = None
    identify: dict[str, Any] | None = None
    seq: int = 0

    @property
    def intents(self) -> int:
        return int((self.identify or {}).get("intents") or 0)


def _now_iso() -> str:
    return dtm.datetime.now(dtm.UTC).isoformat()


def _custom_ids(components: list[dict[str, Any]]) -> set[str]:
    """Every custom_id in a component tree (action rows, containers, sections, …)."""
    found: set[str] = set()
    for component in components:
        if "custom_id" in component:
            found.add(str(component["custom_id"]))
        for key in ("components", "accessory"):
            children = component.get(key)
            if isinstance(children, dict):
                children = [children]
            found |= _custom_ids(children or [])
    return found


def _user(user_id: str, username: str, *, global_name: str | None, bot: bool) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id, "username": username, "discriminator": "0", "global_name": global_name,
        "avatar": None, "public_flags": 0, "flags": 0, "banner": None, "accent_color": None,
        "avatar_decoration_data": None,
    }  # fmt: skip
    return user | ({"bot": True} if bot else {})


class FakeDiscord:
    """The server: `async with FakeDiscord() as fake:`, then point discord.py at it."""

    application_id = APPLICATION_ID
    bot_user_id = BOT_USER_ID
    guild_id = GUILD_ID
    channel_id = CHANNEL_ID
    user_id = USER_ID
    other_user_id = OTHER_USER_ID

    def __init__(
        self,
        *,
        token: str = "bot-token-1",
        host: str = "127.0.0.1",
        port: int = 0,
        attachment_size_limit: int = DEFAULT_ATTACHMENT_SIZE_LIMIT,
        token_ttl_s: float = 900.0,
        ack_deadline_s: float = 3.0,
        heartbeat_interval_ms: int = 41_250,
        bot_name: str = "StoryBot",
        log: Callable[[Call], None] | None = None,
    ) -> None:
        self.token, self.host, self.port = token, host, port
        self.attachment_size_limit, self.token_ttl_s = attachment_size_limit, token_ttl_s
        self.ack_deadline_s, self.heartbeat_interval_ms = ack_deadline_s, heartbeat_interval_ms
        self.log = log
        self.bot_user = _user(BOT_USER_ID, bot_name, global_name=None, bot=True)
        self.users: dict[str, dict[str, Any]] = {
            USER_ID: _user(USER_ID, "alice", global_name="Alice", bot=False),
            OTHER_USER_ID: _user(OTHER_USER_ID, "bob", global_name="Bob", bot=False),
        }
        self.joined_at = _now_iso()
        self.calls: list[Call] = []
        self.interactions: dict[str, Interaction] = {}  # by token
        self.channel_messages: dict[str, dict[str, Any]] = {}  # every message, ephemeral too
        self.attachments: dict[str, UploadedFile] = {}  # by attachment id, for downloads
        self.user_attachments: dict[str, dict[str, Any]] = {}  # option attachments, by id
        self.downloads: list[str] = []  # the path of every attachment download
        self.download_latency_s = 0.0  # how long the CDN takes to serve an attachment
        self._signatures: dict[str, str] = {}  # attachment id → `hm` of its signed URL
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[str, list[dict[str, Any]]] = {}
        self.gateway_log: list[tuple[str, dict[str, Any]]] = []  # ("in"|"out", frame)
        self.identify: dict[str, Any] | None = None  # the last IDENTIFY's `d`
        self._sessions: list[_Session] = []
        self._known_sessions: set[str] = set()
        self._faults: list[_Fault] = []
        self._counters: dict[str, int] = {}
        self._last_snowflake = 0
        self._changed = asyncio.Event()
        self._ready = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- life cycle

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The registered commands: global ones, then every guild's (those have `guild_id`)."""
        guild = [c for commands in self.guild_commands.values() for c in commands]
        return [*self.global_commands, *guild]

    async def start(self) -> None:
        limit = max(self.attachment_size_limit, 104_857_600)  # room for a tier-3 upload limit
        app = web.Application(client_max_size=limit + 16 * 1024**2)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel}/{id}/{filename}", self._download)
        app.router.add_get("/ephemeral-attachments/{channel}/{id}/{filename}", self._download)
        app.router.add_route("*", f"/api/v{API_VERSION}/{{tail:.*}}", self._rest)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for session in list(self._sessions):
            session.outbox.put_nowait(1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test API: inspection and scripting

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
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls:
                wanted = (call.status or not answered) and self._matches(
                    call, method, path_contains
                )
                if wanted and (predicate is None or predicate(call)):
                    return call
            if (remaining := deadline - time.monotonic()) <= 0:
                seen = ", ".join(f"{c.method} {c.path}={c.status}" for c in self.calls[-20:])
                raise AssertionError(
                    f"no {method} …{path_contains}… within {timeout} s; calls: {seen}"
                )
            await self._wait_change(remaining)

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
    ) -> None:
        """Answer the next `times` matching requests with `status` and `body` (a default per
        status, e.g. 429 `retry_after` 0.3). `via=False` drops the `Via` header, which makes
        discord.py treat a 429 as a Cloudflare ban (HTTPException at once)."""
        self._faults.append(_Fault(method.upper(), path_contains, status, body, via, times))

    def expire_token(self, token: str) -> None:
        """From now on, this interaction's webhook calls get 401 50027 Invalid Webhook Token."""
        self.interactions[token].expired = True

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
    ) -> Interaction:
        """Push a chat-input command (INTERACTION_CREATE type 2).

        `options` is `{name: value}` (types from the synced command, else from the value) or the
        raw option list (`{"name", "type", "value"}` or sub-commands with their own `options`).
        """
        data = self._command_data(name, options, None)
        return self._push(2, data, user_id=user_id, locale=locale,
                          attachment_size_limit=attachment_size_limit)  # fmt: skip

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
        if custom_id not in _custom_ids(message.get("components") or []):
            raise KeyError(f"message {message_id} has no component {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return self._push(3, data, user_id=user_id, locale=locale,
                          message=copy.deepcopy(message))  # fmt: skip

    # -- payloads

    def _member(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id) or _user(user_id, f"user{user_id[-4:]}", global_name=None,
                                                bot=False)  # fmt: skip
        return {
            "user": user, "roles": [], "nick": None, "avatar": None, "banner": None,
            "joined_at": self.joined_at, "premium_since": None, "deaf": False, "mute": False,
            "pending": False, "flags": 0, "communication_disabled_until": None,
        }  # fmt: skip

    def _channel(self) -> dict[str, Any]:
        return {
            "id": CHANNEL_ID, "type": 0, "guild_id": GUILD_ID, "name": "general", "position": 0,
            "permission_overwrites": [], "topic": None, "nsfw": False, "last_message_id": None,
            "rate_limit_per_user": 0, "parent_id": None, "flags": 0,
        }  # fmt: skip

    def _guild(self, intents: int) -> dict[str, Any]:
        everyone = {
            "id": GUILD_ID, "name": "@everyone", "permissions": PERMISSIONS, "position": 0,
            "color": 0, "colors": {"primary_color": 0, "secondary_color": None,
                                   "tertiary_color": None},
            "hoist": False, "managed": False, "mentionable": False, "icon": None,
            "unicode_emoji": None, "flags": 0,
        }  # fmt: skip
        members = [self._member(BOT_USER_ID) | {"user": self.bot_user}]
        if intents & GUILD_PRESENCES_INTENT:  # without it Discord sends only the bot (and voice)
            members += [self._member(uid) for uid in self.users]
        return {
            "id": GUILD_ID, "name": "StoryBot Test", "icon": None, "splash": None,
            "discovery_splash": None, "owner_id": USER_ID, "afk_channel_id": None,
            "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "roles": [everyone], "emojis": [], "features": [],
            "mfa_level": 0, "application_id": None, "system_channel_id": CHANNEL_ID,
            "system_channel_flags": 0, "rules_channel_id": None, "max_presences": None,
            "max_members": 500000, "vanity_url_code": None, "description": None,
            "banner": None, "premium_tier": 0, "premium_subscription_count": 0,
            "preferred_locale": "en-US", "public_updates_channel_id": None,
            "max_video_channel_users": 25, "max_stage_video_channel_users": 50, "nsfw_level": 0,
            "stickers": [], "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None, "incidents_data": None,
            "joined_at": self.joined_at, "large": False, "unavailable": False, "lazy": True,
            "member_count": 1 + len(self.users), "voice_states": [], "members": members,
            "channels": [self._channel()], "threads": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
        }  # fmt: skip

    def _application(self) -> dict[str, Any]:
        return {
            "id": APPLICATION_ID, "name": self.bot_user["username"], "icon": None,
            "description": "", "summary": "", "type": None, "bot_public": True,
            "bot_require_code_grant": False, "owner": self.users[USER_ID], "team": None,
            "verify_key": "0" * 64, "flags": 0, "bot": self.bot_user, "tags": [],
            "redirect_uris": [], "interactions_endpoint_url": None,
            "role_connections_verification_url": None, "approximate_guild_count": 1,
            "hook": True, "integration_types_config": {"0": {}},
        }  # fmt: skip

    def _find_command(self, name: str) -> dict[str, Any] | None:
        for command in self.guild_commands.get(GUILD_ID, []) + self.global_commands:
            if command["name"] == name and command.get("type", 1) == 1:
                return command
        return None

    def _command_data(
        self, name: str, options: list[dict[str, Any]] | dict[str, Any] | None, focused: str | None
    ) -> dict[str, Any]:
        registered = self._find_command(name)
        definitions = {o["name"]: o for o in (registered or {}).get("options", [])}
        if isinstance(options, dict):
            options = [{"name": k, "value": v} for k, v in options.items()]
        built = [dict(o) for o in options or []]
        resolved: dict[str, dict[str, Any]] = {}
        for option in built:
            value = option.get("value")
            if isinstance(value, dict):  # an attachment object from `user_attachment`
                option |= {"type": ATTACHMENT_OPTION, "value": str(value["id"])}
            if option.get("type") == ATTACHMENT_OPTION:
                known = self.user_attachments.get(str(option["value"]))
                if known is not None:
                    resolved[str(option["value"])] = copy.deepcopy(known)
        if focused is not None and not any(o["name"] == focused for o in built):
            built.append({"name": focused, "value": ""})
        for option in built:
            if "type" not in option:
                known = definitions.get(option["name"], {}).get("type")
                inferred = next((t for k, t in OPTION_TYPES.items()
                                 if isinstance(option.get("value"), k)), 3)  # fmt: skip
                option["type"] = known or inferred
            if option["name"] == focused:
                option["focused"] = True
        data: dict[str, Any] = {
            "id": registered["id"] if registered else self._stable_id(f"command:{name}"),
            "name": name, "type": 1, "options": built,
        }  # fmt: skip
        if resolved:
            data["resolved"] = {"attachments": resolved}
        if registered and registered.get("guild_id"):
            data["guild_id"] = registered["guild_id"]
        return data

    def _push(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user_id: str,
        locale: str,
        attachment_size_limit: int | None = None,
        message: dict[str, Any] | None = None,
    ) -> Interaction:
        interaction_id = self._snowflake()
        token = f"itok-{self._count('interaction')}"
        limit = attachment_size_limit or self.attachment_size_limit
        payload: dict[str, Any] = {
            "id": interaction_id, "application_id": APPLICATION_ID, "type": kind,
            "token": token, "version": 1, "guild_id": GUILD_ID, "channel_id": CHANNEL_ID,
            "channel": self._channel(),
            "guild": {"id": GUILD_ID, "locale": "en-US", "features": []},
            "member": self._member(user_id) | {"permissions": PERMISSIONS},
            "locale": locale, "guild_locale": "en-US", "app_permissions": PERMISSIONS,
            "entitlements": [], "authorizing_integration_owners": {"0": GUILD_ID},
            "context": 0, "attachment_size_limit": limit, "data": data,
        }  # fmt: skip
        if message is not None:
            payload["message"] = message
        interaction = Interaction(interaction_id, token, kind, payload, time.monotonic(), limit)
        if not self._dispatch("INTERACTION_CREATE", payload):
            raise RuntimeError("no identified gateway client to send the interaction to")
        self.interactions[token] = interaction  # before the client can answer: frames are queued
        return interaction

    # -- gateway

    def _dispatch(self, event: str, data: dict[str, Any], *, intent: int = 0) -> int:
        """Send a DISPATCH to every identified session (with `intent`, if given); how many."""
        sent = 0
        for session in self._sessions:
            if session.session_id is None or (intent and not session.intents & intent):
                continue
            session.seq += 1
            self._send(session, {"op": 0, "t": event, "s": session.seq, "d": data})
            sent += 1
        return sent

    def _send(self, session: _Session, frame: dict[str, Any]) -> None:
        self.gateway_log.append(("out", frame))
        session.outbox.put_nowait(json.dumps(frame))  # serialised now: later edits don't leak

    def _close(self, session: _Session, code: int) -> None:
        session.outbox.put_nowait(code)

    async def _writer(self, session: _Session) -> None:
        while True:
            item = await session.outbox.get()
            if isinstance(item, int):
                reason = _CLOSE_REASONS.get(item, "").encode()
                await session.ws.close(code=item, message=reason)
                return
            await session.ws.send_str(item)
            if '"t": "GUILD_CREATE"' in item:
                self._ready.set()

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = _Session(ws, dict(request.query))
        self._sessions.append(session)
        writer = asyncio.create_task(self._writer(session))
        heartbeat = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gw"]}
        self._send(session, {"op": 10, "d": heartbeat, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    self._close(session, CLOSE_DECODE_ERROR)
                    continue
                try:
                    frame = json.loads(msg.data)
                    op = frame["op"]
                except (ValueError, KeyError, TypeError):
                    self._close(session, CLOSE_DECODE_ERROR)
                    continue
                self.gateway_log.append(("in", frame))
                self._on_frame(session, op, frame.get("d"))
        finally:
            self._sessions.remove(session)
            if not ws.closed:  # a close frame of ours may still be queued: let it out
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(writer), 1.0)
            writer.cancel()
        return ws

    def _on_frame(self, session: _Session, op: int, data: Any) -> None:
        if op == 1:  # heartbeat
            self._send(session, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:  # identify
            self._identify(session, data if isinstance(data, dict) else {})
        elif op == 6:  # resume
            self._resume(session, data if isinstance(data, dict) else {})
        elif session.session_id is None:
            self._close(session, CLOSE_NOT_AUTHENTICATED)
        elif op not in (3, 4, 8, 31):  # presence, voice state, request members, soundboard
            self._close(session, CLOSE_UNKNOWN_OPCODE)

    def _identify(self, session: _Session, data: dict[str, Any]) -> None:
        if session.session_id is not None:
            self._close(session, CLOSE_ALREADY_AUTHENTICATED)
            return
        token = str(data.get("token", "")).removeprefix("Bot ")
        if token != self.token:
            self._close(session, CLOSE_AUTHENTICATION_FAILED)
            return
        self.identify = session.identify = data
        session.session_id = f"session-{self._count('session')}"
        self._known_sessions.add(session.session_id)
        ready: dict[str, Any] = {
            "v": API_VERSION, "user_settings": {},
            "user": self.bot_user | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": GUILD_ID, "unavailable": True}],
            "session_id": session.session_id, "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": APPLICATION_ID, "flags": 0},
            "private_channels": [], "relationships": [], "presences": [],
            "guild_join_requests": [], "geo_ordered_rtc_regions": ["fake"], "_trace": ["fake"],
        }  # fmt: skip
        if "shard" in data:
            ready["shard"] = data["shard"]
        session.seq += 1
        self._send(session, {"op": 0, "t": "READY", "s": session.seq, "d": ready})
        session.seq += 1
        self._send(
            session,
            {"op": 0, "t": "GUILD_CREATE", "s": session.seq, "d": self._guild(session.intents)},
        )

    def _resume(self, session: _Session, data: dict[str, Any]) -> None:
        token = str(data.get("token", "")).removeprefix("Bot ")
        if token != self.token or data.get("session_id") not in self._known_sessions:
            self._send(session, {"op": 9, "d": False, "s": None, "t": None})
            return
        session.session_id = str(data["session_id"])
        session.identify = self.identify
        session.seq = int(data.get("seq") or 0) + 1
        self._send(session, {"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})

    # -- REST plumbing

    _ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", r"/users/@me", "_get_me"),
        ("GET", r"/oauth2/applications/@me", "_get_application"),
        ("GET", r"/gateway(?:/bot)?", "_get_gateway"),
        ("GET PUT", r"/applications/(?P<app>\d+)/commands", "_commands_route"),
        ("GET PUT", r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands",
         "_commands_route"),
        ("POST", r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", "_callback"),
        ("POST", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)", "_followup"),
        ("GET PATCH DELETE", r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/"
         r"(?P<mid>@original|\d+)", "_webhook_message"),
        ("GET", r"/channels/(?P<cid>\d+)", "_get_channel"),
        ("GET POST", r"/channels/(?P<cid>\d+)/messages", "_channel_messages"),
        ("GET PATCH DELETE", r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)", "_channel_message"),
        ("POST", r"/channels/(?P<cid>\d+)/typing", "_typing"),
    )  # fmt: skip
    _NO_AUTH = re.compile(r"/(interactions|webhooks/\d+/[^/]+)(/|$)")

    @staticmethod
    def _matches(call: Call, method: str, path_contains: str) -> bool:
        return call.method == method.upper() and path_contains in call.path

    async def _rest(self, request: web.Request) -> web.Response:
        call = Call(request.method, "/" + request.match_info["tail"], dict(request.query),
                    dict(request.headers), time.monotonic())  # fmt: skip
        self.calls.append(call)
        headers: dict[str, str] = {"Via": "1.1 google"}
        body: Any
        try:
            await self._read(request, call)
            self._notify()  # for wait_for(answered=False)
            if (fault := self._take_fault(call)) is not None:
                status, body = fault.status, copy.deepcopy(fault.body)
                if body is None:
                    body = dict(_DEFAULT_FAULT_BODIES.get(status) or
                                {"message": f"{status}: Error", "code": 0})  # fmt: skip
                if status == 429:
                    headers["X-RateLimit-Scope"] = "user"
                    headers["Retry-After"] = str(max(1, round(float(body.get("retry_after", 1)))))
                    if body.get("global"):
                        headers["X-RateLimit-Global"] = "true"
                if not fault.via:
                    del headers["Via"]
            else:
                status, body = await self._route(call)
        except ApiError as exc:
            status, body = exc.status, exc.body()
        except Exception as exc:  # a bug in the fake: say so loudly, like a 500
            traceback.print_exc()
            status, body = 500, {"message": f"500: fake server error {exc!r}", "code": 0}
        call.status, call.response = status, body
        self._notify()
        if self.log is not None:
            self.log(call)
        if body is None:
            return web.Response(status=status, headers=headers)
        # not web.json_response: its "application/json; charset=utf-8" makes discord.py skip JSON
        return web.Response(status=status, body=json.dumps(body).encode(),
                            content_type="application/json", headers=headers)  # fmt: skip

    async def _read(self, request: web.Request, call: Call) -> None:
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is None:
                    text = await part.text()
                    if part.name == "payload_json":
                        call.json = self._decode(text)
                    else:
                        call.form[part.name] = text
                else:
                    data = bytes(await part.read(decode=True))
                    ctype = part.headers.get("Content-Type", "application/octet-stream")
                    call.files[part.name] = UploadedFile(part.filename, ctype, data)
        elif request.can_read_body:
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge as exc:
                raise ApiError(413, 40005) from exc
            if request.content_type == "application/json" and raw:
                call.json = self._decode(raw.decode())
            elif raw:
                call.form.update(parse_qsl(raw.decode(), keep_blank_values=True))

    @staticmethod
    def _decode(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            raise ApiError(400, 50109) from None

    def _take_fault(self, call: Call) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and self._matches(call, fault.method, fault.path_contains):
                fault.remaining -= 1
                if not fault.remaining:
                    self._faults.remove(fault)
                return fault
        return None

    async def _route(self, call: Call) -> tuple[int, Any]:
        allowed: list[str] = []
        for methods, pattern, name in self._ROUTES:
            match = re.fullmatch(pattern, call.path)
            if match is None:
                continue
            allowed += methods.split()
            if call.method not in methods.split():
                continue
            if not self._NO_AUTH.match(call.path) and (
                call.headers.get("Authorization") != f"Bot {self.token}"
            ):
                raise ApiError(401, 0, "401: Unauthorized")
            handler: Callable[[Call, dict[str, str]], Any] = getattr(self, name)
            result = handler(call, match.groupdict())
            if asyncio.iscoroutine(result):
                result = await result
            return result  # type: ignore[no-any-return]
        if allowed:
            raise ApiError(405, 0, "405: Method Not Allowed")
        raise ApiError(404, 0, "404: Not Found")

    async def _download(self, request: web.Request) -> web.Response:
        attachment_id = request.match_info["id"]
        stored = self.attachments.get(attachment_id)
        signature = self._signatures.get(attachment_id)
        ephemeral = request.path.startswith("/ephemeral-attachments/")
        if (
            stored is None
            or ephemeral != (signature is not None)
            or (ephemeral and request.query.get("hm") != signature)
        ):
            return web.Response(status=404, text="This content is no longer available.")
        self.downloads.append(request.path)
        await asyncio.sleep(self.download_latency_s)
        return web.Response(body=stored.data, content_type=stored.content_type)

    async def _not_found(self, request: web.Request) -> web.Response:
        body = json.dumps({"message": "404: Not Found", "code": 0}).encode()
        return web.Response(status=404, body=body, content_type="application/json",
                            headers={"Via": "1.1 google"})  # fmt: skip

    # -- messages

    def _count(self, name: str) -> int:
        self._counters[name] = self._counters.get(name, 0) + 1
        return self._counters[name]

    def _snowflake(self) -> str:
        value = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last_snowflake = max(value, self._last_snowflake + 1)
        return str(self._last_snowflake)

    def _stable_id(self, key: str) -> str:
        return str(10**17 + self._counters.setdefault(key, len(self._counters) + 1))

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def _attachments(
        self, call: Call, existing: list[dict[str, Any]], limit: int, channel_id: str
    ) -> list[dict[str, Any]] | None:
        """The message's new attachment list, or None when the request leaves it unchanged."""
        for upload in call.files.values():
            if len(upload.data) > limit:
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
                raise _form_error(["attachments", index, "id"], "ATTACHMENT_NOT_FOUND",
                                  "Unknown attachment")  # fmt: skip
            result.append(self._store(unused.pop(part), channel_id, spec.get("filename"),
                                      spec.get("description")))  # fmt: skip
        result += [self._store(upload, channel_id, None, None) for upload in unused.values()]
        if len(result) > MAX_ATTACHMENTS:
            raise _form_error(["attachments"], "BASE_TYPE_MAX_LENGTH",
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
        attachments = self._attachments(call, new["attachments"], limit, new["channel_id"])
        if attachments is not None:
            new["attachments"] = attachments
        if editing:
            new["edited_timestamp"] = _now_iso()
        if len(new["content"]) > MAX_CONTENT:
            raise _form_error(["content"], "BASE_TYPE_MAX_LENGTH",
                              f"Must be {MAX_CONTENT} or fewer in length.")  # fmt: skip
        if len(new["embeds"]) > MAX_EMBEDS:
            raise _form_error(["embeds"], "BASE_TYPE_MAX_LENGTH",
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
            "content": "", "timestamp": _now_iso(), "edited_timestamp": None, "tts": False,
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

    # -- REST: bot, application, commands

    def _get_me(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        return 200, self.bot_user | {"verified": True, "mfa_enabled": False, "email": None}

    def _get_application(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        return 200, self._application()

    def _get_gateway(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        body: dict[str, Any] = {"url": self.gateway_url}
        if call.path.endswith("/bot"):
            body |= {"shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1,
            }}  # fmt: skip
        return 200, body

    def _commands_route(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        if m["app"] != APPLICATION_ID:
            raise ApiError(403, 50001, "Missing Access")
        guild = m.get("guild")
        if guild is not None and guild != GUILD_ID:
            raise ApiError(403, 50001, "Missing Access")
        current = self.guild_commands.get(guild, []) if guild else self.global_commands
        if call.method == "GET":
            return 200, current
        if not isinstance(call.json, list):
            raise _form_error([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        self._validate_commands(call.json)
        old = {(c["name"], c.get("type", 1)): c["id"] for c in current}
        echoed = []
        for command in call.json:
            kind = int(command.get("type", 1))
            entry = {
                "type": kind, "default_member_permissions": None, "nsfw": False,
                "contexts": None, "integration_types": [0], "name_localizations": None,
                "description_localizations": None, "description": "", "options": [],
            } | command  # fmt: skip
            entry |= {"id": old.get((command["name"], kind)) or self._snowflake(),
                      "application_id": APPLICATION_ID, "version": self._snowflake()}  # fmt: skip
            if guild:
                entry["guild_id"] = guild
            echoed.append(entry)
        if guild:
            self.guild_commands[guild] = echoed
        else:
            self.global_commands = echoed
        return 200, echoed

    def _validate_commands(self, commands: list[Any]) -> None:
        if len(commands) > 100:
            raise _form_error([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        seen: set[tuple[str, int]] = set()
        for index, command in enumerate(commands):
            name, kind = str(command.get("name", "")), int(command.get("type", 1))
            bad = not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower()
            if bad if kind == 1 else not 1 <= len(name) <= 32:
                raise _form_error([index, "name"], "APPLICATION_COMMAND_INVALID_NAME",
                                  "Command name is invalid")  # fmt: skip
            if (name, kind) in seen:
                raise _form_error([index, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME",
                                  "Application command names must be unique")  # fmt: skip
            seen.add((name, kind))
            if kind == 1:
                self._validate_options(command, [index])

    def _validate_options(self, parent: dict[str, Any], path: list[str | int]) -> None:
        description = str(parent.get("description", ""))
        if not 1 <= len(description) <= 100:
            raise _form_error([*path, "description"], "BASE_TYPE_BAD_LENGTH",
                              "Must be between 1 and 100 in length.")  # fmt: skip
        options = parent.get("options") or []
        if len(options) > 25:
            raise _form_error([*path, "options"], "BASE_TYPE_MAX_LENGTH",
                              "Must be 25 or fewer in length.")  # fmt: skip
        optional_seen = False
        for index, option in enumerate(options):
            where = [*path, "options", index]
            if option.get("type") in (1, 2):
                self._validate_options(option, where)
                continue
            if not re.fullmatch(r"[-_\w]{1,32}", str(option.get("name", ""))):
                raise _form_error([*where, "name"], "APPLICATION_COMMAND_INVALID_NAME",
                                  "Command name is invalid")  # fmt: skip
            if option.get("required"):
                if optional_seen:
                    raise _form_error([*path, "options"], "APPLICATION_COMMAND_OPTIONS_"
                                      "REQUIRED_INVALID", "Required options must be placed "
                                      "before non-required options")  # fmt: skip
            else:
                optional_seen = True
            if len(option.get("choices") or []) > 25:
                raise _form_error([*where, "choices"], "BASE_TYPE_MAX_LENGTH",
                                  "Must be 25 or fewer in length.")  # fmt: skip
            self._validate_options({"description": option.get("description", "")}, where)

    # -- REST: interactions

    def _live(self, token: str) -> Interaction:
        """The interaction behind a webhook token, or 401 50027 when unknown or expired."""
        interaction = self.interactions.get(token)
        if (
            interaction is None
            or interaction.expired
            or (time.monotonic() - interaction.created > self.token_ttl_s)
        ):
            raise ApiError(401, 50027)
        return interaction

    def _callback(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        interaction = self.interactions.get(m["token"])
        if interaction is None or interaction.id != m["iid"] or interaction.expired:
            raise ApiError(404, 10062)
        if interaction.acked:
            raise ApiError(400, 40060)
        if time.monotonic() - interaction.created > self.ack_deadline_s:
            raise ApiError(404, 10062)
        kind = int(call.get("type", 0))
        allowed = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}
        if kind not in allowed.get(interaction.type, ()):
            raise _form_error(["type"], "INTERACTION_CALLBACK_TYPE_INVALID",
                              "Invalid callback type for this interaction")  # fmt: skip
        data = call.get("data") or {}
        if kind == 8 and len(data.get("choices") or []) > 25:
            raise _form_error(["data", "choices"], "BASE_TYPE_MAX_LENGTH",
                              "Must be 25 or fewer in length.")  # fmt: skip
        message: dict[str, Any] | None = None
        limit = interaction.attachment_size_limit
        inner = Call(call.method, call.path, {}, {}, call.time, json=data, files=call.files)
        if kind in (4, 5):
            msg_type = 20 if interaction.type == 2 else 0
            blank = self._blank(CHANNEL_ID, msg_type, interaction)
            blank["flags"] = int(data.get("flags") or 0) & EPHEMERAL
            if kind == 4:
                message = self._compose(inner, blank, limit=limit, editing=False,
                                        allowed_flags=EPHEMERAL | SUPPRESS_EMBEDS |
                                        SUPPRESS_NOTIFICATIONS | COMPONENTS_V2)  # fmt: skip
            else:
                message = blank | {"flags": blank["flags"] | LOADING}
            interaction.original = self._created(message)
        elif kind in (6, 7):
            target_id = interaction.payload.get("message", {}).get("id")
            target = self.channel_messages.get(str(target_id))
            if target is None:
                raise ApiError(404, 10008)
            interaction.original = target
            if kind == 7:
                new = self._compose(inner, target, limit=limit, editing=True,
                                    allowed_flags=SUPPRESS_EMBEDS)  # fmt: skip
                message = self._updated(target, new)
        interaction.callback_type, interaction.callback_data = kind, data
        interaction.acked_at = time.monotonic()
        described: dict[str, Any] = {"id": interaction.id, "type": interaction.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            described |= {
                "response_message_id": message["id"],
                "response_message_loading": bool(message["flags"] & LOADING),
                "response_message_ephemeral": bool(message["flags"] & EPHEMERAL),
            }
            resource["message"] = message  # fmt: skip
        if call.query.get("with_response") in ("1", "true", "True"):
            return 200, {"interaction": described, "resource": resource}
        return 204, None

    def _followup(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        if m["app"] != APPLICATION_ID:
            raise ApiError(404, 10015)
        interaction = self._live(m["token"])
        if not interaction.acked:
            raise ApiError(404, 10015)
        limit = interaction.attachment_size_limit
        original = interaction.original
        if original is not None and original["flags"] & LOADING:
            # the first followup after a thinking defer becomes the response (keeps its flags)
            new = self._compose(call, original, limit=limit, editing=False,
                                allowed_flags=SUPPRESS_EMBEDS)  # fmt: skip
            message = self._updated(original, new)
        else:
            blank = self._blank(CHANNEL_ID, 0, interaction)
            message = self._compose(call, blank, limit=limit, editing=False,
                                    allowed_flags=EPHEMERAL | SUPPRESS_EMBEDS |
                                    SUPPRESS_NOTIFICATIONS | COMPONENTS_V2)  # fmt: skip
            interaction.followups.append(self._created(message))
        if call.query.get("wait") in ("1", "true", "True"):
            return 200, message
        return 204, None

    def _webhook_message(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        if m["app"] != APPLICATION_ID:
            raise ApiError(404, 10015)
        interaction = self._live(m["token"])
        if m["mid"] == "@original":
            message = interaction.original
        else:
            own = [interaction.original, *interaction.followups]
            message = next((x for x in own if x is not None and x["id"] == m["mid"]), None)
        if message is None or message["id"] not in self.channel_messages:
            raise ApiError(404, 10008)
        if call.method == "GET":
            return 200, message
        if call.method == "DELETE":
            self._deleted(message)
            return 204, None
        new = self._compose(call, message, limit=interaction.attachment_size_limit,
                            editing=True, allowed_flags=SUPPRESS_EMBEDS)  # fmt: skip
        return 200, self._updated(message, new)

    # -- REST: channels

    def _check_channel(self, channel_id: str) -> None:
        if channel_id != CHANNEL_ID:
            raise ApiError(404, 10003)

    def _get_channel(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        self._check_channel(m["cid"])
        return 200, self._channel()

    def _channel_messages(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        self._check_channel(m["cid"])
        if call.method == "GET":
            limit = int(call.query.get("limit", "50"))
            found = [x for x in self.channel_messages.values()
                     if x["channel_id"] == m["cid"] and not x["flags"] & EPHEMERAL]  # fmt: skip
            return 200, sorted(found, key=lambda x: int(x["id"]), reverse=True)[:limit]
        reply = call.get("message_reference")
        blank = self._blank(m["cid"], 19 if reply else 0, None)
        if reply:
            blank["message_reference"] = reply | {"channel_id": m["cid"], "guild_id": GUILD_ID}
        message = self._compose(call, blank, limit=self.attachment_size_limit, editing=False,
                                allowed_flags=SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS |
                                COMPONENTS_V2)  # fmt: skip
        return 200, self._created(message)

    def _channel_message(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        self._check_channel(m["cid"])
        message = self.channel_messages.get(m["mid"])
        if message is None or message["channel_id"] != m["cid"] or message["flags"] & EPHEMERAL:
            raise ApiError(404, 10008)
        if call.method == "GET":
            return 200, message
        if message["author"]["id"] != BOT_USER_ID:
            if call.method == "DELETE":
                raise ApiError(403, 50013)
            raise ApiError(403, 50005)
        if call.method == "DELETE":
            self._deleted(message)
            return 204, None
        new = self._compose(call, message, limit=self.attachment_size_limit, editing=True,
                            allowed_flags=SUPPRESS_EMBEDS)  # fmt: skip
        return 200, self._updated(message, new)

    def _typing(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        self._check_channel(m["cid"])
        return 204, None


# ---------------------------------------------------------------- command line


def _log_line(call: Call) -> None:
    files = " ".join(f"{k}:{len(f.data)}B" for k, f in call.files.items())
    sys.stderr.write(f"{call.status} {call.method} {call.path} {json.dumps(call.json)[:200]} "
                     f"{files}\n")  # fmt: skip


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _inject(fake: FakeDiscord, line: str) -> None:
    try:
        words = shlex.split(line)
        if words and words[0].startswith("/"):
            options: dict[str, Any] = {}
            for key, text in (w.split("=", 1) for w in words[1:] if "=" in w):
                if text.startswith("@"):  # a file for an attachment option
                    path = Path(text[1:]).expanduser()
                    options[key] = fake.user_attachment(path.read_bytes(), path.name)
                else:
                    options[key] = _value(text)
            fake.send_command(words[0][1:], options)
        elif words[:1] == ["press"] and len(words) == 3:
            fake.press_button(words[2], message_id=words[1])
        elif words:
            sys.stderr.write(
                "! /<command> name=value name=@file … | press <message_id> <custom_id>\n"
            )
    except (KeyError, ValueError, RuntimeError, OSError) as exc:
        sys.stderr.write(f"! {exc}\n")


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeDiscord(token=args.token, host=args.host, port=args.port, log=_log_line)
    async with fake:
        sys.stdout.write(f"api_base={fake.api_base}\ngateway_url={fake.gateway_url}\n"
                         f"token={fake.token}\n")  # fmt: skip
        sys.stdout.flush()
        loop = asyncio.get_running_loop()

        def read_stdin() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(_inject, fake, line)

        threading.Thread(target=read_stdin, daemon=True).start()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--token", default="bot-token-1")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
