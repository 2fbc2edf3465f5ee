"""A partner route's plain JSON request, run without FastAPI's general request machinery.

FastAPI runs every request of a route through ``request_response`` (two
``AsyncExitStack``s, an exception wrapper, a ``Request``), its request handler
(telemetry hooks, the endpoint context, the content type parsed through
``email.message``) and ``solve_dependencies`` (a cache key and three callable
classifications per sub-dependency, query string, headers and cookies parsed
whether declared or not, a sub-response): ~260 Python calls of a brokered
query, for a route whose whole work is "parse a JSON body, check the token,
validate, call the endpoint, serialize the answer".

:class:`LeanRoute` does that work for the common case of a route that fits
(see :func:`lean_plan`): an ``async def`` endpoint whose dependencies are
``async def`` functions taking only the request, path parameters and at most one
JSON body model, and a ``response_model``. It handles a request itself only
when the request is the plain case: ``Content-Type: application/json`` exactly,
a non-empty body that parses as JSON, path parameters and body that validate.
Anything else (another or no content type, an empty or malformed body, a
disconnect or an oversized body while reading, a validation error, dependency
overrides in force) goes to FastAPI's own route app before anything with an
effect has run, with the body read so far handed back to it message by message
(and an error raised while reading raised again at the same point), so FastAPI
answers exactly as it always did: which error wins (``malformed-json`` before
the token, the token before ``validation``) and every problem body stay its.

For the plain case the steps are FastAPI's own, in its order: the body parsed
with ``json.loads`` (what ``Request.json`` does), path parameters and body
validated by FastAPI's ``request_params_to_args`` / ``request_body_to_args``
with the route's own fields, each dependency awaited with the request (a
refusal it raises reaches the same exception handlers through
``ExceptionMiddleware``), the endpoint awaited with the same arguments, and
the answer validated and serialized by FastAPI's ``serialize_response`` with
the route's response field and options, sent as the ``application/json``
``Response`` FastAPI builds (same status, same headers in the same order).
``tests/foundation/test_lean_route.py`` holds the two paths equal.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Final

from fastapi import params
from fastapi._compat import field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    _get_form_models,
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    _should_embed_body_fields,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import _extract_endpoint_context, serialize_response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_TYPE: Final = b"application/json"
_UNREAD: Final = object()  # no body FastAPI would hand to validation as JSON


@dataclass(frozen=True, slots=True)
class LeanPlan:
    """What a fitting route needs per request, worked out once."""

    call: Any
    dependencies: tuple[tuple[str, Any], ...]  # (parameter name, async call(request))
    request_name: str | None
    path_fields: list[Any]
    # (name, request key, field) when every path field is a plain value: validated as
    # request_params_to_args does it, without its per-request look at the annotation.
    plain_path: tuple[tuple[str, str, Any], ...] | None
    body_fields: list[Any]
    embed_body: bool
    single_body: Any  # the one body field validated against the whole body, else None
    response_field: Any
    status_code: int
    options: dict[str, Any]  # serialize_response's include/exclude/by_alias/... options
    overrides: Any  # the app (or None): a request with dependency overrides in force falls back
    endpoint: Any  # the route's endpoint, for FastAPI's error context
    route_path: str


def _plain_dependency(sub: Dependant) -> bool:
    """An ``async def`` dependency whose one parameter is the request, without sub-dependencies."""
    return (
        sub.name is not None
        and inspect.iscoroutinefunction(sub.call)
        and not sub.dependencies
        and not (sub.path_params or sub.query_params or sub.header_params)
        and not (sub.cookie_params or sub.body_params)
        and sub.request_param_name is not None
        and sub.websocket_param_name is None
        and sub.http_connection_param_name is None
        and sub.response_param_name is None
        and sub.background_tasks_param_name is None
        and sub.security_scopes_param_name is None
        and not sub.own_oauth_scopes
        and not sub.parent_oauth_scopes
    )


def lean_plan(context: Any) -> LeanPlan | None:
    """The plan for FastAPI's effective route ``context``, or None where the route does not fit."""
    dependant: Dependant | None = getattr(context, "dependant", None)
    if dependant is None or not inspect.iscoroutinefunction(dependant.call):
        return None
    if (
        dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
    ):
        return None
    if not all(_plain_dependency(sub) for sub in dependant.dependencies):
        return None
    if len({sub.call for sub in dependant.dependencies}) != len(dependant.dependencies):
        return None  # FastAPI would call a repeated dependency once; keep it simple
    if len(dependant.body_params) > 1 or any(
        isinstance(field.field_info, params.Form) for field in dependant.body_params
    ):
        return None
    if (
        context.response_field is None
        or not isinstance(context.response_class, DefaultPlaceholder)
        or context.is_sse_stream
        or context.is_json_stream
        or context.stream_item_field is not None
        or context.max_body_size is not None
        or not is_body_allowed_for_status_code(context.status_code or 200)
        or getattr(context, "form_limits", None)
    ):
        return None
    embed = bool(context._embed_body_fields)
    body_fields = list(dependant.body_params)
    single = (
        len(body_fields) == 1
        and not embed
        and not _should_embed_body_fields(body_fields)
        and not _get_form_models(body_fields[0])
    )
    return LeanPlan(
        call=dependant.call,
        dependencies=tuple((str(sub.name), sub.call) for sub in dependant.dependencies),
        request_name=dependant.request_param_name,
        path_fields=list(dependant.path_params),
        plain_path=_plain_path(dependant.path_params),
        body_fields=body_fields,
        embed_body=embed,
        single_body=body_fields[0] if single else None,
        response_field=context.response_field,
        status_code=context.status_code or 200,
        options={
            "include": context.response_model_include,
            "exclude": context.response_model_exclude,
            "by_alias": context.response_model_by_alias,
            "exclude_unset": context.response_model_exclude_unset,
            "exclude_defaults": context.response_model_exclude_defaults,
            "exclude_none": context.response_model_exclude_none,
        },
        overrides=context.dependency_overrides_provider,
        endpoint=dependant.call,
        route_path=str(dependant.path or context.path),
    )


def _plain_path(fields: list[Any]) -> tuple[tuple[str, str, Any], ...] | None:
    """Each path field's name and request key, if none is a model, a sequence or ``Json``."""
    plain: list[tuple[str, str, Any]] = []
    for field in fields:
        aliases = _get_param_aliases(field)
        if (
            _get_param_model(field) is not None
            or _is_json_field(field)
            or field_annotation_is_sequence(field.field_info.annotation)
            or len(aliases) != 1
        ):
            return None
        plain.append((field.name, aliases[0][1], field))
    return tuple(plain)


def _content_type(scope: Scope) -> bytes | None:
    """The first ``Content-Type`` value, as Starlette's ``Headers.get`` finds it."""
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value)
    return None


async def _read_json(receive: Receive) -> tuple[Any, bytes, list[Message], BaseException | None]:
    """(parsed body or _UNREAD, the bytes, the messages read, the read's error) of a request.

    ``_UNREAD`` where FastAPI must see the request itself: a disconnect, an error
    while reading (the body limit's), an empty body, or one ``json.loads`` refuses.
    """
    messages: list[Message] = []
    chunks: list[bytes] = []
    try:
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return _UNREAD, b"", messages, None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
    except Exception as error:  # noqa: BLE001 - FastAPI meets it again, at the same read
        return _UNREAD, b"", messages, error
    raw = b"".join(chunks)
    if not raw:
        return _UNREAD, raw, messages, None
    try:
        return json.loads(raw), raw, messages, None
    except Exception:  # noqa: BLE001 - FastAPI parses it again and answers as always
        return _UNREAD, raw, messages, None


class _Replay:
    """``receive`` for the fallback: the messages already read, then the read's error or more."""

    __slots__ = ("error", "index", "messages", "receive")

    def __init__(self, messages: list[Message], error: BaseException | None, receive: Receive):
        self.messages = messages
        self.error = error
        self.receive = receive
        self.index = 0

    async def __call__(self) -> Message:
        if self.index < len(self.messages):
            message = self.messages[self.index]
            self.index += 1
            return message
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return await self.receive()


class LeanRoute:
    """A route's ASGI app: the plain case here, everything else FastAPI's ``fallback``."""

    def __init__(self, plan: LeanPlan, fallback: ASGIApp) -> None:
        self.plan = plan
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self.plan
        overrides = getattr(plan.overrides, "dependency_overrides", None)
        if overrides:
            await self.fallback(scope, receive, send)
            return
        body: Any = None
        raw = b""
        replay: list[Message] = []
        if plan.body_fields:
            if _content_type(scope) != JSON_TYPE:
                await self.fallback(scope, receive, send)
                return
            body, raw, replay, error = await _read_json(receive)
            if body is _UNREAD:
                await self.fallback(scope, _Replay(replay, error, receive), send)
                return
        values, errors = self._path_values(scope["path_params"])
        if not errors and plan.single_body is not None:
            field = plan.single_body
            value, errors = field.validate(body, {}, loc=("body",))
            values[field.name] = value
        elif not errors and plan.body_fields:
            body_values, errors = await request_body_to_args(
                plan.body_fields, body, plan.embed_body
            )
            values.update(body_values)
        if errors:
            await self.fallback(scope, _Replay(replay, None, receive), send)
            return
        request = Request(scope, receive, send)
        if plan.body_fields:
            request._body = raw
            request._json = body
        for name, call in plan.dependencies:
            values[name] = await call(request)
        if plan.request_name is not None:
            values[plan.request_name] = request
        answer = await plan.call(**values)
        if not isinstance(answer, Response):
            content = await self._serialize(scope, answer)
            answer = Response(content, plan.status_code, media_type="application/json")
        await answer(scope, receive, send)

    def _path_values(self, received: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
        plain = self.plan.plain_path
        if plain is None:
            return request_params_to_args(self.plan.path_fields, received)
        values: dict[str, Any] = {}
        for name, key, field in plain:
            raw = received.get(key)
            if raw is None:  # FastAPI's "missing": let it say so
                return values, [None]
            value, errors = field.validate(raw, values, loc=("path", key))
            if errors:
                return values, errors
            values[name] = value
        return values, []

    async def _serialize(self, scope: Scope, answer: Any) -> Any:
        plan = self.plan
        try:
            return await serialize_response(
                field=plan.response_field,
                response_content=answer,
                is_coroutine=True,
                dump_json=True,
                **plan.options,
            )
        except ResponseValidationError as error:
            # Raised again with the context FastAPI gives it (its message names the endpoint).
            raise ResponseValidationError(
                errors=error.errors(), body=answer, endpoint_ctx=self._context(scope)
            ) from None

    def _context(self, scope: Scope) -> Any:
        context = _extract_endpoint_context(self.plan.endpoint)
        mount_path = str(scope.get("root_path", "")).rstrip("/")
        context["path"] = f"{scope['method']} {mount_path}{self.plan.route_path}"
        return context
