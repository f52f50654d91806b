"""Locust users that call vaeserve over gRPC: Decode, Sample and Encode on embedded models.

Locust speaks HTTP by itself; for gRPC each call is timed here and reported through
Locust's ``request`` event, with the status code in the name of the failure. grpc's C core
must cooperate with gevent's greenlets, hence ``init_gevent()`` before any channel exists.

    locust -f tests/load/locustfile.py --headless --host 127.0.0.1:50051 \\
        --users 8 --spawn-rate 8 --run-time 60s --max-requests 100000 --csv reports/locust

Options of this file (beside Locust's): ``--max-requests`` stops the run after that many
calls in all; ``--rate-per-user`` paces each user to that many calls per second (0: as
fast as answers come, a closed loop); ``--model`` and ``--conv-model`` pick the models.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import gevent
import grpc
import grpc.experimental.gevent as grpc_gevent
import numpy as np
from locust import User, events, task
from locust.user.wait_time import constant_throughput

from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc

grpc_gevent.init_gevent()

CALL_TIMEOUT_S = 30.0
_calls = itertools.count(1)


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]
def _options(parser: Any) -> None:
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many calls")
    parser.add_argument("--rate-per-user", type=float, default=0.0, help="calls/s per user")
    parser.add_argument("--model", default="fashion-mnist", help="model for Decode and Encode")
    parser.add_argument("--conv-model", default="fashion-mnist-conv", help="model for Sample")


def _tensor(values: np.ndarray) -> pb.Tensor:
    return pb.Tensor(shape=list(values.shape), data=values.astype("<f4").tobytes())


class VaeUser(User):
    """One client: its own channel, requests built once from the model's reported sizes."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.options = environment.parsed_options
        self.channel = grpc.insecure_channel(str(self.host))
        self.stub = vae_service_pb2_grpc.VaeServiceStub(self.channel)

    def wait_time(self) -> float:
        rate = self.options.rate_per_user if self.options else 0.0
        return float(constant_throughput(rate)(self)) if rate > 0 else 0.0

    def on_start(self) -> None:
        model = self.options.model if self.options else "fashion-mnist"
        self.conv_model = self.options.conv_model if self.options else "fashion-mnist-conv"
        info = self.stub.GetModelInfo(pb.GetModelInfoRequest(model_name=model), timeout=30)
        rng = np.random.default_rng(0)
        latents = rng.standard_normal((8, info.latent_dim), dtype=np.float32)
        images = rng.random((4, info.channels, info.height, info.width), dtype=np.float32)
        self.decode = pb.DecodeRequest(model_name=model, latents=_tensor(latents))
        self.encode = pb.EncodeRequest(model_name=model, images=pb.Images(tensor=_tensor(images)))

    def on_stop(self) -> None:
        self.channel.close()

    def _call(self, name: str, method: Any, request: Any) -> None:
        start = time.perf_counter()
        exception: Exception | None = None
        length = 0
        try:
            length = method(request, timeout=CALL_TIMEOUT_S).ByteSize()
        except grpc.RpcError as error:
            exception = RuntimeError(f"{error.code().name}: {error.details()}")
        self.environment.events.request.fire(
            request_type="grpc",
            name=name,
            response_time=(time.perf_counter() - start) * 1e3,
            response_length=length,
            exception=exception,
            context={},
        )
        limit = self.options.max_requests if self.options else 0
        if limit and next(_calls) == limit and self.environment.runner is not None:
            # From a greenlet of its own: quit() stops every user, this one included.
            gevent.spawn(self.environment.runner.quit)

    @task(3)
    def decode_8(self) -> None:
        self._call("Decode 8", self.stub.Decode, self.decode)

    @task(2)
    def sample_4(self) -> None:
        request = pb.SampleRequest(model_name=self.conv_model, count=4, seed=int(time.time_ns()))
        self._call("Sample 4 conv", self.stub.Sample, request)

    @task(1)
    def encode_4(self) -> None:
        self._call("Encode 4", self.stub.Encode, self.encode)
