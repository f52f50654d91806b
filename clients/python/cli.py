"""``vaeserve-client``: call a vaeserve server from the shell and get pictures back.

Exit codes: 0 done, 1 the call was refused (by the server, or by the SDK's own check that
images have the model's size) or failed, 2 bad input on our side (usage, unreadable file),
3 the server cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from vaeserve.client import commands
from vaeserve.client.client import Client
from vaeserve.client.errors import (
    DeadlineExceededError,
    UnavailableError,
    VaeServeError,
)
from vaeserve.client.inputs import InputFileError
from vaeserve.client.options import DEFAULT_TARGET, ClientOptions

Command = Callable[[Client, argparse.Namespace], str]


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model name, as `vaeserve-client models` lists it")
    parser.add_argument("--version", type=int, default=0, help="model version (0: highest)")


def _resize(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resize",
        action="store_true",
        help="scale images of any size to the model's width x height (not keeping the "
        "aspect ratio); without it they must already have that size",
    )


def _out(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--out", type=Path, default=Path(default), help=f"(default: {default})")


def _add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("models", help="list the models on the server").set_defaults(run=commands.models)
    sub.add_parser(
        "repository", help="list the server's model repository: every version and its state"
    ).set_defaults(run=commands.repository)
    p = sub.add_parser("load", help="load a model version (server in explicit model control)")
    p.add_argument("model", help="model name: its folder in the server's repository")
    p.add_argument("--version", type=int, default=0, help="version (0: highest in repository)")
    p.set_defaults(run=commands.load)
    p = sub.add_parser("unload", help="unload a model version (server in explicit model control)")
    p.add_argument("model", help="model name")
    p.add_argument("--version", type=int, required=True, help="version to unload")
    p.set_defaults(run=commands.unload)

    p = sub.add_parser("info", help="describe one model")
    _add_model(p)
    p.set_defaults(run=commands.info)

    p = sub.add_parser("sample", help="draw images from the prior -> PNG grid")
    _add_model(p)
    p.add_argument("--count", type=int, default=16)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--temperature", type=float, default=None)
    _out(p, "samples.png")
    p.set_defaults(run=commands.sample)

    p = sub.add_parser("encode", help="image files -> latent means (.npy or .json)")
    _add_model(p)
    _resize(p)
    p.add_argument("images", type=Path, nargs="+")
    _out(p, "latents.npy")
    p.set_defaults(run=commands.encode)

    p = sub.add_parser("decode", help="latent vectors (.npy or .json) -> PNG grid")
    _add_model(p)
    p.add_argument("latents", type=Path)
    _out(p, "decoded.png")
    p.set_defaults(run=commands.decode)

    p = sub.add_parser("reconstruct", help="images -> originals above reconstructions")
    _add_model(p)
    _resize(p)
    p.add_argument("images", type=Path, nargs="+")
    _out(p, "reconstructions.png")
    p.set_defaults(run=commands.reconstruct)

    p = sub.add_parser("interpolate", help="a path between two images or points -> PNG strip")
    _add_model(p)
    ends = p.add_mutually_exclusive_group(required=True)
    ends.add_argument("--images", type=Path, nargs=2, metavar="IMAGE")
    ends.add_argument(
        "--latents",
        nargs=2,
        metavar="Z",
        help="points like 0.3,-1.5 (quote a leading minus with a space: ' -1,0')",
    )
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--method", choices=["linear", "spherical"], default="linear")
    _resize(p)
    _out(p, "interpolation.png")
    p.set_defaults(run=commands.interpolate)

    p = sub.add_parser("manifold", help="a 2-D model's latent plane -> PNG grid")
    _add_model(p)
    p.add_argument("--size", type=int, default=12, help="images per side")
    _out(p, "manifold.png")
    p.set_defaults(run=commands.manifold)


def build_parser(default_target: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaeserve-client",
        description="Call a vaeserve server: list models, sample, encode, decode, "
        "reconstruct, interpolate and draw latent manifolds as PNG files; list the model "
        "repository, load and unload model versions.",
    )
    parser.add_argument(
        "--target",
        default=default_target,
        help=f"server address, e.g. dns:///vaeserve:50051 (default: {default_target}; "
        "env VAESERVE_TARGET)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    parser.add_argument("--token", default=None, help="bearer token")
    parser.add_argument("--tls", action="store_true", help="use TLS with the system roots")
    parser.add_argument("--ca-cert", type=Path, help="PEM roots to trust (implies TLS)")
    parser.add_argument("--cert", type=Path, help="client certificate chain (mutual TLS)")
    parser.add_argument("--key", type=Path, help="client private key (mutual TLS)")
    _add_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return parser


def _read(path: Path | None) -> bytes | None:
    return path.read_bytes() if path else None


def _options(args: argparse.Namespace) -> ClientOptions:
    return ClientOptions(
        timeout=args.timeout,
        token=args.token,
        tls=args.tls,
        root_certificates=_read(args.ca_cert),
        private_key=_read(args.key),
        certificate_chain=_read(args.cert),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(os.environ.get("VAESERVE_TARGET", DEFAULT_TARGET)).parse_args(argv)
    run: Command = args.run
    try:
        with Client(args.target, options=_options(args)) as client:
            print(run(client, args))
    except (InputFileError, ValueError, OSError) as error:
        print(f"vaeserve-client: {error}", file=sys.stderr)
        return 2
    except (UnavailableError, DeadlineExceededError) as error:
        print(f"vaeserve-client: cannot reach {args.target}: {error.details}", file=sys.stderr)
        return 3
    except VaeServeError as error:
        print(f"vaeserve-client: {error}", file=sys.stderr)
        return 1
    return 0
