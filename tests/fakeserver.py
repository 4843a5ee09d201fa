"""What every loopback fake (Gemini, Gemini Live, Telegram, Discord) shares.

`LoopbackServer` is the life cycle: `async with Fake() as fake:` (or `start`/`stop`) listens on
`host` (127.0.0.1) and `port` (0: a free port, read back once listening); `stop` raises
`FakeServerError` when a handler of the fake itself raised (see `errors`), so a broken fake fails
its test instead of hiding behind an error answer the product would retry. When the `async with`
block failed already, its own error stays in front and the fake's failure becomes a note on it.
`AiohttpServer` serves an aiohttp application there. Helpers: sleeps that shutting down cuts
short (`_sleep`), waiting for the next recorded change (`_notify`, `_wait_change`,
`wait_until`), per-name counters (`_count`), and `standalone`, the command line of
`python -m tests.<fake>_server`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from aiohttp import web

T = TypeVar("T")
S = TypeVar("S", bound="LoopbackServer")


class FakeServerError(AssertionError):
    """The fake itself failed while answering (a bug in the fake or a test's script): raised
    when it stops, so the test fails instead of the product seeing a quiet error answer."""


class LoopbackServer:
    """Base of the fakes: subclasses open and close their listener in `_open_listener` and
    `_close_listener`."""

    label: ClassVar[str] = "server"  # in "the fake {label} failed"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.errors: list[Any] = []  # the fake's own exceptions; `stop` fails the test on any
        self._counters: dict[str, int] = {}
        self._closing = asyncio.Event()  # set while stopping: sleeps and long polls end
        self._changed = asyncio.Event()  # replaced by `_notify` each time something happened

    # -- life cycle

    async def _open_listener(self) -> None:
        raise NotImplementedError

    async def _close_listener(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._closing.clear()
        await self._open_listener()

    async def stop(self) -> None:
        """Shut down; raises `FakeServerError` if a handler of the fake itself failed, so that
        a broken fake (answering errors the product would retry or work around) cannot pass a
        test."""
        self._closing.set()  # wakes up sleeping, hanging and long-polling handlers
        self._notify()
        await self._close_listener()
        if (failure := self._failure()) is not None:
            raise failure

    def _failure(self) -> FakeServerError | None:
        """What `stop` raises when `errors` holds anything."""
        if not self.errors:
            return None
        return FakeServerError(
            f"the fake {self.label} failed:\n" + "\n".join(map(str, self.errors))
        )

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.stop()
        except FakeServerError as failure:
            if exc is None:
                raise
            exc.add_note(str(failure))  # the test failed already: keep its error in front

    # -- waiting

    async def _sleep(self, seconds: float) -> None:
        """Sleep `seconds`, or less when the server stops meanwhile."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _notify(self) -> None:
        """Wake up everything waiting in `_wait_change`."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_change(self, seconds: float) -> None:
        """Until the next `_notify`, at most `seconds`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    async def _wait_until(
        self,
        find: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109 - a deadline for the whole wait, like pytest's
        failure: Callable[[], str],
    ) -> T:
        """The first non-None `find()`, checked again at each change; after `timeout` seconds
        an `AssertionError` saying `failure()`."""
        deadline = time.monotonic() + timeout
        while True:
            if (found := find()) is not None:
                return found
            if (remaining := deadline - time.monotonic()) <= 0:
                raise AssertionError(failure())
            await self._wait_change(remaining)

    async def wait_until(
        self,
        condition: Callable[[], T],
        timeout: float = 30,  # noqa: ASYNC109 - a deadline for the whole wait, like pytest's
        *,
        what: str = "",
    ) -> T:
        """The first truthy `condition()`, checked whenever the fake recorded something."""

        def find() -> T | None:
            value = condition()
            return value if value else None

        message = f"the fake {self.label} saw no {what or condition} within {timeout} s"
        return await self._wait_until(find, timeout, lambda: message)

    def _count(self, name: str) -> int:
        """1, 2, 3, … per `name` (message ids per chat, file ids, …)."""
        self._counters[name] = self._counters.get(name, 0) + 1
        return self._counters[name]


class AiohttpServer(LoopbackServer):
    """A fake served by aiohttp: subclasses build their application in `_app`."""

    _runner_options: ClassVar[dict[str, Any]] = {}  # more `web.AppRunner` arguments

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        raise NotImplementedError

    async def _open_listener(self) -> None:
        self._runner = web.AppRunner(
            self._app(), access_log=None, shutdown_timeout=1.0, **self._runner_options
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def _close_listener(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# ---------------------------------------------------------------- command line


def loopback_parser(doc: str | None, port: int) -> argparse.ArgumentParser:
    """A parser for a standalone fake: the first line of `doc`, `--host` and `--port`."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser


def standalone(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    build: Callable[[argparse.Namespace], S],
    banner: Callable[[S], str],
    *,
    inject: Callable[[S, str], None] | None = None,
    lines: Callable[[argparse.Namespace], Iterable[str]] = lambda args: (),
    quiet: tuple[type[BaseException], ...] = (),
) -> None:
    """Serve `build(args)` until SIGINT or SIGTERM, printing `banner(fake)` once it listens.

    With `inject`, each of `lines(args)` and then each line typed on stdin goes to it. `quiet`:
    exceptions that end the run without a traceback (besides Ctrl-C)."""
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt, *quiet):
        asyncio.run(_serve(lambda: build(args), banner, inject, lines(args)))


async def _serve(
    build: Callable[[], S],
    banner: Callable[[S], str],
    inject: Callable[[S, str], None] | None,
    lines: Iterable[str],
) -> None:
    async with build() as fake:
        sys.stdout.write(banner(fake))
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        if inject is not None:
            for line in lines:
                inject(fake, line)

            def read_stdin() -> None:
                for line in sys.stdin:
                    loop.call_soon_threadsafe(inject, fake, line)

            threading.Thread(target=read_stdin, daemon=True).start()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
