"""Model versions change while the server serves: published, refused, loaded, unloaded.

Real servers on 127.0.0.1 with real tiny ONNX models. The swap scenario runs once per mode
(poll and explicit) in a module fixture: 64 callers ask for version 0 while version 2 is
published, then callers pinned to version 1 keep asking while it is unloaded; the tests
below each check one property of what the callers saw.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests import onnx_models
from tests.conftest import RunningServer
from tests.serve_process import metric_sum
from tests.tensor_messages import array, random_latents, tensor
from vaeserve.admin.v1 import admin_service_pb2 as admin_pb
from vaeserve.admin.v1 import admin_service_pb2_grpc as admin_grpc
from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

CALLERS = 64
GREY = onnx_models.GREY_V1.name
POLL_S = 0.1
NEVER_FOR_AN_ADMITTED_CALL = {"UNKNOWN", "INTERNAL", "UNAVAILABLE", "CANCELLED"}


@dataclass(frozen=True)
class Call:
    started: float
    ended: float
    code: str
    version: int
    valid: bool


def publish(repository: Path, spec: onnx_models.TinySpec) -> Path:
    """The safe way: build the version in a hidden sibling, then rename it into place."""
    staging_root = repository / spec.name / f".staging-{spec.version}"
    built = onnx_models.write_model(staging_root, spec)
    target = repository / spec.name / str(spec.version)
    built.rename(target)
    shutil.rmtree(staging_root)
    return target


def grey_repository(root: Path) -> Path:
    onnx_models.write_model(root, onnx_models.GREY_V1)
    return root


async def caller(
    stub: pb_grpc.VaeServiceStub, version: int, until: Callable[[], bool], calls: list[Call]
) -> None:
    latents = tensor(random_latents(1))
    while not until():
        started = time.monotonic()
        try:
            reply = await stub.Decode(
                pb.DecodeRequest(model_name=GREY, model_version=version, latents=latents),
                timeout=30,
            )
        except grpc.aio.AioRpcError as error:
            calls.append(Call(started, time.monotonic(), error.code().name, 0, False))
            continue
        images = array(reply.images.tensor)
        valid = images.shape == (1, 1, 8, 8) and bool(
            np.all(np.isfinite(images)) and images.min() >= 0 and images.max() <= 1
        )
        calls.append(Call(started, time.monotonic(), "OK", reply.model_version, valid))


@dataclass
class Scenario:
    """What the callers saw while version 2 was published and version 1 unloaded."""

    swap_calls: list[Call]
    published_at: float
    pinned_calls: list[Call]
    unloaded_at: float
    unload_returned_at: float
    metrics: str
    list_after: list[tuple[str, int, int]]
    health_after: str


async def run_scenario(running: RunningServer, repository: Path, mode: str) -> Scenario:
    async with grpc.aio.insecure_channel(running.address) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        admin = admin_grpc.AdminServiceStub(channel)
        loop = asyncio.get_running_loop()
        # Phase 1: 64 callers on version 0; version 2 is published one second in; they go
        # on for at least 3 s in all and 1 s past the first answer from version 2.
        swap_calls: list[Call] = []
        stop_at = [loop.time() + 4.0]
        tasks = [
            asyncio.create_task(caller(stub, 0, lambda: loop.time() > stop_at[0], swap_calls))
            for _ in range(CALLERS)
        ]
        await asyncio.sleep(1.0)
        published_at = time.monotonic()
        await asyncio.to_thread(publish, repository, onnx_models.GREY_V2)
        if mode == "explicit":
            await admin.LoadModel(admin_pb.LoadModelRequest(model_name=GREY, model_version=2))
        while not any(c.version == 2 for c in swap_calls):
            assert time.monotonic() < published_at + 30, "version 2 never answered"
            await asyncio.sleep(0.02)
        stop_at[0] = max(stop_at[0], loop.time() + 1.0)
        await asyncio.gather(*tasks)
        # Phase 2: callers pinned to version 1 while it is unloaded, and 0.5 s past that.
        pinned_calls: list[Call] = []
        stop_at = [loop.time() + 60.0]
        tasks = [
            asyncio.create_task(caller(stub, 1, lambda: loop.time() > stop_at[0], pinned_calls))
            for _ in range(CALLERS)
        ]
        await asyncio.sleep(0.7)
        unloaded_at = time.monotonic()
        if mode == "explicit":
            await admin.UnloadModel(admin_pb.UnloadModelRequest(model_name=GREY, model_version=1))
        else:
            gone = repository / GREY / ".removed-1"
            await asyncio.to_thread((repository / GREY / "1").rename, gone)
            while any(
                m.version == 1 for m in (await stub.ListModels(pb.ListModelsRequest())).models
            ):
                await asyncio.sleep(0.02)
        unload_returned_at = time.monotonic()
        stop_at[0] = loop.time() + 0.5
        await asyncio.gather(*tasks)
        listed = await stub.ListModels(pb.ListModelsRequest())
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=GREY)
        )
    metrics_page = await asyncio.to_thread(read_metrics, running.metrics_port)
    return Scenario(
        swap_calls,
        published_at,
        pinned_calls,
        unloaded_at,
        unload_returned_at,
        metrics_page,
        [(m.name, m.version, m.state) for m in listed.models],
        health_pb2.HealthCheckResponse.ServingStatus.Name(health.status),
    )


def read_metrics(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
        text: str = page.read().decode()
    return text


@pytest.fixture(scope="module", params=["poll", "explicit"])
def scenario(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_settings,
    start_server,
) -> Iterator[Scenario]:
    mode = request.param
    repository = grey_repository(tmp_path_factory.mktemp(f"swap-{mode}"))
    settings = server_settings(
        model_repository=repository,
        model_control=mode,
        repository_poll_s=POLL_S,
        grace_period_s=10.0,
    )
    with start_server(settings) as running:
        yield asyncio.run(run_scenario(running, repository, mode))


def test_every_call_during_a_publish_succeeds(scenario: Scenario) -> None:
    codes = {c.code for c in scenario.swap_calls}
    assert codes == {"OK"}
    assert all(c.valid for c in scenario.swap_calls)
    assert len(scenario.swap_calls) > 10 * CALLERS


def test_answers_during_a_publish_come_from_version_1_or_2(scenario: Scenario) -> None:
    versions = {c.version for c in scenario.swap_calls}
    assert versions == {1, 2}


def test_after_the_swap_only_version_2_answers(scenario: Scenario) -> None:
    first_v2_reply = min(c.ended for c in scenario.swap_calls if c.version == 2)
    later = [c for c in scenario.swap_calls if c.started > first_v2_reply]
    assert later, "no call started after the swap"
    assert {c.version for c in later} == {2}


def test_nothing_before_the_publish_came_from_version_2(scenario: Scenario) -> None:
    assert all(c.version == 1 for c in scenario.swap_calls if c.ended < scenario.published_at)


def test_callers_pinned_to_an_unloaded_version_get_ok_or_not_found(scenario: Scenario) -> None:
    codes = {c.code for c in scenario.pinned_calls}
    assert codes <= {"OK", "NOT_FOUND"}
    assert codes == {"OK", "NOT_FOUND"}
    assert not codes & NEVER_FOR_AN_ADMITTED_CALL
    assert all(c.valid and c.version == 1 for c in scenario.pinned_calls if c.code == "OK")


def test_an_unloaded_version_is_not_found_from_the_moment_it_is_gone(scenario: Scenario) -> None:
    after = [c for c in scenario.pinned_calls if c.started > scenario.unload_returned_at]
    assert after
    assert {c.code for c in after} == {"NOT_FOUND"}


def test_every_admitted_call_is_answered_and_counted(scenario: Scenario) -> None:
    # The server counted exactly the OK replies the callers got: none was lost in between.
    ok_v1 = sum(1 for c in scenario.swap_calls + scenario.pinned_calls if c.version == 1)
    ok_v2 = sum(1 for c in scenario.swap_calls if c.version == 2)
    page = scenario.metrics
    assert metric_sum(page, "vaeserve_version_requests_total", model=GREY, version="1") == ok_v1
    assert metric_sum(page, "vaeserve_version_requests_total", model=GREY, version="2") == ok_v2


def test_loads_and_unloads_are_counted_by_outcome(scenario: Scenario) -> None:
    page = scenario.metrics
    assert metric_sum(page, "vaeserve_model_loads_total", model=GREY, outcome="ok") == 2
    assert metric_sum(page, "vaeserve_model_unloads_total", model=GREY, outcome="drained") == 1
    assert (
        'vaeserve_model_info{name="tiny-grey",provider="CPUExecutionProvider",version="2"}' in page
    )
    assert 'version="1"' not in page.split("vaeserve_model_info")[-1].split("\n# ")[0]


def test_list_models_follows_the_changes(scenario: Scenario) -> None:
    assert scenario.list_after == [(GREY, 2, pb.MODEL_STATE_READY)]
    assert scenario.health_after == "SERVING"


# -- half-written and tampered versions -----------------------------------------------


@pytest.fixture()
def poll_server(
    tmp_path: Path, server_settings, start_server
) -> Iterator[tuple[RunningServer, Path]]:
    repository = grey_repository(tmp_path / "repository")
    settings = server_settings(
        model_repository=repository, model_control="poll", repository_poll_s=POLL_S
    )
    with start_server(settings) as running:
        yield running, repository


def versions_answering(stub: pb_grpc.VaeServiceStub) -> int:
    reply = stub.Decode(
        pb.DecodeRequest(model_name=GREY, latents=tensor(random_latents(1))), timeout=10
    )
    return int(reply.model_version)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def states(stub: pb_grpc.VaeServiceStub) -> dict[int, tuple[int, str]]:
    listed = stub.ListModels(pb.ListModelsRequest()).models
    return {m.version: (m.state, m.reason) for m in listed if m.name == GREY}


def test_a_version_copied_file_by_file_is_never_served_half_written(
    poll_server: tuple[RunningServer, Path], tmp_path: Path
) -> None:
    running, repository = poll_server
    source = onnx_models.write_model(tmp_path / "elsewhere", onnx_models.GREY_V2)
    target = repository / GREY / "2"
    seen: list[tuple[float, int]] = []
    done = threading.Event()

    def watch() -> None:
        with grpc.insecure_channel(running.address) as channel:
            stub = pb_grpc.VaeServiceStub(channel)
            while not done.is_set():
                seen.append((time.monotonic(), versions_answering(stub)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        target.mkdir()
        # Worst order: the manifest first, then each graph in two halves, slowly.
        shutil.copy(source / "manifest.json", target / "manifest.json")
        for name in ("encoder.onnx", "decoder.onnx"):
            time.sleep(4 * POLL_S)
            data = (source / name).read_bytes()
            with (target / name).open("wb") as out:
                out.write(data[: len(data) // 2])
                out.flush()
                time.sleep(4 * POLL_S)
                out.write(data[len(data) // 2 :])
        complete = time.monotonic()  # the last byte has landed
        with grpc.insecure_channel(running.address) as channel:
            stub = pb_grpc.VaeServiceStub(channel)
            wait_for(lambda: versions_answering(stub) == 2)
    finally:
        done.set()
        watcher.join(10)
    assert all(version == 1 for at, version in seen if at < complete)
    assert len([1 for at, _ in seen if at < complete]) > 10


def test_a_tampered_version_is_refused_with_its_reason_and_the_old_one_keeps_serving(
    poll_server: tuple[RunningServer, Path], tmp_path: Path
) -> None:
    running, repository = poll_server
    staged = onnx_models.write_model(tmp_path / "staging", onnx_models.GREY_V2)
    with (staged / "decoder.onnx").open("ab") as stream:
        stream.write(b"\0")
    staged.rename(repository / GREY / "2")
    with grpc.insecure_channel(running.address) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        wait_for(lambda: 2 in states(stub))
        state, reason = states(stub)[2]
        index = admin_grpc.AdminServiceStub(channel).RepositoryIndex(
            admin_pb.RepositoryIndexRequest()
        )
        assert state == pb.MODEL_STATE_FAILED
        assert "SHA-256" in reason
        indexed = {(m.name, m.version): m for m in index.models}
        assert indexed[(GREY, 2)].state == admin_pb.VERSION_STATE_FAILED
        assert "SHA-256" in indexed[(GREY, 2)].reason
        assert {versions_answering(stub) for _ in range(20)} == {1}


def test_a_version_that_fails_warm_up_is_refused_and_the_old_one_keeps_serving(
    poll_server: tuple[RunningServer, Path], tmp_path: Path
) -> None:
    from dataclasses import replace

    from vaeserve.manifest import ImageShape, read_manifest, write_manifest

    running, repository = poll_server
    staged = onnx_models.write_model(tmp_path / "staging", onnx_models.GREY_V2)
    manifest = read_manifest(staged)
    write_manifest(staged, replace(manifest, image_shape=ImageShape(1, 4, 16)))
    staged.rename(repository / GREY / "2")
    with grpc.insecure_channel(running.address) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        wait_for(lambda: states(stub).get(2, (0, ""))[0] == pb.MODEL_STATE_FAILED)
        assert "cannot serve it" in states(stub)[2][1]
        assert {versions_answering(stub) for _ in range(20)} == {1}


def test_a_refused_version_loads_once_its_files_are_fixed(
    poll_server: tuple[RunningServer, Path], tmp_path: Path
) -> None:
    running, repository = poll_server
    target = repository / GREY / "2"
    target.mkdir()
    with grpc.insecure_channel(running.address) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        wait_for(lambda: 2 in states(stub))
        assert "manifest.json" in states(stub)[2][1]
        source = onnx_models.write_model(tmp_path / "elsewhere", onnx_models.GREY_V2)
        for item in source.iterdir():
            shutil.copy(item, target / item.name)
        wait_for(lambda: versions_answering(stub) == 2)


def test_hidden_staging_folders_are_not_versions(
    poll_server: tuple[RunningServer, Path],
) -> None:
    running, repository = poll_server
    onnx_models.write_model(repository / GREY / ".staging-2", onnx_models.GREY_V2)
    time.sleep(5 * POLL_S)
    with grpc.insecure_channel(running.address) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        assert set(states(stub)) == {1}


def test_health_of_a_model_without_versions_turns_not_serving(
    poll_server: tuple[RunningServer, Path],
) -> None:
    running, repository = poll_server
    (repository / GREY / "1").rename(repository / GREY / ".gone")
    with grpc.insecure_channel(running.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)

        def model_status() -> int:
            request = health_pb2.HealthCheckRequest(service=GREY)
            return int(health.Check(request).status)

        wait_for(lambda: model_status() == health_pb2.HealthCheckResponse.NOT_SERVING)
        with pytest.raises(grpc.RpcError) as refused:
            versions_answering(pb_grpc.VaeServiceStub(channel))
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND


# -- the admin service: wrong calls -----------------------------------------------------

TOKEN = "admin-test-token"


@pytest.fixture(scope="module")
def explicit_server(
    tmp_path_factory: pytest.TempPathFactory, server_settings, start_server
) -> Iterator[tuple[RunningServer, Path]]:
    repository = grey_repository(tmp_path_factory.mktemp("explicit"))
    onnx_models.write_model(repository, onnx_models.GREY_V2)
    settings = server_settings(
        model_repository=repository,
        model_control="explicit",
        auth_token=TOKEN,
        health_port=0,
    )
    with start_server(settings) as running:
        yield running, repository


def authorised() -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {TOKEN}")]


def snapshot(channel: grpc.Channel) -> tuple[Any, Any]:
    index = admin_grpc.AdminServiceStub(channel).RepositoryIndex(
        admin_pb.RepositoryIndexRequest(), metadata=authorised()
    )
    listed = pb_grpc.VaeServiceStub(channel).ListModels(
        pb.ListModelsRequest(), metadata=authorised()
    )
    return index, listed


@pytest.mark.parametrize(
    ("call", "name", "version", "code"),
    [
        ("LoadModel", "no-such-model", 0, grpc.StatusCode.NOT_FOUND),
        ("LoadModel", GREY, 9, grpc.StatusCode.NOT_FOUND),
        ("UnloadModel", "no-such-model", 1, grpc.StatusCode.NOT_FOUND),
        ("LoadModel", "../x", 0, grpc.StatusCode.INVALID_ARGUMENT),
        ("LoadModel", "a/b", 0, grpc.StatusCode.INVALID_ARGUMENT),
        ("LoadModel", f"../{GREY}", 1, grpc.StatusCode.INVALID_ARGUMENT),
        ("UnloadModel", "../x", 1, grpc.StatusCode.INVALID_ARGUMENT),
        ("LoadModel", "", 0, grpc.StatusCode.INVALID_ARGUMENT),
        ("UnloadModel", GREY, 0, grpc.StatusCode.INVALID_ARGUMENT),
    ],
)
def test_a_wrong_admin_call_gets_its_status_and_changes_nothing(
    explicit_server: tuple[RunningServer, Path], call: str, name: str, version: int, code: Any
) -> None:
    running, _ = explicit_server
    with grpc.insecure_channel(running.address) as channel:
        before = snapshot(channel)
        admin = admin_grpc.AdminServiceStub(channel)
        request_type = (
            admin_pb.LoadModelRequest if call == "LoadModel" else admin_pb.UnloadModelRequest
        )
        with pytest.raises(grpc.RpcError) as refused:
            getattr(admin, call)(
                request_type(model_name=name, model_version=version), metadata=authorised()
            )
        assert refused.value.code() == code
        assert snapshot(channel) == before


@pytest.mark.parametrize("call", ["LoadModel", "UnloadModel", "RepositoryIndex"])
def test_an_admin_call_without_the_token_is_unauthenticated_and_changes_nothing(
    explicit_server: tuple[RunningServer, Path], call: str
) -> None:
    running, _ = explicit_server
    requests = {
        "LoadModel": admin_pb.LoadModelRequest(model_name=GREY, model_version=2),
        "UnloadModel": admin_pb.UnloadModelRequest(model_name=GREY, model_version=2),
        "RepositoryIndex": admin_pb.RepositoryIndexRequest(),
    }
    with grpc.insecure_channel(running.address) as channel:
        before = snapshot(channel)
        with pytest.raises(grpc.RpcError) as refused:
            getattr(admin_grpc.AdminServiceStub(channel), call)(requests[call])
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert snapshot(channel) == before


def test_the_health_only_port_does_not_serve_the_admin_service(
    explicit_server: tuple[RunningServer, Path],
) -> None:
    running, _ = explicit_server
    address = f"127.0.0.1:{running.server.health_port}"
    with grpc.insecure_channel(address) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            admin_grpc.AdminServiceStub(channel).RepositoryIndex(
                admin_pb.RepositoryIndexRequest(), metadata=authorised()
            )
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_the_repository_index_lists_what_is_on_disk_and_what_serves(
    explicit_server: tuple[RunningServer, Path],
) -> None:
    running, _ = explicit_server
    with grpc.insecure_channel(running.address) as channel:
        index, _ = snapshot(channel)
    entries = [(m.name, m.version, m.state, m.in_repository) for m in index.models]
    assert entries == [
        (GREY, 1, admin_pb.VERSION_STATE_READY, True),
        (GREY, 2, admin_pb.VERSION_STATE_READY, True),
    ]


def test_loading_needs_explicit_model_control(running_server: RunningServer) -> None:
    with grpc.insecure_channel(running_server.address) as channel:
        admin = admin_grpc.AdminServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            admin.LoadModel(admin_pb.LoadModelRequest(model_name=GREY, model_version=1))
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "--model-control explicit" in str(refused.value.details())


def test_a_tampered_version_is_refused_by_load_model_with_its_reason(
    tmp_path: Path, server_settings, start_server
) -> None:
    repository = grey_repository(tmp_path)
    tampered = onnx_models.write_model(tmp_path / "staging", onnx_models.GREY_V2)
    with (tampered / "encoder.onnx").open("ab") as stream:
        stream.write(b"\0")
    settings = server_settings(model_repository=repository, model_control="explicit")
    with start_server(settings) as running, grpc.insecure_channel(running.address) as channel:
        tampered.rename(repository / GREY / "2")
        with pytest.raises(grpc.RpcError) as refused:
            admin_grpc.AdminServiceStub(channel).LoadModel(
                admin_pb.LoadModelRequest(model_name=GREY, model_version=2)
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "SHA-256" in str(refused.value.details())
        assert str(tmp_path) not in str(refused.value.details())
        assert versions_answering(pb_grpc.VaeServiceStub(channel)) == 1


# -- memory -------------------------------------------------------------------------------

CYCLES = 50
EMBEDDED_MODEL = "fashion-mnist"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def test_loading_and_unloading_50_times_returns_the_memory(tmp_path: Path) -> None:
    """A child server (its own RSS) on a copy of an embedded model, version 2 loaded and
    unloaded 50 times: resident memory ends within 5% of where it started."""
    from dataclasses import replace

    from tests.serve_process import EMBEDDED_MODELS, ServeProcess
    from vaeserve.manifest import read_manifest, write_manifest

    repository = tmp_path / "models"
    shutil.copytree(EMBEDDED_MODELS / EMBEDDED_MODEL / "1", repository / EMBEDDED_MODEL / "1")
    second = repository / EMBEDDED_MODEL / "2"
    shutil.copytree(repository / EMBEDDED_MODEL / "1", second)
    write_manifest(second, replace(read_manifest(second), version=2))
    flags = ("--model-control", "explicit", "--inference-threads", "2")
    with (
        ServeProcess(repository, *flags) as server,
        grpc.insecure_channel(server.start().address) as channel,
    ):
        admin = admin_grpc.AdminServiceStub(channel)
        load = admin_pb.LoadModelRequest(model_name=EMBEDDED_MODEL, model_version=2)
        unload = admin_pb.UnloadModelRequest(model_name=EMBEDDED_MODEL, model_version=2)
        admin.UnloadModel(unload, timeout=30)  # both loaded at start-up; start from one
        started = rss_bytes(server.pid)
        peak = started
        for _ in range(CYCLES):
            admin.LoadModel(load, timeout=30)
            peak = max(peak, rss_bytes(server.pid))
            admin.UnloadModel(unload, timeout=30)
        ended = rss_bytes(server.pid)
        loads = metric_sum(server.metrics(), "vaeserve_model_loads_total", outcome="ok")
    assert loads == 2 + CYCLES
    assert peak > started  # a loaded version does cost memory, so the check can fail
    assert abs(ended - started) <= 0.05 * started, (started, peak, ended)


def test_an_unload_past_the_grace_period_refuses_what_is_left_and_counts_it_forced(
    tmp_path: Path, server_settings, start_server
) -> None:
    """Batches wait 3 s to fill and the grace period is 0.2 s: the queued request cannot
    finish in time, so it is refused with UNAVAILABLE naming the unload, never lost."""
    repository = grey_repository(tmp_path)
    settings = server_settings(
        model_repository=repository,
        model_control="explicit",
        grace_period_s=0.2,
        max_queue_delay_ms=3000.0,
    )
    with start_server(settings) as running, grpc.insecure_channel(running.address) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        request = pb.DecodeRequest(model_name=GREY, latents=tensor(random_latents(1)))
        pending = stub.Decode.future(request, timeout=30)
        time.sleep(0.3)  # queued, waiting for its batch to fill
        admin = admin_grpc.AdminServiceStub(channel)
        drained = admin.UnloadModel(admin_pb.UnloadModelRequest(model_name=GREY, model_version=1))
        with pytest.raises(grpc.RpcError) as refused:
            pending.result()
        page = read_metrics(running.metrics_port)
    assert drained.drained_requests == 1
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "was unloaded" in str(refused.value.details())
    assert metric_sum(page, "vaeserve_model_unloads_total", model=GREY, outcome="forced") == 1
