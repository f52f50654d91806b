"""``vaeserve serve --workers N``: N whole serving processes behind one port, one /metrics and
one health state, started, watched, replaced and drained by this parent process.

One process is bounded by gRPC's per-call work on its one event-loop thread; N processes
multiply that. Each worker (:mod:`vaeserve.server.worker`) is a complete server that binds
the same gRPC port (and health and HTTP ports) with SO_REUSEPORT, so the kernel spreads
*connections* over them -- a client must open several channels to use several workers.

- **No gRPC in the parent.** Workers are spawned (a fresh interpreter, not a fork), and this
  module imports nothing that loads grpc, as grpcio's multiprocessing guidance requires.
- **Ports.** Before any worker starts, the parent binds each port *without* SO_REUSEPORT,
  so a port someone holds (another server, shared or not) is a one-line start-up error, then
  turns SO_REUSEPORT on and keeps the socket, unlistened, for its whole life: the workers
  can join it, nobody else can take the port, and port 0 becomes one port for all.
- **Metrics.** A fresh private directory for prometheus_client's multiprocess mode, removed
  on exit; the parent serves the one /metrics (:func:`~vaeserve.server.metrics.
  supervisor_registry`) and marks dead workers' files dead.
- **Health.** Readiness is one state: every worker answers NOT_SERVING until all N have
  reported warm, and again while a dead one's replacement warms up. The parent tells each
  worker over its pipe; SIGTERM drains them all.
- **Failures.** A worker that fails during start-up stops the server with its error. One
  that dies later is logged and replaced after a back-off that doubles while replacements
  keep dying young; its clients see UNAVAILABLE, which clients retry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server
from prometheus_client.multiprocess import mark_process_dead

from vaeserve.server.errors import BindError, ConfigError, StartupError
from vaeserve.server.metrics import supervisor_registry
from vaeserve.server.ports import refuse_a_port_in_use
from vaeserve.server.settings import Settings

log = logging.getLogger(__name__)

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
# A worker that lived this long before dying is replaced after the first back-off again.
STABLE_S = 60.0
# On drain, how long past the grace period workers get to close their models and exit.
EXIT_MARGIN_S = 15.0


def supervise(settings: Settings, workers: int) -> int:
    """Serve with ``workers`` processes until SIGTERM or SIGINT; 0 when all drained cleanly.

    Raises :class:`~vaeserve.server.errors.StartupError` when a port is taken or a worker
    cannot start.
    """
    if settings.model_control == "explicit":
        raise ConfigError(
            "--model-control explicit needs one process (--workers 1): a load or unload "
            "call reaches one worker only, and the workers would serve different models"
        )
    with contextlib.ExitStack() as stack:
        ports = stack.enter_context(_reserved_ports(settings))
        metrics_dir = stack.enter_context(_multiprocess_dir())
        worker_settings = dataclasses.replace(
            settings,
            port=ports.grpc,
            health_port=ports.health,
            http_port=ports.http,
            metrics_port=-1,
            workers=workers,
        )
        log.info(
            "gRPC listening on %s:%d (%d workers share it)", settings.host, ports.grpc, workers
        )
        if ports.http >= 0:
            host = settings.http_host or settings.host
            log.info("HTTP listening on %s:%d (%d workers share it)", host, ports.http, workers)
        supervisor = Supervisor(worker_settings, workers, metrics_dir)
        if settings.metrics_port >= 0:
            stack.enter_context(_metrics_endpoint(settings, supervisor, metrics_dir))
        return supervisor.run()
    raise AssertionError("unreachable")  # pragma: no cover (mypy: ExitStack may swallow)


@dataclass
class _Slot:
    """One worker position; a replacement takes the dead worker's slot."""

    index: int
    process: BaseProcess | None = None
    pipe: Connection | None = None
    ready: bool = False
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = FIRST_BACKOFF_S
    restart_at: float | None = None


class Supervisor:
    """Starts the workers, relays readiness, replaces the dead and drains them all."""

    def __init__(self, worker_settings: Settings, workers: int, metrics_dir: Path) -> None:
        self._settings = worker_settings
        self._metrics_dir = metrics_dir
        self._slots = [_Slot(i) for i in range(workers)]
        self._context = multiprocessing.get_context("spawn")
        self._wake_read, self._wake_write = socket.socketpair()
        self._stopping = False
        self._all_ready_once = False
        self._gate_open = False

    def live_workers(self) -> list[tuple[int, int]]:
        """(slot, pid) of every worker process now running."""
        return [
            (s.index, s.process.pid)
            for s in self._slots
            if s.process is not None and s.process.pid is not None
        ]

    def restarts(self) -> list[tuple[int, int]]:
        return [(s.index, s.restarts) for s in self._slots]

    def run(self) -> int:
        """The supervisor's loop; returns the exit code once every worker has exited."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        try:
            for slot in self._slots:
                self._start(slot)
            self._watch()
            return self._drain()
        except BaseException:
            self._kill_all()
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._wake_read.close()
            self._wake_write.close()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_write.send(b"\0")

    def _start(self, slot: _Slot) -> None:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_worker_entry,
            args=(self._settings, slot.index, child_end),
            name=f"worker-{slot.index}",
        )
        process.start()
        child_end.close()
        slot.process, slot.pipe, slot.ready = process, parent_end, False
        slot.started_at, slot.restart_at = time.monotonic(), None
        log.info("worker %d started, pid %d", slot.index, process.pid)

    def _watch(self) -> None:
        """Relay messages and replace dead workers until a stop signal arrives."""
        while not self._stopping:
            waitables: list[Connection | socket.socket | int] = [self._wake_read]
            for slot in self._slots:
                if slot.process is not None and slot.pipe is not None:
                    waitables += [slot.pipe, slot.process.sentinel]
            due = [s.restart_at for s in self._slots if s.restart_at is not None]
            timeout = max(0.0, min(due) - time.monotonic()) if due else None
            for ready in wait(waitables, timeout):
                self._handle(ready)
            for slot in self._slots:
                if slot.restart_at is not None and time.monotonic() >= slot.restart_at:
                    self._start(slot)

    def _handle(self, ready: object) -> None:
        if ready is self._wake_read:
            self._wake_read.recv(64)
            return
        for slot in self._slots:
            if slot.process is None or slot.pipe is None:
                continue
            if ready is slot.pipe:
                self._receive(slot)
            elif ready == slot.process.sentinel:
                self._died(slot)

    def _receive(self, slot: _Slot) -> None:
        assert slot.pipe is not None
        try:
            message = slot.pipe.recv()
        except (EOFError, OSError):
            return  # it is exiting: its sentinel says so next
        if message[0] == "failed":
            if not self._all_ready_once:
                raise StartupError(f"worker {slot.index}: {message[1]}")
            log.error("worker %d cannot start: %s", slot.index, message[1])
        elif message[0] == "ready":
            slot.ready = True
            log.info("worker %d ready", slot.index)
            if all(s.ready for s in self._slots):
                self._all_ready_once = True
                self._set_gate(True)

    def _died(self, slot: _Slot) -> None:
        assert slot.process is not None and slot.pipe is not None
        slot.process.join()
        pid, code = slot.process.pid, slot.process.exitcode
        slot.pipe.close()
        slot.process, slot.pipe, slot.ready = None, None, False
        if pid is not None:
            mark_process_dead(pid, str(self._metrics_dir))  # type: ignore[no-untyped-call]
        if self._stopping:
            return
        if not self._all_ready_once:
            raise StartupError(f"worker {slot.index} (pid {pid}) {_how(code)} while starting")
        self._set_gate(False)
        if time.monotonic() - slot.started_at >= STABLE_S:
            slot.backoff_s = FIRST_BACKOFF_S
        slot.restarts += 1
        slot.restart_at = time.monotonic() + slot.backoff_s
        log.error(
            "worker %d (pid %d) %s: replacing it in %.1f s; NOT_SERVING until it is warm",
            slot.index,
            pid,
            _how(code),
            slot.backoff_s,
        )
        slot.backoff_s = min(MAX_BACKOFF_S, 2 * slot.backoff_s)

    def _set_gate(self, is_open: bool) -> None:
        """Tell every live worker whether all of them are warm (readiness is one state)."""
        if is_open == self._gate_open:
            return
        self._gate_open = is_open
        for slot in self._slots:
            if slot.pipe is not None:
                with contextlib.suppress(OSError):
                    slot.pipe.send(("gate", is_open))
        if is_open:
            log.info("all %d workers warm: SERVING", len(self._slots))

    def _drain(self) -> int:
        """SIGTERM every worker, wait for them within the grace period, report how it went."""
        live = [s for s in self._slots if s.process is not None]
        log.info(
            "stopping: draining %d workers for up to %.1f s",
            len(live),
            self._settings.grace_period_s,
        )
        for slot in live:
            assert slot.process is not None and slot.process.pid is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(slot.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._settings.grace_period_s + EXIT_MARGIN_S
        clean = True
        for slot in live:
            assert slot.process is not None
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.exitcode is None:
                log.error("worker %d did not exit in time: killing it", slot.index)
                slot.process.kill()
                slot.process.join()
            # Killed by the forwarded SIGTERM itself: it had not yet set up its drain, so
            # it was still starting and had admitted nothing.
            if slot.process.exitcode not in (0, -signal.SIGTERM):
                clean = False
                log.error("worker %d %s while draining", slot.index, _how(slot.process.exitcode))
            if slot.pipe is not None:
                slot.pipe.close()
        log.info("stopped")
        return 0 if clean else 1

    def _kill_all(self) -> None:
        """After a start-up failure: kill what was started, without draining."""
        for slot in self._slots:
            if slot.process is not None and slot.process.exitcode is None:
                slot.process.kill()
                slot.process.join()


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _worker_entry(settings: Settings, slot: int, pipe: Connection) -> None:
    """Runs in the spawned worker: only there is the gRPC server imported."""
    from vaeserve.server.worker import run_worker

    run_worker(settings, slot, pipe)


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"


@dataclass(frozen=True)
class _Ports:
    """The ports every worker binds; -1 for one that is off."""

    grpc: int
    health: int
    http: int


@contextlib.contextmanager
def _reserved_ports(settings: Settings) -> Iterator[_Ports]:
    """The gRPC, health and HTTP ports, held against anyone but the workers."""
    with contextlib.ExitStack() as stack:
        port = _reserve(stack, settings.host, settings.port, "--port")
        health_port = http_port = -1
        if settings.health_port >= 0:
            health_port = _reserve(stack, settings.host, settings.health_port, "--health-port")
        if settings.http_port >= 0:
            http_host = settings.http_host or settings.host
            http_port = _reserve(stack, http_host, settings.http_port, "--http-port")
        if settings.metrics_port > 0:  # served by this process, bound below
            host = settings.metrics_host or settings.host
            refuse_a_port_in_use(host, settings.metrics_port, "--metrics-port")
        yield _Ports(port, health_port, http_port)


def _reserve(stack: contextlib.ExitStack, host: str, port: int, flag: str) -> int:
    """Bind ``host:port`` alone (taken: BindError), then let only same-user SO_REUSEPORT
    sockets -- the workers -- join; the socket never listens, so it never takes a call."""
    try:
        infos = socket.getaddrinfo(
            host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise BindError(f"cannot listen on {host}:{port} ({flag}): {error}") from error
    family, kind, proto, _, address = infos[0]
    sock = stack.enter_context(socket.socket(family, kind, proto))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as grpc does: TIME_WAIT is ok
    try:
        sock.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            reason = "the port is in use (is another server running?)"
        else:
            reason = str(error.strerror)
        raise BindError(f"cannot listen on {host}:{port} ({flag}): {reason}") from error
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return int(sock.getsockname()[1])


@contextlib.contextmanager
def _multiprocess_dir() -> Iterator[Path]:
    """A fresh private directory for the workers' metric files, named to them through the
    environment they inherit (prometheus_client reads it at import); removed on exit."""
    path = Path(tempfile.mkdtemp(prefix="vaeserve-metrics-"))
    os.environ[MULTIPROC_VARIABLE] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_VARIABLE, None)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _metrics_endpoint(
    settings: Settings, supervisor: Supervisor, metrics_dir: Path
) -> Iterator[WSGIServer]:
    """The one /metrics of the server, served by the supervisor."""
    host = settings.metrics_host or settings.host
    registry = supervisor_registry(metrics_dir, supervisor.live_workers, supervisor.restarts)
    try:
        server, thread = start_http_server(settings.metrics_port, host, registry=registry)
    except OSError as error:
        raise BindError(
            f"cannot serve metrics on {host}:{settings.metrics_port}: {error}"
        ) from error
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
