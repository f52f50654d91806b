"""Render a fairness run as markdown: the goals first, then the medians, then every round."""

from __future__ import annotations

import json
from dataclasses import asdict

from vaeserve.bench.config import Scenario
from vaeserve.bench.fairness import FairnessRun, Phase, summarise_phase, verdicts
from vaeserve.bench.report import SMOKE_DURATION_S, num, table

MARKS = {True: "met", False: "**missed**", None: "not measured"}


def _client(scenario: Scenario) -> str:
    s = scenario
    return f"{s.items}-item {s.method}s of `{s.model}`, {s.concurrency} at a time, own process"


def header_section(run: FairnessRun, command: str) -> str:
    s = run.settings
    rows = [[key, value] for key, value in run.environment.items()]
    variants = "; ".join(
        f"`{v.name}`: `{' '.join(v.server_args) or '(no extra flags)'}`" for v in s.variants
    )
    loads = [f"{r.load_average:.2f}" for r in run.rounds]
    rows += [
        ["command", f"`{command}`"],
        ["light client", _client(s.light)],
        ["each heavy client", _client(s.heavy)],
        ["variants (server flags)", variants],
        ["common server flags", f"`{' '.join(s.server_args)}`" if s.server_args else "none"],
        [
            "per phase",
            f"{s.warmup_s:g} s warm-up, then {s.duration_s:g} s measured; together, the light "
            f"client warms up {s.overlap_s:g} s longer and the heavy ones measure "
            f"{s.overlap_s:g} s longer",
        ],
        ["rounds", f"{s.rounds}, variants alternating (A B, B A, ...)"],
        ["1-minute load average before each round", ", ".join(loads)],
        ["whole run", f"{run.wall_s:.0f} s"],
    ]
    if s.duration_s < SMOKE_DURATION_S:
        rows.append(
            ["caution", f"windows under {SMOKE_DURATION_S:g} s: a smoke run, not a measurement"]
        )
    return (
        "# vaeserve fairness benchmark\n\nCheap calls beside clients that stream expensive "
        "ones, against one server process. Every client is its own closed-loop load "
        "generator process on the same machine as the server; each variant's server is "
        "started fresh for every round.\n\n" + table(["", ""], rows)
    )


def goal_section(run: FairnessRun) -> str:
    found = verdicts(run)
    rows = [[v.variant, v.goal, num(v.measured, 2), v.bound, MARKS[v.met]] for v in found]
    return (
        "## Goals (medians over the rounds)\n\nIssue 13's goal is stated for two heavy "
        "clients; the one-client rows are shown for the trend. Reported, never asserted.\n\n"
        + table(["variant", "goal", "measured", "bound", "verdict"], rows)
    )


def median_section(run: FairnessRun) -> str:
    rows = []
    for variant in run.settings.variants:
        rounds = run.of(variant.name)
        for phase in run.settings.phases():
            m = summarise_phase(rounds, phase)
            rows.append(
                [
                    variant.name,
                    phase.title,
                    num(m.light_calls_per_s),
                    num(m.light_p50_ms, 2),
                    num(m.light_p99_ms, 2),
                    num(m.heavy_items_per_s),
                    num(m.heavy_p99_ms, 1),
                    str(m.errors),
                ]
            )
    header = [
        "variant",
        "phase",
        "light calls/s",
        "light p50 ms",
        "light p99 ms",
        "heavy items/s (all)",
        "heavy p99 ms",
        "errors",
    ]
    return "## Medians over the rounds\n\n" + table(header, rows)


def rounds_section(run: FairnessRun) -> str:
    rows = []
    for result in run.rounds:
        for phase, found in result.phases.items():
            light = found.light
            rows.append(
                [
                    str(result.round_number + 1),
                    result.variant,
                    phase.title,
                    "" if light is None else num(light.requests_per_s),
                    "" if light is None else num(light.p99_ms, 2),
                    "" if not found.heavy else num(found.heavy_items_per_s),
                ]
            )
    header = ["round", "variant", "phase", "light calls/s", "light p99 ms", "heavy items/s"]
    return "## Every round, in the order run\n\n" + table(header, rows)


def render(run: FairnessRun, command: str, notes: str = "") -> str:
    sections = [header_section(run, command), goal_section(run), median_section(run)]
    if notes:
        sections.append(notes.strip())
    sections.append(rounds_section(run))
    return "\n\n".join(sections) + "\n"


def raw_json(run: FairnessRun) -> str:
    """Every measured number, unrounded."""
    data = {
        "environment": run.environment,
        "wall_s": run.wall_s,
        "rounds": [
            {
                "variant": r.variant,
                "round": r.round_number,
                "load_average": r.load_average,
                "phases": [
                    {
                        "light": p.light,
                        "heavy": p.heavy,
                        "phase": {"light": phase.light, "heavy": phase.heavy},
                    }
                    for phase, p in r.phases.items()
                ],
            }
            for r in run.rounds
        ],
    }

    def encode(value: object) -> object:
        if hasattr(value, "to_dict"):
            return value.to_dict()
        if isinstance(value, Phase):
            return asdict(value)
        raise TypeError(type(value).__name__)

    return json.dumps(data, indent=1, default=encode, allow_nan=True) + "\n"
