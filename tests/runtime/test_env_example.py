"""``.env.example`` is where a newcomer starts the secrets file: it names every variable the
framework reads (no more, no fewer), sets none of them, and parses as a ``.env`` file."""

from __future__ import annotations

from pathlib import Path

from tradovate_api.secrets import ALL_VARIABLES, load_secrets, parse_env_file

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_the_example_names_every_variable_and_sets_none() -> None:
    values = parse_env_file(EXAMPLE)
    assert sorted(values) == sorted(ALL_VARIABLES)
    assert set(values.values()) == {""}


def test_the_example_copied_as_is_reads_as_no_secrets() -> None:
    secrets = load_secrets(EXAMPLE, environ={})
    assert secrets.tradovate.name is None
    assert secrets.tradovate.sec is None
    assert secrets.twilio.to_numbers == ()
