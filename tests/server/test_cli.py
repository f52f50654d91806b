"""`vaeserve serve` flags and their VAESERVE_* twins build one Settings."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from vaeserve.cli import build_parser
from vaeserve.server.cli import build_settings, env_name
from vaeserve.server.errors import ConfigError
from vaeserve.server.settings import Settings, embedded_repository


def settings_from(argv: list[str], environ: dict[str, str]) -> Settings:
    args: argparse.Namespace = build_parser().parse_args(["serve", *argv])
    return build_settings(args, environ)


def test_defaults_serve_the_embedded_models_on_the_fixed_ports() -> None:
    settings = settings_from([], {})
    assert (settings.host, settings.port, settings.metrics_port) == ("0.0.0.0", 50051, 8000)
    assert settings.model_repository == embedded_repository()


def test_an_environment_variable_sets_its_flag() -> None:
    settings = settings_from([], {"VAESERVE_MAX_BATCH_SIZE": "64", "VAESERVE_BATCHING": "false"})
    assert (settings.max_batch_size, settings.batching) == (64, False)


def test_a_flag_wins_over_its_environment_variable() -> None:
    settings = settings_from(["--port", "7000"], {"VAESERVE_PORT": "9000"})
    assert settings.port == 7000


def test_the_repository_flag_takes_a_path() -> None:
    assert settings_from(["--model-repository", "/srv/m"], {}).model_repository == Path("/srv/m")


def test_env_names_are_the_flag_in_upper_snake_case() -> None:
    assert env_name("--max-queue-delay-ms") == "VAESERVE_MAX_QUEUE_DELAY_MS"


def test_a_malformed_environment_variable_names_itself() -> None:
    with pytest.raises(SystemExit, match="VAESERVE_PORT='eighty'"):
        settings_from([], {"VAESERVE_PORT": "eighty"})


def test_an_impossible_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="max_batch_size must be at least 1"):
        Settings(max_batch_size=0)


def test_a_queue_smaller_than_one_request_is_refused() -> None:
    """Such a request would get RESOURCE_EXHAUSTED, which clients retry, forever."""
    with pytest.raises(ValueError, match="max_queue_size must be at least max_items_per_request"):
        Settings(max_queue_size=8, max_items_per_request=9)


def test_the_log_level_variable_applies_without_a_flag() -> None:
    assert settings_from([], {"VAESERVE_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_the_serve_log_level_flag_wins_over_its_variable() -> None:
    settings = settings_from(["--log-level", "ERROR"], {"VAESERVE_LOG_LEVEL": "DEBUG"})
    assert settings.log_level == "ERROR"


def test_workers_auto_is_one_per_cpu_and_the_default_is_one_process() -> None:
    auto = settings_from(["--workers", "auto"], {})
    from_env = settings_from([], {"VAESERVE_WORKERS": "3"})
    assert (settings_from([], {}).workers, auto.workers, from_env.workers) == (1, 0, 3)


def test_zero_workers_is_refused_on_the_command_line() -> None:
    with pytest.raises(SystemExit):
        settings_from(["--workers", "0"], {})


def test_fair_share_is_on_by_default_and_its_variable_turns_it_off() -> None:
    assert settings_from([], {}).fair_share is True
    assert settings_from([], {"VAESERVE_FAIR_SHARE": "false"}).fair_share is False
    assert settings_from(["--no-fair-share"], {}).fair_share is False


def test_the_inference_niceness_must_be_a_nice_value() -> None:
    assert settings_from(["--inference-niceness", "19"], {}).inference_niceness == 19
    with pytest.raises(ConfigError, match="inference_niceness"):
        settings_from(["--inference-niceness", "0"], {})


def test_model_control_defaults_to_none_and_its_variables_set_it() -> None:
    assert settings_from([], {}).model_control == "none"
    settings = settings_from(
        [], {"VAESERVE_MODEL_CONTROL": "poll", "VAESERVE_REPOSITORY_POLL_S": "0.5"}
    )
    assert (settings.model_control, settings.repository_poll_s) == ("poll", 0.5)


@pytest.mark.parametrize(
    ("field", "value"), [("model_control", "auto"), ("repository_poll_s", 0.0)]
)
def test_a_model_control_setting_out_of_range_is_refused(field: str, value: object) -> None:
    from vaeserve.server.errors import ConfigError

    with pytest.raises(ConfigError, match=field):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_http_listens_on_8080_by_default_on_the_grpc_host() -> None:
    settings = settings_from(["--host", "127.0.0.1"], {})
    assert (settings.http_port, settings.http_host) == (8080, None)


def test_the_http_port_and_host_have_their_variables() -> None:
    settings = settings_from([], {"VAESERVE_HTTP_PORT": "-1", "VAESERVE_HTTP_HOST": "::1"})
    assert (settings.http_port, settings.http_host) == (-1, "::1")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"http_port": -2}, "http_port must be -1 (off)"),
        ({"http_port": 50051}, "http_port must differ from port"),
        ({"http_port": 8000}, "http_port must differ from port, health_port and metrics_port"),
    ],
)
def test_an_impossible_http_port_is_refused(values, words) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        Settings(**values)
