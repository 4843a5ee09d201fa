"""Command line: `storybot story|video|voices|…` — the offline default works with no key."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import getpass
import os
import shutil
import textwrap
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bot.options import StoryOptions, VideoOptions, parse_scenes, set_video_option
from bot.render import ProgressView
from bot.serve import FRONT_ENDS, enabled_front_ends, secrets_of, serve
from core.config import ProviderChoice, Settings
from core.doctor import diagnose
from core.errors import ConfigurationError, CoreError, InvalidRequest
from core.jobs import Job, Origin, open_job_store
from core.logs import configure_logging
from core.models import (
    MAX_SCENES,
    MAX_VIDEOS,
    VIDEO_SECONDS,
    Aspect,
    JobId,
    JobResult,
    StoryRequest,
    StoryVideo,
    Style,
    VideoClips,
    VideoRequest,
    slugify,
)
from core.pipeline import Pipeline, PipelineLimits
from core.progress import JobCancelled, JobFailed, JobSucceeded
from core.providers import Providers, build_providers
from core.runner import JobRunner, RunnerLimits

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _error(message: str, label: str = "error") -> None:
    """One red-labelled line on stderr, never wrapped, user text never read as markup."""
    err.print(Text.assemble((f"{label}: ", "red"), message), soft_wrap=True)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, without the usage block."""

    def error(self, message: str) -> NoReturn:
        _error(f"{message} (see `storybot --help`)")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="storybot", description="Illustrated, narrated story videos.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    story = commands.add_parser("story", help="make a story video from a theme")
    story.add_argument("theme", help='what the story is about, e.g. "a cat and a dog"')
    story.add_argument("--scenes", type=int, help=f"number of scenes, 1 to {MAX_SCENES}")
    story.add_argument("--aspect", choices=[a.value for a in Aspect], help="frame shape")
    story.add_argument("--style", choices=[s.value for s in Style], help="art style")
    story.add_argument("--voice", help="narrator voice (see `storybot voices`)")
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

    video = commands.add_parser("video", help="make a short video clip from a prompt")
    video.add_argument("prompt", help='what the clip shows, e.g. "a kitten chasing a leaf"')
    video.add_argument("--image", type=Path, help="a PNG or JPEG to start from (first frame)")
    video.add_argument("--aspect", choices=["16:9", "9:16"], default="16:9", help="frame shape")
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
    commands.add_parser("run", help="run the chat bots configured in the environment")
    resume = commands.add_parser("resume", help="finish an interrupted `storybot story` job")
    resume.add_argument(
        "job_id", help="the id shown when it was interrupted (see `storybot jobs`)"
    )
    jobs = commands.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
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
        return _serve(settings)
    try:
        providers = build_providers(settings)
    except CoreError as exc:
        _error(str(exc))
        return 2 if isinstance(exc, ConfigurationError) else 1
    match args.command:
        case "voices":
            return _voices(providers)
        case "story":
            return _story(args, settings, providers)
        case "video":
            return _video(args, settings, providers)
        case "resume":
            return _resume(args, settings, providers)
    return 2  # unreachable: argparse requires a command


def _serve(settings: Settings) -> int:
    if not enabled_front_ends(settings):
        wanted = ", ".join(f"{name} ({variable})" for name, variable in FRONT_ENDS.items())
        _error(f"no front end is configured; set the setting of at least one: {wanted}")
        return 2
    try:
        asyncio.run(serve(settings))
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


async def _jobs(settings: Settings, limit: int) -> int:
    async with open_job_store(settings.database) as store:
        jobs = await store.recent(limit=limit)
    if not jobs:
        out.print("No jobs yet.")
        return 0
    table = Table("id", "status", "age", "size", "from", "theme", box=None, highlight=False)
    now = datetime.now(UTC)
    for job in jobs:
        size = job.metadata.get("file_size")
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


def _voices(providers: Providers) -> int:
    for voice in providers.narrator.voices():
        out.print(f"{voice.name:<14} {voice.language:<6} {voice.description}")
    if providers.label == ProviderChoice.OFFLINE:
        out.print("\nAppend an eSpeak variant for another timbre, e.g. `--voice en-us+f3`.")
    return 0


def _request(args: argparse.Namespace, settings: Settings) -> StoryRequest:
    options = StoryOptions(
        scenes=None if args.scenes is None else parse_scenes(str(args.scenes)),
        aspect=Aspect(args.aspect) if args.aspect else None,
        style=Style(args.style) if args.style else None,
        voice=args.voice,
        language=args.language,
        captions=False if args.no_captions else None,
        animate=args.animate,
    )
    return options.request(args.theme, settings)


def _output_path(args: argparse.Namespace, subject: str) -> Path:
    path: Path = args.out or Path(f"{slugify(subject)}.mp4")
    if path.is_dir():
        path = path / f"{slugify(subject)}.mp4"
    parent = path.parent.resolve()
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InvalidRequest(f"cannot write to {path} (no such folder, or no permission)")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidRequest(f"cannot overwrite {path}")
    return path


def _story(args: argparse.Namespace, settings: Settings, providers: Providers) -> int:
    limits = PipelineLimits.from_settings(settings)
    if args.music is not None:
        limits = dataclasses.replace(limits, music=args.music)
    pipeline = Pipeline(providers, limits)
    try:
        if limits.music is not None and not limits.music.is_file():
            raise InvalidRequest(f"cannot read the music file {limits.music}")
        request = _request(args, settings)
        destination = _output_path(args, request.theme)
        pipeline.validate(request)
    except CoreError as exc:
        _error(str(exc))
        return 1
    _say_backend(providers)

    async def submit(runner: JobRunner, origin: Origin) -> Job:
        return await runner.submit(request, origin, keep_files=args.keep)

    run = functools.partial(
        _run_job, settings, pipeline, submit=submit, destination=destination, keep=args.keep
    )
    return _finish(run, settings, keep=args.keep)


def _video(args: argparse.Namespace, settings: Settings, providers: Providers) -> int:
    pipeline = Pipeline(providers, PipelineLimits.from_settings(settings))
    try:
        request = _video_request(args)
        image = _read_image(args.image) if args.image is not None else None
        destination = _output_path(args, request.prompt)
        pipeline.videos.validate(request)
    except CoreError as exc:
        _error(str(exc))
        return 1
    _say_backend(providers)

    async def submit(runner: JobRunner, origin: Origin) -> Job:
        return await runner.submit_video(request, origin, image=image, keep_files=args.keep)

    run = functools.partial(
        _run_job, settings, pipeline, submit=submit, destination=destination, keep=args.keep
    )
    return _finish(run, settings, keep=args.keep)


def _video_request(args: argparse.Namespace) -> VideoRequest:
    options = VideoOptions(negative=args.negative, people=args.people == "allow")
    set_video_option(options, "aspect", args.aspect)
    set_video_option(options, "duration", str(args.duration))
    set_video_option(options, "count", str(args.count))
    return options.request(args.prompt)


def _read_image(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise InvalidRequest(f"cannot read the picture {path}") from None


def _resume(args: argparse.Namespace, settings: Settings, providers: Providers) -> int:
    pipeline = Pipeline(providers, PipelineLimits.from_settings(settings))
    _say_backend(providers)
    return _finish(
        functools.partial(_run_job, settings, pipeline, resume=JobId(args.job_id)),
        settings,
        keep=False,
    )


def _say_backend(providers: Providers) -> None:
    backend = providers.label
    note = " (no key needed; set GEMINI_API_KEY to use Gemini)" if backend == "offline" else ""
    err.print(f"Back end: [bold]{backend}[/]{note}")


def _finish(
    run: Callable[[list[JobId]], Coroutine[Any, Any, tuple[Job, JobResult, Path]]],
    settings: Settings,
    *,
    keep: bool,
) -> int:
    """Run a CLI job to the end and report it in one line (or a one-line error)."""
    started: list[JobId] = []
    try:
        job, result, destination = asyncio.run(run(started))
    except ConfigurationError as exc:  # found at start (a job's own failures are CoreError)
        _error(str(exc))
        return 2
    except CoreError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        hint = f" — resume with `storybot resume {started[0]}`" if started else ""
        err.print(f"interrupted{hint}")
        return 130
    if keep:
        err.print(f"Work files kept in {settings.jobs_dir / job.id}")
    shape = f"{result.duration_s:.1f} s, {result.width}×{result.height}"
    if isinstance(result, StoryVideo):
        scenes = f"{len(result.story.scenes)} scenes{_animated(result)}"
        out.print(
            Text(f"{destination}  ({shape}, {scenes}: “{result.story.title}”)"), soft_wrap=True
        )
    else:
        for path in _video_paths(destination, len(result.videos)):
            out.print(Text(f"{path}  ({shape})"), soft_wrap=True)
    for note_line in result.notes:
        err.print(f"note: {note_line}")
    return 0


def _animated(result: StoryVideo) -> str:
    return f", {result.animated} animated" if result.animated else ""


async def _run_job(
    settings: Settings,
    pipeline: Pipeline,
    started: list[JobId],
    *,
    submit: Callable[[JobRunner, Origin], Awaitable[Job]] | None = None,
    destination: Path | None = None,
    keep: bool = False,
    resume: JobId | None = None,
) -> tuple[Job, JobResult, Path]:
    """Run one job (new, or `resume`d) on a local runner with a progress bar; move the video
    to its destination. `started` receives the job id as soon as it exists."""
    try:
        await pipeline.providers.prepare()
        async with (
            open_job_store(settings.database) as store,
            JobRunner(
                store, pipeline, settings.jobs_dir, RunnerLimits(max_concurrent_jobs=1)
            ) as runner,
        ):
            if resume is not None:
                job = await store.get(resume)
                if job.origin.platform != "cli":
                    raise InvalidRequest(f"job {resume} belongs to {job.origin.platform}")
                destination = Path(job.origin.extra["out"])
                keep = bool(job.metadata.get("keep_files"))
                await runner.resume(job.id)
            else:
                assert submit is not None  # a new job always comes with its request
                assert destination is not None
                origin = Origin(
                    "cli", getpass.getuser(), extra={"out": str(destination.resolve())}
                )
                job = await submit(runner, origin)
            started.append(job.id)
            result = await _follow(runner, job.id)
            moved = await asyncio.to_thread(_move_outputs, result, destination)
            await store.update(job.id, outputs=moved)
            if not keep:
                await asyncio.to_thread(shutil.rmtree, runner.workdir(job.id), True)
            return job, result, destination
    finally:
        await pipeline.providers.aclose()


async def _follow(runner: JobRunner, job_id: JobId) -> JobResult:
    """Show a job's progress until it ends; its result, or its failure as `CoreError`."""
    view = ProgressView()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("Starting…", total=100)
        async for event in runner.subscribe(job_id):
            view.apply(event)
            progress.update(task, description=view.text(), completed=view.percent)
            match event:
                case JobFailed(reason=reason):
                    raise CoreError(reason)
                case JobCancelled():
                    raise CoreError("the job was cancelled")
                case JobSucceeded(result=result):
                    return result
    raise CoreError("the job ended without a result")  # subscribe() always ends a job


def _video_paths(destination: Path, count: int) -> list[Path]:
    """`out.mp4`, then `out-2.mp4`, `out-3.mp4`… for a job's several videos."""
    stem, suffix = destination.stem, destination.suffix or ".mp4"
    return [destination] + [
        destination.with_name(f"{stem}-{n}{suffix}") for n in range(2, count + 1)
    ]


def _move_outputs(result: JobResult, destination: Path) -> tuple[Path, ...]:
    """The video(s) to `destination`, the thumbnail (and a story's subtitles) beside it."""
    thumbnail = (result.thumbnail, destination.with_suffix(".jpg"))
    if isinstance(result, VideoClips):
        targets = _video_paths(destination, len(result.videos))
        moved = [*zip(result.videos, targets, strict=True), thumbnail]
    else:
        moved = [(result.video, destination), thumbnail]
    if isinstance(result, StoryVideo) and result.subtitles is not None:
        moved.append((result.subtitles, destination.with_suffix(".srt")))
    for source, target in moved:
        shutil.move(source, target)
    return tuple(target.resolve() for _, target in moved)
