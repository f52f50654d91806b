"""The server's health, one state for every front: liveness on "", readiness per name.

The empty name is liveness (serving as soon as the process listens). The service name and
each model's name are readiness: not serving until their models are loaded and warmed up.
On drain every name turns not serving and stays so, and watchers are woken to see it. The
gRPC health service (:mod:`vaeserve.server.rpc.health`) and the HTTP probes read this one
state, so they can never disagree.

With several serving processes (``--workers``) a probe lands on whichever process the
kernel hands its connection to, so each must answer for the whole server: a worker's state
is *gated*, every readiness name reading not serving until the supervisor says that every
worker is warm (:meth:`HealthState.set_gate`). Liveness ("") is the process's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from vaeserve.v1 import vae_service_pb2 as pb

SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["VaeService"].full_name


class HealthState:
    """Serving or not, by name; ``None`` for a name nobody set."""

    def __init__(self, *, gated: bool = False) -> None:
        """``gated``: one of several processes; readiness waits for :meth:`set_gate`."""
        self._serving: dict[str, bool] = {}
        self._draining = False
        self._gate_open = not gated
        self._changed = asyncio.Condition()

    @property
    def draining(self) -> bool:
        return self._draining

    def status(self, name: str) -> bool | None:
        """True when ``name`` serves, False when it does not, None when it is unknown."""
        if name in self._serving and (self._draining or (name and not self._gate_open)):
            return False
        return self._serving.get(name)

    async def starting(self, model_names: Iterable[str]) -> None:
        """Live, and not ready: the state between listening and the models' warm-up."""
        await self.set("", True)
        for name in (SERVICE_NAME, *model_names):
            await self.set(name, False)

    async def set(self, name: str, serving: bool) -> None:
        """Record ``name``'s readiness; ignored once draining (a drain is final)."""
        if self._draining:
            return
        async with self._changed:
            self._serving[name] = serving
            self._changed.notify_all()

    async def set_gate(self, is_open: bool) -> None:
        """Open: every serving process is warm, readiness is this process's own. Closed:
        some process is not (yet, or again), so every readiness name reads not serving."""
        async with self._changed:
            self._gate_open = is_open
            self._changed.notify_all()

    async def drain(self) -> None:
        """Every name, "" included, turns not serving and stays so."""
        async with self._changed:
            self._draining = True
            self._changed.notify_all()

    async def watch(self, name: str) -> AsyncIterator[bool | None]:
        """``name``'s status now and at every change; ends once the drain has been seen
        (after its NOT_SERVING for a known name; at once for an unknown one)."""
        last: object = object()
        while True:
            async with self._changed:
                status = self.status(name)
                if status == last and not self._draining:
                    await self._changed.wait()
                    continue
            if status != last:
                last = status
                yield status
            if self._draining:
                return
