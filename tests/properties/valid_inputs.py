"""Hypothesis strategies for requests the server may accept, built against the embedded models.

Latents are any finite float32 values, with the edges drawn often: zero, the documented
bound (``MAX_LATENT_ABS``) and the next float past it, 3e38 and float32's largest value, so
that both a huge finite input and one just inside the bound are tried on every RPC that
takes latents. Images are generated from a drawn seed and kind (uniform, flat, black and
white) rather than element by element, which would be slow for 64x64 colour images.
"""

from __future__ import annotations

import io

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from vaeserve.server.dataplane.codec import MAX_LATENT_ABS
from vaeserve.v1 import vae_service_pb2 as pb

FLOAT32_MAX = float(np.finfo(np.float32).max)
JUST_PAST_BOUND = float(np.nextafter(np.float32(MAX_LATENT_ABS), np.float32(np.inf)))
EDGES = [0.0, MAX_LATENT_ABS, JUST_PAST_BOUND, 3e38, FLOAT32_MAX, 1e-45]
latent_values = st.floats(width=32, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [sign * edge for edge in EDGES for sign in (1.0, -1.0)]
)
image_formats = st.sampled_from(sorted(pb.ImageFormat.values()))
interpolation_methods = st.sampled_from(sorted(pb.InterpolationMethod.values()))
temperatures = st.floats(0.0, 10.0, width=32)
seeds = st.integers(0, 2**63 - 1)


def tensor(values: np.ndarray) -> pb.Tensor:
    return pb.Tensor(shape=values.shape, data=np.ascontiguousarray(values, "<f4").tobytes())


def within_bound(values: np.ndarray) -> bool:
    """Whether the server must accept these latents (and decode them to valid pixels)."""
    return bool(np.abs(values).max() <= np.float32(MAX_LATENT_ABS))


def finite_latents(latent_dim: int, min_items: int = 1, max_items: int = 4) -> st.SearchStrategy:
    """float32 [N, latent_dim] arrays of any finite values, the bound's edges drawn often."""
    return hnp.arrays(
        np.float32,
        st.tuples(st.integers(min_items, max_items), st.just(latent_dim)),
        elements=latent_values,
    )


@st.composite
def unit_images(draw: st.DrawFn, image_shape: tuple[int, int, int], count: int) -> np.ndarray:
    """float32 [count, C, H, W] in [0, 1]: noise, one flat level, or pure black and white."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    shape = (count, *image_shape)
    kind = draw(st.sampled_from(["uniform", "flat", "binary"]))
    if kind == "uniform":
        return rng.random(shape, dtype=np.float32)
    if kind == "flat":
        return np.full(shape, draw(st.floats(0.0, 1.0, width=32)), np.float32)
    return rng.integers(0, 2, shape).astype(np.float32)


def pngs_of(images: np.ndarray) -> list[bytes]:
    """One 8-bit PNG per [C, H, W] image, grey for one channel, RGB for three."""
    files = []
    for image in images:
        levels = np.rint(image * 255).astype(np.uint8)
        frame = levels[0] if levels.shape[0] == 1 else np.moveaxis(levels, 0, -1)
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="PNG")
        files.append(buffer.getvalue())
    return files


@st.composite
def image_messages(draw: st.DrawFn, image_shape: tuple[int, int, int], count: int) -> pb.Images:
    """``count`` valid images of the model's shape, as a tensor or as PNG files."""
    images = draw(unit_images(image_shape, count))
    if draw(st.booleans()):
        return pb.Images(tensor=tensor(images))
    return pb.Images(png=pb.PngImages(images=pngs_of(images)))
