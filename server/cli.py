"""``vaeserve serve``: flags with ``VAESERVE_*`` twins, one Settings, then serve until SIGTERM.

Every flag has an environment twin named ``VAESERVE_`` plus the flag in upper snake case
(``--max-batch-size`` -> ``VAESERVE_MAX_BATCH_SIZE``); a flag on the command line wins over
its variable, which wins over the default. This module imports nothing heavy at import time.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from vaeserve.server.settings import EXECUTION_PROVIDERS, MODEL_CONTROL_MODES, Settings

ENV_PREFIX = "VAESERVE_"


def workers_count(text: str) -> int:
    """``auto`` is 0 (one worker per CPU of the container's limit), else a whole number."""
    if text.strip().lower() == "auto":
        return 0
    count = int(text)
    if count < 1:
        raise ValueError("expected a positive number or auto")
    return count


# flag -> (parser of its text, help); the Settings field is the flag in snake case.
FLAGS: dict[str, tuple[Callable[[str], Any], str]] = {
    "--host": (str, "address to bind the gRPC server to (default 0.0.0.0)"),
    "--port": (int, "gRPC port (default 50051; 0 picks a free port)"),
    "--metrics-port": (int, "Prometheus /metrics port (default 8000; 0 picks one; -1 off)"),
    "--metrics-host": (str, "address of the metrics endpoint (default: --host)"),
    "--health-port": (int, "plaintext gRPC health-only port, for probes of TLS servers (-1 off)"),
    "--http-port": (int, "HTTP/JSON API and explorer page port (default 8080; 0: any; -1 off)"),
    "--http-host": (str, "address of the HTTP server (default: --host)"),
    "--model-repository": (Path, "model repository folder (default: the embedded models)"),
    "--model-control": (
        str,
        f"how served versions change: {'|'.join(MODEL_CONTROL_MODES)} (default none)",
    ),
    "--repository-poll-s": (float, "seconds between repository scans in poll mode (default 5)"),
    "--max-batch-size": (int, "most items in one onnxruntime call (default 256)"),
    "--max-queue-delay-ms": (float, "how long a batch may wait to fill, ms (default 0)"),
    "--inline-below-us": (float, "run batches faster than this on the event loop, us (0: never)"),
    "--max-queue-size": (int, "items queued per graph before RESOURCE_EXHAUSTED (default 32768)"),
    "--max-items-per-request": (int, "most items one request may carry (default 1024)"),
    "--max-png-bytes": (int, "largest PNG file accepted, bytes (default 65536)"),
    "--max-image-pixels": (int, "largest width*height a PNG may declare"),
    "--execution-provider": (str, f"onnxruntime provider: {'|'.join(EXECUTION_PROVIDERS)}"),
    "--intra-op-threads": (int, "onnxruntime threads per call (default 1)"),
    "--inference-threads": (
        int,
        "inference workers (default: CPU limit, >= 2; with --workers, CPUs / workers)",
    ),
    "--inference-niceness": (int, "with --fair-share, the workers' nice value, 1-19 (default 10)"),
    "--workers": (workers_count, "serving processes sharing the ports: N or auto (default 1)"),
    "--max-connection-age-s": (float, "close connections after this long, s (0: never)"),
    "--grace-period-s": (float, "on SIGTERM, time in-flight requests get, s (default 10)"),
    "--tls-cert-file": (Path, "PEM certificate chain; with --tls-key-file turns TLS on"),
    "--tls-key-file": (Path, "PEM private key (unencrypted) of --tls-cert-file"),
    "--tls-client-ca-file": (Path, "PEM CA(s): require client certificates (mutual TLS)"),
    "--auth-token-file": (Path, "file holding the bearer token every call but health needs"),
}
# The token itself has a variable and no flag: a flag's value shows in `ps` to every user.
TOKEN_VARIABLE = ENV_PREFIX + "AUTH_TOKEN"
BOOLEAN_FLAGS = {
    "--batching": "gather concurrent requests into batches (default on)",
    "--reflection": "serve gRPC reflection, behind the token if one is set (default on)",
    "--fair-share": "cheap calls keep their latency beside expensive ones (default on)",
}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve a model repository over gRPC and HTTP/JSON",
        description="Serve the VAEs of a model repository over gRPC (vaeserve.v1.VaeService, "
        "health, reflection) and HTTP/JSON (the same service, the explorer page at /), with "
        "Prometheus metrics on their own port. Every flag can also "
        "be set by its VAESERVE_* environment variable, e.g. VAESERVE_PORT. The bearer token "
        f"itself can only come from the environment [{TOKEN_VARIABLE}].",
    )
    for flag, (kind, text) in FLAGS.items():
        parser.add_argument(flag, type=kind, default=None, help=f"{text} [{env_name(flag)}]")
    for flag, text in BOOLEAN_FLAGS.items():
        parser.add_argument(
            flag,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"{text} [{env_name(flag)}]",
        )
    parser.add_argument(
        "--log-level",
        dest="serve_log_level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default INFO) [VAESERVE_LOG_LEVEL]",
    )
    parser.set_defaults(func=run)


def env_name(flag: str) -> str:
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def build_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Flags first, then ``VAESERVE_*`` variables, then the defaults of :class:`Settings`."""
    values: dict[str, Any] = {}
    kinds: dict[str, Callable[[str], Any]] = {flag: _boolean for flag in BOOLEAN_FLAGS}
    kinds["--log-level"] = str.upper
    kinds.update({flag: kind for flag, (kind, _) in FLAGS.items()})
    given = dict(vars(args), log_level=getattr(args, "serve_log_level", None))
    for flag, kind in kinds.items():
        field = flag.lstrip("-").replace("-", "_")
        value = given.get(field)
        if value is None and env_name(flag) in environ:
            value = _from_env(kind, env_name(flag), environ[env_name(flag)])
        if value is not None:
            values[field] = value
    # `vaeserve --log-level X serve` (the top-level flag) counts when neither twin is set.
    values.setdefault("log_level", getattr(args, "log_level", "INFO"))
    if TOKEN_VARIABLE in environ:
        values["auth_token"] = environ[TOKEN_VARIABLE]
    return Settings(**values)


def _from_env(kind: Callable[[str], Any], name: str, text: str) -> Any:
    try:
        return kind(text)
    except ValueError as error:
        raise SystemExit(f"vaeserve serve: {name}={text!r} is not valid: {error}") from error


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def run(args: argparse.Namespace) -> int:
    from vaeserve.server.errors import StartupError

    try:
        settings = build_settings(args, os.environ)
        from vaeserve.server.main import serve

        return serve(settings)
    except StartupError as error:
        # Start-up problems an operator fixes (a flag, a file, a port): one line, no traceback.
        raise SystemExit(f"vaeserve serve: {error}") from error


__all__ = ["add_parser", "build_settings", "run"]
