"""The load generator's requests and its check of the answers it gets."""

from pathlib import Path

import pytest

import vaeserve.bench
from vaeserve.bench.config import ModelShape, Scenario
from vaeserve.bench.loadgen import (
    MAX_WINDOW_S,
    LoadGenError,
    LoadJob,
    answered_items,
    build_request,
    measure_window_s,
)
from vaeserve.client.tensors import from_tensor
from vaeserve.v1 import vae_service_pb2 as pb

SHAPE = ModelShape("tiny", latent_dim=3, channels=1, height=4, width=5)


def test_decode_request_carries_one_latent_vector_per_item():
    request = pb.DecodeRequest.FromString(build_request(Scenario("tiny", "Decode", 7, 1), SHAPE))
    assert list(request.latents.shape) == [7, 3]
    assert len(request.latents.data) == 7 * 3 * 4


def test_encode_request_carries_images_in_the_unit_interval():
    request = pb.EncodeRequest.FromString(build_request(Scenario("tiny", "Encode", 2, 1), SHAPE))
    images = from_tensor(request.images.tensor)
    assert images.shape == (2, 1, 4, 5)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_sample_request_asks_for_the_item_count():
    request = pb.SampleRequest.FromString(build_request(Scenario("tiny", "Sample", 9, 1), SHAPE))
    assert request.count == 9


def test_answered_items_counts_the_images_of_a_decode_answer():
    images = pb.Tensor(shape=[3, 1, 4, 5], data=bytes(3 * 20 * 4))
    answer = pb.DecodeResponse(images=pb.Images(tensor=images)).SerializeToString()
    assert answered_items("Decode", answer) == 3


def test_answered_items_rejects_a_tensor_shorter_than_its_shape():
    mean = pb.Tensor(shape=[2, 3], data=bytes(4 * 5))
    answer = pb.EncodeResponse(mean=mean, log_var=mean).SerializeToString()
    with pytest.raises(LoadGenError, match="malformed"):
        answered_items("Encode", answer)


def test_job_survives_the_trip_to_the_load_generator_process():
    job = LoadJob("127.0.0.1:1", Scenario("tiny", "Sample", 8, 4), SHAPE, 0.5, 0.1, channels=2)
    assert LoadJob.from_json(job.to_json()) == job


def test_a_scenario_of_slow_calls_is_measured_over_several_of_them():
    warmup = [(0.0, 2.0, "OK")] * 5
    assert measure_window_s(1.0, warmup) == 6.0


def test_a_scenario_of_fast_calls_is_measured_for_the_asked_duration():
    warmup = [(0.0, 0.001, "OK")] * 5
    assert measure_window_s(1.5, warmup) == 1.5


def test_the_measured_window_is_capped():
    assert measure_window_s(1.0, [(0.0, 600.0, "OK")]) == MAX_WINDOW_S


def test_the_benchmark_has_no_tensor_layout_of_its_own():
    """The wire's float32 layout is written once, in the client SDK the benchmark reuses."""
    sources = Path(vaeserve.bench.__file__).parent.glob("*.py")
    layout = ("frombuffer", "tobytes", "<f4")
    found = {s.name: [w for w in layout if w in s.read_text()] for s in sources}
    assert {name: words for name, words in found.items() if words} == {}
