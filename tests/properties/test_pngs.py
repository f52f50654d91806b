"""PNG files that are damaged, too big, the wrong size or decompression bombs are refused."""

from __future__ import annotations

import grpc
from hypothesis import given
from hypothesis import strategies as st

from tests.properties import bad_inputs as bad
from vaeserve.v1 import vae_service_pb2 as pb


@st.composite
def files_with_a_bad_one(draw: st.DrawFn, image_shape: tuple[int, int, int]) -> list[bytes]:
    """One to three good PNGs with a bad one among them, at any position."""
    files = [bad.good_png(image_shape, seed=s) for s in range(draw(st.integers(0, 2)))]
    files.insert(draw(st.integers(0, len(files))), draw(bad.bad_pngs(image_shape)))
    return files


@given(st.data())
def test_encode_and_reconstruct_refuse_bad_pngs(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    files = data.draw(files_with_a_bad_one(model.image_shape))
    images = pb.Images(png=pb.PngImages(images=files))
    for method, request in [
        ("Encode", pb.EncodeRequest(model_name=model.name, images=images)),
        ("Reconstruct", pb.ReconstructRequest(model_name=model.name, images=images)),
    ]:
        code, details = bad_input_probe.refused(method, request)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "images.png[" in details


@given(st.data())
def test_interpolate_refuses_bad_png_endpoints(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    ends = [bad.good_png(model.image_shape), data.draw(bad.bad_pngs(model.image_shape))]
    images = pb.Images(png=pb.PngImages(images=data.draw(st.permutations(ends))))
    request = pb.InterpolateRequest(model_name=model.name, images=images, steps=3)
    code, _ = bad_input_probe.refused("Interpolate", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(st.data())
def test_an_empty_or_too_long_list_of_pngs_is_refused(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    count = data.draw(st.just(0) | st.integers(bad.MAX_ITEMS + 1, 2 * bad.MAX_ITEMS))
    files = [bad.good_png(model.image_shape)] * count
    request = pb.EncodeRequest(
        model_name=model.name, images=pb.Images(png=pb.PngImages(images=files))
    )
    code, _ = bad_input_probe.refused("Encode", request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@given(st.data())
def test_pngs_in_any_colour_mode_are_converted_or_refused(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    png = data.draw(bad.colour_mode_pngs(model.image_shape))
    request = pb.ReconstructRequest(
        model_name=model.name,
        images=pb.Images(png=pb.PngImages(images=[png])),
        image_format=pb.IMAGE_FORMAT_PNG,
    )
    bad_input_probe.answer("Reconstruct", request)


@given(st.data())
def test_pngs_that_inflate_past_their_image_are_read_no_further(bad_input_probe, data) -> None:
    model = data.draw(bad.models)
    png = data.draw(bad.inflating_pngs(model.image_shape))
    request = pb.EncodeRequest(
        model_name=model.name, images=pb.Images(png=pb.PngImages(images=[png]))
    )
    bad_input_probe.answer("Encode", request)
