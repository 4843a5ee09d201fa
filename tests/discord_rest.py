"""REST plumbing of the fake Discord: reading JSON and multipart bodies, scripted faults,
routing, authorisation, attachment downloads (a mixin of `FakeDiscord`)."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, web

from tests.discord_wire import (
    DEFAULT_FAULT_BODIES,
    ApiError,
    Call,
    Fault,
    UploadedFile,
)


class RestMixin:
    """Turns HTTP requests into `Call`s and route handler calls."""

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
                    body = dict(DEFAULT_FAULT_BODIES.get(status) or
                                {"message": f"{status}: Error", "code": 0})  # fmt: skip
                if status == 429:
                    headers |= self._exhausted_bucket(call, float(body.get("retry_after", 1)))
                    if body.get("global"):
                        headers["X-RateLimit-Global"] = "true"
                if not fault.via:
                    del headers["Via"]
            else:
                status, body = await self._route(call)
        except ApiError as exc:
            status, body = exc.status, exc.body()
        except Exception as exc:  # a bug in the fake or a test's script: fail the test
            self._record(exc)
            # not a 5xx: discord.py would retry it for seconds; stop() reports the error
            status, body = 400, {"message": f"fake Discord bug: {exc!r}", "code": 0}
        call.status, call.response = status, body
        self._notify()
        if self.log is not None:
            self.log(call)
        if body is None:
            return web.Response(status=status, headers=headers)
        # not web.json_response: its "application/json; charset=utf-8" makes discord.py skip JSON
        return web.Response(status=status, body=json.dumps(body).encode(),
                            content_type="application/json", headers=headers)  # fmt: skip

    @staticmethod
    def _exhausted_bucket(call: Call, retry_after: float) -> dict[str, str]:
        """The headers of a 429 from a per-route bucket that has no request left."""
        bucket = hashlib.sha1(f"{call.method} {call.path}".encode()).hexdigest()[:16]
        return {
            "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}", "X-RateLimit-Bucket": bucket,
            "X-RateLimit-Scope": "user", "Retry-After": str(max(1, round(retry_after))),
        }  # fmt: skip

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

    def _take_fault(self, call: Call) -> Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.matches(call):
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
