"""HealthState: a worker's readiness gated on every worker being warm (several processes)."""

from __future__ import annotations

import asyncio

from vaeserve.server.health import SERVICE_NAME, HealthState


async def started(state: HealthState) -> HealthState:
    await state.starting(["tiny-grey"])
    await state.set("tiny-grey", True)
    await state.set(SERVICE_NAME, True)
    return state


def test_a_gated_worker_is_not_ready_until_the_gate_opens_though_alive() -> None:
    async def scenario() -> list[tuple[bool | None, ...]]:
        state = await started(HealthState(gated=True))
        seen: list[tuple[bool | None, ...]] = [
            (state.status(""), state.status(SERVICE_NAME), state.status("tiny-grey"))
        ]
        await state.set_gate(True)
        seen.append((state.status(""), state.status(SERVICE_NAME), state.status("tiny-grey")))
        return seen

    assert asyncio.run(scenario()) == [(True, False, False), (True, True, True)]


def test_closing_the_gate_again_turns_readiness_not_serving_and_wakes_watchers() -> None:
    async def scenario() -> list[bool | None]:
        state = await started(HealthState(gated=True))
        await state.set_gate(True)
        seen: list[bool | None] = []

        async def watch() -> None:
            async for status in state.watch(SERVICE_NAME):
                seen.append(status)
                if len(seen) == 2:
                    return

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0)
        await state.set_gate(False)
        await asyncio.wait_for(watcher, 5)
        return seen

    assert asyncio.run(scenario()) == [True, False]


def test_an_unknown_name_stays_unknown_behind_a_closed_gate() -> None:
    state = asyncio.run(started(HealthState(gated=True)))
    assert state.status("no-such-model") is None


def test_a_lone_server_is_ungated() -> None:
    state = asyncio.run(started(HealthState()))
    assert state.status(SERVICE_NAME) is True
