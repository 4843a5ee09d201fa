"""Texts of the Telegram bot that do not depend on a job: help for photos, /sequel and /video,
ages, commands."""

from __future__ import annotations

from datetime import timedelta

from telegram import BotCommand

from bot.options import VIDEO_OPTION_HELP

VIDEO_EXAMPLE = "/video a kitten chasing a leaf"
VIDEO_HELP = (
    f"\n\nShort videos: {VIDEO_EXAMPLE}\n"
    'With options: /video aspect=9:16 duration=6 negative="rain, cars" count=2 a kitten '
    "chasing a leaf\n"
    "Send a photo with the caption /video PROMPT (or reply to a photo with it) to start the "
    "video from that photo.\n"
    + "".join(f"• {name}: {text}\n" for name, text in VIDEO_OPTION_HELP.items())
).rstrip()

HERO_HELP = (
    "send a photo of a pet, a toy or a drawing with the caption /story THEME (or reply to a "
    "photo with /story THEME): it becomes the hero of the story"
)
SEQUEL_HELP = (
    "/sequel the dragon comes back — the next part of your last story in this chat, with the "
    "same characters, look and voice (options: scenes=, captions=, animate=)"
)
PREVIEW_HELP = (
    "\n\nSee the scenes first: /story preview=on a brave little fox — then redraw a picture "
    "(🎲), change a line (✏️) or reply “2: with a red hat”, and ▶️ Render."
)
UNCONFIRMED = (
    "⚠️ Telegram did not confirm your video. If it does not show up here in a minute, "
    "please ask again."
)
COMMANDS = [
    BotCommand("story", "make a story video: /story a cat and a dog"),
    BotCommand("sequel", "the next part of your last story: /sequel the dragon comes back"),
    BotCommand("video", "make a short video: /video a kitten chasing a leaf"),
    BotCommand("status", "your recent stories and videos"),
    BotCommand("cancel", "stop your story or video in progress"),
    BotCommand("help", "what I do and the options"),
]


def command_and_rest(text: str) -> tuple[str, str]:
    """`/video@bot a b` → (`/video@bot`, `a b`)."""
    parts = text.split(maxsplit=1)
    return (parts[0] if parts else ""), (parts[1] if len(parts) > 1 else "")


def ago(delta: timedelta) -> str:
    """A job's age as `/status` shows it."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"
