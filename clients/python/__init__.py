"""vaeserve's Python SDK: a sync :class:`Client` and an asyncio :class:`AsyncClient`.

Both take and return numpy arrays shaped as the model's manifest says (images
[N, C, H, W] in [0, 1], latents [N, D]), raise :class:`VaeServeError` subclasses that keep
the gRPC status and the server's message, and hide the server's per-request item limit.
"""

from vaeserve.client.aio import AsyncClient
from vaeserve.client.client import Client
from vaeserve.client.errors import (
    CancelledError,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    ServerError,
    UnauthenticatedError,
    UnavailableError,
    VaeServeError,
)
from vaeserve.client.options import DEFAULT_TARGET, ClientOptions
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

__all__ = [
    "DEFAULT_TARGET",
    "AsyncClient",
    "CancelledError",
    "Client",
    "ClientOptions",
    "DeadlineExceededError",
    "DecodeResult",
    "EncodeResult",
    "InterpolateResult",
    "InvalidArgumentError",
    "ModelInfo",
    "ModelStatus",
    "NotFoundError",
    "ReconstructResult",
    "RepositoryEntry",
    "ResourceExhaustedError",
    "SampleResult",
    "ServerError",
    "UnauthenticatedError",
    "UnavailableError",
    "VaeServeError",
]
