"""Model control: which versions serve, and how that changes without a restart.

Three modes (``--model-control``):

- ``none``: the repository is read once at start-up (the default).
- ``poll``: every ``--repository-poll-s`` seconds the repository is scanned again; new
  versions that pass their checks are loaded, versions whose folder is gone are unloaded.
- ``explicit``: the versions found at start-up serve; then only :meth:`ModelControl.load`
  and :meth:`ModelControl.unload` (the admin service) change the set.

Whatever the mode, a version goes through the same steps. Loading: the repository's checks
(manifest, SHA-256 of every graph), then onnxruntime sessions and warm-up on a loader thread,
off the event loop, while the versions already serving keep serving; then one
:meth:`ModelTable.mark_ready` on the event loop, after which a request for version 0 gets
the new highest version. A version refused at any step is recorded FAILED with its reason
(log, ListModels, RepositoryIndex) and never serves. Unloading: the version leaves the table
at once (NOT_FOUND from then on), the requests already holding it finish on it
(:meth:`ServedModel.drain`, up to the grace period), its batchers close, and the freed
memory goes back to the system.

Every change runs under one lock, so a poll and an admin call never interleave. Nothing here
knows gRPC: the admin service (:mod:`vaeserve.server.dataplane.admin`) calls these methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from vaeserve.server.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    shown,
)
from vaeserve.server.health import SERVICE_NAME, HealthState
from vaeserve.server.inference.loader import Loader
from vaeserve.server.inference.model_table import (
    FAILED,
    READY,
    ModelTable,
    ServedModel,
    VersionState,
)
from vaeserve.server.inference.repository import (
    HashCache,
    Signature,
    VersionEntry,
    check_version,
    is_model_name,
    scan_repository,
    version_folders,
)
from vaeserve.server.malloc_arenas import release_free_memory
from vaeserve.server.metrics import Metrics
from vaeserve.server.security.redact import without_paths
from vaeserve.server.settings import Settings

log = logging.getLogger(__name__)

AVAILABLE, UNLOADING = "available", "unloading"
T = TypeVar("T")


@dataclass(frozen=True)
class IndexEntry:
    """One version as RepositoryIndex shows it."""

    name: str
    version: int
    state: str
    """loading, ready or failed (as in the table), available (in the repository, not
    loaded) or unloading (draining its last requests)."""
    reason: str
    in_repository: bool


class ModelControl:
    """Loads and unloads versions of the :class:`ModelTable`, keeping health and metrics in
    step with it."""

    def __init__(
        self,
        settings: Settings,
        table: ModelTable,
        loader: Loader,
        health: HealthState,
        metrics: Metrics,
        cache: HashCache,
    ) -> None:
        self._settings = settings
        self._root = settings.model_repository
        self._table = table
        self._loader = loader
        self._health = health
        self._metrics = metrics
        self._cache = cache
        self._lock = asyncio.Lock()
        # One loader thread: a load never takes an inference worker from live requests.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vaeserve-loader")
        self._unloading: dict[tuple[str, int], ServedModel] = {}
        # What was last logged about a version on disk, so a poll does not repeat itself.
        self._reported: dict[tuple[str, int], Signature] = {}
        self._poll_task: asyncio.Task[None] | None = None

    @property
    def mode(self) -> str:
        return self._settings.model_control

    async def load_all(self) -> None:
        """Start-up: open every version the first scan passed, then announce health."""
        async with self._lock:
            for entry in self._table.loading():
                await self._open(entry)
            for name in list(self._table.versions):
                await self._announce(name)
            await self._announce_service()

    def start_polling(self) -> None:
        """In ``poll`` mode, rescan the repository every ``repository_poll_s`` seconds."""
        if self.mode == "poll" and self._poll_task is None:
            self._poll_task = asyncio.create_task(self._poll(), name="vaeserve-repository-poll")

    async def stop(self) -> None:
        """Stop polling and the loader thread (the server is shutting down)."""
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    # -- explicit control --------------------------------------------------------------

    async def load(self, name: str, version: int) -> VersionState:
        """Load ``name`` at ``version`` (0: the highest in the repository) and serve it.

        Already serving: returned as it is. Raises InvalidArgumentError for a name that is
        not one folder of the repository, NotFoundError when the repository lacks it,
        FailedPreconditionError when the version is refused (with the reason) or the mode
        is not explicit.
        """
        self._check_explicit("LoadModel")
        _check_name(name)
        async with self._lock:
            folders = await self._off_loop(version_folders, self._root, name)
            if version == 0:
                if not folders:
                    raise NotFoundError(f"the repository has no model named {shown(name)}")
                version = max(folders)
            present = self._table.state(name, version)
            if present is not None and present.state == READY:
                return present
            if version not in folders:
                have = sorted(folders)
                raise NotFoundError(
                    f"the repository has no version {version} of {shown(name)}"
                    + (f"; it has {have}" if have else "")
                )
            entry = await self._off_loop(check_version, name, folders[version], self._cache)
            state = await self._admit(entry)
            if state.state != READY:
                raise FailedPreconditionError(
                    f"model {name!r} version {version} was refused: {state.public_reason}"
                )
            return state

    async def unload(self, name: str, version: int) -> int:
        """Stop serving ``name`` at ``version``; return how many requests were still running
        on it (they finish first). A refused version is just forgotten.

        Raises InvalidArgumentError (bad name, version 0), NotFoundError (not held),
        FailedPreconditionError (mode not explicit).
        """
        self._check_explicit("UnloadModel")
        _check_name(name)
        if version < 1:
            raise InvalidArgumentError("model_version is required: name the version to unload")
        async with self._lock:
            if self._table.state(name, version) is None:
                held = self._table.versions.get(name)
                raise NotFoundError(
                    f"this server holds no version {version} of {shown(name)}"
                    + (f"; it holds {sorted(held)}" if held else "")
                )
            return await self._unload(name, version)

    async def index(self) -> list[IndexEntry]:
        """Every version in the repository or in the table, with its state, sorted."""
        entries = await self._off_loop(self._scan)
        found: dict[tuple[str, int], IndexEntry] = {}
        for entry in entries:
            state = self._table.state(entry.name, entry.version)
            if state is not None:
                found[(entry.name, entry.version)] = _from_state(state, in_repository=True)
            else:
                found[(entry.name, entry.version)] = IndexEntry(
                    entry.name,
                    entry.version,
                    AVAILABLE if entry.ok else FAILED,
                    without_paths(entry.reason, self._root),
                    True,
                )
        for state in self._table.all_states():
            key = (state.entry.name, state.entry.version)
            found.setdefault(key, _from_state(state, in_repository=False))
        for name, version in self._unloading:
            found[(name, version)] = IndexEntry(
                name, version, UNLOADING, "", (name, version) in found
            )
        return [found[key] for key in sorted(found)]

    # -- polling -----------------------------------------------------------------------

    async def _poll(self) -> None:
        period = self._settings.repository_poll_s
        while True:
            await asyncio.sleep(period)
            try:
                await self.sync()
            except Exception:  # a bad scan must not end polling for good
                log.exception("repository poll failed; trying again in %.1f s", period)

    async def sync(self) -> None:
        """One poll: load new versions that pass their checks, unload removed ones."""
        async with self._lock:
            try:
                entries = await self._off_loop(self._scan)
            except OSError as error:  # an unmounted volume must not unload everything
                log.error("cannot scan the model repository %s: %s", self._root, error)
                return
            on_disk = {(e.name, e.version): e for e in entries}
            for state in self._table.all_states():
                key = (state.entry.name, state.entry.version)
                if key not in on_disk:
                    self._reported.pop(key, None)
                    await self._unload(*key)
            for key, entry in on_disk.items():
                present = self._table.state(*key)
                if present is None or (
                    present.state == FAILED and present.entry.signature != entry.signature
                ):
                    if present is not None:
                        self._table.remove(*key)
                    await self._admit(entry)
                elif (
                    present.state == READY
                    and present.entry.signature != entry.signature
                    and self._reported.get(key) != entry.signature
                ):
                    self._reported[key] = entry.signature
                    log.warning(
                        "model %s version %d changed on disk while serving; the loaded "
                        "copy keeps serving (publish changes as a new version)",
                        *key,
                    )

    # -- the steps ---------------------------------------------------------------------

    async def _admit(self, entry: VersionEntry) -> VersionState:
        """Record a checked entry: refused at once if its checks failed, else opened."""
        key = (entry.name, entry.version)
        state = self._table.add(entry)
        if not entry.ok:
            self._metrics.version_refused(entry.name)
            if self._reported.get(key) != entry.signature:
                self._reported[key] = entry.signature
                log.warning("refused model %s version %d: %s", *key, entry.reason)
            await self._announce(entry.name)
            return state
        await self._open(entry)
        await self._announce(entry.name)
        await self._announce_service()
        return state

    async def _open(self, entry: VersionEntry) -> None:
        """Sessions and warm-up off the loop, then swap the version in (on the loop)."""
        loop = asyncio.get_running_loop()
        try:
            model = await loop.run_in_executor(self._executor, self._loader.load, entry)
        except Exception as error:  # a version onnxruntime refuses fails alone
            reason = f"cannot serve it: {error}"
            self._table.mark_failed(entry, reason)
            self._metrics.version_refused(entry.name)
            log.error("refused model %s version %d: %s", entry.name, entry.version, reason)
            return
        model.start()
        self._table.mark_ready(model)
        self._metrics.version_loaded(entry.name, entry.version, model.provider)
        log.info(
            "loaded model %s version %d on %s, latent size %d",
            entry.name,
            entry.version,
            model.provider,
            model.manifest.latent_dim,
        )

    async def _unload(self, name: str, version: int) -> int:
        """Out of the table now; close once its requests are done; give the memory back."""
        state = self._table.remove(name, version)
        await self._announce(name)
        await self._announce_service()
        model, state.model = state.model, None
        if model is None:
            log.info("forgot refused model %s version %d", name, version)
            return 0
        running = model.leases
        self._unloading[(name, version)] = model
        try:
            drained = await model.drain(self._settings.grace_period_s)
            await model.close(f"model {name!r} version {version} was unloaded")
        finally:
            del self._unloading[(name, version)]
        provider = model.provider
        del model
        self._metrics.version_unloaded(name, version, provider, drained=drained)
        await self._off_loop(_collect)
        log.info(
            "unloaded model %s version %d (%d requests finished on it%s)",
            name,
            version,
            running,
            "" if drained else "; the grace period ran out and the rest were refused",
        )
        return running

    def _scan(self) -> list[VersionEntry]:
        return scan_repository(self._root, self._cache, log_refusals=False)

    async def _announce(self, name: str) -> None:
        await self._health.set(name, bool(self._table.ready_versions(name)))

    async def _announce_service(self) -> None:
        ready = any(self._table.ready_versions(name) for name in self._table.versions)
        await self._health.set(SERVICE_NAME, ready)

    def _check_explicit(self, method: str) -> None:
        if self.mode != "explicit":
            raise FailedPreconditionError(
                f"{method} needs --model-control explicit; this server runs {self.mode!r}"
                + (" (it follows the repository folder)" if self.mode == "poll" else "")
            )

    async def _off_loop(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on the loader thread (file system reads, hashing, gc)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(work, *args)
        )


def _check_name(name: str) -> None:
    if not name:
        raise InvalidArgumentError("model_name is required")
    if not is_model_name(name):
        raise InvalidArgumentError(
            f"model_name {shown(name)} is not a model: a name is one folder of the "
            "repository (letters, digits, '.', '_', '-'; no '/' and no leading '.')"
        )


def _from_state(state: VersionState, *, in_repository: bool) -> IndexEntry:
    return IndexEntry(
        state.entry.name,
        state.entry.version,
        state.state,
        state.public_reason,
        in_repository,
    )


def _collect() -> None:
    """Free what an unloaded version left (sessions in reference cycles), then trim."""
    gc.collect()
    release_free_memory()


__all__ = ["AVAILABLE", "UNLOADING", "IndexEntry", "ModelControl"]
