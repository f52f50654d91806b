"""numpy <-> vaeserve.v1.Tensor for tests, written independently of the server's codec."""

from __future__ import annotations

import numpy as np

from vaeserve.v1 import vae_service_pb2 as pb


def tensor(values: np.ndarray) -> pb.Tensor:
    return pb.Tensor(shape=values.shape, data=np.ascontiguousarray(values, "<f4").tobytes())


def array(message: pb.Tensor) -> np.ndarray:
    return np.frombuffer(message.data, "<f4").reshape(tuple(message.shape))


def images(values: np.ndarray) -> pb.Images:
    return pb.Images(tensor=tensor(values))


def random_images(n: int, shape: tuple[int, int, int] = (1, 8, 8), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


def random_latents(n: int, dim: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
