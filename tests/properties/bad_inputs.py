"""Hypothesis strategies for requests a client gets wrong, built against the embedded models.

Each strategy draws a value the server must refuse with a status a client can act on:
tensors of the wrong shape or byte count or holding NaN/Inf, counts and steps out of range,
unknown models and versions, PNG files that are damaged, too big, or declare a huge image,
and request bytes that are not the request message at all.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from vaeserve.manifest import read_manifest
from vaeserve.server.settings import embedded_repository
from vaeserve.v1 import vae_service_pb2 as pb

MAX_ITEMS = 32  # the property server's max_items_per_request: past it is refused
MAX_PNG_BYTES = 1 << 16  # the server default
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
UINT32_MAX = 2**32 - 1
INT64 = st.integers(-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Model:
    name: str
    image_shape: tuple[int, int, int]
    latent_dim: int


@cache
def embedded_models() -> tuple[Model, ...]:
    """The models the embedded repository serves, read from their manifests."""
    found = []
    for version_dir in sorted(embedded_repository().glob("*/*/manifest.json")):
        manifest = read_manifest(version_dir.parent)
        found.append(Model(manifest.name, manifest.image_shape.as_tuple(), manifest.latent_dim))
    return tuple(found)


models = st.deferred(lambda: st.sampled_from(embedded_models()))


# --- tensors ---------------------------------------------------------------------------


def le_float32(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, "<f4").tobytes()


@st.composite
def wrong_shapes(draw: st.DrawFn, item_shape: tuple[int, ...]) -> pb.Tensor:
    """A tensor whose declared shape is not [N, *item_shape] with 1 <= N <= MAX_ITEMS."""
    rank = len(item_shape) + 1
    shape = draw(
        st.one_of(
            # another rank, from scalar to rank 8, dims of any int64 size
            st.lists(st.integers(-3, 64) | INT64, max_size=8).filter(lambda s: len(s) != rank),
            # the right rank with an item shape that is off
            st.tuples(st.integers(1, 4), *[st.integers(-2, 64) for _ in item_shape])
            .map(list)
            .filter(lambda s: tuple(s[1:]) != item_shape),
            # the right item shape with an empty, negative or huge count
            (st.integers(-(2**63), 0) | st.integers(MAX_ITEMS + 1, 2**63 - 1)).map(
                lambda n: [n, *item_shape]
            ),
        )
    )
    elements = max(0, math.prod(d for d in shape if d > 0)) if shape else 1
    fits = 0 < elements <= 4096 and all(d > 0 for d in shape)
    data = draw(st.binary(max_size=64) | st.just(bytes(4 * elements) if fits else b""))
    return pb.Tensor(shape=shape, data=data)


@st.composite
def mismatched_bytes(draw: st.DrawFn, item_shape: tuple[int, ...]) -> pb.Tensor:
    """A well-shaped tensor whose byte count is not 4 bytes per element."""
    shape = [draw(st.integers(1, 4)), *item_shape]
    needed = 4 * math.prod(shape)
    size = draw(st.integers(0, 2 * needed + 8).filter(lambda n: n != needed))
    return pb.Tensor(shape=shape, data=draw(st.binary(min_size=size, max_size=size)))


@st.composite
def non_finite(draw: st.DrawFn, item_shape: tuple[int, ...]) -> pb.Tensor:
    """A well-shaped tensor holding at least one NaN, +Inf or -Inf."""
    shape = (draw(st.integers(1, 3)), *item_shape)
    values = np.random.default_rng(draw(st.integers(0, 2**32))).random(shape, dtype=np.float32)
    flat = values.reshape(-1)
    spots = draw(st.lists(st.integers(0, flat.size - 1), min_size=1, max_size=8))
    bad = st.sampled_from([math.nan, -math.nan, math.inf, -math.inf])
    for spot in spots:
        flat[spot] = draw(bad)
    return pb.Tensor(shape=list(shape), data=le_float32(values))


@st.composite
def pixels_out_of_range(draw: st.DrawFn, item_shape: tuple[int, ...]) -> pb.Tensor:
    """Finite image tensors with a pixel below 0 or above 1."""
    shape = (draw(st.integers(1, 3)), *item_shape)
    values = np.full(shape, 0.5, np.float32).reshape(-1)
    outside = st.floats(
        max_value=-0.5, width=32, allow_nan=False, allow_infinity=False
    ) | st.floats(min_value=1.5, width=32, allow_nan=False, allow_infinity=False)
    values[draw(st.integers(0, values.size - 1))] = draw(outside)
    return pb.Tensor(shape=list(shape), data=le_float32(values.reshape(shape)))


def bad_tensors(item_shape: tuple[int, ...]) -> st.SearchStrategy[pb.Tensor]:
    return st.one_of(wrong_shapes(item_shape), mismatched_bytes(item_shape), non_finite(item_shape))


def bad_image_tensors(image_shape: tuple[int, int, int]) -> st.SearchStrategy[pb.Tensor]:
    return bad_tensors(image_shape) | pixels_out_of_range(image_shape)


# --- PNG files ---------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_file(width: int, height: int, idat: bytes, *, colour: int = 0, extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + extra
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def good_png(image_shape: tuple[int, int, int], mode: str | None = None, seed: int = 0) -> bytes:
    channels, height, width = image_shape
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
    if mode is not None:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def zlib_bomb(raw_bytes: int) -> bytes:
    """zlib data that inflates to ``raw_bytes`` zero bytes: about a thousandth of that."""
    return zlib.compress(bytes(raw_bytes), 9)


@st.composite
def huge_declared_pngs(draw: st.DrawFn) -> bytes:
    """Decompression bombs: a small file whose header declares a huge image, say 60000x60000,
    optionally with pixel data that really does inflate to gigabytes' worth of rows."""
    side = st.integers(4096, 2**31 - 1) | st.just(60000)
    width, height = draw(side), draw(side)
    idat = draw(st.sampled_from([b"", zlib_bomb(1 << 24), zlib.compress(b"\0" * 64)]))
    return png_file(width, height, idat)


@st.composite
def inflating_pngs(draw: st.DrawFn, image_shape: tuple[int, int, int]) -> bytes:
    """The model's size in the header, but data or a text chunk that inflates far past it.

    Not refused: a reader stops at the image's last row and skips text, so such a file is
    read as the image it declares, at the cost of that image."""
    channels, height, width = image_shape
    bomb = zlib_bomb(1 << 24)
    colour = 0 if channels == 1 else 2
    if draw(st.booleans()):
        return png_file(width, height, bomb, colour=colour)
    text = png_chunk(b"zTXt", b"bomb\0\0" + bomb)
    return png_file(width, height, zlib.compress(bytes((1 + width) * height)), extra=text)


@st.composite
def damaged_pngs(draw: st.DrawFn, image_shape: tuple[int, int, int]) -> bytes:
    """A good PNG of the model's size, truncated, with bytes flipped, or chunks spliced."""
    data = bytearray(good_png(image_shape, seed=draw(st.integers(0, 7))))
    how = draw(st.sampled_from(["truncate", "flip", "splice"]))
    if how == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(8, len(data) - 1))] ^= draw(st.integers(1, 255))
        return bytes(data)
    at = draw(st.integers(8, len(data)))
    return bytes(data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:])


@st.composite
def broken_chunk_pngs(draw: st.DrawFn, image_shape: tuple[int, int, int]) -> bytes:
    """Pixel data split over two chunks, the second one's type damaged: Pillow finds out
    mid-image and raises SyntaxError, not OSError."""
    channels, height, width = image_shape
    pixels = zlib.compress(bytes((1 + width * channels) * height))
    cut = draw(st.integers(1, len(pixels) - 1))
    kind = draw(st.binary(min_size=4, max_size=4).filter(lambda k: k != b"IDAT"))
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels[:cut])
        + png_chunk(kind, pixels[cut:])
        + png_chunk(b"IEND", b"")
    )


@st.composite
def wrong_size_pngs(draw: st.DrawFn, image_shape: tuple[int, int, int]) -> bytes:
    channels, height, width = image_shape
    size = st.tuples(st.integers(1, 64), st.integers(1, 64)).filter(lambda s: s != (height, width))
    other_height, other_width = draw(size)
    return good_png((channels, other_height, other_width), seed=draw(st.integers(0, 7)))


@st.composite
def oversized_pngs(draw: st.DrawFn, image_shape: tuple[int, int, int]) -> bytes:
    """A PNG of the right size made bigger than the byte limit by an ancillary chunk."""
    data = good_png(image_shape)
    padding = draw(st.integers(MAX_PNG_BYTES, 2 * MAX_PNG_BYTES)) - len(data)
    return data[:33] + png_chunk(b"tEXt", b"pad\0" + bytes(max(1, padding))) + data[33:]


def bad_pngs(image_shape: tuple[int, int, int]) -> st.SearchStrategy[bytes]:
    """PNG files the server must refuse for a model of ``image_shape``."""
    return st.one_of(
        st.binary(max_size=256),
        st.binary(max_size=256).map(lambda tail: PNG_SIGNATURE + tail),
        damaged_pngs(image_shape),
        broken_chunk_pngs(image_shape),
        wrong_size_pngs(image_shape),
        huge_declared_pngs(),
        oversized_pngs(image_shape),
    ).filter(lambda data: not _acceptable(data, image_shape))


def colour_mode_pngs(image_shape: tuple[int, int, int]) -> st.SearchStrategy[bytes]:
    """PNGs of the model's size in any colour mode: converted, or refused, never a crash."""
    modes = st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
    return st.builds(good_png, st.just(image_shape), modes, st.integers(0, 7))


def _acceptable(data: bytes, image_shape: tuple[int, int, int]) -> bool:
    """Whether a damaged file is still one the server should take: within the byte limit,
    the model's size, and readable (a flipped byte in an unchecked place, a cut after the
    last pixel, or the shrinker splicing a good file together)."""
    size = (image_shape[2], image_shape[1])
    if len(data) > MAX_PNG_BYTES or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        return False
    if (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) != size:
        return False
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            return True
    except Exception:
        return False


# --- counts, names, versions -------------------------------------------------------------

bad_counts = st.just(0) | st.integers(MAX_ITEMS + 1, UINT32_MAX)
bad_steps = st.integers(0, 1) | st.integers(MAX_ITEMS + 1, UINT32_MAX)
bad_temperatures = st.floats(width=32).filter(lambda t: not 0.0 <= t <= 10.0)
any_version = st.integers(0, UINT32_MAX)


def repeated_to(length: int, unit: str) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def unknown_names() -> st.SearchStrategy[str]:
    """Names no model has; some far longer than a status trailer may carry if echoed."""
    known = {model.name for model in embedded_models()}
    short = st.text(min_size=1, max_size=64).filter(lambda name: name not in known)
    huge = st.builds(repeated_to, st.integers(17_000, 100_000), st.text(min_size=1, max_size=4))
    return short | huge


unknown_versions = st.integers(2, UINT32_MAX)  # the embedded models have version 1 only


# --- request bytes that are not the request message -----------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers travel as their 64-bit two's complement
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


@st.composite
def wire_fields(draw: st.DrawFn) -> bytes:
    """Well-formed protobuf wire data with any field numbers and wire types: a string where
    a number belongs, a number where a message belongs, negative varints for uint32s."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        field = draw(st.integers(1, 20))
        wire_type = draw(st.sampled_from([0, 1, 2, 5]))
        parts.append(varint(field << 3 | wire_type))
        if wire_type == 0:
            parts.append(varint(draw(INT64)))
        elif wire_type == 1:
            parts.append(draw(st.binary(min_size=8, max_size=8)))
        elif wire_type == 5:
            parts.append(draw(st.binary(min_size=4, max_size=4)))
        else:
            body = draw(st.text(max_size=16).map(str.encode) | st.binary(max_size=16))
            parts.append(varint(len(body)) + body)
    return b"".join(parts)


def other_messages() -> st.SearchStrategy[bytes]:
    """Serialized requests of the other RPCs: valid wire data for the wrong message type."""
    samples = [
        pb.SampleRequest(model_name="fashion-mnist", count=3, seed=1, temperature=0.5),
        pb.InterpolateRequest(model_name="faces", steps=7, latents=pb.Tensor(shape=[2, 16])),
        pb.DecodeRequest(model_name="faces", latents=pb.Tensor(shape=[1, 16], data=b"\0" * 64)),
        pb.EncodeRequest(model_name="faces", sample=True, seed=3),
        pb.GetModelInfoRequest(model_name="fashion-mnist", model_version=1),
    ]
    return st.sampled_from([message.SerializeToString() for message in samples])


def request_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=512), wire_fields(), other_messages())
