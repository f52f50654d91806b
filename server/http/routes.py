"""The route table of the HTTP API, and the routes that call ``VaeService``'s RPCs.

Paths follow Google's HTTP mapping of gRPC services (``google.api.http``): the model is a
resource, ``GET`` reads (ListModels, GetModelInfo), and the other RPCs are custom methods
``POST /v1/models/{model_name}:<verb>`` with the request message as the body; each exists
again under ``/versions/{model_version}``. :data:`RPC_ROUTES` is the one list: the
application registers it and the OpenAPI generator documents it, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from google.protobuf.message import Message

from vaeserve.server.dataplane.handlers import VaeHandlers
from vaeserve.server.errors import InvalidArgumentError, shown
from vaeserve.server.http import bodies
from vaeserve.server.http.status import Outcome, answered
from vaeserve.server.inference.queued_request import WhyAbandoned
from vaeserve.server.metrics import Metrics
from vaeserve.server.security.bearer import BearerToken
from vaeserve.v1 import vae_service_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["VaeService"]
MODEL_PATH = "/v1/models/{model_name}"
VERSION_PATH = MODEL_PATH + "/versions/{model_version}"
VERBS: Mapping[str, str] = {
    "Encode": "encode",
    "Decode": "decode",
    "Sample": "sample",
    "Interpolate": "interpolate",
    "Reconstruct": "reconstruct",
}
VERSION_QUERY = "version"
# Path variables match one segment. A model name may hold ':'; the resource route refuses
# to take a name that ends in a custom verb, so GET on a POST-only method is 405, not 404.
_NOT_A_VERB = "".join(f"(?<!:{verb})" for verb in VERBS.values())
_SEGMENT_PATTERNS = {
    "{model_name}:": "{model_name:[^/]+}:",
    "{model_name}": "{model_name:[^/]+" + _NOT_A_VERB + "}",
    "{model_version}": "{model_version:[^/:]+}",
}
UINT32_MAX = 2**32 - 1

Rpc = Callable[[Any, WhyAbandoned], Awaitable[Message]]


@dataclass(frozen=True)
class RpcRoute:
    """One HTTP route of one RPC; ``path`` is in OpenAPI's template form."""

    rpc: str
    http_method: str
    path: str

    @property
    def request_type(self) -> type[Message]:
        message: type[Message] = getattr(pb, SERVICE.methods_by_name[self.rpc].input_type.name)
        return message

    @property
    def reply_type(self) -> type[Message]:
        message: type[Message] = getattr(pb, SERVICE.methods_by_name[self.rpc].output_type.name)
        return message

    @property
    def has_body(self) -> bool:
        return self.http_method == "POST"

    @property
    def query(self) -> tuple[str, ...]:
        """Query parameters the route reads (a GET's request fields not in its path)."""
        return (VERSION_QUERY,) if self.path == MODEL_PATH else ()


RPC_ROUTES: tuple[RpcRoute, ...] = (
    RpcRoute("ListModels", "GET", "/v1/models"),
    RpcRoute("GetModelInfo", "GET", MODEL_PATH),
    RpcRoute("GetModelInfo", "GET", VERSION_PATH),
    *(
        RpcRoute(rpc, "POST", f"{base}:{verb}")
        for rpc, verb in VERBS.items()
        for base in (MODEL_PATH, VERSION_PATH)
    ),
)


def router_path(path: str) -> str:
    """An OpenAPI path template as aiohttp's router pattern (variables one segment)."""
    for variable, pattern in _SEGMENT_PATTERNS.items():
        path = path.replace(variable, pattern)
    return path


def abandonment_of(request: web.Request) -> WhyAbandoned:
    """What the batcher asks before computing a request's items: is its client still there?"""

    def why_abandoned() -> str | None:
        transport = request.transport
        return "cancelled" if transport is None or transport.is_closing() else None

    return why_abandoned


class RpcRoutes:
    """Handlers of :data:`RPC_ROUTES`: authorize, parse, call the dataplane, reply in JSON."""

    def __init__(
        self,
        handlers: VaeHandlers,
        metrics: Metrics,
        token: BearerToken | None,
        body_limit: int,
    ) -> None:
        self.handlers = handlers
        self.metrics = metrics
        self.token = token
        self.body_limit = body_limit
        self._rpcs: dict[str, Rpc] = {
            "Encode": handlers.encode,
            "Decode": handlers.decode,
            "Sample": handlers.sample,
            "Interpolate": handlers.interpolate,
            "Reconstruct": handlers.reconstruct,
            "ListModels": lambda request, _: handlers.list_models(request),
            "GetModelInfo": lambda request, _: handlers.get_model_info(request),
        }

    def add_to(self, app: web.Application) -> None:
        for route in RPC_ROUTES:
            app.router.add_route(route.http_method, router_path(route.path), self._handler(route))

    def authorize(self, request: web.Request) -> None:
        """Raise UnauthenticatedError unless the request carries the token (when one is set)."""
        if self.token is not None:
            self.token.check(request.headers.get("Authorization"))

    def _handler(self, route: RpcRoute) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await answered(
                self.metrics, route.rpc, lambda outcome: self._serve(route, request, outcome)
            )

        return handle

    async def _serve(self, route: RpcRoute, request: web.Request, outcome: Outcome) -> web.Response:
        self.authorize(request)
        self.handlers.check_accepting()
        message = route.request_type()
        if route.has_body:
            bodies.parse(await bodies.read_json(request, self.body_limit), message)
        query = known_query(request, route.query)
        name_in_path(message, request.match_info, query.get(VERSION_QUERY))
        outcome.model = self.handlers.model_label(message)
        reply = await self._rpcs[route.rpc](message, abandonment_of(request))
        version = getattr(reply, "model_version", 0)
        if version:  # data-plane replies say which version answered
            self.metrics.version_answered(reply.model_name, version)  # type: ignore[attr-defined]
        return bodies.reply(reply)


def known_query(request: web.Request, names: tuple[str, ...]) -> Mapping[str, str]:
    """The query parameters, refused when one is not in ``names`` or given twice."""
    query = request.query
    for key in query:
        if key not in names:
            takes = ", ".join(names) if names else "none"
            raise InvalidArgumentError(
                f"unknown query parameter {shown(key)}; this route takes: {takes}"
            )
        if len(query.getall(key)) > 1:
            raise InvalidArgumentError(f"query parameter {key} is given more than once")
    return query


def name_in_path(message: Any, match: Mapping[str, str], version_query: str | None) -> None:
    """Set the request's model name and version from the path (or ``?version=``); a body
    that names another model or version is refused rather than silently overridden."""
    if "model_name" not in match:
        return
    _bind(message, "model_name", match["model_name"], "model name")
    version = match.get("model_version", version_query)
    if version is not None:
        _bind(message, "model_version", parse_uint32(version, "version"), "model version")


def parse_uint32(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) > UINT32_MAX:
        raise InvalidArgumentError(
            f"{what} must be a whole number from 0 to {UINT32_MAX}, got {shown(text)}"
        )
    return int(text)


def _bind(message: Any, field: str, value: object, what: str) -> None:
    given = getattr(message, field)
    if given and given != value:
        raise InvalidArgumentError(
            f"the path names {what} {shown(value)} but the body names {shown(given)}: "
            "leave it out of the body"
        )
    setattr(message, field, value)
