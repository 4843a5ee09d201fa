"""The Discord wire format as the fake speaks it: ids, limits, error codes, the records of
requests and interactions, and the validation Discord applies to what a bot sends."""

from __future__ import annotations

import datetime as dtm
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakeserver import FakeServerError as FakeServerError  # the fakes' common error

API_VERSION = 10
DISCORD_EPOCH_MS = 1_420_070_400_000
APPLICATION_ID = "900000000000000001"
BOT_USER_ID = APPLICATION_ID  # a modern bot user shares its application's id
GUILD_ID = "800000000000000001"
CHANNEL_ID = "800000000000000002"
USER_ID = "700000000000000001"  # "alice", the guild owner and default interaction user
OTHER_USER_ID = "700000000000000002"  # "bob", a second member
PERMISSIONS = "2248473465835073"  # what the members and the app get (a realistic bit set)
# Per file: "The file upload size limit applies to each file in a request. The default limit is
# 20 MiB" (https://discord.com/developers/docs/reference#uploading-files; 10 MiB from 2025-01-16,
# 20 MiB from 2026-09-03 per the change log). Per request: "The maximum request size when
# sending a message is 25 MiB" (Create Message), which a boosted guild's 50/100 MiB file exceeds.
DEFAULT_ATTACHMENT_SIZE_LIMIT = 20_971_520
MAX_REQUEST_SIZE = 26_214_400
GUILD_MESSAGES_INTENT, GUILD_PRESENCES_INTENT = 1 << 9, 1 << 8
LOADING, EPHEMERAL, SUPPRESS_EMBEDS, COMPONENTS_V2 = 128, 64, 4, 1 << 15
SUPPRESS_NOTIFICATIONS = 1 << 12
MAX_CONTENT, MAX_ATTACHMENTS, MAX_EMBEDS = 2000, 10, 10
OPTION_TYPES = {bool: 5, int: 4, float: 10, str: 3}  # bool before int: isinstance order matters
ATTACHMENT_OPTION = 11
ATTACHMENT_URL_TTL_S = 86_400  # the CDN's signed links last about a day
# Components (https://discord.com/developers/docs/components/reference)
MAX_ACTION_ROWS, MAX_ROW_BUTTONS, MAX_CUSTOM_ID, MAX_LABEL = 5, 5, 100, 80
MAX_CHOICES, MAX_CHOICE_NAME, MAX_CHOICE_VALUE = 25, 100, 100
# Modals (callback type 9): a title, 1-5 labels (type 18) or action rows holding a text input
MAX_MODAL_TITLE, MAX_MODAL_COMPONENTS, MAX_INPUT_LABEL, MAX_INPUT_CHARS = 45, 5, 45, 4000
TEXT_INPUT, LABEL = 4, 18
# Permission bits the channel routes check
VIEW_CHANNEL, SEND_MESSAGES, ATTACH_FILES, READ_MESSAGE_HISTORY = (
    1 << 10,
    1 << 11,
    1 << 15,
    1 << 16,
)

ERROR_MESSAGES = {
    0: "", 10003: "Unknown Channel", 10008: "Unknown Message", 10015: "Unknown Webhook",
    10062: "Unknown interaction", 40005: "Request entity too large",
    40060: "Interaction has already been acknowledged.",
    50005: "Cannot edit a message authored by another user", 50006: "Cannot send an empty message",
    50001: "Missing Access", 50013: "Missing Permissions", 50027: "Invalid Webhook Token",
    50035: "Invalid Form Body", 50109: "The request body contains invalid JSON.",
}  # fmt: skip
DEFAULT_FAULT_BODIES: dict[int, dict[str, Any]] = {
    401: {"message": "401: Unauthorized", "code": 0},
    403: {"message": "Missing Permissions", "code": 50013},
    404: {"message": "404: Not Found", "code": 0},
    413: {"message": "Request entity too large", "code": 40005},
    429: {"message": "You are being rate limited.", "retry_after": 0.3, "global": False},
    500: {"message": "500: Internal Server Error", "code": 0},
    502: {"message": "502: Bad Gateway", "code": 0},
    503: {"message": "upstream connect error or disconnect/reset before headers", "code": 0},
}
# gateway close codes
CLOSE_UNKNOWN_OPCODE, CLOSE_DECODE_ERROR, CLOSE_NOT_AUTHENTICATED = 4001, 4002, 4003
CLOSE_AUTHENTICATION_FAILED, CLOSE_ALREADY_AUTHENTICATED = 4004, 4005
CLOSE_REASONS = {
    4001: "Unknown opcode.", 4002: "Error while decoding payload.", 4003: "Not authenticated.",
    4004: "Authentication failed.", 4005: "Already authenticated.",
}  # fmt: skip


class ApiError(Exception):
    """An error answer: HTTP `status` with the JSON body `{"message", "code"[, "errors"]}`."""

    def __init__(
        self, status: int, code: int, message: str | None = None, errors: Any = None
    ) -> None:
        self.status, self.code = status, code
        self.message = message if message is not None else ERROR_MESSAGES.get(code, "")
        self.errors = errors
        super().__init__(f"{status} {code} {self.message}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        return body | ({"errors": self.errors} if self.errors is not None else {})


def form_error(path: Sequence[str | int], code: str, message: str) -> ApiError:
    """A 50035 Invalid Form Body whose `errors` nest along `path` like Discord's."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {str(key): errors}
    return ApiError(400, 50035, errors=errors)


@dataclass(frozen=True)
class UploadedFile:
    """One multipart file part as received."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One REST request as received, and what was answered.

    `path` is relative to `/api/v10` (e.g. `/webhooks/9…/itok-1/messages/@original`); `json` is the
    decoded JSON body or, for multipart, the decoded `payload_json` part (None without either);
    `form` holds any other non-file parts.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    time: float
    json: Any = None
    files: dict[str, UploadedFile] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    status: int = 0  # 0 while being answered
    response: Any = None

    def get(self, key: str, default: Any = None) -> Any:
        """`json[key]` when the body is a JSON object, else `default`."""
        return self.json.get(key, default) if isinstance(self.json, dict) else default


@dataclass
class Interaction:
    """An interaction the fake pushed, and what the bot did with it.

    `original` and `followups` are the very message dicts kept in `FakeDiscord.channel_messages`
    (edited in place), `callback_type`/`callback_data` the initial response.
    """

    id: str
    token: str
    type: int
    payload: dict[str, Any]
    created: float  # time.monotonic() when pushed
    attachment_size_limit: int  # what the upload routes enforce (the payload's may differ)
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    acked_at: float | None = None
    original: dict[str, Any] | None = None
    followups: list[dict[str, Any]] = field(default_factory=list)
    expired: bool = False
    expire_when: Callable[[Call], bool] | None = None  # at the first webhook call that matches
    submitted: bool = False  # its modal (callback type 9) was submitted: the form is closed

    @property
    def acked(self) -> bool:
        return self.acked_at is not None

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        """The autocomplete result (callback type 8), if any."""
        if self.callback_type != 8 or self.callback_data is None:
            return None
        return list(self.callback_data.get("choices", []))

    @property
    def modal(self) -> dict[str, Any] | None:
        """The modal shown in answer (callback type 9: custom_id, title, components), if any."""
        return self.callback_data if self.callback_type == 9 else None


@dataclass
class Fault:
    """A scripted error answer for the next `remaining` matching requests."""

    method: str
    path_contains: str
    status: int
    body: dict[str, Any] | None
    via: bool
    remaining: int
    predicate: Callable[[Call], bool] | None = None

    def matches(self, call: Call) -> bool:
        return (
            call.method == self.method
            and self.path_contains in call.path
            and (self.predicate is None or self.predicate(call))
        )


def now_iso() -> str:
    return dtm.datetime.now(dtm.UTC).isoformat()


def custom_ids(components: list[dict[str, Any]]) -> set[str]:
    """Every custom_id in a component tree (action rows, containers, sections, …)."""
    found: set[str] = set()
    for component in components:
        if "custom_id" in component:
            found.add(str(component["custom_id"]))
        for key in ("components", "accessory"):
            children = component.get(key)
            if isinstance(children, dict):
                children = [children]
            found |= custom_ids(children or [])
    return found


def user_object(
    user_id: str, username: str, *, global_name: str | None, bot: bool
) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": user_id, "username": username, "discriminator": "0", "global_name": global_name,
        "avatar": None, "public_flags": 0, "flags": 0, "banner": None, "accent_color": None,
        "avatar_decoration_data": None,
    }  # fmt: skip
    return user | ({"bot": True} if bot else {})


def _too_long(path: list[str | int], value: Any, most: int, *, least: int = 0) -> None:
    text = "" if value is None else str(value)
    if least and not least <= len(text) <= most:
        raise form_error(
            path, "BASE_TYPE_BAD_LENGTH", f"Must be between {least} and {most} in length."
        )
    if len(text) > most:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {most} or fewer in length.")


def _check_interactive(component: dict[str, Any], path: list[str | int]) -> None:
    """A button (type 2) or a select menu (3, 5-8): custom_id, label, style, options."""
    kind, style = component.get("type"), component.get("style")
    if kind == 2 and style not in (1, 2, 3, 4, 5, 6):
        raise form_error([*path, "style"], "BUTTON_COMPONENT_INVALID_STYLE", "Invalid style")
    if kind == 2 and style == 5:
        if not component.get("url") or "custom_id" in component:
            raise form_error(path, "BUTTON_COMPONENT_URL_REQUIRED", "A link button needs a url")
    elif kind != 2 or style != 6:
        _too_long([*path, "custom_id"], component.get("custom_id"), MAX_CUSTOM_ID, least=1)
    if kind == 2:
        _too_long([*path, "label"], component.get("label"), MAX_LABEL)
        if style != 6 and not component.get("label") and not component.get("emoji"):
            raise form_error(path, "BUTTON_COMPONENT_LABEL_REQUIRED", "A button needs a label")
    else:
        _too_long([*path, "placeholder"], component.get("placeholder"), 150)
        if len(component.get("options") or []) > 25:
            raise form_error([*path, "options"], "BASE_TYPE_MAX_LENGTH",
                             "Must be 25 or fewer in length.")  # fmt: skip


def check_components(components: list[Any], flags: int) -> None:
    """Raise 50035 for components Discord refuses: more than 5 action rows, more than 5
    buttons (or a select and anything else) in a row, a custom_id outside 1-100 characters, a
    label over 80, duplicate custom_ids. With COMPONENTS_V2 only the buttons and selects are
    checked, wherever they are."""
    seen: set[str] = set()

    def walk(items: list[Any], path: list[str | int]) -> None:
        for index, component in enumerate(items):
            where = [*path, index]
            if not isinstance(component, dict):
                raise form_error(where, "MODEL_TYPE_CONVERT", "Only dictionaries may be used")
            if component.get("type") in (2, 3, 5, 6, 7, 8):
                _check_interactive(component, where)
                if "custom_id" in component:
                    if component["custom_id"] in seen:
                        raise form_error([*where, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED",
                                         "Component custom id cannot be duplicated")  # fmt: skip
                    seen.add(str(component["custom_id"]))
            for key in ("components", "accessory"):
                children = component.get(key)
                walk([children] if isinstance(children, dict) else list(children or []),
                     [*where, key])  # fmt: skip

    if not flags & COMPONENTS_V2:
        if len(components) > MAX_ACTION_ROWS:
            raise form_error(["components"], "BASE_TYPE_MAX_LENGTH",
                             f"Must be {MAX_ACTION_ROWS} or fewer in length.")  # fmt: skip
        for index, row in enumerate(components):
            if not isinstance(row, dict) or row.get("type") != 1:
                raise form_error(["components", index], "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                                 "Top-level components must be action rows")  # fmt: skip
            children = list(row.get("components") or [])
            selects = sum(1 for c in children if isinstance(c, dict) and c.get("type") != 2)
            if not children or len(children) > MAX_ROW_BUTTONS or (selects and len(children) > 1):
                raise form_error(["components", index, "components"],
                                 "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                                 "The specified component exceeds the maximum width")  # fmt: skip
    walk(components, ["components"])


def check_choices(choices: list[Any]) -> None:
    """Raise 50035 for autocomplete choices Discord refuses: more than 25, a name outside
    1-100 characters, a string value over 100."""
    if len(choices) > MAX_CHOICES:
        raise form_error(["data", "choices"], "BASE_TYPE_MAX_LENGTH",
                         f"Must be {MAX_CHOICES} or fewer in length.")  # fmt: skip
    for index, choice in enumerate(choices):
        where: list[str | int] = ["data", "choices", index]
        _too_long([*where, "name"], choice.get("name"), MAX_CHOICE_NAME, least=1)
        if isinstance(choice.get("value"), str):
            _too_long([*where, "value"], choice["value"], MAX_CHOICE_VALUE, least=1)


def _check_text_input(item: dict[str, Any], path: list[str | int], *, labelled: bool) -> None:
    """A text input (type 4): custom_id 1-100, style 1 (short) or 2 (paragraph), a label of
    1-45 unless a Label holds it, lengths within 0-4000 (max at least 1, min at most max), a
    placeholder up to 100 and a prefilled value no longer than max_length."""
    _too_long([*path, "custom_id"], item.get("custom_id"), MAX_CUSTOM_ID, least=1)
    if item.get("style") not in (1, 2):
        raise form_error([*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
    if not labelled:
        _too_long([*path, "label"], item.get("label"), MAX_INPUT_LABEL, least=1)
    least, most = item.get("min_length"), item.get("max_length")
    if least is not None and not 0 <= int(least) <= MAX_INPUT_CHARS:
        raise form_error([*path, "min_length"], "NUMBER_TYPE_MAX",
                         f"int value should be <= {MAX_INPUT_CHARS} and >= 0.")  # fmt: skip
    if most is not None and not 1 <= int(most) <= MAX_INPUT_CHARS:
        raise form_error([*path, "max_length"], "NUMBER_TYPE_MAX",
                         f"int value should be <= {MAX_INPUT_CHARS} and >= 1.")  # fmt: skip
    if least is not None and most is not None and int(least) > int(most):
        raise form_error([*path, "min_length"], "TEXT_INPUT_MIN_LENGTH_INVALID",
                         "min_length cannot be greater than max_length")  # fmt: skip
    _too_long([*path, "placeholder"], item.get("placeholder"), 100)
    _too_long([*path, "value"], item.get("value"), int(most or MAX_INPUT_CHARS))


def check_modal(data: dict[str, Any]) -> None:
    """Raise 50035 for a modal Discord refuses: custom_id outside 1-100 characters, a title
    outside 1-45, 1-5 components each an action row of one text input or a Label (type 18,
    label 1-45, description up to 100) around one text input or select; duplicate custom_ids."""
    _too_long(["data", "custom_id"], data.get("custom_id"), MAX_CUSTOM_ID, least=1)
    _too_long(["data", "title"], data.get("title"), MAX_MODAL_TITLE, least=1)
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= MAX_MODAL_COMPONENTS:
        raise form_error(["data", "components"], "BASE_TYPE_BAD_LENGTH",
                         f"Must be between 1 and {MAX_MODAL_COMPONENTS} in length.")  # fmt: skip
    seen: set[str] = set()
    for index, top in enumerate(components):
        path: list[str | int] = ["data", "components", index]
        kind = top.get("type") if isinstance(top, dict) else None
        if kind == 1 and len(top.get("components") or []) == 1:
            item, where, labelled = top["components"][0], [*path, "components", 0], False
        elif kind == LABEL and isinstance(top.get("component"), dict):
            _too_long([*path, "label"], top.get("label"), MAX_INPUT_LABEL, least=1)
            _too_long([*path, "description"], top.get("description"), 100)
            item, where, labelled = top["component"], [*path, "component"], True
        else:
            raise form_error(path, "UNION_TYPE_CHOICES", "Value of field \"type\" must be "
                             "one of (1, 18).")  # fmt: skip
        if item.get("type") == TEXT_INPUT:
            _check_text_input(item, where, labelled=labelled)
        elif labelled and item.get("type") in (3, 5, 6, 7, 8):
            _check_interactive(item, where)
        else:
            raise form_error([*where, "type"], "COMPONENT_TYPE_INVALID",
                             "This component type is not allowed here")  # fmt: skip
        if item["custom_id"] in seen:
            raise form_error([*where, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED",
                             "Component custom id cannot be duplicated")  # fmt: skip
        seen.add(str(item["custom_id"]))
