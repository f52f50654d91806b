"""The synchronous client: channels to one server, every RPC as a method taking numpy.

Requests larger than the server's ``max_items_per_request`` (read once per model from
GetModelInfo and cached) are sent as several calls in order and joined. With
``ClientOptions(channels=N)`` the calls take N channels in turn.
"""

from __future__ import annotations

import dataclasses
import itertools
from types import TracebackType
from typing import Any

import grpc
import numpy.typing as npt

from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.admin.v1 import admin_service_pb2_grpc as admin_grpc
from vaeserve.client import messages as msg
from vaeserve.client.errors import from_rpc_error
from vaeserve.client.options import DEFAULT_TARGET, ClientOptions, call_metadata, open_channels
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


class Client:
    """Calls a vaeserve server. Use as a context manager, or call :meth:`close`.

    ``Client("host:50051", options=ClientOptions(timeout=10.0, channels=4))``: the target is
    ``host:port`` or ``dns:///name:port`` (calls then spread over every address the name
    resolves to); :class:`ClientOptions` holds the deadline, retries, TLS, token and the
    number of channels. Opening a client does not connect: the first call does.

    Images go in as float32 arrays [N, C, H, W] (or one image [C, H, W]) with pixels in
    [0, 1], or as a list of PNG files (``bytes``) or Pillow images; they must have the
    model's width and height unless a method is given ``resize=True``. Latents are arrays
    [N, D] (or one vector [D]). Results are frozen dataclasses holding numpy arrays.

    Every method raises a :class:`VaeServeError` subclass when its call fails, carrying the
    gRPC ``code`` and the server's ``details``: :class:`InvalidArgumentError` for a wrong
    request (never worth retrying), :class:`NotFoundError` for an unknown model or version,
    and, after the channel's own retries, :class:`UnavailableError`,
    :class:`ResourceExhaustedError` or :class:`DeadlineExceededError`; also
    :class:`UnauthenticatedError`, :class:`CancelledError` and :class:`ServerError`.

    Methods may be called from several threads at once; a client is meant to be shared.
    """

    def __init__(self, target: str = DEFAULT_TARGET, *, options: ClientOptions | None = None):
        """Open ``options.channels`` channels to ``target`` (``host:port``, or
        ``dns:///name:port``); ``target`` overrides ``options.target``.

        Raises:
            ValueError: the options contradict each other (see :class:`ClientOptions`).
        """
        self.options = dataclasses.replace(options or ClientOptions(), target=target)
        self._channels = open_channels(self.options)
        self._stubs = [pb_grpc.VaeServiceStub(c) for c in self._channels]  # type: ignore[no-untyped-call]
        self._admin_stubs = [
            admin_grpc.AdminServiceStub(c)  # type: ignore[no-untyped-call]
            for c in self._channels
        ]
        self._turn = itertools.count()
        self._models: dict[tuple[str, int], ModelInfo] = {}

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
        """Close every channel of this client; calls in flight are cancelled.

        Returns:
            None. A call made afterwards raises ``ValueError`` (grpc's closed channel).
        """
        for channel in self._channels:
            channel.close()

    def _call(
        self, method: str, request: Any, timeout: float | None, *, admin: bool = False
    ) -> Any:
        """One RPC on the next channel in turn, its failure raised as a VaeServeError;
        ``admin`` calls go to ``vaeserve.admin.v1.AdminService``."""
        stubs: list[Any] = self._admin_stubs if admin else self._stubs
        stub = stubs[next(self._turn) % len(stubs)]  # next() is atomic under the GIL
        try:
            return getattr(stub, method)(
                request,
                timeout=timeout if timeout is not None else self.options.timeout,
                metadata=call_metadata(self.options),
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    def _model(self, model: str, version: int, timeout: float | None) -> ModelInfo:
        """The model's info from the cache that :meth:`model_info` fills, asking once."""
        if (model, version) not in self._models:
            self.model_info(model, version=version, timeout=timeout)
        return self._models[(model, version)]

    def _max_items(self, model: str, version: int, timeout: float | None) -> int:
        return max(1, self._model(model, version, timeout).max_items_per_request)

    def _fit(
        self,
        model: str,
        version: int,
        images: msg.ImageInput,
        resize: bool,
        timeout: float | None,
    ) -> msg.ImageInput:
        info = self._model(model, version, timeout)
        if resize:
            return resize_images(images, info)
        check_fits(images, info)
        return images

    def list_models(self, *, timeout: float | None = None) -> list[ModelStatus]:
        """Every model version the server knows, with its state.

        Args:
            timeout: seconds to wait for the answer; ``None`` uses ``options.timeout``.

        Returns:
            One :class:`ModelStatus` per model version: ``name``, ``version``, ``state``
            (``"LOADING"``, ``"READY"`` or ``"FAILED"``) and ``reason`` when it failed.

        Raises:
            UnavailableError: the server could not be reached through every retry.
            VaeServeError: any other failed call (see the class docstring).
        """
        reply: pb.ListModelsResponse = self._call("ListModels", pb.ListModelsRequest(), timeout)
        return msg.read_models(reply)

    def repository_index(self, *, timeout: float | None = None) -> list[RepositoryEntry]:
        """Every version in the server's model repository and every version it holds.

        Works whatever the server's ``--model-control`` mode.

        Args:
            timeout: seconds to wait for the answer; ``None`` uses ``options.timeout``.

        Returns:
            One :class:`RepositoryEntry` per version, sorted by name and version: ``state``
            is ``"AVAILABLE"`` (on disk, not loaded), ``"LOADING"``, ``"READY"``,
            ``"FAILED"`` (``reason`` says why: incomplete files, a hash mismatch, a failed
            warm-up) or ``"UNLOADING"``; ``in_repository`` is False for a version that still
            serves though its folder was removed.

        Raises:
            UnauthenticatedError: the server wants a bearer token this client lacks.
            VaeServeError: any other failed call (see the class docstring).
        """
        reply: admin_pb.RepositoryIndexResponse = self._call(
            "RepositoryIndex", admin_pb.RepositoryIndexRequest(), timeout, admin=True
        )
        return [msg.read_repository_entry(entry) for entry in reply.models]

    def load_model(
        self, model: str, *, version: int = 0, timeout: float | None = None
    ) -> RepositoryEntry:
        """Load ``model`` at ``version`` from the server's repository and serve it.

        Needs a server run with ``--model-control explicit``. Returns once the version is
        verified, warmed up and serving; a version that already serves is left as it is.

        Args:
            model: the model's name (its folder in the repository).
            version: the version to load; 0 means the highest in the repository.
            timeout: seconds to wait; ``None`` uses ``options.timeout``.

        Returns:
            The loaded version's :class:`RepositoryEntry` (state ``"READY"``).

        Raises:
            NotFoundError: the repository has no such model or version.
            InvalidArgumentError: the name is not one folder name; or the version was
                refused (the message says why) or the server's mode does not allow loading
                (both FAILED_PRECONDITION on the wire).
            UnauthenticatedError: the server wants a bearer token this client lacks.
        """
        request = admin_pb.LoadModelRequest(model_name=model, model_version=version)
        reply: admin_pb.LoadModelResponse = self._call("LoadModel", request, timeout, admin=True)
        return msg.read_repository_entry(reply.model)

    def unload_model(self, model: str, *, version: int, timeout: float | None = None) -> int:
        """Stop serving ``model`` at ``version``.

        Needs ``--model-control explicit``. New requests for the version get
        :class:`NotFoundError` at once; those already running finish on it, then its memory
        is released and this call returns.

        Args:
            model: the model's name.
            version: the version to unload (at least 1).
            timeout: seconds to wait; ``None`` uses ``options.timeout``.

        Returns:
            How many requests were still running on the version when it was unloaded.

        Raises:
            NotFoundError: the server holds no such version.
            InvalidArgumentError: a bad name or version 0, or the mode does not allow it.
            UnauthenticatedError: the server wants a bearer token this client lacks.
        """
        request = admin_pb.UnloadModelRequest(model_name=model, model_version=version)
        reply: admin_pb.UnloadModelResponse = self._call(
            "UnloadModel", request, timeout, admin=True
        )
        return int(reply.drained_requests)

    def model_info(
        self, model: str, *, version: int = 0, timeout: float | None = None
    ) -> ModelInfo:
        """What one model takes and gives: image shape, latent size, limits, provenance.

        Args:
            model: the model's name, as :meth:`list_models` reports it.
            version: the model version; 0 means the newest loaded.
            timeout: seconds to wait for the answer; ``None`` uses ``options.timeout``.

        Returns:
            A :class:`ModelInfo`: ``image_shape`` (channels, height, width), ``latent_dim``,
            ``max_items_per_request``, ``max_request_bytes``, ``versions``, the training
            ``dataset``, ``likelihood`` and test score, and the raw ``manifest_json``.

        Raises:
            NotFoundError: no such model or version.
            UnavailableError: the server could not be reached through every retry.
            VaeServeError: any other failed call (see the class docstring).
        """
        request = pb.GetModelInfoRequest(model_name=model, model_version=version)
        info = msg.read_model_info(self._call("GetModelInfo", request, timeout))
        self._models[(model, version)] = info  # the limits and shape the other calls use
        return info

    def encode(
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
        """Images to the parameters of q(z|x): a latent mean and log-variance per image.

        Args:
            model: the model's name.
            images: a float32 array [N, C, H, W] (or [C, H, W]) with pixels in [0, 1], or a
                list of PNG files (``bytes``) or Pillow images (any mode), of the model's
                width and height unless ``resize``. Any number; more than the server's
                ``max_items_per_request`` are sent in several calls.
            version: the model version; 0 means the newest.
            sample: also draw z from q(z|x) (``result.z``).
            seed: makes ``z`` reproducible; ``None`` lets the server choose (it is in
                ``result.seed``).
            resize: scale each image to the model's width x height (Lanczos) and convert it
                to the model's channels before sending, so a photo of any size can be
                encoded. The aspect ratio is not kept.
            timeout: seconds per call; ``None`` uses ``options.timeout``.

        Returns:
            An :class:`EncodeResult`: ``mean`` and ``log_var`` float32 [N, D], ``z`` [N, D]
            when ``sample`` (else ``None``), and the ``seed`` used.

        Raises:
            InvalidArgumentError: an image is not the model's size and ``resize`` is off
                (the message says so, before anything is sent), pixels outside [0, 1] or
                NaN, or a file that is no image.
            NotFoundError: no such model or version.
            VaeServeError: any other failed call (see the class docstring).
        """
        images = self._fit(model, version, images, resize, timeout)
        size = self._max_items(model, version, timeout)
        replies = [
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
        """Latent vectors to images: the decoder's mean image for each.

        Args:
            model: the model's name.
            latents: float32 [N, D] (or one vector [D]), D the model's ``latent_dim``,
                finite and at most 1e4 in absolute value. Any number of vectors.
            version: the model version; 0 means the newest.
            png: also return each image as a PNG file (``result.pngs``).
            timeout: seconds per call; ``None`` uses ``options.timeout``.

        Returns:
            A :class:`DecodeResult`: ``images`` float32 [N, C, H, W] in [0, 1], ``pngs``
            (PNG files when ``png``, else empty) and ``pil_images()``.

        Raises:
            InvalidArgumentError: wrong latent size, NaN, infinite or too large values.
            NotFoundError: no such model or version.
            VaeServeError: any other failed call (see the class docstring).
        """
        size = self._max_items(model, version, timeout)
        replies = [
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
        """New images drawn from the prior: z ~ N(0, temperature^2 I), then decoded.

        Args:
            model: the model's name.
            count: how many images (at least 1); above ``max_items_per_request`` the chunk
                i is drawn with ``seed + i``.
            version: the model version; 0 means the newest.
            seed: makes the draw reproducible; ``None`` lets the server choose.
            temperature: scale of the prior's standard deviation (server default 1.0);
                lower gives more typical images.
            png: also return each image as a PNG file (``result.pngs``).
            timeout: seconds per call; ``None`` uses ``options.timeout``.

        Returns:
            A :class:`SampleResult`: ``images`` float32 [count, C, H, W] in [0, 1],
            ``latents`` [count, D], the ``seed`` used and ``pngs`` when ``png``.

        Raises:
            InvalidArgumentError: a count below 1, or a temperature not in the server's
                range.
            NotFoundError: no such model or version.
            VaeServeError: any other failed call (see the class docstring).
        """
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
            replies.append(self._call("Sample", request, timeout))
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
        resize: bool = False,
        timeout: float | None = None,
    ) -> InterpolateResult:
        """A path of ``steps`` images between two endpoints in latent space.

        Give exactly one of ``images`` (two images, encoded to their means first) or
        ``latents`` (two vectors).

        Args:
            model: the model's name.
            images: two images, as for :meth:`encode`.
            latents: two latent vectors, float32 [2, D].
            steps: images on the path, endpoints included (at least 2).
            spherical: walk the great circle (slerp) instead of the straight line; better
                for a Gaussian prior.
            version: the model version; 0 means the newest.
            png: also return each image as a PNG file (``result.pngs``).
            resize: scale and convert the two images to the model's shape first, as for
                :meth:`encode`.
            timeout: seconds for the call; ``None`` uses ``options.timeout``.

        Returns:
            An :class:`InterpolateResult`: ``images`` float32 [steps, C, H, W] in [0, 1],
            ``latents`` [steps, D] (the endpoints first and last) and ``pngs`` when ``png``.

        Raises:
            ValueError: both or neither of ``images`` and ``latents`` were given.
            InvalidArgumentError: not two endpoints, too few or too many steps, or an image
                not of the model's size while ``resize`` is off.
            NotFoundError: no such model or version.
            VaeServeError: any other failed call (see the class docstring).
        """
        if images is not None:
            images = self._fit(model, version, images, resize, timeout)
        request = msg.interpolate_request(
            model,
            version,
            images=images,
            latents=latents,
            steps=steps,
            spherical=spherical,
            png=png,
        )
        return msg.read_interpolate(self._call("Interpolate", request, timeout))

    def reconstruct(
        self,
        model: str,
        images: msg.ImageInput,
        *,
        version: int = 0,
        png: bool = False,
        resize: bool = False,
        timeout: float | None = None,
    ) -> ReconstructResult:
        """Images through the whole autoencoder: encoded to their means, then decoded.

        Args:
            model: the model's name.
            images: as for :meth:`encode`.
            version: the model version; 0 means the newest.
            png: also return each reconstruction as a PNG file (``result.pngs``).
            resize: scale and convert the images to the model's shape first, as for
                :meth:`encode`.
            timeout: seconds per call; ``None`` uses ``options.timeout``.

        Returns:
            A :class:`ReconstructResult`: ``images`` float32 [N, C, H, W] in [0, 1] (the
            reconstructions), ``mean`` [N, D] and ``pngs`` when ``png``.

        Raises:
            InvalidArgumentError: an image is not the model's size and ``resize`` is off
                (the message says so, before anything is sent), pixels outside [0, 1] or
                NaN, or a file that is no image.
            NotFoundError: no such model or version.
            VaeServeError: any other failed call (see the class docstring).
        """
        images = self._fit(model, version, images, resize, timeout)
        size = self._max_items(model, version, timeout)
        replies = [
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
        ]
        return msg.join_reconstruct(replies)
