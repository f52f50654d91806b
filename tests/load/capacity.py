"""What a server sustains: a short closed-loop run with the benchmark's load generator.

The overload test offers a multiple of this, so it is measured on the same machine in the
same minute rather than written down once: on shared CI cores it varies by a factor of
several. The generator is ``vaeserve bench``'s (vaeserve.bench.loadgen), in its own
process so the client's Python does not share the server's GIL.

    python -m tests.load.capacity --target 127.0.0.1:50051 --model fashion-mnist-conv --items 64
"""

from __future__ import annotations

import argparse
import asyncio
import json

import grpc

from tests.load.open_loop import model_shape
from vaeserve.bench.config import ModelShape, Scenario
from vaeserve.bench.loadgen import LoadGenerator, LoadJob
from vaeserve.bench.stats import LoadResult


async def _shape_of(address: str, model: str) -> ModelShape:
    async with grpc.aio.insecure_channel(address) as channel:
        shape: ModelShape = await model_shape(channel, model)
    return shape


def sustained(
    address: str,
    *,
    model: str,
    method: str = "Decode",
    items: int = 64,
    concurrency: int = 8,
    duration_s: float = 3.0,
    warmup_s: float = 1.0,
) -> LoadResult:
    """Requests/s (and latency) of ``concurrency`` closed-loop workers for ``duration_s``."""
    shape = asyncio.run(_shape_of(address, model))
    job = LoadJob(address, Scenario(model, method, items, concurrency), shape, duration_s, warmup_s)
    with LoadGenerator() as generator:
        return generator.run(job)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--model", default="fashion-mnist-conv")
    parser.add_argument("--method", default="Decode", choices=["Decode", "Sample", "Encode"])
    parser.add_argument("--items", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    result = sustained(
        args.target,
        model=args.model,
        method=args.method,
        items=args.items,
        concurrency=args.concurrency,
        duration_s=args.duration,
    )
    print(json.dumps({"requests_per_s": round(result.requests_per_s, 1), **result.to_dict()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
