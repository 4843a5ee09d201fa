"""`python -m tests.discord_server`: the fake Discord standalone, interactions typed on stdin."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.discord_server import FakeDiscord, FakeServerError
from tests.discord_wire import Call
from tests.fakeserver import loopback_parser, standalone


def _log_line(call: Call) -> None:
    files = " ".join(f"{k}:{len(f.data)}B" for k, f in call.files.items())
    sys.stderr.write(f"{call.status} {call.method} {call.path} {json.dumps(call.json)[:200]} "
                     f"{files}\n")  # fmt: skip


def _value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _inject(fake: FakeDiscord, line: str) -> None:
    try:
        words = shlex.split(line)
        if words and words[0].startswith("/"):
            options: dict[str, Any] = {}
            for key, text in (w.split("=", 1) for w in words[1:] if "=" in w):
                if text.startswith("@"):  # a file for an attachment option
                    path = Path(text[1:]).expanduser()
                    options[key] = fake.user_attachment(path.read_bytes(), path.name)
                else:
                    options[key] = _value(text)
            fake.send_command(words[0][1:], options)
        elif words[:1] == ["press"] and len(words) == 3:
            fake.press_button(words[2], message_id=words[1])
        elif words[:1] == ["submit"] and len(words) >= 2:
            values = dict(w.split("=", 1) for w in words[2:] if "=" in w)
            fake.submit_modal(fake.interactions[words[1]], values)
        elif words:
            sys.stderr.write("! /<command> name=value name=@file … | press <message_id> "
                             "<custom_id> | submit <token> name=value …\n")  # fmt: skip
    except (KeyError, ValueError, RuntimeError, OSError) as exc:
        sys.stderr.write(f"! {exc}\n")


def _build(args: argparse.Namespace) -> FakeDiscord:
    return FakeDiscord(token=args.token, host=args.host, port=args.port, log=_log_line)


def _banner(fake: FakeDiscord) -> str:
    return f"api_base={fake.api_base}\ngateway_url={fake.gateway_url}\ntoken={fake.token}\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = loopback_parser(__doc__, 8082)
    parser.add_argument("--token", default="bot-token-1")
    # FakeServerError: each failure was printed when it happened
    standalone(parser, argv, _build, _banner, inject=_inject, quiet=(FakeServerError,))


if __name__ == "__main__":
    main()
