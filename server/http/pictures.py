"""PNG routes for ``<img>`` tags and curl: ``GET /v1/models/{model_name}/samples.png``.

``?count=16&seed=1&temperature=0.8&columns=4`` draws ``count`` samples through
:meth:`VaeHandlers.sample` (so the same checks, batcher and metrics as the Sample RPC, under
its name) and returns them as ONE picture, a grid with a white pixel between images. The
seed used comes back in the ``Vaeserve-Seed`` header, so a picture drawn without one can be
drawn again.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
from aiohttp import web

from vaeserve.server.dataplane import codec
from vaeserve.server.dataplane.grid import tile
from vaeserve.server.errors import InvalidArgumentError, shown
from vaeserve.server.http.routes import (
    MODEL_PATH,
    VERSION_PATH,
    RpcRoutes,
    abandonment_of,
    known_query,
    name_in_path,
    parse_uint32,
    router_path,
)
from vaeserve.server.http.status import Outcome, answered
from vaeserve.v1 import vae_service_pb2 as pb

SAMPLES_PATHS = (MODEL_PATH + "/samples.png", VERSION_PATH + "/samples.png")
SAMPLES_QUERY = ("count", "seed", "temperature", "columns", "version")
DEFAULT_COUNT = 16
SEED_HEADER = "Vaeserve-Seed"


class PictureRoutes:
    """The PNG routes, on the same handlers, token and metrics as the RPC routes."""

    def __init__(self, rpc_routes: RpcRoutes) -> None:
        self._rpc = rpc_routes

    def add_to(self, app: web.Application) -> None:
        for path in SAMPLES_PATHS:
            app.router.add_get(router_path(path), self._samples, allow_head=False)

    async def _samples(self, request: web.Request) -> web.StreamResponse:
        async def produce(outcome: Outcome) -> web.StreamResponse:
            return await self._draw_samples(request, outcome)

        return await answered(self._rpc.metrics, "Sample", produce)

    async def _draw_samples(self, request: web.Request, outcome: Outcome) -> web.Response:
        self._rpc.authorize(request)
        handlers = self._rpc.handlers
        handlers.check_accepting()
        query = known_query(request, SAMPLES_QUERY)
        message = pb.SampleRequest(
            count=parse_uint32(query.get("count", str(DEFAULT_COUNT)), "count"),
            image_format=pb.IMAGE_FORMAT_TENSOR,
        )
        if "seed" in query:
            message.seed = _parse_seed(query["seed"])
        if "temperature" in query:
            message.temperature = _parse_float(query["temperature"], "temperature")
        columns = parse_uint32(query["columns"], "columns") if "columns" in query else None
        name_in_path(message, request.match_info, query.get("version"))
        outcome.model = handlers.model_label(message)
        reply = await handlers.sample(message, abandonment_of(request))
        tensor = reply.images.tensor
        images = np.frombuffer(tensor.data, codec.FLOAT32_LE).reshape(tuple(tensor.shape))
        png = await asyncio.to_thread(_grid_png, images, columns or None)
        return web.Response(
            body=png,
            content_type="image/png",
            headers={SEED_HEADER: str(reply.seed), "Cache-Control": "no-store"},
        )


def _grid_png(images: np.ndarray, columns: int | None) -> bytes:
    return codec.encode_pngs(tile(images, columns)[np.newaxis])[0]


def _parse_seed(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**64:
        raise InvalidArgumentError(
            f"seed must be a whole number from 0 to 2^64-1, got {shown(text)}"
        )
    return int(text)


def _parse_float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidArgumentError(f"{what} must be a finite number, got {shown(text)}")
    return value
