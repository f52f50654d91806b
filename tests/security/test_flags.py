"""The security flags of `vaeserve serve` and their VAESERVE_* twins."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaeserve.cli import build_parser
from vaeserve.server.cli import build_settings
from vaeserve.server.settings import Settings


def settings_from(argv: list[str], environ: dict[str, str]) -> Settings:
    args: argparse.Namespace = build_parser().parse_args(["serve", *argv])
    return build_settings(args, environ)


def test_security_is_off_by_default_and_reflection_on() -> None:
    settings = settings_from([], {})
    assert (settings.tls_cert_file, settings.auth_token, settings.auth_token_file) == (None,) * 3
    assert settings.reflection


def test_the_tls_flags_take_paths() -> None:
    argv = ["--tls-cert-file", "/tls/crt", "--tls-key-file", "/tls/key"]
    settings = settings_from([*argv, "--tls-client-ca-file", "/tls/ca"], {})
    assert (settings.tls_cert_file, settings.tls_key_file) == (Path("/tls/crt"), Path("/tls/key"))
    assert settings.tls_client_ca_file == Path("/tls/ca")


def test_the_tls_variables_set_their_flags() -> None:
    environ = {"VAESERVE_TLS_CERT_FILE": "/tls/crt", "VAESERVE_TLS_KEY_FILE": "/tls/key"}
    assert settings_from([], environ).tls_key_file == Path("/tls/key")


def test_no_reflection_turns_it_off() -> None:
    assert not settings_from(["--no-reflection"], {}).reflection


def test_the_reflection_variable_turns_it_off() -> None:
    assert not settings_from([], {"VAESERVE_REFLECTION": "false"}).reflection


def test_the_token_variable_holds_the_token_itself() -> None:
    assert settings_from([], {"VAESERVE_AUTH_TOKEN": "abc"}).auth_token == "abc"


def test_the_token_file_flag_takes_a_path() -> None:
    settings = settings_from(["--auth-token-file", "/run/secrets/token"], {})
    assert settings.auth_token_file == Path("/run/secrets/token")
