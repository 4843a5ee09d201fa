"""What the self-tests of the fake Telegram share."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application

ROOT = Path(__file__).resolve().parents[3]
CHAT = 4242
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Cancel", callback_data="cancel")]])


@dataclass
class Running:
    app: Application[Any, Any, Any, Any, Any, Any]
    seen: asyncio.Queue[tuple[str, Update, list[str]]] = field(default_factory=asyncio.Queue)

    async def next(self) -> tuple[str, Update, list[str]]:
        return await asyncio.wait_for(self.seen.get(), 5)


def jpeg(width: int = 320, height: int = 180) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()
