"""The ``tradovate-api`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _run(args: argparse.Namespace) -> int:
    print("tradovate-api run: the trading runtime is not yet available in this version "
          "(see the open runtime issue); the protocol core is installed.")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    """Validate the settings file and the secrets; print the effective configuration with
    every secret masked."""
    import msgspec

    from .errors import ConfigError
    from .secrets import load_secrets
    from .settings import load_settings

    try:
        settings = load_settings(args.settings)
        secrets = load_secrets(args.env_file)
        missing = secrets.missing_for(settings.environment,
                                      settings.notifications.channels_in_use())
        if missing and settings.environment != "sim":
            raise ConfigError(f"environment: not set but required for environment "
                              f"{settings.environment!r} and the alert channels in use: "
                              f"{', '.join(missing)}")
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    if missing:
        print(f"warning: not set, so those alert channels will not deliver on the simulator: "
              f"{', '.join(missing)}", file=sys.stderr)
    print(f"# settings: {args.settings} (valid)")
    print(msgspec.json.format(msgspec.json.encode(settings), indent=2).decode())
    endpoints = settings.endpoints()
    print("# endpoints: " + ("embedded simulator" if endpoints is None else
                             f"rest={endpoints.rest} trading_ws={endpoints.trading_ws} "
                             f"md_ws={endpoints.md_ws}"))
    print("# secrets (environment / .env):")
    for name, value in secrets.masked().items():
        print(f"{name}={value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradovate-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the trading strategy (default: on the embedded "
                                     "simulator)")
    run.set_defaults(func=_run)
    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate settings and secrets; print the "
                                                "effective configuration, secrets masked")
    check.add_argument("--settings", default="settings.toml", help="settings TOML file")
    check.add_argument("--env-file", default=None,
                       help="secrets file (default: ./.env if present); the environment wins")
    check.set_defaults(func=_config_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
