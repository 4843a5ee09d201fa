"""The CLI's one-off jobs: `storybot story`, `video` and `resume` run a job in this process with
a progress bar, then copy its files where the user asked (a preview story stops at its
storyboard, which `bot.cli_storyboard` shows)."""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import os
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from bot.options import StoryOptions, VideoOptions, parse_scenes, set_video_option
from bot.render import ProgressView
from core.bootstrap import open_storybot
from core.config import Settings
from core.errors import ConfigurationError, CoreError, InvalidRequest
from core.models import (
    SEQUEL_THEME,
    Aspect,
    Job,
    JobId,
    JobResult,
    JobStatus,
    Origin,
    StoryRequest,
    StoryVideo,
    Style,
    VideoRequest,
    VoiceMode,
)
from core.progress import AwaitingApproval, JobCancelled, JobFailed, JobSucceeded
from core.service import JobService

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

# Starts a job or acts on one (a redraw, the render): the job to follow from there.
Act = Callable[[JobService], Awaitable[Job]]
# Shows a storyboard that became ready: the service, the job, the path its video will have.
ShowBoard = Callable[[JobService, Job, Path], Awaitable[None]]
# What `run_job` returns: the job, its result (None: it waits at its storyboard), its output.
Ran = tuple[Job, JobResult | None, Path]
Run = Callable[[list[JobId]], Coroutine[Any, Any, Ran]]


def error(message: str, label: str = "error") -> None:
    """One red-labelled line on stderr, never wrapped, user text never read as markup."""
    err.print(Text.assemble((f"{label}: ", "red"), message), soft_wrap=True)


def story(args: argparse.Namespace, settings: Settings, show_board: ShowBoard) -> int:
    """`storybot story THEME [options]` (with `--preview`: up to the storyboard, shown by
    `show_board`)."""
    if args.music is not None:
        settings = settings.model_copy(update={"music_path": args.music})
    try:
        if settings.music_path is not None and not settings.music_path.is_file():
            raise InvalidRequest(f"cannot read the music file {settings.music_path}")
        if args.theme is None and args.sequel_of is None:
            raise InvalidRequest("say what the story is about (or continue one: --sequel-of JOB)")
        if args.sequel_of is not None and args.hero is not None:
            raise InvalidRequest("a sequel keeps the hero of the story it continues: drop --hero")
        request = _story_request(args, settings)
        hero = _read_image(args.hero) if args.hero is not None else None
        destination = _output_path(args, request.theme if args.theme is not None else "next")
    except CoreError as exc:
        error(str(exc))
        return 1

    async def submit(jobs: JobService) -> Job:
        origin = _origin(destination)
        if args.sequel_of is not None:
            return await jobs.submit_sequel(
                request, origin, of=JobId(args.sequel_of), keep_files=args.keep
            )
        return await jobs.submit_story(request, origin, keep_files=args.keep, hero=hero)

    run = functools.partial(
        run_job, settings, act=submit, destination=destination, show_board=show_board
    )
    return finish(run, settings)


def video(args: argparse.Namespace, settings: Settings) -> int:
    """`storybot video PROMPT [options]`."""
    try:
        request = _video_request(args)
        image = _read_image(args.image) if args.image is not None else None
        destination = _output_path(args, request.prompt)
    except CoreError as exc:
        error(str(exc))
        return 1

    async def submit(jobs: JobService) -> Job:
        origin = _origin(destination)
        return await jobs.submit_video(request, origin, image=image, keep_files=args.keep)

    run = functools.partial(run_job, settings, act=submit, destination=destination)
    return finish(run, settings)


def resume(args: argparse.Namespace, settings: Settings, show_board: ShowBoard) -> int:
    """`storybot resume JOB_ID`: finish an interrupted CLI job from its checkpoints (a preview
    story up to its storyboard, shown again if it is waiting already)."""

    async def again(jobs: JobService) -> Job:
        job = await cli_job(jobs, JobId(args.job_id))
        if job.status is not JobStatus.AWAITING_APPROVAL:
            await jobs.resume(job.id)
        return job

    run = functools.partial(run_job, settings, act=again, show_board=show_board)
    return finish(run, settings)


async def cli_job(jobs: JobService, job_id: JobId) -> Job:
    """A job that `storybot story` or `video` started (`JobNotFound`, `InvalidRequest`)."""
    job = await jobs.get(job_id)
    if job.origin.platform != "cli":
        raise InvalidRequest(f"job {job_id} belongs to {job.origin.platform}")
    return job


def destination_of(job: Job) -> Path:
    """Where a CLI job's video goes: the `--out` it was started with."""
    return Path(job.origin.extra["out"])


def _origin(destination: Path) -> Origin:
    """A CLI job's origin: this user, and the output path (for `resume` and `render`)."""
    return Origin("cli", getpass.getuser(), extra={"out": str(destination.resolve())})


def slugify(text: str, max_len: int = 48) -> str:
    """A file-name-safe ASCII slug of `text` (`"A cat & a dog!"` → `a-cat-a-dog`)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_len].rstrip("-") or "story"


def _story_request(args: argparse.Namespace, settings: Settings) -> StoryRequest:
    options = StoryOptions(
        scenes=None if args.scenes is None else parse_scenes(str(args.scenes)),
        aspect=Aspect(args.aspect) if args.aspect else None,
        style=Style(args.style) if args.style else None,
        voice=args.voice,
        language=args.language,
        captions=False if args.no_captions else None,
        animate=args.animate,
        preview=args.preview,  # never STORYBOT_PREVIEW_DEFAULT: the command line says
        voices=VoiceMode(args.voices) if args.voices else None,  # None: STORYBOT_VOICES_DEFAULT
    )
    return options.request(args.theme if args.theme is not None else SEQUEL_THEME, settings)


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


def _say_backend(backend: str) -> None:
    note = " (no key needed; set GEMINI_API_KEY to use Gemini)" if backend == "offline" else ""
    err.print(f"Back end: [bold]{backend}[/]{note}")


def finish(run: Run, settings: Settings) -> int:
    """Run a CLI job to the end, or to its storyboard, and report it in one line (or a one-line
    error)."""
    started: list[JobId] = []
    try:
        job, result, destination = asyncio.run(run(started))
    except ConfigurationError as exc:  # found at start (a job's own failures are CoreError)
        error(str(exc))
        return 2
    except CoreError as exc:
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        hint = f" — resume with `storybot resume {started[0]}`" if started else ""
        err.print(f"interrupted{hint}")
        return 130
    if result is None:  # it waits at its storyboard, shown already
        return 0
    if job.keep_files:
        err.print(f"Work files kept in {settings.jobs_dir / job.id}")
    shape = f"{result.duration_s:.1f} s, {result.width}×{result.height}"
    if isinstance(result, StoryVideo):
        animated = f", {result.animated} animated" if result.animated else ""
        scenes = f"{len(result.story.scenes)} scenes{animated}"
        out.print(
            Text(f"{destination}  ({shape}, {scenes}: “{result.story.title}”)"), soft_wrap=True
        )
    else:
        for path in _video_paths(destination, len(result.videos)):
            out.print(Text(f"{path}  ({shape})"), soft_wrap=True)
    if isinstance(result, StoryVideo) and result.story.voices:
        cast = ", ".join(f"{speaker} ({voice})" for speaker, voice in result.story.voices.items())
        err.print(Text(f"Voices: {cast}"), soft_wrap=True)
    for note_line in result.notes:
        err.print(f"note: {note_line}")
    if isinstance(result, StoryVideo):
        err.print(f'Continue it: storybot story --sequel-of {job.id} "what happens next"')
    return 0


@asynccontextmanager
async def open_jobs(settings: Settings) -> AsyncIterator[JobService]:
    """The core in this process, with one job slot: a CLI command runs its job itself."""
    one_slot = settings.model_copy(update={"max_concurrent_jobs": 1})
    async with open_storybot(one_slot) as storybot:
        yield storybot.service


async def run_job(
    settings: Settings,
    started: list[JobId],
    *,
    act: Act,
    destination: Path | None = None,
    show_board: ShowBoard | None = None,
) -> Ran:
    """Start a job or act on one (`act`), follow it with a progress bar until it ends, then
    copy its files to `destination` (by default its `--out`); a preview story that stops at
    its storyboard goes to `show_board`. `started` receives the job id as soon as it exists."""
    async with open_jobs(settings) as jobs:
        job = await act(jobs)  # a refused request or action stops here, in one line
        if destination is None:  # a job started earlier: where its `--out` said
            destination = destination_of(job)
        _say_backend(jobs.capabilities.backend)
        started.append(job.id)
        outcome = await _follow(jobs, job.id)
        job = await jobs.get(job.id)
        if isinstance(outcome, AwaitingApproval):
            if show_board is None:  # only a story has a storyboard
                raise CoreError(f"job {job.id} waits for approval: storybot render {job.id}")
            await show_board(jobs, job, destination)
            return job, None, destination
        await _copy_outputs(jobs, job, outcome, destination)
        if not job.keep_files:
            await jobs.discard_files(job.id)
        return job, outcome, destination


async def _follow(jobs: JobService, job_id: JobId) -> JobResult | AwaitingApproval:
    """Show a job's progress until it ends or waits at its storyboard: its result, the
    storyboard's event, or its failure as `CoreError`."""
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
        async for event in jobs.subscribe(job_id):
            view.apply(event)
            progress.update(task, description=view.text(), completed=view.percent)
            match event:
                case JobFailed(reason=reason):
                    raise CoreError(reason)
                case JobCancelled():  # by the user, or a storyboard left waiting too long
                    raise CoreError((await jobs.get(job_id)).error or "the job was cancelled")
                case JobSucceeded(result=result):
                    return result
                case AwaitingApproval():
                    return event
    raise CoreError("the job ended without a result")  # subscribe() always ends a job


def _video_paths(destination: Path, count: int) -> list[Path]:
    """`out.mp4`, then `out-2.mp4`, `out-3.mp4`… for a job's several videos."""
    stem, suffix = destination.stem, destination.suffix or ".mp4"
    return [destination] + [
        destination.with_name(f"{stem}-{n}{suffix}") for n in range(2, count + 1)
    ]


async def _copy_outputs(jobs: JobService, job: Job, result: JobResult, destination: Path) -> None:
    """The video(s) to `destination`, the thumbnail (and a story's subtitles) beside it."""
    targets: list[tuple[str, Path]] = [(result.thumbnail, destination.with_suffix(".jpg"))]
    if isinstance(result, StoryVideo):
        targets.append((result.video, destination))
        if result.subtitles is not None:
            targets.append((result.subtitles, destination.with_suffix(".srt")))
    else:
        paths = _video_paths(destination, len(result.videos))
        targets += list(zip(result.videos, paths, strict=True))
    for name, target in targets:
        await asyncio.to_thread(shutil.copyfile, await jobs.file(job, name), target)
