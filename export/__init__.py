"""Export trained VAEs into the ONNX model repository the server reads (contract 1).

Three public functions, all returning the :class:`~vaeserve.manifest.Manifest` written:

- :func:`export_checkpoint` -- a training checkpoint to ``<repository>/<name>/<version>``;
  the manifest's test negative ELBO is measured from the exported graphs on the
  checkpoint's test set. What ``vaeserve export`` runs.
- :func:`export_model` -- any :class:`~vaeserve.training.models.VAE` object, with test images
  and training facts supplied by the caller (an :class:`ExportRequest`).
- :func:`export_untrained` -- a freshly initialised small model, seeded; for tests of the
  server and clients that need a real repository in a temporary folder in a second or two.

Every export traces two self-contained graphs, runs onnx.checker, refuses random nodes,
checks onnxruntime against PyTorch on batches of 1, 7 and 64 (max abs diff <= 1e-4), and
refuses to overwrite an existing version unless ``force`` is set. Failures raise
:class:`ExportError` (or its subclasses :class:`ParityError`, :class:`VersionExistsError`).

The names load lazily, so that ``vaeserve export --help`` (which imports the subpackage)
works without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vaeserve.export.errors import ExportError, ParityError, VersionExistsError

if TYPE_CHECKING:
    from vaeserve.export.api import export_checkpoint, export_untrained
    from vaeserve.export.writer import ExportRequest, export_model

_LAZY = {
    "export_checkpoint": "vaeserve.export.api",
    "export_untrained": "vaeserve.export.api",
    "ExportRequest": "vaeserve.export.writer",
    "export_model": "vaeserve.export.writer",
}

__all__ = [
    "ExportError",
    "ExportRequest",
    "ParityError",
    "VersionExistsError",
    "export_checkpoint",
    "export_model",
    "export_untrained",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vaeserve.export' has no attribute {name!r}")
