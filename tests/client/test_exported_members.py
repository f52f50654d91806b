"""The SDK's public API is exactly what __all__ names; changing it is a conscious act."""

import vaeserve.client


def test_all_names_exactly_the_public_api() -> None:
    assert sorted(vaeserve.client.__all__) == [
        "AsyncClient",
        "CancelledError",
        "Client",
        "ClientOptions",
        "DEFAULT_TARGET",
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


def test_every_exported_name_is_defined_in_the_sdk() -> None:
    for name in vaeserve.client.__all__:
        member = getattr(vaeserve.client, name)
        if hasattr(member, "__module__"):
            assert member.__module__.startswith("vaeserve.client"), name
