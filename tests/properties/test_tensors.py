"""Tensors of the wrong shape, byte count or values are refused by every RPC that takes one."""

from __future__ import annotations

import grpc
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.properties import bad_inputs as bad
from vaeserve.v1 import vae_service_pb2 as pb


@given(st.data())
def test_decode_refuses_bad_latents(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    latents = data.draw(bad.bad_tensors((model.latent_dim,)))
    code, _ = bad_input_probe.refused(
        "Decode", pb.DecodeRequest(model_name=model.name, latents=latents)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(st.data())
def test_encode_and_reconstruct_refuse_bad_image_tensors(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    images = pb.Images(tensor=data.draw(bad.bad_image_tensors(model.image_shape)))
    for method, request in [
        ("Encode", pb.EncodeRequest(model_name=model.name, images=images, sample=True)),
        ("Reconstruct", pb.ReconstructRequest(model_name=model.name, images=images)),
    ]:
        code, _ = bad_input_probe.refused(method, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(st.data())
def test_interpolate_refuses_bad_latent_endpoints(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    not_two = st.integers(1, bad.MAX_ITEMS).filter(lambda n: n != 2)
    wrong_count = not_two.map(lambda n: np.zeros((n, model.latent_dim), "<f4"))
    latents = data.draw(
        bad.bad_tensors((model.latent_dim,))
        | wrong_count.map(lambda a: pb.Tensor(shape=a.shape, data=a.tobytes()))
    )
    request = pb.InterpolateRequest(model_name=model.name, latents=latents, steps=3)
    code, _ = bad_input_probe.refused("Interpolate", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(st.data())
def test_interpolate_refuses_bad_image_endpoints(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    images = pb.Images(tensor=data.draw(bad.bad_image_tensors(model.image_shape)))
    request = pb.InterpolateRequest(model_name=model.name, images=images, steps=4)
    code, _ = bad_input_probe.refused("Interpolate", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
