"""A download that housekeeping removes mid-way still arrives whole; one already gone is 410."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.http_guards import Mp4File

SCOPE = {"type": "http", "method": "GET", "headers": [], "path": "/f"}


async def download(path: Path, on_start: Any = None) -> tuple[int, bytes]:
    status, body = 0, b""

    never = asyncio.Event()  # the client stays until the answer ends

    async def receive() -> dict[str, Any]:
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
            if on_start is not None:
                on_start()
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    response = Mp4File(path, media_type="video/mp4")
    response.chunk_size = 1024  # many chunks: the removal lands mid-way
    await response(SCOPE, receive, send)  # type: ignore[arg-type]
    return status, body


async def test_a_file_removed_while_it_downloads_arrives_whole(tmp_path: Path) -> None:
    video = tmp_path / "story.mp4"
    data = bytes(range(256)) * 200
    video.write_bytes(data)
    status, body = await download(video, on_start=video.unlink)
    assert status == 200
    assert body == data


async def test_a_file_already_gone_is_410_in_json(tmp_path: Path) -> None:
    status, body = await download(tmp_path / "gone.mp4")
    assert status == 410
    assert json.loads(body) == {"error": "the job's files have expired"}
