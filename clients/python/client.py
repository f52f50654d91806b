"""The synchronous client: one channel, one stub, every RPC as a method taking numpy.

Requests larger than the server's ``max_items_per_request`` (read once per model from
GetModelInfo and cached) are sent as several calls in order and joined.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc
import numpy.typing as npt

from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.admin.v1 import admin_service_pb2_grpc as admin_grpc
from vaeserve.client import messages as msg
from vaeserve.client.errors import from_rpc_error
from vaeserve.client.options import (
    DEFAULT_TARGET,
    ClientOptions,
    call_metadata,
    open_channel,
)
from vaeserve.client.results import (
    DecodeResult,
    EncodeResult,
    InterpolateResult,
    ModelInfo,
    ModelStatus,
    ReconstructResult,
    RepositoryEntry,
    SampleResult,
)
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

Reply = TypeVar("Reply")


class Client:
    """Calls a vaeserve server. Use as a context manager, or call :meth:`close`."""

    def __init__(self, target: str = DEFAULT_TARGET, *, options: ClientOptions | None = None):
        self.options = dataclasses.replace(options or ClientOptions(), target=target)
        self._channel = open_channel(self.options)
        self._stub = pb_grpc.VaeServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._admin = admin_grpc.AdminServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._limits: dict[tuple[str, int], int] = {}

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method: Callable[..., Reply], request: Any, timeout: float | None) -> Reply:
        try:
            return method(
                request,
                timeout=timeout if timeout is not None else self.options.timeout,
                metadata=call_metadata(self.options),
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def _max_items(self, model: str, version: int, timeout: float | None) -> int:
        key = (model, version)
        if key not in self._limits:
            info = self.model_info(model, version=version, timeout=timeout)
            self._limits[key] = max(1, info.max_items_per_request)
        return self._limits[key]

    def list_models(self, *, timeout: float | None = None) -> list[ModelStatus]:
        reply: pb.ListModelsResponse = self._call(
            self._stub.ListModels, pb.ListModelsRequest(), timeout
        )
        return msg.read_models(reply)

    def repository_index(self, *, timeout: float | None = None) -> list[RepositoryEntry]:
        """Every version in the server's model repository and every version it holds, with
        its state (AVAILABLE, LOADING, READY, FAILED with the reason, UNLOADING)."""
        reply: admin_pb.RepositoryIndexResponse = self._call(
            self._admin.RepositoryIndex, admin_pb.RepositoryIndexRequest(), timeout
        )
        return [msg.read_repository_entry(entry) for entry in reply.models]

    def load_model(
        self, model: str, *, version: int = 0, timeout: float | None = None
    ) -> RepositoryEntry:
        """Load ``model`` at ``version`` (0: the highest in the repository) and serve it.

        Needs a server run with ``--model-control explicit``. Returns once the version is
        warmed up and serving; a version that already serves is left as it is. Raises
        :class:`NotFoundError` when the repository lacks it and :class:`InvalidArgumentError`
        when it is refused (the message says why: incomplete files, a hash mismatch, a
        failed warm-up) or the server's mode does not allow loading.
        """
        request = admin_pb.LoadModelRequest(model_name=model, model_version=version)
        reply: admin_pb.LoadModelResponse = self._call(self._admin.LoadModel, request, timeout)
        return msg.read_repository_entry(reply.model)

    def unload_model(self, model: str, *, version: int, timeout: float | None = None) -> int:
        """Stop serving ``model`` at ``version``; return how many requests were still running
        on it (they finish on it first). New requests for it get :class:`NotFoundError` at
        once. Needs ``--model-control explicit``."""
        request = admin_pb.UnloadModelRequest(model_name=model, model_version=version)
        reply: admin_pb.UnloadModelResponse = self._call(self._admin.UnloadModel, request, timeout)
        return int(reply.drained_requests)

    def model_info(
        self, model: str, *, version: int = 0, timeout: float | None = None
    ) -> ModelInfo:
        request = pb.GetModelInfoRequest(model_name=model, model_version=version)
        return msg.read_model_info(self._call(self._stub.GetModelInfo, request, timeout))

    def encode(
        self,
        model: str,
        images: msg.ImageInput,
        *,
        version: int = 0,
        sample: bool = False,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> EncodeResult:
        size = self._max_items(model, version, timeout)
        replies = [
            self._call(
                self._stub.Encode,
                pb.EncodeRequest(
                    model_name=model,
                    model_version=version,
                    images=chunk,
                    sample=sample,
                    seed=None if seed is None else seed + index,
                ),
                timeout,
            )
            for index, chunk in enumerate(msg.image_chunks(images, size))
        ]
        return msg.join_encode(replies)

    def decode(
        self,
        model: str,
        latents: npt.ArrayLike,
        *,
        version: int = 0,
        png: bool = False,
        timeout: float | None = None,
    ) -> DecodeResult:
        size = self._max_items(model, version, timeout)
        replies = [
            self._call(
                self._stub.Decode,
                pb.DecodeRequest(
                    model_name=model,
                    model_version=version,
                    latents=chunk,
                    image_format=msg.image_format(png),
                ),
                timeout,
            )
            for chunk in msg.latent_chunks(latents, size)
        ]
        return msg.join_decode(replies)

    def sample(
        self,
        model: str,
        count: int = 1,
        *,
        version: int = 0,
        seed: int | None = None,
        temperature: float | None = None,
        png: bool = False,
        timeout: float | None = None,
    ) -> SampleResult:
        counts = msg.sample_counts(count, self._max_items(model, version, timeout))
        replies: list[pb.SampleResponse] = []
        base = seed
        for index, part in enumerate(counts):
            request = pb.SampleRequest(
                model_name=model,
                model_version=version,
                count=part,
                seed=None if base is None else base + index,
                temperature=temperature,
                image_format=msg.image_format(png),
            )
            replies.append(self._call(self._stub.Sample, request, timeout))
            base = replies[0].seed
        return msg.join_sample(replies)

    def interpolate(
        self,
        model: str,
        *,
        images: msg.ImageInput | None = None,
        latents: npt.ArrayLike | None = None,
        steps: int = 8,
        spherical: bool = False,
        version: int = 0,
        png: bool = False,
        timeout: float | None = None,
    ) -> InterpolateResult:
        request = msg.interpolate_request(
            model,
            version,
            images=images,
            latents=latents,
            steps=steps,
            spherical=spherical,
            png=png,
        )
        return msg.read_interpolate(self._call(self._stub.Interpolate, request, timeout))

    def reconstruct(
        self,
        model: str,
        images: msg.ImageInput,
        *,
        version: int = 0,
        png: bool = False,
        timeout: float | None = None,
    ) -> ReconstructResult:
        size = self._max_items(model, version, timeout)
        replies = [
            self._call(
                self._stub.Reconstruct,
                pb.ReconstructRequest(
                    model_name=model,
                    model_version=version,
                    images=chunk,
                    image_format=msg.image_format(png),
                ),
                timeout,
            )
            for chunk in msg.image_chunks(images, size)
        ]
        return msg.join_reconstruct(replies)
