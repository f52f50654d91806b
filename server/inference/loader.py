"""Open a verified model version: two sessions, a check against its manifest, warm-up.

Runs off the event loop (at start-up and whenever a version is loaded while serving).
Each graph is read once, its bytes checked against the manifest's SHA-256 again, and the
session built from those very bytes: a file replaced between the repository scan and the
load is refused, never served. A version whose graphs onnxruntime cannot
open, whose inputs or outputs are not named as the contract says, or whose outputs for one
item disagree with the manifest's shapes is refused with that reason; the others serve.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from vaeserve.manifest import DECODER_FILE, ENCODER_FILE, Manifest
from vaeserve.server.errors import ModelRefusedError
from vaeserve.server.inference.batcher import Batcher
from vaeserve.server.inference.model_table import ServedModel
from vaeserve.server.inference.queued_request import RunBatch
from vaeserve.server.inference.repository import VersionEntry
from vaeserve.server.inference.sessions import CPU, GraphSession
from vaeserve.server.inference.unbatched import Unbatched
from vaeserve.server.metrics import Metrics
from vaeserve.server.settings import Settings


class ContractError(ModelRefusedError):
    """A graph's outputs do not have the shapes its manifest promises."""


@dataclass(frozen=True)
class Loader:
    settings: Settings
    providers: list[str]
    intra_op_threads: int
    # Batches of one graph in flight at once: one per inference worker.
    concurrent_batches: int
    executor: Executor
    metrics: Metrics

    def load(self, entry: VersionEntry) -> ServedModel:
        """A warmed-up, checked model for ``entry`` (blocking: call it off the event loop)."""
        manifest = entry.manifest
        if manifest is None:
            raise ContractError(entry.reason)
        encoder = self._session(entry, ENCODER_FILE, "x", ("mean", "log_var"))
        decoder = self._session(entry, DECODER_FILE, "z", ("x",))
        image_shape, latent = manifest.image_shape.as_tuple(), (manifest.latent_dim,)
        _expect(ENCODER_FILE, encoder.warm_up(image_shape), [latent, latent])
        _expect(DECODER_FILE, decoder.warm_up(latent), [image_shape])
        queues = (
            self._queue(encoder, manifest, "encoder"),
            self._queue(decoder, manifest, "decoder"),
        )
        return ServedModel(manifest, encoder, decoder, queues)

    def _session(
        self, entry: VersionEntry, file: str, input_name: str, outputs: tuple[str, ...]
    ) -> GraphSession:
        manifest = entry.manifest
        assert manifest is not None
        contents = (entry.path / file).read_bytes()
        digest = hashlib.sha256(contents).hexdigest()
        if digest != manifest.sha256[file]:
            raise ContractError(
                f"{file} changed after it was checked (SHA-256 {digest[:12]}..., the manifest "
                f"records {manifest.sha256[file][:12]}...); publish versions by renaming a "
                "finished folder into place"
            )
        return GraphSession(
            entry.path / file,
            contents=contents,
            input_name=input_name,
            output_names=outputs,
            providers=self.providers,
            intra_op_threads=self.intra_op_threads,
            max_batch_size=self.settings.max_batch_size,
        )

    def cost_clock(self, session: GraphSession) -> Callable[[], float] | None:
        """The clock a batch's cost is read from: under --fair-share, the calling thread's CPU
        time where the whole call runs on that thread (the CPU provider, one intra-op thread);
        elsewhere (a GPU call waits, intra-op threads compute) the wall time."""
        if self.settings.fair_share and session.provider == CPU and self.intra_op_threads == 1:
            return time.thread_time
        return None

    def _queue(self, session: GraphSession, manifest: Manifest, graph: str) -> Batcher | Unbatched:
        settings = self.settings
        metrics = self.metrics.graph(f"{manifest.name}/{manifest.version}", graph)
        run: RunBatch = session.run
        if not settings.batching:
            return Unbatched(run, self.executor, metrics, max_queue_size=settings.max_queue_size)
        return Batcher(
            run,
            self.executor,
            metrics,
            max_batch_size=settings.max_batch_size,
            max_queue_delay_s=settings.max_queue_delay_ms / 1000.0,
            max_queue_size=settings.max_queue_size,
            max_concurrent_batches=self.concurrent_batches,
            inline_below_s=settings.inline_below_us / 1e6,
            cost_clock=self.cost_clock(session),
        )


def _expect(file: str, outputs: tuple[np.ndarray, ...], shapes: list[tuple[int, ...]]) -> None:
    found = [tuple(out.shape[1:]) for out in outputs]
    if found != shapes or any(out.shape[0] != 1 for out in outputs):
        raise ContractError(
            f"{file} returns item shapes {found} for one item; the manifest says {shapes}"
        )
