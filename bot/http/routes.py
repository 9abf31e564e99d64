"""Route tables whose pydantic models validate requests and describe the OpenAPI document.

    routes = RouteTable("jobs")

    @routes.get("/jobs/{job_id}", path_params=JobPath, response=JobRecord, errors={404: "Unknown job"})
    async def get_job(request: web.Request, job_id: str) -> JobRecord: ...

A handler receives path parameters by name (validated by the `path_params=` model when declared:
a bad one answers 422 at `["path", name]` and never reaches the handler), `body=` (the validated
body model) and `query=` (the validated query model) when declared, and returns a model (sent
with the declared status) or a ready `web.Response`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.http.json_body import BodyRefused, read_json

EndpointHandler = Callable[..., Awaitable[Any]]
ModelCheck = Callable[[web.Request, BaseModel], None]
# Runs on the raw body before anything else (a webhook's signature covers the exact bytes).
RawCheck = Callable[[web.Request, bytes], None]


class ApiError(Exception):
    """An error answer: `{"detail": detail}` with `status` and optional headers."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


class FieldInvalidError(ApiError):
    """422 naming one field, in the same shape as a pydantic validation error."""

    def __init__(self, loc: tuple[str | int, ...], message: str, value: Any = None) -> None:
        super().__init__(422, [{"loc": list(loc), "msg": message, "type": "value_error", "input": value}])


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: EndpointHandler
    tag: str
    summary: str
    description: str = ""
    body: type[BaseModel] | None = None
    body_required: bool = True  # False: an empty body is read as `{}`
    query: type[BaseModel] | None = None
    path_params: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    # Other answers worth documenting: status → (description, body model or None for {"detail"}).
    responses: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)
    public: bool = False
    raw_check: RawCheck | None = None
    uses_nats: bool = True
    in_schema: bool = True
    # What a success carries when it is not JSON (a chart's image/svg+xml): the document says so.
    media_type: str = "application/json"


# Checks that run on every validated body of a matching type (the LLM choice, ...).
BODY_CHECKS: web.AppKey[list[tuple[type[BaseModel], ModelCheck]]] = web.AppKey("body_checks", list)
NATS_READY: web.AppKey[Callable[[], bool]] = web.AppKey("nats_ready", Callable)  # type: ignore[arg-type]


class RouteTable:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def get(self, path: str, **options: Any) -> Callable[[EndpointHandler], EndpointHandler]:
        return self._add("GET", path, options)

    def post(self, path: str, **options: Any) -> Callable[[EndpointHandler], EndpointHandler]:
        return self._add("POST", path, options)

    def put(self, path: str, **options: Any) -> Callable[[EndpointHandler], EndpointHandler]:
        return self._add("PUT", path, options)

    def delete(self, path: str, **options: Any) -> Callable[[EndpointHandler], EndpointHandler]:
        return self._add("DELETE", path, options)

    def _add(self, method: str, path: str, options: dict[str, Any]) -> Callable[[EndpointHandler], EndpointHandler]:
        errors = options.pop("errors", {})
        responses = {status: (text, None) for status, text in errors.items()} | options.pop("responses", {})

        def register(handler: EndpointHandler) -> EndpointHandler:
            summary = options.pop("summary", None) or handler.__name__.replace("_", " ").capitalize()
            description = options.pop("description", None) or (handler.__doc__ or "").strip()
            endpoint = Endpoint(method, path, handler, self.tag, summary, description, responses=responses, **options)
            self.endpoints.append(endpoint)
            return handler

        return register


def add_endpoints(app: web.Application, endpoints: list[Endpoint]) -> None:
    for endpoint in endpoints:
        app.router.add_route(endpoint.method, endpoint.path, _serve(endpoint))


def endpoint_of(request: web.Request) -> Endpoint | None:
    return getattr(request.match_info.handler, "endpoint", None)


def json_response(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, headers=headers, content_type="application/json")


def check_body(request: web.Request, body: BaseModel) -> None:
    """The app's checks of a validated body (`BODY_CHECKS`): for a body made by the service
    itself, such as a dashboard form's, before it is handed to an endpoint's handler."""
    for model_type, check in request.app[BODY_CHECKS]:
        if isinstance(body, model_type):
            check(request, body)


def _serve(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        if endpoint.raw_check is not None:
            endpoint.raw_check(request, await request.read())
        arguments: dict[str, Any] = dict(request.match_info)
        if endpoint.path_params is not None:
            parameters = _validate(endpoint.path_params, arguments, "path")
            arguments = {name: getattr(parameters, name) for name in endpoint.path_params.model_fields}
        if endpoint.query is not None:
            arguments["query"] = _validate(endpoint.query, dict(request.query), "query")
        if endpoint.body is not None:
            empty = not endpoint.body_required and not (await request.read()).strip()
            body = _validate(endpoint.body, {} if empty else await _read_json(request), "body")
            check_body(request, body)
            arguments["body"] = body
        # After validation: bad input is a 4xx whether or not NATS is there.
        if endpoint.uses_nats and not request.app[NATS_READY]():
            raise ApiError(503, "NATS is unreachable; try again shortly")
        result = await endpoint.handler(request, **arguments)
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result, endpoint.status)

    serve.endpoint = endpoint  # type: ignore[attr-defined]
    return serve


async def _read_json(request: web.Request) -> Any:
    try:
        return await read_json(request)
    except BodyRefused as refused:
        raise ApiError(refused.status, refused.detail) from None


def _validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ApiError(422, [_field_error(where, item) for item in err.errors(include_url=False)]) from None


def _field_error(where: str, item: Any) -> dict[str, Any]:
    value = item.get("input")
    return {
        "loc": [where, *item["loc"]],
        "msg": item["msg"],
        "type": item["type"],
        "input": _echo(value),
    }


# Enough of a bad value to recognise it; a 4 KiB key sent back whole helps nobody.
ECHO_LENGTH = 200


def _echo(value: Any) -> Any:
    """Scalars only (a whole nested body repeated back helps nobody), and always valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str) and len(value) > ECHO_LENGTH:
        return value[:ECHO_LENGTH] + "…"
    return value if isinstance(value, (str, int, float, bool)) or value is None else None
