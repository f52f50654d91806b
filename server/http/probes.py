"""``/healthz`` (liveness) and ``/readyz`` (readiness) for HTTP probes, on the one HealthState.

They read the state the gRPC health service reads (:mod:`vaeserve.server.health`), so the
two can never disagree: ``/healthz`` is the empty name, ``/readyz`` the service name, and
``/readyz?model=<name>`` one model. 200 when serving, 503 when not (before the models are
warm, and from the first moment of a drain), 404 for a model the server does not have.
Open without the token, like ``grpc.health.v1``: a status tells a caller nothing more.
"""

from __future__ import annotations

import json

from aiohttp import web

from vaeserve.server.errors import NotFoundError, shown
from vaeserve.server.health import SERVICE_NAME, HealthState
from vaeserve.server.http.routes import known_query
from vaeserve.server.http.status import refusal

HEALTHZ = "/healthz"
READYZ = "/readyz"


class Probes:
    def __init__(self, health: HealthState) -> None:
        self._health = health

    def add_to(self, app: web.Application) -> None:
        app.router.add_get(HEALTHZ, self._healthz)
        app.router.add_get(READYZ, self._readyz)

    async def _healthz(self, request: web.Request) -> web.Response:
        known_query(request, ())
        return self._answer("")

    async def _readyz(self, request: web.Request) -> web.Response:
        model = known_query(request, ("model",)).get("model")
        return self._answer(SERVICE_NAME if model is None else model)

    def _answer(self, name: str) -> web.Response:
        serving = self._health.status(name)
        if serving is None:
            return refusal(NotFoundError(f"no model named {shown(name)} on this server"))
        text = "SERVING" if serving else "NOT_SERVING"
        return web.Response(
            status=200 if serving else 503,
            body=json.dumps({"status": text}).encode(),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )
