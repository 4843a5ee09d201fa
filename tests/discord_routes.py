"""REST routes of the fake Discord: the bot user, the application and its commands,
interaction callbacks and webhooks, channel messages (a mixin of `FakeDiscord`)."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.discord_wire import (
    APPLICATION_ID,
    ATTACH_FILES,
    BOT_USER_ID,
    CHANNEL_ID,
    COMPONENTS_V2,
    EPHEMERAL,
    GUILD_ID,
    LOADING,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SUPPRESS_EMBEDS,
    SUPPRESS_NOTIFICATIONS,
    VIEW_CHANNEL,
    ApiError,
    Call,
    Interaction,
    check_choices,
    check_modal,
    form_error,
)


class RoutesMixin:
    """The handlers `RestMixin` routes to."""

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
            raise form_error([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
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
            raise form_error([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        seen: set[tuple[str, int]] = set()
        for index, command in enumerate(commands):
            name, kind = str(command.get("name", "")), int(command.get("type", 1))
            bad = not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower()
            if bad if kind == 1 else not 1 <= len(name) <= 32:
                raise form_error([index, "name"], "APPLICATION_COMMAND_INVALID_NAME",
                                  "Command name is invalid")  # fmt: skip
            if (name, kind) in seen:
                raise form_error([index, "name"], "APPLICATION_COMMANDS_DUPLICATE_NAME",
                                  "Application command names must be unique")  # fmt: skip
            seen.add((name, kind))
            if kind == 1:
                self._validate_options(command, [index])

    def _validate_options(self, parent: dict[str, Any], path: list[str | int]) -> None:
        description = str(parent.get("description", ""))
        if not 1 <= len(description) <= 100:
            raise form_error([*path, "description"], "BASE_TYPE_BAD_LENGTH",
                              "Must be between 1 and 100 in length.")  # fmt: skip
        options = parent.get("options") or []
        if len(options) > 25:
            raise form_error([*path, "options"], "BASE_TYPE_MAX_LENGTH",
                              "Must be 25 or fewer in length.")  # fmt: skip
        optional_seen = False
        for index, option in enumerate(options):
            where = [*path, "options", index]
            if option.get("type") in (1, 2):
                self._validate_options(option, where)
                continue
            if not re.fullmatch(r"[-_\w]{1,32}", str(option.get("name", ""))):
                raise form_error([*where, "name"], "APPLICATION_COMMAND_INVALID_NAME",
                                  "Command name is invalid")  # fmt: skip
            if option.get("required"):
                if optional_seen:
                    raise form_error([*path, "options"], "APPLICATION_COMMAND_OPTIONS_"
                                      "REQUIRED_INVALID", "Required options must be placed "
                                      "before non-required options")  # fmt: skip
            else:
                optional_seen = True
            if len(option.get("choices") or []) > 25:
                raise form_error([*where, "choices"], "BASE_TYPE_MAX_LENGTH",
                                  "Must be 25 or fewer in length.")  # fmt: skip
            self._validate_options({"description": option.get("description", "")}, where)

    # -- REST: interactions

    def _live(self, token: str, call: Call) -> Interaction:
        """The interaction behind a webhook token, or 401 50027 when unknown or expired."""
        interaction = self.interactions.get(token)
        if interaction is not None and interaction.expire_when and interaction.expire_when(call):
            interaction.expired = True
        if (
            interaction is None
            or interaction.expired
            or (self._now() - interaction.created > self.token_ttl_s)
        ):
            raise ApiError(401, 50027)
        return interaction

    def _callback(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        interaction = self.interactions.get(m["token"])
        if interaction is None or interaction.id != m["iid"] or interaction.expired:
            raise ApiError(404, 10062)
        if interaction.acked:
            raise ApiError(400, 40060)
        if self._now() - interaction.created > self.ack_deadline_s:
            raise ApiError(404, 10062)
        kind = int(call.get("type", 0))
        allowed = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}
        if kind not in allowed.get(interaction.type, ()):
            raise form_error(["type"], "INTERACTION_CALLBACK_TYPE_INVALID",
                              "Invalid callback type for this interaction")  # fmt: skip
        data = call.get("data") or {}
        if kind == 8:
            check_choices(list(data.get("choices") or []))
        if kind == 9:
            check_modal(data)
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
        interaction = self._live(m["token"], call)
        if not interaction.acked:
            raise ApiError(404, 10015)
        limit = interaction.attachment_size_limit
        original = interaction.original
        if (
            original is not None
            and original["flags"] & LOADING
            and original["id"] in self.channel_messages  # not deleted meanwhile
        ):
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
        interaction = self._live(m["token"], call)
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

    def _check_channel(self, channel_id: str, *, needs: int = 0, call: Call | None = None) -> None:
        """404 10003 for another channel; 403 50001 Missing Access when the bot cannot see
        this one; 403 50013 Missing Permissions without `needs` (or Attach Files for a request
        that uploads files)."""
        if channel_id != CHANNEL_ID:
            raise ApiError(404, 10003)
        if self.bot_denied & VIEW_CHANNEL:
            raise ApiError(403, 50001)
        if call is not None and call.files:
            needs |= ATTACH_FILES
        if self.bot_denied & needs:
            raise ApiError(403, 50013)

    def _get_channel(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        self._check_channel(m["cid"])
        return 200, self._channel()

    def _channel_messages(self, call: Call, m: dict[str, str]) -> tuple[int, Any]:
        self._check_channel(m["cid"], needs=SEND_MESSAGES if call.method == "POST" else 0,
                            call=call)  # fmt: skip
        if call.method == "GET":
            if self.bot_denied & READ_MESSAGE_HISTORY:
                return 200, []
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
        self._check_channel(m["cid"], call=call)
        message = self.channel_messages.get(m["mid"])
        if message is None or message["channel_id"] != m["cid"] or message["flags"] & EPHEMERAL:
            raise ApiError(404, 10008)
        if call.method == "GET":
            if self.bot_denied & READ_MESSAGE_HISTORY:
                raise ApiError(403, 50001)
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
        self._check_channel(m["cid"], needs=SEND_MESSAGES)
        return 204, None
