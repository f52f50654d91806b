"""Failed calls raise the SDK's exceptions, with the status code and the server's message."""

import time
from concurrent import futures

import grpc
import numpy as np
import pytest

from tests.client.conftest import GREY
from vaeserve.client import (
    Client,
    ClientOptions,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
)
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc


def test_unknown_model_raises_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.sample("no-such-model", 1)
    assert caught.value.code is grpc.StatusCode.NOT_FOUND


def test_unknown_version_raises_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError):
        client.model_info(GREY, version=99)


def test_wrong_image_shape_raises_invalid_argument(client: Client) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.encode(GREY, np.zeros((1, 1, 5, 5), np.float32))
    assert caught.value.details


def test_nan_latents_raise_invalid_argument(client: Client) -> None:
    with pytest.raises(InvalidArgumentError):
        client.decode(GREY, np.full((1, 2), np.nan, np.float32))


def test_absent_server_raises_unavailable() -> None:
    options = ClientOptions(timeout=5.0, max_attempts=2, initial_backoff=0.01)
    with Client("127.0.0.1:1", options=options) as client, pytest.raises(UnavailableError):
        client.list_models()


class SlowService(pb_grpc.VaeServiceServicer):
    """Answers ListModels only after the caller's deadline has surely passed."""

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        time.sleep(0.5)
        return pb.ListModelsResponse()


def test_passed_deadline_raises_deadline_exceeded() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    pb_grpc.add_VaeServiceServicer_to_server(SlowService(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with Client(f"127.0.0.1:{port}") as client, pytest.raises(DeadlineExceededError):
            client.list_models(timeout=0.05)
    finally:
        server.stop(None)
