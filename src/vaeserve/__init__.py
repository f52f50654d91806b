"""vaeserve: train variational autoencoders, export them to ONNX, serve them over gRPC.

The distribution has one import name. Its subpackages map the repository's folders:
``vaeserve.training`` (training/), ``vaeserve.export`` (export/), ``vaeserve.server``
(server/), ``vaeserve.client`` (clients/python/), ``vaeserve.models`` (models/, the
embedded model repository) and ``vaeserve.v1`` (code generated from proto/).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vaeserve")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
