"""Tell a person which extra to install when a subcommand's dependencies are missing.

The serving install carries no torch; ``vaeserve train`` and ``vaeserve export`` need the
``train`` extra. Subcommand modules import their heavy dependencies lazily and call
:func:`require_extra` first, so the message names the fix instead of a bare ImportError.
"""

import importlib.util


class MissingExtraError(RuntimeError):
    """A subcommand needs modules that an optional extra installs."""


def require_extra(extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtraError` unless every module in ``modules`` can be imported."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(
            f"this command needs {', '.join(missing)}, which the '{extra}' extra installs: "
            f"pip install 'vaeserve[{extra}]'"
        )
