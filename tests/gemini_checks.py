"""What the fake Gemini refuses before any scripted fault, as the real service does (a mixin of
`FakeGemini`), in the order it checks: credentials, the route, the model, then the request.

Auth: a Vertex request carrying `Authorization: Bearer <token>`, and every `projects/...` path,
needs `bearer_token` (None: any token) or gets the real 401 UNAUTHENTICATED body; every other
request needs the `x-goog-api-key` `api_key` (None: any key) or gets the real 400
API_KEY_INVALID body. A model not in `models` gets 404 NOT_FOUND (when `strict_models`). What
each model accepts is in `tests/gemini_catalog.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from tests.gemini_catalog import FakeModel, check_generate, check_predict
from tests.gemini_faults import HttpError
from tests.gemini_requests import VERTEX_METHODS, RecordedRequest, get_key
from tests.gemini_video import VideoOperation


class ChecksMixin:
    """The refusals of `FakeGemini`."""

    api_key: str | None
    bearer_token: str | None
    models: list[str]
    strict_models: bool
    video_models: list[str] | None
    operations: dict[str, VideoOperation]
    spec: Callable[[str], FakeModel]  # `FakeGemini.spec`

    def _auth_error(self, request: web.Request, record: RecordedRequest) -> HttpError | None:
        bearer = request.headers.get("Authorization", "")
        if record.vertex and (record.project is not None or bearer):
            token = bearer[len("Bearer ") :].strip() if bearer.startswith("Bearer ") else ""
            if token and self.bearer_token in (None, token):
                return None
            method = VERTEX_METHODS.get(record.verb or "", "ModelGardenService.GetPublisherModel")
            return HttpError.unauthenticated(missing=not token, method=method)
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key or (self.api_key is not None and key != self.api_key):
            service = "aiplatform.googleapis.com" if record.vertex else None
            return HttpError.bad_key(service) if service else HttpError.bad_key()
        return None

    def _unrouted(self, request: web.Request, record: RecordedRequest) -> HttpError:
        """The answer to a request of no kind (a bad body, an unknown verb or path)."""
        version = record.path.split("/")[1]
        if record.verb == "generateContent" and request.method == "POST":
            return HttpError.invalid_argument("Invalid JSON payload received.")
        if record.verb and record.model and not record.vertex and request.method == "POST":
            return HttpError.not_found(record.model, version, record.verb)
        return HttpError(404, "NOT_FOUND", f"Method not found: {request.method} {record.path}")

    def _not_found(self, record: RecordedRequest) -> HttpError:
        if record.vertex:
            scope = f"projects/{record.project}/locations/{record.location}/"
            return HttpError.publisher_not_found(
                record.model or "", scope if record.project else ""
            )
        version = record.path.split("/")[1]
        method = "createInteraction" if record.kind == "interaction" else "generateContent"
        return HttpError.not_found(record.model or "", version, method)

    def _invalid(self, record: RecordedRequest) -> HttpError | None:
        """Requests the real API refuses before doing anything (checked before faults)."""
        if record.kind == "interaction" and not record.model:
            return HttpError.invalid_argument("Either model or agent must be set.")
        wants_video = record.kind == "video" or (
            record.kind == "interaction" and record.wants_video
        )
        if wants_video and not self._makes_video(record):
            return HttpError.no_video(record.model or "")
        spec = self.spec(record.model or "")
        why: str | None = None
        if record.kind in ("story", "image", "tts", "text") and record.body is not None:
            why = check_generate(spec, record.kind, record.body, get_key)
        elif record.kind in ("imagen", "video"):
            why = check_predict(spec, record.kind, record.parameters, record.prompt)
        if why is not None:
            return HttpError.invalid_argument(why)
        if record.kind == "poll" and record.operation not in self.operations:
            return HttpError(404, "NOT_FOUND", f"Operation {record.operation} not found.")
        if record.kind == "interaction_poll" and record.operation not in self.operations:
            return HttpError(404, "NOT_FOUND", f"Interaction {record.operation} not found.")
        return None

    def _makes_video(self, record: RecordedRequest) -> bool:
        model = record.model or ""
        if self.video_models is not None:
            return model in self.video_models
        wanted = "veo" if record.kind == "video" else "interactions"
        return wanted in self.spec(model).outputs

    def _refusal(self, request: web.Request, record: RecordedRequest) -> HttpError | None:
        """Why the request is refused before any scripted fault, if it is."""
        if (denied := self._auth_error(request, record)) is not None:
            return denied
        if record.kind is None:
            return self._unrouted(request, record)
        known = record.model is None or record.model in self.models
        if not known and (self.strict_models or record.kind == "list"):
            return self._not_found(record)
        return self._invalid(record)
