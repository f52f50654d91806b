"""The errors training reports to a person, all under one base.

::

    TrainingError (Exception)    anything the training command can tell a person how to fix
    +-- DatasetError             missing, corrupt or unknown data; names the path and the fix
    +-- CheckpointError          a checkpoint that is missing or not one of ours
    +-- ConfigError              options that do not fit together

The command-line edge catches :class:`TrainingError` once and prints its message; nothing
else in the package prints errors.
"""


class TrainingError(Exception):
    """Something a person can fix by changing the data, the files or the options."""


class DatasetError(TrainingError):
    """The data cannot be loaded; the message names the path and how to get the data."""


class CheckpointError(TrainingError):
    """A checkpoint is missing or cannot be read as a vaeserve checkpoint."""


class ConfigError(TrainingError):
    """The requested options do not fit together or do not fit the data."""
