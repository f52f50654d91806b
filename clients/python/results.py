"""What the client's methods return: frozen, typed, numpy inside, protobuf-free."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from vaeserve.client.tensors import FloatArray, to_pil


@dataclass(frozen=True)
class _Pictures:
    """Images as float32 [N, C, H, W] in [0, 1], plus PNG bytes when they were asked for."""

    images: FloatArray
    pngs: tuple[bytes, ...]

    def pil_images(self) -> list[Image.Image]:
        """The images as Pillow images (mode ``L`` or ``RGB``), e.g. to ``.save()`` them."""
        return [to_pil(image) for image in self.images]


@dataclass(frozen=True)
class EncodeResult:
    """What :meth:`Client.encode` returns: q(z|x) per image, as float32 [N, D] arrays."""

    model_name: str
    model_version: int
    mean: FloatArray
    log_var: FloatArray
    z: FloatArray | None
    """A draw from q(z|x) when ``sample=True`` was asked; otherwise ``None``."""
    seed: int


@dataclass(frozen=True)
class DecodeResult(_Pictures):
    """What :meth:`Client.decode` returns: one image per latent vector."""

    model_name: str
    model_version: int


@dataclass(frozen=True)
class SampleResult(_Pictures):
    """What :meth:`Client.sample` returns: images, the latents they came from, the seed."""

    model_name: str
    model_version: int
    latents: FloatArray
    seed: int


@dataclass(frozen=True)
class InterpolateResult(_Pictures):
    """What :meth:`Client.interpolate` returns: the path's images and latents, in order."""

    model_name: str
    model_version: int
    latents: FloatArray


@dataclass(frozen=True)
class ReconstructResult(_Pictures):
    """What :meth:`Client.reconstruct` returns: reconstructions and the latent means."""

    model_name: str
    model_version: int
    mean: FloatArray


@dataclass(frozen=True)
class ModelStatus:
    """One model version as :meth:`Client.list_models` reports it."""

    name: str
    version: int
    state: str
    """``"LOADING"``, ``"READY"`` or ``"FAILED"``."""
    reason: str


@dataclass(frozen=True)
class RepositoryEntry:
    """One model version in the server's repository index (or held by the server)."""

    name: str
    version: int
    state: str
    """``"AVAILABLE"`` (in the repository, not loaded), ``"LOADING"``, ``"READY"``,
    ``"FAILED"`` (refused: see ``reason``) or ``"UNLOADING"``."""
    reason: str
    in_repository: bool
    """False for a version that still serves though its folder was removed."""


@dataclass(frozen=True)
class ModelInfo:
    """One model as :meth:`Client.model_info` describes it: shapes, limits, provenance."""

    name: str
    version: int
    versions: tuple[int, ...]
    latent_dim: int
    channels: int
    height: int
    width: int
    likelihood: str
    dataset: str
    class_names: tuple[str, ...]
    execution_provider: str
    test_negative_elbo_nats: float
    epochs: int
    max_items_per_request: int
    max_request_bytes: int
    manifest_json: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of every image the model takes and gives."""
        return (self.channels, self.height, self.width)
