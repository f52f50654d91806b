"""The ``vaeserve`` command: one entry point, a subcommand per job.

Each subcommand lives beside the code it drives (``vaeserve.training.cli`` and so on) and
exposes ``add_parser(subparsers)``, which registers its parser and sets ``run`` as the
default ``func``. Those modules import nothing heavy at import time, so ``vaeserve --help``
and ``vaeserve serve`` work on the serving install, without torch.
"""

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from vaeserve import __version__
from vaeserve.extras import MissingExtraError

# Subcommand modules, in the order ``--help`` lists them. A module that is absent from this
# install (an older wheel, say) is skipped rather than breaking the others.
SUBCOMMAND_MODULES = (
    "vaeserve.training.cli",
    "vaeserve.export.cli",
    "vaeserve.server.cli",
    "vaeserve.bench.cli",
    "vaeserve.bench.http",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaeserve",
        description="Train VAEs, export them to an ONNX model repository, and serve them "
        "over gRPC.",
    )
    parser.add_argument("--version", action="version", version=f"vaeserve {__version__}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default: INFO)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name is None or not (module_name + ".").startswith(error.name + "."):
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except MissingExtraError as error:
        print(f"vaeserve {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
