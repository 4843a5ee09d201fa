"""The objects the fake Discord sends: members, the channel, the guild, the application and
interaction payloads (a mixin of `FakeDiscord`)."""

from __future__ import annotations

import copy
import time
from typing import Any

from tests.discord_wire import (
    APPLICATION_ID,
    ATTACHMENT_OPTION,
    BOT_USER_ID,
    CHANNEL_ID,
    GUILD_ID,
    GUILD_PRESENCES_INTENT,
    OPTION_TYPES,
    PERMISSIONS,
    USER_ID,
    Interaction,
    user_object,
)


class PayloadsMixin:
    """Builds what `FakeDiscord` sends about its guild and interactions."""

    def _member(self, user_id: str) -> dict[str, Any]:
        user = self.users.get(user_id) or user_object(
            user_id, f"user{user_id[-4:]}", global_name=None, bot=False
        )
        return {
            "user": user, "roles": [], "nick": None, "avatar": None, "banner": None,
            "joined_at": self.joined_at, "premium_since": None, "deaf": False, "mute": False,
            "pending": False, "flags": 0, "communication_disabled_until": None,
        }  # fmt: skip

    def _overwrites(self) -> list[dict[str, Any]]:
        """The channel's overwrites: one for the bot member when `deny_bot` denied something."""
        if not self.bot_denied:
            return []
        return [{"id": BOT_USER_ID, "type": 1, "allow": "0", "deny": str(self.bot_denied)}]

    def _channel(self) -> dict[str, Any]:
        return {
            "id": CHANNEL_ID, "type": 0, "guild_id": GUILD_ID, "name": "general", "position": 0,
            "permission_overwrites": self._overwrites(), "topic": None, "nsfw": False,
            "last_message_id": None, "rate_limit_per_user": 0, "parent_id": None, "flags": 0,
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
            "locale": locale, "guild_locale": "en-US",
            "app_permissions": str(int(PERMISSIONS) & ~self.bot_denied),
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
