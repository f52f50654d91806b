"""Every OK reply of every RPC that returns images is valid, for any input the server accepts.

Requests here are drawn to be acceptable, or just past what is (latents beyond the
documented bound, undeclared enum numbers). The probe checks every OK reply (shapes, finite
values, pixels in [0, 1], PNG replies decoded); each test also says which answer is due.
"""

from __future__ import annotations

import grpc
from hypothesis import example, given
from hypothesis import strategies as st

from tests.properties import bad_inputs as bad
from tests.properties import valid_inputs as valid
from vaeserve.server.dataplane.codec import MAX_LATENT_ABS
from vaeserve.v1 import vae_service_pb2 as pb

BOUND_TEXT = f"{MAX_LATENT_ABS:g}"
OK = grpc.StatusCode.OK
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def assert_answer_for_latents(code: grpc.StatusCode, details: str, values) -> None:
    """Latents within the bound are served; past it they are refused, naming the bound."""
    if valid.within_bound(values):
        assert code == OK, details
    else:
        assert code == INVALID and BOUND_TEXT in details, (code, details)


@given(st.data(), valid.image_formats)
def test_decode_serves_any_latents_within_the_bound_and_refuses_the_rest(
    bad_input_probe, data, image_format
) -> None:
    model = data.draw(bad.models)
    latents = data.draw(valid.finite_latents(model.latent_dim))
    request = pb.DecodeRequest(
        model_name=model.name, latents=valid.tensor(latents), image_format=image_format
    )
    code, details = bad_input_probe.answer("Decode", request)
    assert_answer_for_latents(code, details, latents)


@given(st.data(), valid.interpolation_methods, valid.image_formats, st.integers(2, bad.MAX_ITEMS))
def test_interpolate_serves_any_endpoints_within_the_bound_and_refuses_the_rest(
    bad_input_probe, data, method, image_format, steps
) -> None:
    model = data.draw(bad.models)
    ends = data.draw(valid.finite_latents(model.latent_dim, min_items=2, max_items=2))
    request = pb.InterpolateRequest(
        model_name=model.name,
        latents=valid.tensor(ends),
        steps=steps,
        method=method,
        image_format=image_format,
    )
    code, details = bad_input_probe.answer("Interpolate", request)
    assert_answer_for_latents(code, details, ends)


@given(
    bad.models,
    st.integers(1, bad.MAX_ITEMS),
    valid.temperatures,
    valid.seeds,
    valid.image_formats,
)
def test_sample_serves_every_count_temperature_and_seed_in_range(
    bad_input_probe, model, count, temperature, seed, image_format
) -> None:
    request = pb.SampleRequest(
        model_name=model.name,
        count=count,
        temperature=temperature,
        seed=seed,
        image_format=image_format,
    )
    code, details = bad_input_probe.answer("Sample", request)
    assert code == OK, details


@given(st.data(), st.integers(1, 4), valid.image_formats)
def test_reconstruct_and_encode_serve_any_valid_images(
    bad_input_probe, data, count, image_format
) -> None:
    model = data.draw(bad.models)
    images = data.draw(valid.image_messages(model.image_shape, count))
    for method, request in [
        (
            "Reconstruct",
            pb.ReconstructRequest(model_name=model.name, images=images, image_format=image_format),
        ),
        ("Encode", pb.EncodeRequest(model_name=model.name, images=images, sample=True)),
    ]:
        code, details = bad_input_probe.answer(method, request)
        assert code == OK, (method, details)


@given(st.data(), valid.interpolation_methods, valid.image_formats)
def test_interpolate_between_any_valid_images_is_served(
    bad_input_probe, data, method, image_format
) -> None:
    model = data.draw(bad.models)
    images = data.draw(valid.image_messages(model.image_shape, 2))
    request = pb.InterpolateRequest(
        model_name=model.name, images=images, steps=5, method=method, image_format=image_format
    )
    code, details = bad_input_probe.answer("Interpolate", request)
    assert code == OK, details


@given(bad.models, st.integers(0, 2**31 - 1))
@example(model=bad.embedded_models()[0], image_format=3)
@example(model=bad.embedded_models()[0], image_format=7)
def test_sample_refuses_an_undeclared_image_format_naming_the_field(
    bad_input_probe, model, image_format
) -> None:
    request = pb.SampleRequest(model_name=model.name, count=1, image_format=image_format)
    code, details = bad_input_probe.answer("Sample", request)
    if image_format in pb.ImageFormat.values():
        assert code == OK, details
    else:
        assert code == INVALID and f"image_format {image_format}" in details
