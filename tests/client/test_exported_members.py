"""The SDK's public API is exactly what __all__ names; changing it is a conscious act. Its
clients document themselves: ``help(Client.encode)`` is enough to use it."""

import inspect
import pydoc
from collections.abc import Callable
from typing import Any

import pytest

import vaeserve.client
from vaeserve.client import AsyncClient, Client


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


def client_classes() -> list[type]:
    return [
        member
        for name in vaeserve.client.__all__
        if name.endswith("Client") and inspect.isclass(member := getattr(vaeserve.client, name))
    ]


def public_methods(cls: type) -> list[tuple[str, Callable[..., Any]]]:
    return [
        (name, member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    ]


def test_both_clients_are_pinned_by_all() -> None:
    assert [cls.__name__ for cls in client_classes()] == ["AsyncClient", "Client"]


@pytest.mark.parametrize("cls", client_classes(), ids=lambda cls: cls.__name__)
def test_every_public_method_documents_its_arguments_result_and_errors(cls: type) -> None:
    sdk_errors = {
        name
        for name in vaeserve.client.__all__
        if name.endswith("Error") and issubclass(getattr(vaeserve.client, name), Exception)
    }
    for name, method in public_methods(cls):
        doc = inspect.getdoc(method)
        assert doc, f"{cls.__name__}.{name} has no docstring"
        assert "Returns:" in doc, f"{cls.__name__}.{name} does not say what it returns"
        for parameter in list(inspect.signature(method).parameters)[1:]:
            assert f"{parameter}:" in doc, f"{cls.__name__}.{name} leaves out {parameter}"
        if name == "close":  # calls nothing, so raises nothing of the SDK's
            continue
        raises = doc.partition("Raises:")[2]
        assert any(f"{error}:" in raises for error in sdk_errors), (
            f"{cls.__name__}.{name} names none of the SDK's errors under Raises:"
        )


def test_the_async_methods_take_what_their_sync_twins_take() -> None:
    """The async methods share the sync docstrings, which is only true while this holds."""
    sync = dict(public_methods(Client))
    for name, method in public_methods(AsyncClient):
        assert inspect.signature(method) == inspect.signature(sync[name]), name


def test_help_on_encode_explains_resize() -> None:
    text = pydoc.plain(pydoc.render_doc(Client.encode))
    assert "resize: scale each image to the model's width x height" in text
    assert "InvalidArgumentError" in text and "EncodeResult" in text
