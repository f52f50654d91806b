"""Served model versions: their sessions, their batchers, and lookup by name and version.

A :class:`ServedModel` is what the servicer awaits: ``encode`` and ``decode`` send items
through the version's batchers. The :class:`ModelTable` holds every version the repository
scan found, refused ones included, and answers "which model serves this request".

The table is the one owner of which versions exist: versions come and go only through
:meth:`ModelTable.add`, :meth:`ModelTable.mark_ready`, :meth:`ModelTable.mark_failed` and
:meth:`ModelTable.remove`, all called on the event loop, so a lookup sees either the old set
or the new one, never a half-made change. A request holds its version through
:meth:`ServedModel.lease` from lookup to reply; an unloaded version waits for its leases to
end (:meth:`ServedModel.drain`) before its batchers close, so nothing admitted is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from vaeserve.manifest import Manifest
from vaeserve.server.errors import InvalidArgumentError, NotFoundError, UnavailableError, shown
from vaeserve.server.inference.batcher import SHUTTING_DOWN, Batcher
from vaeserve.server.inference.queued_request import WhyAbandoned
from vaeserve.server.inference.repository import VersionEntry
from vaeserve.server.inference.sessions import GraphSession
from vaeserve.server.inference.unbatched import Unbatched
from vaeserve.server.security.redact import without_paths

LOADING, READY, FAILED = "loading", "ready", "failed"


class ServedModel:
    """One model version ready to run: manifest, two sessions, two batchers."""

    def __init__(
        self,
        manifest: Manifest,
        encoder: GraphSession,
        decoder: GraphSession,
        queues: tuple[Batcher | Unbatched, Batcher | Unbatched],
    ) -> None:
        self.manifest = manifest
        self.encoder_session = encoder
        self.decoder_session = decoder
        self.provider = decoder.provider
        self._encoder, self._decoder = queues
        self._leases = 0
        self._idle: asyncio.Event | None = None

    @property
    def leases(self) -> int:
        """Requests holding this version now (between their lookup and their reply)."""
        return self._leases

    @contextlib.contextmanager
    def lease(self) -> Iterator[ServedModel]:
        """Hold this version for one request: an unload waits for the lease to end."""
        self._leases += 1
        try:
            yield self
        finally:
            self._leases -= 1
            if self._leases == 0 and self._idle is not None:
                self._idle.set()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until no request holds this version (True), or ``timeout_s`` passes (False).

        Call it after the version left the table: no new lease can start then.
        """
        if self._leases == 0:
            return True
        self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.manifest.image_shape.as_tuple()

    async def encode(
        self, images: np.ndarray, why_abandoned: WhyAbandoned
    ) -> tuple[np.ndarray, np.ndarray]:
        mean, log_var = await self._encoder.submit(images, why_abandoned)
        return mean, log_var

    async def decode(self, latents: np.ndarray, why_abandoned: WhyAbandoned) -> np.ndarray:
        (images,) = await self._decoder.submit(latents, why_abandoned)
        return images

    def start(self) -> None:
        self._encoder.start()
        self._decoder.start()

    async def close(self, why: str = SHUTTING_DOWN) -> None:
        """Close both batchers; anything still queued fails with UNAVAILABLE saying ``why``."""
        await self._encoder.close(why)
        await self._decoder.close(why)


@dataclass
class VersionState:
    """One version's place in the table: its entry, state, reason and (when ready) model."""

    entry: VersionEntry
    state: str
    reason: str = ""
    model: ServedModel | None = None

    @property
    def public_reason(self) -> str:
        """``reason`` as clients may see it: no filesystem paths (the log has them)."""
        return without_paths(self.reason, self.entry.path.parent.parent)


@dataclass
class ModelTable:
    """Every version the scan found, by name, and the lookup the servicer uses."""

    versions: dict[str, dict[int, VersionState]] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: list[VersionEntry]) -> ModelTable:
        table = cls()
        for entry in entries:
            state = LOADING if entry.ok else FAILED
            by_version = table.versions.setdefault(entry.name, {})
            by_version[entry.version] = VersionState(entry, state, entry.reason)
        return table

    def add(self, entry: VersionEntry) -> VersionState:
        """Record ``entry``: LOADING when it passed the repository's checks, else FAILED
        with its reason. Replaces a refused record of the same version, never a served one."""
        by_version = self.versions.setdefault(entry.name, {})
        present = by_version.get(entry.version)
        if present is not None and present.state != FAILED:
            raise ValueError(f"{entry.name} version {entry.version} is {present.state} already")
        state = VersionState(entry, LOADING if entry.ok else FAILED, entry.reason)
        by_version[entry.version] = state
        return state

    def remove(self, name: str, version: int) -> VersionState:
        """Forget ``name`` at ``version``: lookups answer NOT_FOUND for it from now on.

        A model left without versions is forgotten too. Raises KeyError if it is not here.
        """
        by_version = self.versions[name]
        state = by_version.pop(version)
        if not by_version:
            del self.versions[name]
        return state

    def state(self, name: str, version: int) -> VersionState | None:
        """The record of ``name`` at ``version``, or None."""
        return self.versions.get(name, {}).get(version)

    def mark_ready(self, model: ServedModel) -> None:
        """``model`` serves from now on (its batchers already started)."""
        state = self.versions[model.manifest.name][model.manifest.version]
        state.model, state.state, state.reason = model, READY, ""

    def mark_failed(self, entry: VersionEntry, reason: str) -> None:
        """``entry`` never serves; ``reason`` is kept for ListModels, health and the log."""
        state = self.versions[entry.name][entry.version]
        state.model, state.state, state.reason = None, FAILED, reason

    def loading(self) -> list[VersionEntry]:
        """The versions that passed the repository's checks and wait to be opened."""
        return [s.entry for s in self.all_states() if s.state == LOADING]

    def served_models(self) -> list[ServedModel]:
        return [s.model for s in self.all_states() if s.model is not None]

    def all_states(self) -> list[VersionState]:
        return [s for name in sorted(self.versions) for _, s in sorted(self.versions[name].items())]

    def ready_versions(self, name: str) -> list[int]:
        return sorted(v for v, s in self.versions.get(name, {}).items() if s.state == READY)

    @staticmethod
    def _highest_ready(name: str, states: dict[int, VersionState]) -> int:
        ready = [v for v, s in states.items() if s.state == READY]
        if ready:
            return max(ready)
        if all(s.state == FAILED for s in states.values()):
            why = "; ".join(f"version {v}: {s.public_reason}" for v, s in sorted(states.items()))
            raise NotFoundError(f"model {name!r} has no version that passed its checks ({why})")
        raise UnavailableError(f"model {name!r} has no version ready to serve yet")

    def lookup(self, name: str, version: int) -> ServedModel:
        """The model serving ``name`` at ``version`` (0: the highest ready one)."""
        if not name:
            raise InvalidArgumentError("model_name is required")
        states = self.versions.get(name)
        if not states:
            known = ", ".join(sorted(self.versions)) or "none"
            raise NotFoundError(f"no model named {shown(name)}; this server has: {known}")
        if version == 0:
            version = self._highest_ready(name, states)
        state = states.get(version)
        if state is None:
            raise NotFoundError(f"model {name!r} has no version {version}; it has {sorted(states)}")
        if state.state == FAILED:
            raise NotFoundError(
                f"model {name!r} version {version} was refused: {state.public_reason}"
            )
        if state.model is None:
            raise UnavailableError(f"model {name!r} version {version} is still loading")
        return state.model
