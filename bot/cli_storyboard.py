"""The CLI's storyboards: `storybot story --preview` stops at the scenes, written beside the
video-to-be as pictures and a contact sheet; `storybot redraw`, `edit` and `render` continue
that job in this process."""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rich.text import Text

from bot.cli_jobs import Ran, cli_job, destination_of, finish, open_jobs, out, run_job
from core.config import Settings
from core.errors import InvalidRequest, NotAwaitingApproval
from core.models import Job, JobId, JobStatus
from core.service import JobService

Parser = TypeVar("Parser", bound=argparse.ArgumentParser)


def add_commands(commands: argparse._SubParsersAction[Parser]) -> None:
    """`storybot redraw`, `edit` and `render`: what follows `storybot story --preview`."""
    job_help = "the job id that `storybot story --preview` printed"
    redraw = commands.add_parser("redraw", help="draw one scene of a storyboard again")
    redraw.add_argument("job_id", help=job_help)
    redraw.add_argument("scene", type=int, help="the scene's number, from 1")
    redraw.add_argument("--hint", help='what to change, e.g. "the cat has four legs"')
    edit = commands.add_parser("edit", help="change the line of one scene of a storyboard")
    edit.add_argument("job_id", help=job_help)
    edit.add_argument("scene", type=int, help="the scene's number, from 1")
    edit.add_argument("line", help="what the narrator says in that scene (1 to 400 characters)")
    render = commands.add_parser("render", help="make the video of a storyboard (to its --out)")
    render.add_argument("job_id", help=job_help)


def scene_path(destination: Path, scene: int) -> Path:
    """`OUT.scene-01.png` beside `OUT.mp4`: a scene's picture."""
    return destination.with_name(f"{destination.stem}.scene-{scene:02d}.png")


def sheet_path(destination: Path) -> Path:
    """`OUT.storyboard.jpg` beside `OUT.mp4`: every scene on one page."""
    return destination.with_name(f"{destination.stem}.storyboard.jpg")


async def show_board(jobs: JobService, job: Job, destination: Path) -> None:
    """A storyboard just became ready: every scene's picture and the contact sheet beside
    `destination`; the lines and the commands that continue it on stdout."""
    board = await jobs.storyboards.get(job)
    for scene in board.scenes:
        await _write_picture(jobs, job, destination, scene.index)
    sheet = await _write_sheet(jobs, job, destination)
    out.print(Text(f"Storyboard ready (job {job.id}): {sheet}"), soft_wrap=True)
    for scene in board.scenes:
        out.print(Text(f"  {scene.index}. {scene.script}"), soft_wrap=True)
    last = scene_path(destination, len(board.scenes))
    pictures = f"{scene_path(destination, 1)} … {last.name}" if len(board.scenes) > 1 else last
    out.print(Text(f"Pictures: {pictures}"), soft_wrap=True)
    await _next_steps(jobs, job, destination)


def redraw(args: argparse.Namespace, settings: Settings) -> int:
    """`storybot redraw JOB N [--hint TEXT]`: draw scene N again, wait until the storyboard is
    ready again, rewrite that picture and the contact sheet."""

    async def again(jobs: JobService) -> Job:
        job = await _waiting(jobs, JobId(args.job_id))
        await jobs.storyboards.redraw(job, args.scene, args.hint)
        return job

    show = functools.partial(_show_redrawn, scene=args.scene)
    return finish(functools.partial(run_job, settings, act=again, show_board=show), settings)


def edit(args: argparse.Namespace, settings: Settings) -> int:
    """`storybot edit JOB N "new line"`: change scene N's line, rewrite the contact sheet."""

    async def run(started: list[JobId]) -> Ran:
        async with open_jobs(settings) as jobs:
            job = await _waiting(jobs, JobId(args.job_id))
            scene = await jobs.storyboards.edit(job, args.scene, args.line)
            destination = destination_of(job)
            sheet = await _write_sheet(jobs, job, destination)
            out.print(Text(f"Scene {scene.index} now says: “{scene.script}”"), soft_wrap=True)
            out.print(Text(f"Contact sheet: {sheet}"), soft_wrap=True)
            await _next_steps(jobs, job, destination)
            return job, None, destination

    return finish(run, settings)


def render(args: argparse.Namespace, settings: Settings) -> int:
    """`storybot render JOB`: make the video of the storyboard as it is now, to its `--out`."""

    async def approve(jobs: JobService) -> Job:
        job = await _waiting(jobs, JobId(args.job_id))
        await jobs.storyboards.render(job)
        return job

    return finish(functools.partial(run_job, settings, act=approve), settings)


async def _waiting(jobs: JobService, job_id: JobId) -> Job:
    """A CLI job for a storyboard action; one whose last run was cut short (no CLI process
    runs it now) says how to finish it."""
    job = await cli_job(jobs, job_id)
    if job.status is JobStatus.CANCELLED and job.error:  # e.g. it waited too long
        raise NotAwaitingApproval(job.error)
    if not job.status.finished and job.status is not JobStatus.AWAITING_APPROVAL:
        raise NotAwaitingApproval(
            f"job {job_id} is not at its storyboard now"
            f" (if it was interrupted, `storybot resume {job_id}` goes on with it)"
        )
    return job


async def _show_redrawn(jobs: JobService, job: Job, destination: Path, *, scene: int) -> None:
    """Scene `scene` was drawn again: its picture and the contact sheet are rewritten."""
    drawn = (await jobs.storyboards.get(job)).scene(scene)
    picture = await _write_picture(jobs, job, destination, scene)
    sheet = await _write_sheet(jobs, job, destination)
    hint = f" (hint: “{drawn.hint}”)" if drawn.hint else ""
    left = f"{drawn.redraws_left} redraw{'' if drawn.redraws_left == 1 else 's'} left for it"
    out.print(Text(f"Scene {scene} drawn again{hint}: {picture}, {left}"), soft_wrap=True)
    out.print(Text(f"Contact sheet: {sheet}"), soft_wrap=True)
    await _next_steps(jobs, job, destination)


async def _next_steps(jobs: JobService, job: Job, destination: Path) -> None:
    """The commands that go on from a storyboard, and the redraws left."""
    board = await jobs.storyboards.get(job)
    counts = [s.redraws_left for s in board.scenes]
    if len(set(counts)) == 1:
        left = f"{counts[0]} left per scene"
    else:
        left = "left per scene: " + ", ".join(str(count) for count in counts)
    out.print("Next:")
    for command, what in (
        (f"storybot redraw {job.id} N [--hint TEXT]", f"draw scene N again ({left})"),
        (f'storybot edit {job.id} N "new line"', "change what scene N says"),
        (f"storybot render {job.id}", f"make the video: {destination}"),
    ):
        out.print(Text(f"  {command:<44} {what}"), soft_wrap=True)


async def _write_picture(jobs: JobService, job: Job, destination: Path, scene: int) -> Path:
    """Scene `scene`'s picture as `OUT.scene-NN.png`."""
    target = scene_path(destination, scene)
    source = await jobs.storyboards.picture(job, scene)
    await _writing(target, functools.partial(shutil.copyfile, source, target))
    return target


async def _write_sheet(jobs: JobService, job: Job, destination: Path) -> Path:
    """The contact sheet of the storyboard as it is now, as `OUT.storyboard.jpg`."""
    data = await jobs.storyboards.contact_sheet(job)
    target = sheet_path(destination)
    await _writing(target, functools.partial(target.write_bytes, data))
    return target


async def _writing(target: Path, write: Callable[[], object]) -> None:
    """Run `write` in a thread; a folder gone or read-only is one line, not a traceback."""
    try:
        await asyncio.to_thread(write)
    except OSError as exc:
        raise InvalidRequest(f"cannot write {target} ({exc.strerror or exc})") from None
