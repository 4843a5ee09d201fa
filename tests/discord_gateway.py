"""The fake Discord Gateway: HELLO, IDENTIFY, READY + GUILD_CREATE, heartbeats, RESUME and
dispatches, as JSON text frames (a mixin of `FakeDiscord`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord_wire import (
    API_VERSION,
    APPLICATION_ID,
    CLOSE_ALREADY_AUTHENTICATED,
    CLOSE_AUTHENTICATION_FAILED,
    CLOSE_DECODE_ERROR,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_REASONS,
    CLOSE_UNKNOWN_OPCODE,
    GUILD_ID,
)


@dataclass
class Session:
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


class GatewayMixin:
    """The websocket side of `FakeDiscord`. `peak_sessions` is the most identified (or
    resumed) connections open at once: more than one means two bot instances got every event."""

    peak_sessions = 0

    @property
    def live_sessions(self) -> int:
        """Identified (or resumed) connections open now."""
        return sum(1 for session in self._sessions if session.session_id is not None)

    @property
    def sessions_identified(self) -> int:
        """How many sessions were identified since the fake started (resumes not counted)."""
        return len(self._known_sessions)

    def _count_sessions(self) -> None:
        self.peak_sessions = max(self.peak_sessions, self.live_sessions)

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

    def _send(self, session: Session, frame: dict[str, Any]) -> None:
        self.gateway_log.append(("out", frame))
        session.outbox.put_nowait(json.dumps(frame))  # serialised now: later edits don't leak

    def _close(self, session: Session, code: int) -> None:
        session.outbox.put_nowait(code)

    async def _writer(self, session: Session) -> None:
        while True:
            item = await session.outbox.get()
            if isinstance(item, int):
                reason = CLOSE_REASONS.get(item, "").encode()
                await session.ws.close(code=item, message=reason)
                return
            await session.ws.send_str(item)
            if '"t": "GUILD_CREATE"' in item:
                self._ready.set()

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = Session(ws, dict(request.query))
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

    def _on_frame(self, session: Session, op: int, data: Any) -> None:
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

    def _identify(self, session: Session, data: dict[str, Any]) -> None:
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
        self._count_sessions()
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

    def _resume(self, session: Session, data: dict[str, Any]) -> None:
        token = str(data.get("token", "")).removeprefix("Bot ")
        if token != self.token or data.get("session_id") not in self._known_sessions:
            self._send(session, {"op": 9, "d": False, "s": None, "t": None})
            return
        session.session_id = str(data["session_id"])
        session.identify = self.identify
        session.seq = int(data.get("seq") or 0) + 1
        self._count_sessions()
        self._send(session, {"op": 0, "t": "RESUMED", "s": session.seq, "d": {}})
