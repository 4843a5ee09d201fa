"""Command line: `storybot story|video|voices|…` — the offline default works with no key."""

from __future__ import annotations

import argparse
import asyncio
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from bot import cli_jobs, cli_storyboard
from bot.cli_jobs import out
from bot.serve import FRONT_ENDS, enabled_front_ends, secrets_of, serve
from core.bootstrap import describe, list_jobs, migrate_store
from core.config import ProviderChoice, Settings
from core.doctor import diagnose
from core.errors import ConfigurationError, CoreError
from core.logs import configure_logging
from core.models import (
    MAX_SCENES,
    MAX_VIDEOS,
    VIDEO_ASPECTS,
    VIDEO_SECONDS,
    Aspect,
    Style,
    VoiceMode,
)

_error = cli_jobs.error


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        _error(f"{message} (see `storybot --help`)")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="storybot", description="Illustrated, narrated story videos.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    story = commands.add_parser("story", help="make a story video from a theme")
    story.add_argument(
        "theme", nargs="?",
        help='what the story is about, e.g. "a cat and a dog" (with --sequel-of: what next)',
    )  # fmt: skip
    story.add_argument(
        "--hero", type=Path, metavar="FILE",
        help="a photo of a pet, a toy or a drawing: its subject is the hero of every scene",
    )  # fmt: skip
    story.add_argument(
        "--sequel-of", metavar="JOB_ID",
        help="continue that earlier story, with the same characters, look and voices",
    )  # fmt: skip
    story.add_argument("--scenes", type=int, help=f"number of scenes, 1 to {MAX_SCENES}")
    story.add_argument("--aspect", choices=[a.value for a in Aspect], help="frame shape")
    story.add_argument("--style", choices=[s.value for s in Style], help="art style")
    story.add_argument("--voice", help="narrator voice (see `storybot voices`)")
    story.add_argument(
        "--voices", choices=[m.value for m in VoiceMode],
        help="narrator: one voice reads the story; cast: the narrator and a voice for each "
        "character (default: STORYBOT_VOICES_DEFAULT, else narrator)",
    )  # fmt: skip
    story.add_argument("--language", help="story language code, e.g. en, fr, es, de")
    story.add_argument("--out", type=Path, help="output MP4 path (default: THEME.mp4)")
    story.add_argument(
        "--no-captions",
        action="store_true",
        help="no burned-in captions (the .srt is still written)",
    )
    story.add_argument("--music", type=Path, help="background music, ducked under the narration")
    story.add_argument(
        "--animate", action="store_true", help="bring each scene to life with a video model"
    )
    story.add_argument("--keep", action="store_true", help="keep the work folder")
    story.add_argument(
        "--preview", action="store_true",
        help="stop at a storyboard (the scenes' pictures and lines) to redraw or edit first",
    )  # fmt: skip

    video = commands.add_parser("video", help="make a short video clip from a prompt")
    video.add_argument("prompt", help='what the clip shows, e.g. "a kitten chasing a leaf"')
    video.add_argument("--image", type=Path, help="a PNG or JPEG to start from (first frame)")
    video.add_argument("--aspect", choices=VIDEO_ASPECTS, default="16:9", help="frame shape")
    video.add_argument(
        "--duration",
        type=int,
        default=8,
        help=f"seconds, {VIDEO_SECONDS[0]} to {VIDEO_SECONDS[1]}",
    )
    video.add_argument("--negative", help="what the clip should not show")
    video.add_argument("--people", choices=["allow", "deny"], default="deny", help="people")
    video.add_argument("--count", type=int, default=1, help=f"videos, 1 to {MAX_VIDEOS}")
    video.add_argument("--out", type=Path, help="output MP4 path (default: PROMPT.mp4)")
    video.add_argument("--keep", action="store_true", help="keep the work folder")

    commands.add_parser("voices", help="list the narrator voices of the active back end")
    commands.add_parser("doctor", help="check credentials, models, ffmpeg and tokens")
    run = commands.add_parser("run", help="run the chat bots configured in the environment")
    run.add_argument(
        "--no-worker",
        action="store_true",
        help="front ends only; workers run elsewhere (needs STORYBOT_DATABASE_URL)",
    )
    commands.add_parser(
        "worker", help="run jobs only, for front ends elsewhere (needs STORYBOT_DATABASE_URL)"
    )
    commands.add_parser("migrate", help="create or update the database's tables, then exit")
    resume = commands.add_parser("resume", help="finish an interrupted `storybot story` job")
    resume.add_argument(
        "job_id", help="the id shown when it was interrupted (see `storybot jobs`)"
    )
    jobs = commands.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    cli_storyboard.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `storybot` script."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        _error(f"{first['loc'][0]}: {first['msg']}", "configuration error")
        return 2
    configure_logging("WARNING", secrets_of(settings))  # quiet, and secrets never shown
    if args.command == "doctor":
        return asyncio.run(_doctor(settings))
    if args.command == "jobs":
        return asyncio.run(_jobs(settings, args.limit))
    if args.command == "run":
        return _serve(settings, work=not args.no_worker)
    if args.command == "worker":
        return _serve(settings, front_ends=False)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    try:
        match args.command:
            case "voices":
                return _voices(settings)
            case "story":
                return cli_jobs.story(args, settings, cli_storyboard.show_board)
            case "video":
                return cli_jobs.video(args, settings)
            case "resume":
                return cli_jobs.resume(args, settings, cli_storyboard.show_board)
            case "redraw":
                return cli_storyboard.redraw(args, settings)
            case "edit":
                return cli_storyboard.edit(args, settings)
            case "render":
                return cli_storyboard.render(args, settings)
    except CoreError as exc:  # the back end's settings, found before any job
        _error(str(exc))
        return 2 if isinstance(exc, ConfigurationError) else 1
    return 2  # unreachable: argparse requires a command


def _serve(settings: Settings, *, work: bool = True, front_ends: bool = True) -> int:
    if not (work and front_ends) and settings.database_url is None:
        role = "front ends without a worker" if front_ends else "a worker alone"
        _error(f"{role} need a shared database: set STORYBOT_DATABASE_URL=postgresql://…")
        return 2
    if front_ends and not enabled_front_ends(settings):
        wanted = ", ".join(f"{name} ({variable})" for name, variable in FRONT_ENDS.items())
        _error(f"no front end is configured; set the setting of at least one: {wanted}")
        return 2
    try:
        asyncio.run(serve(settings, work=work, front_ends=front_ends))
    except CoreError as exc:
        _error(str(exc))
        return 2 if isinstance(exc, ConfigurationError) else 1
    return 0


async def _doctor(settings: Settings) -> int:
    checks = await diagnose(settings)
    for check in checks:
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        # Wrapped here, between words only, so that no model id is ever cut (80 columns).
        lines = textwrap.wrap(
            f"{check.name}: {check.detail}", width=76, subsequent_indent="    ",
            break_long_words=False, break_on_hyphens=False,
        )  # fmt: skip
        out.print(mark, Text(lines[0]), soft_wrap=True)
        for line in lines[1:]:
            out.print(" ", Text(line), soft_wrap=True)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        _error(f"{len(failed)} problem(s): {', '.join(failed)}")
        return 1
    return 0


async def _migrate(settings: Settings) -> int:
    try:
        await migrate_store(settings)
    except ConfigurationError as exc:
        _error(str(exc))
        return 2
    out.print("The database is up to date.")
    return 0


async def _jobs(settings: Settings, limit: int) -> int:
    try:
        jobs = await list_jobs(settings, limit)
    except ConfigurationError as exc:  # the database cannot be used
        _error(str(exc))
        return 2
    if not jobs:
        out.print("No jobs yet.")
        return 0
    table = Table("id", "status", "age", "size", "from", "theme", box=None, highlight=False)
    now = datetime.now(UTC)
    for job in jobs:
        size = job.outcome.file_sizes[0] if job.outcome and job.outcome.file_sizes else None
        table.add_row(
            job.id, job.status.value, _age(now - job.created_at),
            f"{size / 1e6:.1f} MB" if size else "–", job.origin.platform,
            Text(job.subject[:40]),
        )  # fmt: skip
    out.print(table)
    return 0


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _voices(settings: Settings) -> int:
    for voice in describe(settings).voices:
        out.print(f"{voice.name:<14} {voice.language:<6} {voice.description}")
    if settings.active_provider is ProviderChoice.OFFLINE:
        out.print("\nAppend an eSpeak variant for another timbre, e.g. `--voice en-us+f3`.")
    return 0
