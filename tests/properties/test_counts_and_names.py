"""Counts, steps and temperatures out of range, and unknown models or versions, on every RPC."""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
from hypothesis import assume, example, given
from hypothesis import strategies as st

from tests.properties import bad_inputs as bad
from vaeserve.v1 import vae_service_pb2 as pb


def requests_naming(name: str, version: int) -> list[tuple[str, object]]:
    """A request to every RPC that names a model, well-formed for a latent size of 2."""
    latents = np.zeros((2, 2), "<f4")
    tensor = pb.Tensor(shape=latents.shape, data=latents.tobytes())
    images = np.zeros((1, 1, 28, 28), "<f4")
    image_tensor = pb.Images(tensor=pb.Tensor(shape=images.shape, data=images.tobytes()))
    named: dict[str, Any] = {"model_name": name, "model_version": version}
    return [
        ("Encode", pb.EncodeRequest(**named, images=image_tensor)),
        ("Decode", pb.DecodeRequest(**named, latents=tensor)),
        ("Sample", pb.SampleRequest(**named, count=1)),
        ("Interpolate", pb.InterpolateRequest(**named, latents=tensor, steps=2)),
        ("Reconstruct", pb.ReconstructRequest(**named, images=image_tensor)),
        ("GetModelInfo", pb.GetModelInfoRequest(**named)),
    ]


@given(bad.unknown_names(), bad.any_version)
@example(name="\u20ac" * 20_000, version=0)  # echoed in full it overflowed the trailer
def test_an_unknown_model_is_not_found_on_every_rpc(bad_input_probe, name, version) -> None:
    assume(bad_input_probe.can_carry(name))  # over HTTP a name must fit in a request line
    for method, request in requests_naming(name, version):
        code, details = bad_input_probe.refused(method, request)
        assert code == grpc.StatusCode.NOT_FOUND
        assert "no model named" in details


@given(bad.models, bad.unknown_versions)
def test_an_unknown_version_is_not_found_on_every_rpc(bad_input_probe, model, version) -> None:
    for method, request in requests_naming(model.name, version):
        code, details = bad_input_probe.refused(method, request)
        assert code == grpc.StatusCode.NOT_FOUND
        assert f"no version {version}" in details


@given(bad.models, bad.bad_counts, st.integers(0, 2**64 - 1))
def test_sample_refuses_an_empty_or_huge_count(bad_input_probe, model, count, seed) -> None:
    request = pb.SampleRequest(model_name=model.name, count=count, seed=seed)
    code, details = bad_input_probe.refused("Sample", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "count" in details


@given(bad.models, bad.bad_temperatures)
def test_sample_refuses_a_temperature_out_of_range(bad_input_probe, model, temperature) -> None:
    request = pb.SampleRequest(model_name=model.name, count=1, temperature=temperature)
    code, details = bad_input_probe.refused("Sample", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "temperature" in details


@given(bad.models, bad.bad_steps, st.sampled_from([0, 1, 2, 3, 99]))
def test_interpolate_refuses_too_few_or_too_many_steps(bad_input_probe, model, steps, how) -> None:
    ends = np.zeros((2, model.latent_dim), "<f4")
    request = pb.InterpolateRequest(
        model_name=model.name,
        latents=pb.Tensor(shape=ends.shape, data=ends.tobytes()),
        steps=steps,
        method=how,  # an unknown method number must not matter more than the steps
    )
    code, details = bad_input_probe.refused("Interpolate", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "steps" in details
