"""The two yardstick servers the benchmark measures vaeserve against.

- ``transport``: answers Decode, Sample and Encode with a ready-made payload of exactly the
  size vaeserve would send, computing nothing. Its throughput is the cost of moving the
  bytes through gRPC on this machine: the transport ceiling.
- ``naive``: what a user writes by hand -- a grpc.aio servicer that calls onnxruntime once
  per request, inline, with no validation, no batching and no metrics.

Each runs as its own process (``python -m vaeserve.bench.baselines KIND ...``) with
the standard health service, SERVING once its models are loaded, so the benchmark starts,
waits for and measures it exactly as it does vaeserve.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from vaeserve.bench.models import BenchModel, find_model
from vaeserve.bench.ort import make_session
from vaeserve.client.tensors import from_tensor, images_message, to_tensor
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

SERVICE_NAME = "vaeserve.v1.VaeService"
GRACE_S = 1.0


class NaiveServicer(pb_grpc.VaeServiceServicer):
    """One onnxruntime call per request, straight on the event loop; trusts its input."""

    def __init__(self, models: list[BenchModel], threads: int) -> None:
        self._latent_dim = {m.shape.name: m.shape.latent_dim for m in models}
        self._encoder = {m.shape.name: make_session(str(m.encoder_path), threads) for m in models}
        self._decoder = {m.shape.name: make_session(str(m.decoder_path), threads) for m in models}

    async def Decode(self, request: pb.DecodeRequest, context: Any) -> pb.DecodeResponse:
        (images,) = self._decoder[request.model_name].run(None, {"z": from_tensor(request.latents)})
        return pb.DecodeResponse(model_name=request.model_name, images=images_message(images))

    async def Sample(self, request: pb.SampleRequest, context: Any) -> pb.SampleResponse:
        rng = np.random.default_rng(request.seed)
        dims = (request.count, self._latent_dim[request.model_name])
        temperature = request.temperature if request.HasField("temperature") else 1.0
        latents = rng.standard_normal(dims, dtype=np.float32) * np.float32(temperature)
        (images,) = self._decoder[request.model_name].run(None, {"z": latents})
        return pb.SampleResponse(
            model_name=request.model_name,
            latents=to_tensor(latents),
            images=images_message(images),
            seed=request.seed,
        )

    async def Encode(self, request: pb.EncodeRequest, context: Any) -> pb.EncodeResponse:
        x = from_tensor(request.images.tensor)
        mean, log_var = self._encoder[request.model_name].run(None, {"x": x})
        return pb.EncodeResponse(
            model_name=request.model_name, mean=to_tensor(mean), log_var=to_tensor(log_var)
        )


class TransportHandlers:
    """Serialised answers of the right size, made once per (method, model, items)."""

    def __init__(self, models: list[BenchModel]) -> None:
        self._shapes = {m.shape.name: m.shape for m in models}
        self._answers: dict[tuple[str, str, int], bytes] = {}

    def _answer(self, method: str, model: str, items: int) -> bytes:
        key = (method, model, items)
        if key not in self._answers:
            self._answers[key] = self._build(method, model, items)
        return self._answers[key]

    def _build(self, method: str, model: str, items: int) -> bytes:
        shape = self._shapes[model]
        images = to_tensor(np.zeros((items, shape.channels, shape.height, shape.width), np.float32))
        latents = to_tensor(np.zeros((items, shape.latent_dim), np.float32))
        if method == "Decode":
            answer: Any = pb.DecodeResponse(model_name=model, images=pb.Images(tensor=images))
        elif method == "Sample":
            answer = pb.SampleResponse(
                model_name=model, latents=latents, images=pb.Images(tensor=images), seed=7
            )
        else:
            answer = pb.EncodeResponse(model_name=model, mean=latents, log_var=latents)
        return bytes(answer.SerializeToString())

    async def decode(self, request: pb.DecodeRequest, context: Any) -> bytes:
        return self._answer("Decode", request.model_name, request.latents.shape[0])

    async def sample(self, request: pb.SampleRequest, context: Any) -> bytes:
        return self._answer("Sample", request.model_name, request.count)

    async def encode(self, request: pb.EncodeRequest, context: Any) -> bytes:
        return self._answer("Encode", request.model_name, request.images.tensor.shape[0])

    def generic_handler(self) -> grpc.GenericRpcHandler[Any, bytes]:
        """Requests are parsed (that is transport work); answers go out as ready bytes."""
        methods: dict[str, tuple[Callable[..., Awaitable[bytes]], Any]] = {
            "Decode": (self.decode, pb.DecodeRequest),
            "Sample": (self.sample, pb.SampleRequest),
            "Encode": (self.encode, pb.EncodeRequest),
        }
        handlers = {
            name: grpc.unary_unary_rpc_method_handler(fn, request_deserializer=cls.FromString)
            for name, (fn, cls) in methods.items()
        }
        return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)


async def serve(kind: str, models: list[BenchModel], address: str, threads: int) -> None:
    """Serve until SIGTERM or SIGINT, SERVING on the health service once models are loaded."""
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    )
    if kind == "naive":
        # The generated registration function carries no annotations.
        pb_grpc.add_VaeServiceServicer_to_server(  # type: ignore[no-untyped-call]
            NaiveServicer(models, threads), server
        )
    else:
        server.add_generic_rpc_handlers([TransportHandlers(models).generic_handler()])
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(address)
    await server.start()
    for name in ("", SERVICE_NAME):  # the models are loaded: live and ready, as vaeserve says
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(GRACE_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vaeserve.bench.baselines",
        description="A yardstick server for `vaeserve bench`: the transport ceiling or the "
        "naive one-call-per-request server.",
    )
    parser.add_argument("kind", choices=["naive", "transport"])
    parser.add_argument("--model-repository", type=Path, required=True)
    parser.add_argument("--models", required=True, help="comma-separated model names")
    parser.add_argument("--address", default="127.0.0.1:0")
    parser.add_argument("--ort-threads", type=int, default=0)
    args = parser.parse_args(argv)
    models = [find_model(args.model_repository, name) for name in args.models.split(",")]
    asyncio.run(serve(args.kind, models, args.address, args.ort_threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
