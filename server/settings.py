"""Every knob of the server, declared once, frozen, and passed down by constructor.

``vaeserve serve`` builds one :class:`Settings` from its flags and their ``VAESERVE_*``
environment twins (see :mod:`vaeserve.server.cli`); nothing else reads the environment.
Tests build one directly with the values they need.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vaeserve.server.errors import ConfigError

EXECUTION_PROVIDERS = ("auto", "cpu", "cuda")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MODEL_CONTROL_MODES = ("none", "poll", "explicit")


def embedded_repository() -> Path:
    """The model repository that ships inside the package (``vaeserve.models``)."""
    return Path(str(resources.files("vaeserve.models")))


@dataclass(frozen=True)
class Settings:
    """Server configuration. Zero means "work it out" where a field's doc says so."""

    host: str = "0.0.0.0"
    """Address the gRPC server binds."""
    port: int = 50051
    """gRPC port; 0 picks a free one (create_server returns it)."""
    metrics_port: int = 8000
    """Prometheus /metrics HTTP port; 0 picks a free one; -1 turns the endpoint off."""
    metrics_host: str | None = None
    """Address the metrics endpoint binds; None means the same as ``host``."""
    health_port: int = -1
    """A second, plaintext port that serves only ``grpc.health.v1`` (on ``host``), for probes
    that cannot speak TLS, such as the kubelet's gRPC probe; 0 picks one; -1 turns it off.
    Health is served on the main port either way."""
    http_port: int = 8080
    """HTTP/JSON port (the same service, the explorer page, /healthz and /readyz); 0 picks a
    free one; -1 turns HTTP off. TLS and the bearer token apply as on the gRPC port."""
    http_host: str | None = None
    """Address the HTTP server binds; None means the same as ``host``."""
    model_repository: Path = dataclasses.field(default_factory=embedded_repository)
    """Folder laid out as <name>/<version>/{encoder.onnx,decoder.onnx,manifest.json}."""
    model_control: str = "none"
    """How the served versions change while serving: none (read the repository once at
    start-up), poll (rescan every ``repository_poll_s``: load new versions, unload removed
    ones) or explicit (the admin service's LoadModel and UnloadModel)."""
    repository_poll_s: float = 5.0
    """Seconds between two scans of the repository in poll mode."""
    batching: bool = True
    """Gather items of concurrent requests into one onnxruntime call."""
    max_batch_size: int = 256
    """Most items in one onnxruntime call; larger requests are split."""
    max_queue_delay_ms: float = 0.0
    """How long a batch may wait for more items; 0 never holds a request back."""
    inline_below_us: float = 200.0
    """A batch whose size class has taken less than this, on average, runs on the event loop
    instead of an inference worker: handing it to a thread and back costs more. 0: never."""
    max_queue_size: int = 32768
    """Most items waiting per model graph; past it requests get RESOURCE_EXHAUSTED.
    Room for 64 clients' 256-item requests twice over (a few seconds of work on 2 CPUs)."""
    max_items_per_request: int = 1024
    """Most images, latent vectors, samples or steps one request may carry."""
    max_png_bytes: int = 1 << 16
    """Largest single PNG file accepted."""
    max_image_pixels: int = 1 << 22
    """Largest width*height a PNG header may declare (checked before decoding)."""
    execution_provider: str = "auto"
    """onnxruntime provider: auto (CUDA when available, else CPU), cpu or cuda."""
    intra_op_threads: int = 0
    """onnxruntime threads inside one call; 0 means 1 (parallelism comes from batches)."""
    inference_threads: int = 0
    """Workers of the inference pool, and batches in flight per graph; 0 means one per CPU
    of the container's limit, at least 2."""
    workers: int = 1
    """Serving processes sharing the ports (SO_REUSEPORT) under one supervisor; 1 is one
    process and no supervisor; 0 means one per CPU of the container's limit (``auto``)."""
    fair_share: bool = True
    """Keep cheap calls fast beside clients that stream expensive ones: the inference workers
    run niced (the event loop, which answers every caller, wins a contended CPU over a long
    batch), and the inline rule judges a batch by the CPU it took, not the wall time it
    spent waiting for a core. Off: the scheduling before issue 13 (for comparison)."""
    inference_niceness: int = 10
    """How much lower the inference workers' priority is under ``fair_share`` (Linux nice, 1 to
    19): higher favours cheap calls more, lower leaves more CPU to big batches."""
    max_connection_age_s: float = 0.0
    """Close client connections after this long so clients rebalance; 0 means never."""
    grace_period_s: float = 10.0
    """On SIGTERM, how long in-flight requests get to finish."""
    log_level: str = "INFO"
    """Logging level of the server process."""
    reflection: bool = True
    """Serve gRPC server reflection (behind the bearer token when one is set)."""
    tls_cert_file: Path | None = None
    """PEM certificate chain of the server; with ``tls_key_file`` it turns TLS on."""
    tls_key_file: Path | None = None
    """PEM private key (unencrypted) of ``tls_cert_file``."""
    tls_client_ca_file: Path | None = None
    """PEM CA certificates; when set, clients must present a certificate they signed."""
    auth_token_file: Path | None = None
    """File holding the bearer token every call but health must carry."""
    auth_token: str | None = dataclasses.field(default=None, repr=False)
    """The bearer token itself (from ``VAESERVE_AUTH_TOKEN``); kept out of ``repr``."""

    def __post_init__(self) -> None:
        problems = []
        if self.health_port < -1:
            problems.append("health_port must be -1 (off), 0 (any free port) or a port")
        if self.health_port > 0 and self.health_port == self.port:
            problems.append("health_port must differ from port")
        if self.model_control not in MODEL_CONTROL_MODES:
            problems.append(f"model_control must be one of {MODEL_CONTROL_MODES}")
        if not self.repository_poll_s > 0:
            problems.append("repository_poll_s must be positive")
        if self.http_port < -1:
            problems.append("http_port must be -1 (off), 0 (any free port) or a port")
        if self.http_port > 0 and self.http_port in (
            self.port,
            self.health_port,
            self.metrics_port,
        ):
            problems.append("http_port must differ from port, health_port and metrics_port")
        if self.max_batch_size < 1:
            problems.append("max_batch_size must be at least 1")
        if self.max_queue_delay_ms < 0:
            problems.append("max_queue_delay_ms must not be negative")
        if self.inline_below_us < 0:
            problems.append("inline_below_us must not be negative")
        if self.max_queue_size < 1:
            problems.append("max_queue_size must be at least 1")
        if self.max_items_per_request < 1:
            problems.append("max_items_per_request must be at least 1")
        if self.max_queue_size < self.max_items_per_request:
            # Such a request would be refused with RESOURCE_EXHAUSTED, which clients retry,
            # every time: a retry storm that can never succeed.
            problems.append(
                "max_queue_size must be at least max_items_per_request "
                "(a bigger request could never be queued)"
            )
        if self.execution_provider not in EXECUTION_PROVIDERS:
            problems.append(f"execution_provider must be one of {EXECUTION_PROVIDERS}")
        if self.workers < 0:
            problems.append("workers must be a positive number, or 0 (auto: one per CPU)")
        if self.intra_op_threads < 0 or self.inference_threads < 0:
            problems.append("thread counts must not be negative")
        if not 1 <= self.inference_niceness <= 19:
            problems.append("inference_niceness must be between 1 and 19")
        if self.log_level not in LOG_LEVELS:
            problems.append(f"log_level must be one of {LOG_LEVELS}")
        if self.grace_period_s < 0 or self.max_connection_age_s < 0:
            problems.append("durations must not be negative")
        problems.extend(_security_problems(self))
        if problems:
            raise ConfigError("; ".join(problems))


def _security_problems(settings: Settings) -> list[str]:
    """Combinations of the TLS and token knobs that cannot mean what the operator wants."""
    problems = []
    if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
        problems.append("tls_cert_file and tls_key_file go together: give both or neither")
    if settings.tls_client_ca_file is not None and settings.tls_cert_file is None:
        problems.append("tls_client_ca_file (mutual TLS) needs tls_cert_file and tls_key_file")
    if settings.auth_token is not None and settings.auth_token_file is not None:
        problems.append("give the bearer token once: auth_token_file or VAESERVE_AUTH_TOKEN")
    if settings.auth_token is not None and not settings.auth_token.strip():
        problems.append("the bearer token (VAESERVE_AUTH_TOKEN) is empty")
    return problems
