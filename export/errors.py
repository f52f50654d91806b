"""The errors export reports to a person, all under one base.

::

    ExportError (Exception)     the model could not be exported as contract 1 requires
    +-- ParityError             onnxruntime and PyTorch disagree by more than the tolerance
    +-- VersionExistsError      the target version folder exists and --force was not given

The command-line edge catches :class:`ExportError` once and prints its message.
"""


class ExportError(Exception):
    """The export cannot produce a valid model version."""


class ParityError(ExportError):
    """The exported graph computes something other than the PyTorch model."""


class VersionExistsError(ExportError):
    """The version folder is already there; exporting over it needs ``force``."""
