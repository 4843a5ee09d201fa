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
  is honoured (sleep `retry_after`, re-send); a 429 also carries the `X-RateLimit-*` headers of
  an exhausted bucket. Errors are `{"message": …, "code": …}` with the real codes: 10003 Unknown
  Channel, 10008 Unknown Message, 10015 Unknown Webhook, 10062 Unknown interaction, 40005
  Request entity too large (413), 40060 already acknowledged, 50001 Missing Access, 50005 not
  your message, 50006 empty message, 50013 Missing Permissions, 50027 Invalid Webhook Token
  (401), 50035 Invalid Form Body (with `errors`), 50109 invalid JSON; a wrong `Authorization:
  Bot …` on bot routes → 401 `0`, which `login()` turns into LoginFailure. Interaction routes
  need no Authorization (and, as on Discord, no channel permission).
* Strict about its own failures: an exception inside any handler of the fake (or of a test's
  predicate) is kept in `errors` and answered with a 400 that discord.py does not retry, and
  `stop()` / leaving `async with` raises `FakeServerError` (as a note on the test's own error
  if the block failed already), so a fixture yielding the fake fails the test at teardown.
* Interactions: the initial callback (`with_response=1` → 200 `{"interaction", "resource"}`) is
  due within `ack_deadline_s` (3 s) of INTERACTION_CREATE, else 404 10062; a second one → 400
  40060; the callback type must suit the interaction (8 only for autocomplete, 6/7 only for
  components). A deferred (5) original has flag 128 LOADING until it is edited; the first
  followup after a thinking defer replaces the thinking message (same id). Webhook calls
  (`/webhooks/{app}/{token}…`) after `token_ttl_s` (15 min) or `expire_token` → 401 50027; a
  followup before the initial response → 404 10015. Deadlines use the fake's clock, which
  `advance(seconds)` moves on without waiting.
* Messages have the full object shape (id, channel_id, author, content, timestamp,
  edited_timestamp, tts, mention_everyone, mentions, mention_roles, attachments, embeds, pinned,
  type, flags, components; interaction replies add webhook_id, application_id,
  interaction_metadata and interaction). Bodies are JSON or multipart (`payload_json` +
  `files[n]`); `attachments: [{"id": n}]` in an edit keeps the listed existing attachments and
  adds part `files[n]`, no `attachments` key appends the uploads. Upload limits as Discord
  documents them (https://discord.com/developers/docs/reference#uploading-files): per file, the
  interaction's `attachment_size_limit` (webhook and callback routes) or the fake's
  `attachment_size_limit` (channel routes; 20 MiB by default, Discord's default since
  2026-09-03); per request 25 MiB ("the maximum request size when sending a message"), or one
  file's limit when that is bigger (a boosted guild); over either → 413 40005. Content above
  2000 characters, more than 10 attachments or embeds, components outside Discord's limits (at
  most 5 action rows of at most 5 buttons or one select, custom_id 1-100 characters and unique,
  label at most 80; with COMPONENTS_V2 the buttons and selects wherever they are) → 50035; so
  are autocomplete choices beyond 25, or named outside 1-100 characters, and modals (callback
  type 9) outside Discord's limits (custom_id 1-100, title 1-45, 1-5 action rows of one text
  input or Labels (type 18, label 1-45) of one text input or select; a text input's custom_id
  1-100, style 1 or 2, lengths within 0-4000, a prefilled value within its max_length). A
  single message (`GET …/messages/{id}`) needs Read Message History (else 403 50001).
  Attachments can be downloaded from their `url`; a message's several files arrive as parts
  `files[0]`, `files[1]`… named in `payload_json` `attachments`, and each is kept
  (`Call.files`, `attachment_data`).
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

* Permissions: `deny_bot(bits)` puts a channel overwrite on the bot (sent as CHANNEL_UPDATE
  and in later payloads; `app_permissions` follows). Channel routes then answer 403 50001
  Missing Access without View Channel, 403 50013 Missing Permissions for a post without Send
  Messages or a file without Attach Files, and an empty history without Read Message History.

Test API: `calls`/`calls_to`/`wait_for` (every REST request as a `Call`), `wait_ready`,
`send_command` (`attachment_size_limit` announced, `enforced_size_limit` enforced instead) /
`send_autocomplete`/`press_button` (an enabled component of a message) / `submit_modal` (the
modal a type 9 callback showed, by its user, with the text inputs' values, as MODAL_SUBMIT
type 5; each returns the `Interaction` record, also in `interactions` by token),
`user_attachment` (a file for an attachment option), `attachment_data` (the bytes behind an
attachment object), `downloads`, `channel_messages` (every message by id,
kept current), `visible`/`last_text`/`videos` (a channel as its members see it), `commands`,
`fail_next` (scripted errors for requests matching a route and a predicate, e.g. a 429 with or
without `Via`, a 413 for uploads only), `expire_token` (now, or at the first matching call),
`delete_message` (as a user or moderator), `deny_bot`, `advance`, `errors`, `gateway_log`,
`identify`. Ids are the module constants (`APPLICATION_ID`, `GUILD_ID`, `CHANNEL_ID`,
`USER_ID`). The fake is split by concern: `discord_wire` (ids, limits, records, validation),
`discord_gateway`, `discord_payloads`, `discord_messages`, `discord_rest`, `discord_routes`,
`discord_scripting` (this test API), `discord_cli`.

Simplified: one guild, one text channel, no DMs, threads, roles beyond @everyone or
privileged-intent checks; permissions come from `deny_bot` alone (no role hierarchy); no rate
limits of its own (script them with `fail_next`); no heartbeat timeout, zlib compression,
sharding, or replay of missed events on RESUME; `mentions` is always empty and
`allowed_mentions` is ignored; option `resolved` data is made for attachments only (not users,
roles or channels), and their signed links never expire; modals hold text inputs only (in
action rows or Labels) when submitted; followups have message type 0 and edits always set
`edited_timestamp`; snowflakes are time-based but made by the fake, tokens are readable
(`itok-3`).

Standalone: `python -m tests.discord_server --port 8082` prints the URLs and the token and serves
until Ctrl-C; lines typed on stdin become interactions (`/story theme="a cat" scenes=3` a slash
command, `image=@cat.png` a file for an attachment option, `press <message_id> <custom_id>` a
button press, `submit <token> name=value …` the submit of the modal shown to interaction
`token`).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.discord_gateway import GatewayMixin, Session
from tests.discord_messages import MessagesMixin
from tests.discord_payloads import PayloadsMixin
from tests.discord_rest import RestMixin
from tests.discord_routes import RoutesMixin
from tests.discord_scripting import ScriptingMixin
from tests.discord_wire import (
    API_VERSION,
    APPLICATION_ID,
    BOT_USER_ID,
    CHANNEL_ID,
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    GUILD_ID,
    OTHER_USER_ID,
    USER_ID,
    Call,
    FakeServerError,
    Fault,
    Interaction,
    UploadedFile,
    now_iso,
    user_object,
)
from tests.fakeserver import AiohttpServer

__all__ = [
    "APPLICATION_ID", "BOT_USER_ID", "CHANNEL_ID", "GUILD_ID", "OTHER_USER_ID", "USER_ID", "Call",
    "FakeDiscord", "FakeServerError", "Interaction", "UploadedFile",
]  # fmt: skip


class FakeDiscord(
    ScriptingMixin, RestMixin, RoutesMixin, MessagesMixin, PayloadsMixin, GatewayMixin,
    AiohttpServer,
):  # fmt: skip
    """The server: `async with FakeDiscord() as fake:`, then point discord.py at it."""

    label = "Discord"
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
        super().__init__(host=host, port=port)
        self.token = token
        self.attachment_size_limit, self.token_ttl_s = attachment_size_limit, token_ttl_s
        self.ack_deadline_s, self.heartbeat_interval_ms = ack_deadline_s, heartbeat_interval_ms
        self.log = log
        self.bot_user = user_object(BOT_USER_ID, bot_name, global_name=None, bot=True)
        self.users: dict[str, dict[str, Any]] = {
            USER_ID: user_object(USER_ID, "alice", global_name="Alice", bot=False),
            OTHER_USER_ID: user_object(OTHER_USER_ID, "bob", global_name="Bob", bot=False),
        }
        self.joined_at = now_iso()
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
        self._sessions: list[Session] = []
        self._known_sessions: set[str] = set()
        self._faults: list[Fault] = []
        self._last_snowflake = 0
        self._ready = asyncio.Event()
        self.errors: list[BaseException] = []  # raised inside the fake's own handlers
        self.bot_denied = 0  # permission bits the channel denies the bot (`deny_bot`)
        self._clock_offset_s = 0.0  # `advance`: how far the fake's deadlines have been moved

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

    def _app(self) -> web.Application:
        limit = max(self.attachment_size_limit, 104_857_600)  # room for a tier-3 upload limit
        app = web.Application(client_max_size=limit + 16 * 1024**2, middlewares=[self._guard])
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel}/{id}/{filename}", self._download)
        app.router.add_get("/ephemeral-attachments/{channel}/{id}/{filename}", self._download)
        app.router.add_route("*", f"/api/v{API_VERSION}/{{tail:.*}}", self._rest)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def _close_listener(self) -> None:
        """Close gateway connections (1001), then the port."""
        for session in list(self._sessions):
            session.outbox.put_nowait(1001)
        await super()._close_listener()

    def _failure(self) -> FakeServerError | None:
        """Every exception a handler raised while the fake ran (see `errors`)."""
        return FakeServerError(self._error_report()) if self.errors else None

    def _record(self, exc: BaseException) -> None:
        """Keep an exception raised inside a handler; `stop` fails the test with it."""
        traceback.print_exception(exc)
        self.errors.append(exc)

    def _error_report(self) -> str:
        first = "".join(traceback.format_exception(self.errors[0]))
        kinds = ", ".join(repr(e) for e in self.errors)
        return f"the fake Discord failed {len(self.errors)} time(s): {kinds}\n{first}"

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Any handler (gateway, downloads) that raises: recorded, answered with a 400 that
        discord.py does not retry."""
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:
            self._record(exc)
            return web.Response(status=400, text=f"fake Discord bug: {exc!r}")

    def _now(self) -> float:
        """The fake's clock for deadlines (token lifetime, the 3 s acknowledgement)."""
        return time.monotonic() + self._clock_offset_s


if __name__ == "__main__":
    from tests.discord_cli import main

    main()
