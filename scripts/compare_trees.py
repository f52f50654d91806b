"""The benchmark's headline on several checkouts of vaeserve, in alternating rounds of one run.

    python scripts/compare_trees.py ROUNDS OUT name=/path/to/checkout ...

Each checkout needs its own `make .venv/.serve-installed`. Used for
reports/layout-benchmark.md (before, moved, final). The order of the checkouts is reversed
every other round and every figure is the median over the rounds, because this machine's
noise is larger than most of the gaps measured. The first checkout is the reference.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

BENCH = [
    *("bench", "--targets", "vaeserve", "--models", "fashion-mnist,fashion-mnist-conv"),
    *("--methods", "Decode,Sample,Encode", "--items", "1,256", "--concurrency", "64"),
    *("--duration", "2", "--warmup", "0.5", "--ort-batch-sizes", "1,256", "--ort-seconds", "0.05"),
]
Rows = dict[tuple[str, str, int], dict[str, list[tuple[float, float]]]]


def run_round(rows: Rows, trees: dict[str, Path], out: Path, number: int) -> None:
    order = list(trees.items())
    for name, tree in order if number % 2 == 0 else order[::-1]:
        report = out / f"{name}-{number}.md"
        command = [str(tree / ".venv/bin/vaeserve"), *BENCH, "--output", str(report)]
        subprocess.run(command, cwd=tree, check=True, capture_output=True)
        data = json.loads(report.with_suffix(".json").read_text())
        for result in data["targets"]["vaeserve"]["results"]:
            scenario = result["scenario"]
            key = (scenario["model"], scenario["method"], scenario["items"])
            per_s = result["items"] / result["seconds"]
            rows.setdefault(key, {}).setdefault(name, []).append((per_s, result["p50_ms"]))
        print(name, number, "done", flush=True)


def table(rows: Rows, names: list[str]) -> str:
    reference = names[0]
    header = ["model", "method", "items"]
    for name in names:
        header += [f"{name} items/s"] + ([] if name == reference else [f"{name}/{reference}"])
    header.append("p50 ms, " + " / ".join(names))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key in sorted(rows):
        medians = {n: statistics.median(x[0] for x in rows[key][n]) for n in names}
        cells = [key[0], key[1], str(key[2])]
        for name in names:
            cells.append(f"{medians[name]:,.0f}")
            if name != reference:
                cells.append(f"{medians[name] / medians[reference]:.2f}")
        p50s = [statistics.median(x[1] for x in rows[key][n]) for n in names]
        cells.append(" / ".join(f"{p:.1f}" for p in p50s))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    rounds, out = int(sys.argv[1]), Path(sys.argv[2])
    trees = {name: Path(path) for name, path in (arg.split("=", 1) for arg in sys.argv[3:])}
    out.mkdir(parents=True, exist_ok=True)
    rows: Rows = {}
    for number in range(rounds):
        run_round(rows, trees, out, number)
    (out / "table.md").write_text(table(rows, list(trees)))
    (out / "raw.json").write_text(json.dumps({str(k): v for k, v in rows.items()}, indent=1))
    print(table(rows, list(trees)))


if __name__ == "__main__":
    main()
