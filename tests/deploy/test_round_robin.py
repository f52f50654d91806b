"""Scale-out on one machine: two servers, one client balancing calls over both with round_robin.

This is what the headless Service gives clients on Kubernetes, with the two pod addresses
written out instead of looked up in DNS. The client's service config asks for round_robin
and for retries of UNAVAILABLE, the code a draining server answers new calls with; so when
one server gets SIGTERM mid-stream, its calls in flight finish there and the rest move to
the other server without a single failure reaching the caller.

CANCELLED is retried too: a call that reaches the server in the instant grpc's own shutdown
begins is cancelled by grpc, not answered UNAVAILABLE (2 of 8 runs hit it with UNAVAILABLE
alone). Retrying it is safe because every VaeService RPC is a pure function of its request;
a client that cancels its own call is never retried. On Kubernetes the preStop sleep keeps
calls from arriving at that instant in the first place.
"""

import json
import threading
import time

import grpc
import pytest

from vaeserve.v1 import vae_service_pb2 as pb
from vaeserve.v1 import vae_service_pb2_grpc as pb_grpc

SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{"service": "vaeserve.v1.VaeService"}],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
            },
        }
    ],
}
CALLS = 40
CLIENT_THREADS = 3


def balanced_channel(*ports: int) -> grpc.Channel:
    target = "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)
    return grpc.insecure_channel(
        target,
        options=[("grpc.service_config", json.dumps(SERVICE_CONFIG)), ("grpc.enable_retries", 1)],
    )


def sample(stub: pb_grpc.VaeServiceStub, model: str, seed: int) -> None:
    reply = stub.Sample(pb.SampleRequest(model_name=model, count=1, seed=seed), timeout=30)
    assert reply.seed == seed


@pytest.fixture
def pair(servers):
    """Two ready servers on their own loopback ports."""
    started = [servers.start(), servers.start()]
    for server in started:
        server.wait_ready()
    return started


def test_round_robin_spreads_calls_over_both_servers(pair) -> None:
    model = pair[0].ready_model()
    with balanced_channel(*(server.port for server in pair)) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        for seed in range(CALLS):
            sample(stub, model, seed)
    served = [server.metric("vaeserve_requests_total", method="Sample") for server in pair]
    assert sum(served) == CALLS
    assert min(served) >= CALLS // 4, served


class Caller(threading.Thread):
    """Calls Sample in a loop until told to stop, keeping every failure it meets."""

    def __init__(self, stub: pb_grpc.VaeServiceStub, model: str, first_seed: int) -> None:
        super().__init__(daemon=True)
        self.stub, self.model, self.seed = stub, model, first_seed
        self.done = threading.Event()
        self.succeeded = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.done.is_set() and len(self.failures) < 5:
            try:
                sample(self.stub, self.model, self.seed)
                self.succeeded += 1
            except grpc.RpcError as error:
                self.failures.append(f"{error.code()}: {error.details()}")
            self.seed += 1


def wait_for_calls(callers: list[Caller], count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    target = sum(caller.succeeded for caller in callers) + count
    while sum(caller.succeeded for caller in callers) < target:
        assert time.monotonic() < deadline, "the calls stalled"
        assert not any(caller.failures for caller in callers), [c.failures for c in callers]
        time.sleep(0.02)


def test_no_call_fails_while_one_server_drains_on_sigterm(pair) -> None:
    leaving, staying = pair
    model = leaving.ready_model()
    with balanced_channel(leaving.port, staying.port) as channel:
        stub = pb_grpc.VaeServiceStub(channel)
        callers = [Caller(stub, model, 1000 * i) for i in range(CLIENT_THREADS)]
        for caller in callers:
            caller.start()
        try:
            wait_for_calls(callers, CALLS // 2)
            exit_code = leaving.terminate()
            served_by_staying = staying.metric("vaeserve_requests_total", method="Sample")
            wait_for_calls(callers, CALLS // 2)
        finally:
            for caller in callers:
                caller.done.set()
            for caller in callers:
                caller.join(timeout=60)
    assert [caller.failures for caller in callers] == [[]] * CLIENT_THREADS
    assert exit_code == 0, leaving.output()
    after = staying.metric("vaeserve_requests_total", method="Sample")
    assert after >= served_by_staying + CALLS // 2
