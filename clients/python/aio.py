"""The asyncio client: :class:`vaeserve.client.Client`'s twin on ``grpc.aio``.

Requests larger than the server's ``max_items_per_request`` (read once per model from
GetModelInfo and cached) are cut into chunks sent concurrently, which the server's batcher
runs together (and, with ``ClientOptions(channels=N)``, spread over N connections), and
joined in request order.

Each method's docstring is the sync client's: the arguments, results and errors are the
same, so they are written once, in client.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc
import numpy.typing as npt

from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.admin.v1 import admin_service_pb2_grpc as admin_grpc
from vaeserve.client import messages as msg
from vaeserve.client.client import Client
from vaeserve.client.errors import from_rpc_error
from vaeserve.client.options import (
    DEFAULT_TARGET,
    ClientOptions,
    call_metadata,
    open_aio_channels,
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
from vaeserve.client.sizing import check_fits, resize_images
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

Method = TypeVar("Method", bound=Callable[..., Any])


def documented_as(twin: Callable[..., Any]) -> Callable[[Method], Method]:
    """Give a coroutine method the docstring of its sync twin, so ``help()`` shows it."""

    def document(method: Method) -> Method:
        method.__doc__ = twin.__doc__
        return method

    return document


class AsyncClient:
    """Calls a vaeserve server from asyncio. Use ``async with``, or await :meth:`close`.

    The twin of :class:`Client`: the same constructor and methods, as coroutines, with the
    same arguments, results and errors (see :class:`Client` and each method's ``help()``).
    Chunks of a large request are sent concurrently rather than one after another. Create
    and use it inside one running event loop.
    """

    def __init__(self, target: str = DEFAULT_TARGET, *, options: ClientOptions | None = None):
        """Open ``options.channels`` asyncio channels to ``target`` (``host:port``, or
        ``dns:///name:port``); ``target`` overrides ``options.target``.

        Raises:
            ValueError: the options contradict each other (see :class:`ClientOptions`).
        """
        self.options = dataclasses.replace(options or ClientOptions(), target=target)
        self._channels = open_aio_channels(self.options)
        self._stubs = [pb_grpc.VaeServiceStub(c) for c in self._channels]  # type: ignore[no-untyped-call]
        self._admin_stubs = [
            admin_grpc.AdminServiceStub(c)  # type: ignore[no-untyped-call]
            for c in self._channels
        ]
        self._turn = itertools.count()
        self._models: dict[tuple[str, int], ModelInfo] = {}

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close every channel of this client; calls in flight are cancelled.

        Returns:
            None. A call made afterwards raises grpc's ``UsageError`` (a closed channel).
        """
        await asyncio.gather(*(channel.close(None) for channel in self._channels))

    async def _call(
        self, method: str, request: Any, timeout: float | None, *, admin: bool = False
    ) -> Any:
        """One RPC on the next channel in turn, its failure raised as a VaeServeError;
        ``admin`` calls go to ``vaeserve.admin.v1.AdminService``."""
        stubs: list[Any] = self._admin_stubs if admin else self._stubs
        stub = stubs[next(self._turn) % len(stubs)]
        try:
            return await getattr(stub, method)(
                request,
                timeout=timeout if timeout is not None else self.options.timeout,
                metadata=call_metadata(self.options),
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    async def _model(self, model: str, version: int, timeout: float | None) -> ModelInfo:
        """The model's info from the cache that :meth:`model_info` fills, asking once."""
        if (model, version) not in self._models:
            await self.model_info(model, version=version, timeout=timeout)
        return self._models[(model, version)]

    async def _max_items(self, model: str, version: int, timeout: float | None) -> int:
        return max(1, (await self._model(model, version, timeout)).max_items_per_request)

    async def _fit(
        self,
        model: str,
        version: int,
        images: msg.ImageInput,
        resize: bool,
        timeout: float | None,
    ) -> msg.ImageInput:
        info = await self._model(model, version, timeout)
        if resize:
            return resize_images(images, info)
        check_fits(images, info)
        return images

    @documented_as(Client.list_models)
    async def list_models(self, *, timeout: float | None = None) -> list[ModelStatus]:
        request = pb.ListModelsRequest()
        reply: pb.ListModelsResponse = await self._call("ListModels", request, timeout)
        return msg.read_models(reply)

    @documented_as(Client.repository_index)
    async def repository_index(self, *, timeout: float | None = None) -> list[RepositoryEntry]:
        reply: admin_pb.RepositoryIndexResponse = await self._call(
            "RepositoryIndex", admin_pb.RepositoryIndexRequest(), timeout, admin=True
        )
        return [msg.read_repository_entry(entry) for entry in reply.models]

    @documented_as(Client.load_model)
    async def load_model(
        self, model: str, *, version: int = 0, timeout: float | None = None
    ) -> RepositoryEntry:
        request = admin_pb.LoadModelRequest(model_name=model, model_version=version)
        reply: admin_pb.LoadModelResponse = await self._call(
            "LoadModel", request, timeout, admin=True
        )
        return msg.read_repository_entry(reply.model)

    @documented_as(Client.unload_model)
    async def unload_model(self, model: str, *, version: int, timeout: float | None = None) -> int:
        request = admin_pb.UnloadModelRequest(model_name=model, model_version=version)
        reply: admin_pb.UnloadModelResponse = await self._call(
            "UnloadModel", request, timeout, admin=True
        )
        return int(reply.drained_requests)

    @documented_as(Client.model_info)
    async def model_info(
        self, model: str, *, version: int = 0, timeout: float | None = None
    ) -> ModelInfo:
        request = pb.GetModelInfoRequest(model_name=model, model_version=version)
        info = msg.read_model_info(await self._call("GetModelInfo", request, timeout))
        self._models[(model, version)] = info  # the limits and shape the other calls use
        return info

    @documented_as(Client.encode)
    async def encode(
        self,
        model: str,
        images: msg.ImageInput,
        *,
        version: int = 0,
        sample: bool = False,
        seed: int | None = None,
        resize: bool = False,
        timeout: float | None = None,
    ) -> EncodeResult:
        images = await self._fit(model, version, images, resize, timeout)
        size = await self._max_items(model, version, timeout)
        replies = await asyncio.gather(
            *(
                self._call(
                    "Encode",
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
            )
        )
        return msg.join_encode(replies)

    @documented_as(Client.decode)
    async def decode(
        self,
        model: str,
        latents: npt.ArrayLike,
        *,
        version: int = 0,
        png: bool = False,
        timeout: float | None = None,
    ) -> DecodeResult:
        size = await self._max_items(model, version, timeout)
        replies = await asyncio.gather(
            *(
                self._call(
                    "Decode",
                    pb.DecodeRequest(
                        model_name=model,
                        model_version=version,
                        latents=chunk,
                        image_format=msg.image_format(png),
                    ),
                    timeout,
                )
                for chunk in msg.latent_chunks(latents, size)
            )
        )
        return msg.join_decode(replies)

    @documented_as(Client.sample)
    async def sample(
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
        counts = msg.sample_counts(count, await self._max_items(model, version, timeout))
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
            replies.append(await self._call("Sample", request, timeout))
            base = replies[0].seed
        return msg.join_sample(replies)

    @documented_as(Client.interpolate)
    async def interpolate(
        self,
        model: str,
        *,
        images: msg.ImageInput | None = None,
        latents: npt.ArrayLike | None = None,
        steps: int = 8,
        spherical: bool = False,
        version: int = 0,
        png: bool = False,
        resize: bool = False,
        timeout: float | None = None,
    ) -> InterpolateResult:
        if images is not None:
            images = await self._fit(model, version, images, resize, timeout)
        request = msg.interpolate_request(
            model,
            version,
            images=images,
            latents=latents,
            steps=steps,
            spherical=spherical,
            png=png,
        )
        return msg.read_interpolate(await self._call("Interpolate", request, timeout))

    @documented_as(Client.reconstruct)
    async def reconstruct(
        self,
        model: str,
        images: msg.ImageInput,
        *,
        version: int = 0,
        png: bool = False,
        resize: bool = False,
        timeout: float | None = None,
    ) -> ReconstructResult:
        images = await self._fit(model, version, images, resize, timeout)
        size = await self._max_items(model, version, timeout)
        replies = await asyncio.gather(
            *(
                self._call(
                    "Reconstruct",
                    pb.ReconstructRequest(
                        model_name=model,
                        model_version=version,
                        images=chunk,
                        image_format=msg.image_format(png),
                    ),
                    timeout,
                )
                for chunk in msg.image_chunks(images, size)
            )
        )
        return msg.join_reconstruct(replies)
