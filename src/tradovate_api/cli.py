"""The ``tradovate-api`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dashboard import DashboardAddress, DashboardServer
    from .settings import Settings

EXIT_USAGE = 2
EXIT_FORCED = 130
DEFAULT_SETTINGS = "settings.toml"
NOTIFY_CLOSE_SECONDS = 10.0
"""How long pending alerts (the last urgent ones of a failing run) may take to go out."""


def _run_settings(path: str | None) -> Settings:
    """The settings a run uses: ``path``, else ``./settings.toml`` if present, else the
    defaults (the embedded simulator)."""
    from .settings import Settings, load_settings

    if path is not None:
        return load_settings(path)
    if Path(DEFAULT_SETTINGS).is_file():
        return load_settings(DEFAULT_SETTINGS)
    return Settings()


def _run(args: argparse.Namespace) -> int:
    """Trade the configured strategy (by default the reference strategy on the embedded
    simulator) until Ctrl+C or ``--duration``; print a live status and a final summary."""
    import msgspec

    from .alerts import AlertSink
    from .client import new_event_loop
    from .dashboard import Access, DashboardServer, RecentAlerts, make_access, remove_address
    from .errors import ConfigError, StartupError
    from .journal import JournalError
    from .notify import from_settings as notification_center
    from .runtime.app import TradingApp
    from .runtime.embedded_simulator import simulated_time_note
    from .runtime.persistence import Persistence
    from .runtime.preflight import preflight
    from .secrets import load_secrets

    try:
        settings = _run_settings(args.settings)
        if args.env is not None:
            settings = msgspec.structs.replace(settings, environment=args.env)
        if settings.environment == "live" and not args.i_understand_live_trading:
            print("refusing to trade live: environment 'live' sends real orders with real "
                  "money; add --i-understand-live-trading if that is what you want",
                  file=sys.stderr)
            return EXIT_USAGE
        secrets = load_secrets(args.env_file, login_prefixes=[
            login.variables_prefix for login in settings.logins])
        checked = preflight(settings, secrets)
        access: Access | None = None
        if args.dashboard:
            access = make_access(settings.dashboard, secrets.dashboard.token)
        center = notification_center(settings, secrets)
    except (ConfigError, StartupError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    # One strategy on one account runs the instance preflight checked; several are loaded
    # by the app, one instance per account each trades.
    strategy = None if settings.strategies else checked.strategy
    label = ", ".join(c.settings.name for c in checked.strategies) if settings.strategies \
        else checked.strategy.name
    if args.duration is not None and args.duration <= 0:
        print("--duration: expected a positive number of seconds", file=sys.stderr)
        return EXIT_USAGE

    try:
        persistence = Persistence(settings, label=label)
    except JournalError as exc:
        print(f"journal error: {exc}", file=sys.stderr)
        return 1
    damaged = persistence.journal.damaged if persistence.journal is not None else None
    if damaged is not None:
        print(f"journal: {settings.journal.path} was damaged ({damaged.problem}); moved to "
              f"{damaged.moved_to}, a new journal was started", file=sys.stderr)

    async def main() -> tuple[int, TradingApp]:
        center.start()
        code = EXIT_FORCED
        served: tuple[DashboardServer, DashboardAddress] | None = None
        address_file = settings.dashboard.address_file
        try:
            alerts: AlertSink = persistence.alerts(center)
            recent = RecentAlerts(alerts) if access is not None else None
            app = TradingApp(settings, secrets.tradovate, strategy, duration=args.duration,
                             status=sys.stdout, alerts=recent or alerts, submit=center.submit,
                             logins={login.name: secrets.logins[login.variables_prefix]
                                     for login in settings.logins})
            persistence.attach(app)
            if app.simulator is not None and (note := simulated_time_note(
                    app.simulator.clock())):
                print(note, flush=True)
            if access is not None and recent is not None:
                dashboard = DashboardServer(settings.dashboard, access, app, recent)
                served = dashboard, await _start_dashboard(dashboard, address_file)
            code = await app.run()
            return code, app
        finally:
            if served is not None:
                await served[0].stop()
                remove_address(address_file, served[1])
            # Let the last alerts (and the final report) go out, unless told to hurry.
            await center.close(0.5 if code == EXIT_FORCED else NOTIFY_CLOSE_SECONDS)

    where = ("the embedded simulator" if settings.endpoints() is None
             else f"Tradovate {settings.environment}")
    print(f"tradovate-api: {label} on {where}; log: {settings.log.path}"
          + (f"; stopping after {args.duration:g}s" if args.duration else "; Ctrl+C stops"),
          flush=True)
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            code, app = runner.run(main())
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_FORCED
    if app.start_error:
        print(f"tradovate-api: could not start: {app.start_error}", file=sys.stderr)
    if app.summary_text:
        print(app.summary_text, flush=True)
    return code


async def _start_dashboard(dashboard: DashboardServer, address_file: str) -> DashboardAddress:
    """Serve the dashboard, write its address file (0600) and print the one line with the
    token: on the terminal only, never in the log (the token is a registered secret there)."""
    from .dashboard import DashboardAddress, write_address

    url = await dashboard.start()
    address = DashboardAddress(url, dashboard.access.token.reveal(), os.getpid())
    write_address(address_file, address)
    print(f"dashboard: {address.open_url} (tradovate-api dashboard opens it again)",
          flush=True)
    return address


def _dashboard(args: argparse.Namespace) -> int:
    """Open the dashboard of the app running with these settings (its address file)."""
    import webbrowser

    from .dashboard import read_address
    from .errors import ConfigError

    try:
        settings = _run_settings(args.settings)
        address = read_address(settings.dashboard.address_file)
    except ConfigError as exc:
        print(f"dashboard: {exc}", file=sys.stderr)
        return 1
    print(address.open_url, flush=True)
    if not args.print_only:
        webbrowser.open(address.open_url)
    return 0


def _config_check(args: argparse.Namespace) -> int:
    """Validate the settings file (the ``[strategy]`` table against the parameters the
    strategy declares) and the secrets as ``run`` does before it connects; print the
    effective configuration with every secret masked."""
    import msgspec

    from .errors import ConfigError
    from .runtime.preflight import preflight
    from .secrets import load_secrets
    from .settings import load_settings

    try:
        settings = load_settings(args.settings)
        if args.env is not None:
            settings = msgspec.structs.replace(settings, environment=args.env)
        secrets = load_secrets(args.env_file, login_prefixes=[
            login.variables_prefix for login in settings.logins])
        try:
            checked = preflight(settings, secrets)
        except ConfigError as exc:
            raise ConfigError(f"{args.settings}: {exc}") from None
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    for warning in checked.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"# settings: {args.settings} (valid)")
    print(msgspec.json.format(msgspec.json.encode(settings), indent=2).decode())
    for entry in checked.strategies:
        strategy = entry.strategy
        if strategy.Params is not None:
            which = f"{entry.settings.name}: " if settings.strategies else ""
            print(f"# strategy parameters ({which}{strategy.name}.Params, defaults filled in):")
            print(msgspec.json.format(msgspec.json.encode(entry.params), indent=2).decode())
    endpoints = settings.endpoints()
    print("# endpoints: " + ("embedded simulator" if endpoints is None else
                             f"rest={endpoints.rest} trading_ws={endpoints.trading_ws} "
                             f"md_ws={endpoints.md_ws}"))
    print("# secrets (environment / .env):")
    for name, value in secrets.masked().items():
        print(f"{name}={value}")
    return 0


_PERIODIC_FAULTS = {"drop": "drop", "close": "close", "shutdown": "shutdown",
                    "expire_tokens": "expire_tokens", "restart": "restart"}
"""``--<flag>-every`` options → the action fault they repeat."""
_ARMING_KEYS = ("probability", "count", "endpoints")


def _fault_options(args: argparse.Namespace) -> list[tuple[str, dict[str, str]]]:
    """Every fault the command line arms: ``--fault NAME[:key=value,...]`` and the older
    flags, checked. ``ValueError`` names what is wrong."""
    from .simulator.fault_catalog import FAULTS, fault_params, parse_fault_option

    chosen: list[tuple[str, dict[str, str]]] = []
    if args.rate_limit:
        chosen.append(("rate_limit", {}))
    if args.delay > 0:
        chosen.append(("response_delay", {"seconds": str(args.delay)}))
    if args.silent:
        chosen.append(("silent", {}))
    if args.penalty is not None:
        chosen.append(("penalty", {"seconds": str(args.penalty),
                                   "captcha": str(args.captcha), "count": "0"}))
    if args.reject_orders:
        chosen.append(("reject_orders", {"count": str(args.reject_orders)}))
    for flag, name in _PERIODIC_FAULTS.items():
        every = getattr(args, f"{flag}_every")
        if every:
            chosen.append((name, {"every": str(every)}))
    for option in args.fault:
        name, settings = parse_fault_option(option)
        spec = FAULTS[name]
        params = fault_params(spec, {k: v for k, v in settings.items()
                                     if k not in _ARMING_KEYS})
        if spec.kind == "action" and not params.get("every"):
            raise ValueError(f"{name}: an action needs every=SECONDS on the command line")
        _arming(name, settings)
        chosen.append((name, settings))
    return chosen


def _arming(name: str, settings: dict[str, str]) -> tuple[float, int | None, list[str] | None]:
    """``probability``, ``count`` (0 or absent: unlimited) and ``endpoints`` of an option."""
    try:
        probability = float(settings.get("probability", 1.0))
    except ValueError:
        raise ValueError(f"{name}: probability: expected a number from 0 to 1") from None
    raw = settings.get("count") or "0"
    if not raw.isdigit():
        raise ValueError(f"{name}: count: expected a whole number (0: unlimited)")
    endpoints = settings.get("endpoints")
    return probability, int(raw) or None, endpoints.split("+") if endpoints else None


def _arm(faults: Any, name: str, settings: dict[str, str]) -> None:
    """Arm one fault from command-line text."""
    probability, count, endpoints = _arming(name, settings)
    params = {k: v for k, v in settings.items() if k not in _ARMING_KEYS}
    faults.arm(name, probability=probability, count=count, endpoints=endpoints, **params)


def _sim_clock(args: argparse.Namespace) -> Any:
    """The simulated clock: real time, the next open (``--open``) or ``--start-at``."""
    import time

    from .simulator.calendar import clock_from, open_clock, parse_moment

    if args.start_at is not None:
        return clock_from(parse_moment(args.start_at))
    if args.open:
        return open_clock()
    return time.time


async def _serve(args: argparse.Namespace, config: Any,
                 chosen: list[tuple[str, dict[str, str]]], clock: Any) -> None:
    import datetime as dt
    import time

    from .replay.simulator_recording import open_for_simulator
    from .simulator import Simulator
    from .simulator.calendar import CHICAGO

    recorded = (open_for_simulator([config.replay_file]) if config.replay_file is not None
                else None)
    async with Simulator(config, host=args.host, port=args.port, md_port=args.md_port,
                         seed=args.seed, clock=clock, recorded=recorded) as sim:
        faults = sim.faults
        for name, settings in chosen:
            _arm(faults, name, settings)
            shown = ",".join(f"{k}={v}" for k, v in settings.items())
            print(f"fault    {name}{':' + shown if shown else ''}", flush=True)
        print(f"REST     {sim.rest_url}", flush=True)
        print(f"trading  {sim.ws_url}", flush=True)
        print(f"md       {sim.md_url}", flush=True)
        if args.client_settings is not None:
            from .runtime.embedded_simulator import client_settings_toml

            await asyncio.to_thread(Path(args.client_settings).write_text,
                                    client_settings_toml(sim), encoding="utf-8")
            print(f"client   tradovate-api run --settings {args.client_settings}", flush=True)
        now = clock()
        if abs(now - time.time()) > 1.0:
            print("simulated time "
                  f"{dt.datetime.fromtimestamp(now, CHICAGO).isoformat(timespec='seconds')} "
                  "(Chicago)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            fired = ", ".join(f"{name} {n}" for name, n in sorted(faults.fired.items()))
            if fired:
                print(f"faults fired: {fired}", flush=True)


_SIM_OPTIONS = {"token_lifetime": "--token-lifetime", "max_sessions": "--max-sessions",
                "max_connections": "--max-connections", "tick_interval": "--tick-interval",
                "steps_per_tick": "--steps-per-tick", "warm_up": "--warm-up",
                "failed_login_status": "--failed-login-status", "fault_seed": "--fault-seed",
                "awkward_wire": "--tidy", "replay_file": "--replay",
                "replay_speed": "--replay-speed"}
"""Simulator config keys the ``sim`` command's options override, by option."""


def _sim(args: argparse.Namespace) -> int:
    """Run the local Tradovate simulator until Ctrl+C / SIGTERM."""
    from .errors import ConfigError, TradovateError
    from .simulator import load_config
    from .simulator.config import with_overrides
    from .simulator.fault_catalog import describe_faults

    if args.list_faults:
        print(describe_faults())
        return 0
    from .runtime.embedded_simulator import embedded_simulator_config

    try:
        # Without a config file, the market `run` trades on its embedded simulator.
        config = load_config(args.config) if args.config else embedded_simulator_config()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    try:
        clock = _sim_clock(args)
    except ValueError as exc:
        print(f"--start-at: {exc}", file=sys.stderr)
        return 1
    try:
        chosen = _fault_options(args)
    except ValueError as exc:
        print(f"--fault: {exc}", file=sys.stderr)
        return EXIT_USAGE
    overrides = {key: getattr(args, key) for key in
                 ("token_lifetime", "max_sessions", "max_connections", "tick_interval",
                  "steps_per_tick", "warm_up", "failed_login_status", "fault_seed")
                 if getattr(args, key) is not None}
    if args.tidy:
        overrides["awkward_wire"] = False
    if args.replay is not None:
        if not args.replay_speed > 0:
            print("--replay-speed: expected a positive factor", file=sys.stderr)
            return 1
        overrides["replay_file"] = args.replay
        overrides["replay_speed"] = args.replay_speed
    try:
        config = with_overrides(config, overrides)
    except ConfigError as exc:
        key, _, problem = str(exc).partition(": ")
        print(f"{_SIM_OPTIONS.get(key, key)}: {problem}", file=sys.stderr)
        return 1
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        try:
            runner.run(_serve(args, config, chosen, clock))
        except TradovateError as exc:  # e.g. a --replay file that is not a recording
            print(f"simulator error: {exc}", file=sys.stderr)
            return 1
        except ValueError as exc:  # a --fault setting the fault refuses
            print(f"--fault: {exc}", file=sys.stderr)
            return EXIT_USAGE
    return 0


def _add_sim_parser(sub: Any) -> None:
    sim = sub.add_parser("sim", help="run the local Tradovate simulator (REST, trading and "
                                     "market-data websockets)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8765, help="REST + trading websocket (0: any)")
    sim.add_argument("--md-port", type=int, default=8766, help="market-data websocket (0: any)")
    sim.add_argument("--seed", type=int, default=None, help="market and wire randomness seed")
    sim.add_argument("--config", default=None, help="simulator TOML (users, accounts, ...)")
    sim.add_argument("--token-lifetime", type=float, default=None, help="seconds (default 5400)")
    sim.add_argument("--max-sessions", type=int, default=None)
    sim.add_argument("--max-connections", type=int, default=None, help="per user (0: no limit)")
    sim.add_argument("--tick-interval", type=float, default=None, help="seconds between steps")
    sim.add_argument("--steps-per-tick", type=int, default=None)
    sim.add_argument("--warm-up", type=float, default=None, help="seconds of chart history")
    sim.add_argument("--failed-login-status", type=int, choices=(200, 401), default=None)
    sim.add_argument("--replay", default=None, metavar="FILE",
                     help="serve this md recording (file or directory) instead of the "
                          "generated market")
    sim.add_argument("--replay-speed", type=float, default=1.0,
                     help="recording pace factor (default 1: as recorded)")
    sim.add_argument("--client-settings", default=None, metavar="FILE",
                     help="write the settings for 'tradovate-api run' against this simulator "
                          "(its addresses, front months and fees) to FILE")
    sim.add_argument("--verbose", action="store_true", help="log every connection event")
    sim.add_argument("--tidy", action="store_true",
                     help="one message per frame, no entity arrays, no reordering")
    hours = sim.add_argument_group("market hours (CME trading hours and Tradovate "
                                   "maintenance by the simulated clock)")
    when = hours.add_mutually_exclusive_group()
    when.add_argument("--open", action="store_true",
                      help="when the market is closed now, run the simulated clock from just "
                           "after the next open")
    when.add_argument("--start-at", default=None, metavar="ISO",
                      help="run the simulated clock from this moment (no offset: Chicago time)")
    faults = sim.add_argument_group("faults (see --list-faults)")
    faults.add_argument("--fault", action="append", default=[], metavar="NAME[:KEY=VALUE,...]",
                        help="arm a fault, e.g. lost_answer:probability=0.2,count=3 or "
                             "drop:every=20,kind=trading (repeatable; list values with +)")
    faults.add_argument("--list-faults", action="store_true",
                        help="list every fault, what it models and its parameters, and exit")
    faults.add_argument("--fault-seed", type=int, default=None,
                        help="second seed of the faults' random draws (default 0)")
    faults.add_argument("--rate-limit", action="store_true", help="answer every request 429")
    faults.add_argument("--delay", type=float, default=0.0, help="delay every response (s)")
    faults.add_argument("--silent", action="store_true", help="sockets send nothing")
    faults.add_argument("--penalty", type=float, default=None,
                        help="p-ticket with this p-time on every token request")
    faults.add_argument("--captcha", action="store_true", help="penalties carry p-captcha")
    faults.add_argument("--reject-orders", type=int, default=0, help="reject the next N orders")
    for name in _PERIODIC_FAULTS:
        flag = name.replace("_", "-")
        faults.add_argument(f"--{flag}-every", type=float, default=None, metavar="SECONDS",
                            help=f"fault: {name.replace('_', ' ')} every SECONDS")
    sim.set_defaults(func=_sim)


def _report(args: argparse.Namespace) -> int:
    """Render a saved report to an HTML file a person can open."""
    from .errors import TradovateError
    from .reports.command import render_report_file

    try:
        source, target = render_report_file(args.settings, args.input, args.output)
    except TradovateError as exc:
        print(f"report error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {source} -> {target}")
    return 0


def _add_report_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="render the latest saved report (or --input) to "
                                           "an HTML file")
    report.add_argument("--settings", default=None,
                        help="settings TOML file, for [reports] directory (default: "
                             "./settings.toml if present)")
    report.add_argument("--input", default=None, help="report JSON (default: the newest "
                                                      "saved report)")
    report.add_argument("--output", default=None,
                        help="HTML file to write (default: the input's name with .html)")
    report.set_defaults(func=_report)


def _replay(args: argparse.Namespace) -> int:
    """Backtest a strategy on md recordings with simulated execution; save the report."""
    from .errors import TradovateError
    from .replay.command import replay_command

    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        lines, out = replay_command(
            args.files, strategy=args.strategy, settings_path=args.settings, speed=args.speed,
            latency_ms=args.latency_ms, slippage_ticks=args.slippage_ticks,
            commission=args.commission, output=args.output, exports=args.export or ["csv"],
            charts=not args.no_charts)
    except (TradovateError, ValueError, OSError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    print(f"report      {out / 'report.html'}")
    return 0


def _add_replay_parser(sub: Any) -> None:
    replay = sub.add_parser("replay", help="backtest a strategy on md recordings (same "
                                           "strategy code as live, simulated execution)")
    replay.add_argument("files", nargs="+", metavar="FILE",
                        help="recording files or directories (replayed in order)")
    replay.add_argument("--strategy", default=None, metavar="MODULE:CLASS",
                        help="strategy class (default: the settings' trading.strategy)")
    replay.add_argument("--settings", default=None,
                        help="settings TOML for [strategy] parameters, [risk] and commissions "
                             "(default: ./settings.toml if present)")
    replay.add_argument("--speed", default="max",
                        help="max (as fast as possible), realtime, or a factor such as 10x")
    replay.add_argument("--latency-ms", type=float, default=0.0,
                        help="one-way order latency in recording time (default 0)")
    replay.add_argument("--slippage-ticks", type=int, default=0,
                        help="marketable orders fill this many ticks worse (default 0)")
    replay.add_argument("--commission", type=float, default=None, metavar="PER_SIDE",
                        help="fee per contract per side for every product (default: the "
                             "settings' trading.commission_per_side, else 0)")
    replay.add_argument("--output", default=None, metavar="DIR",
                        help="where the report and exports go (default: backtests/<file>)")
    replay.add_argument("--export", action="append", choices=("csv", "parquet"),
                        default=None, help="trades/fills/decisions export format (repeatable; "
                                           "default csv)")
    replay.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    replay.set_defaults(func=_replay)


def _data(args: argparse.Namespace) -> int:
    """``data import``: DBN files → recordings; ``data sample``: write a sample DBN file."""
    from .errors import TradovateError
    from .research.command import data_import_command, data_sample_command

    try:
        if args.data_command == "import":
            lines = data_import_command(args.files, out=args.out, symbol_map=args.symbol_map)
        else:
            lines = data_sample_command(args.path, schema=args.schema, events=args.events,
                                        seed=args.seed, symbol=args.symbol)
    except (TradovateError, ValueError, OSError) as exc:
        print(f"data {args.data_command}: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


def _add_data_parser(sub: Any) -> None:
    data = sub.add_parser("data", help="market data files: import Databento DBN files as "
                                       "recordings (needs the research extra)")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    imp = data_sub.add_parser("import", help="DBN trades / MBP-1 / MBP-10 files (.dbn or "
                                             ".dbn.zst) → md recordings that replay and "
                                             "sweep read")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--out", default=None, metavar="DIR",
                     help="output directory (default: recordings/dbn/<file>; with several "
                          "files, one subdirectory each)")
    imp.add_argument("--symbol-map", default=None, metavar="TOML",
                     help="DBN symbol → Tradovate contract names and extra products "
                          "(docs/research.md)")
    sample = data_sub.add_parser("sample", help="write a seeded synthetic DBN file (to try "
                                                "the research commands)")
    sample.add_argument("path", help="file to write (.dbn, or .dbn.zst for zstd)")
    sample.add_argument("--schema", choices=("trades", "mbp-1", "mbp-10"), default="mbp-10")
    sample.add_argument("--events", type=int, default=100_000, help="book events (default "
                                                                    "100000)")
    sample.add_argument("--seed", type=int, default=1)
    sample.add_argument("--symbol", default="ESZ6", help="raw symbol (default ESZ6)")
    data.set_defaults(func=_data)


def _sweep(args: argparse.Namespace) -> int:
    """Replay every parameter combination of a grid on Dask; write a table and a report."""
    from .errors import TradovateError
    from .research.command import sweep_command

    try:
        lines = sweep_command(strategy=args.strategy, data=args.data, grid=args.grid,
                              settings_path=args.settings, scheduler=args.scheduler,
                              workers=args.workers, serial=args.serial, out=args.out)
    except (TradovateError, ValueError, OSError) as exc:
        print(f"sweep: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


def _add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser("sweep", help="parameter sweep: every combination of a grid "
                                         "replayed on Dask (needs the research extra)")
    sweep.add_argument("--strategy", required=True, metavar="MODULE:CLASS")
    sweep.add_argument("--data", required=True, nargs="+", metavar="FILE",
                       help="recordings, directories of recordings, or DBN files "
                            "(.dbn/.dbn.zst: imported into <out>/data first)")
    sweep.add_argument("--grid", required=True, metavar="TOML",
                       help="parameters to sweep, search mode, walk-forward, costs "
                            "(docs/research.md)")
    sweep.add_argument("--settings", default=None,
                       help="settings TOML for [strategy] defaults, [risk] and commissions "
                            "(default: ./settings.toml if present)")
    sweep.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                       help="an existing Dask scheduler (default: a LocalCluster here)")
    sweep.add_argument("--workers", type=int, default=None,
                       help="LocalCluster worker processes (default: one per core)")
    sweep.add_argument("--serial", action="store_true",
                       help="run in this process, one run after the other (no Dask)")
    sweep.add_argument("--out", default=None, metavar="DIR",
                       help="table and report directory (default: reports/sweeps/<time>)")
    sweep.set_defaults(func=_sweep)


def _chaos(args: argparse.Namespace) -> int:
    """Chaos soak: the runtime trading against the simulator under random faults; prints the
    table and exits 1 if any invariant did not hold."""
    from .chaos import ChaosConfig, format_table, result_json, run_chaos
    from .client import new_event_loop

    if args.minutes <= 0:
        print("--minutes: expected a positive number", file=sys.stderr)
        return EXIT_USAGE
    config = ChaosConfig(seconds=args.minutes * 60.0, seed=args.seed,
                         work_dir=Path(args.dir) if args.dir else None)
    print(f"chaos soak: {args.minutes:g} min, seed {args.seed}"
          + (f", files in {args.dir}" if args.dir else ""), flush=True)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        result = runner.run(run_chaos(config, progress=lambda line: print(line, flush=True)))
    print(format_table(result), flush=True)
    if args.json:
        Path(args.json).write_bytes(result_json(result))
    return 0 if result.ok else 1


def _add_chaos_parser(sub: Any) -> None:
    chaos = sub.add_parser("chaos", help="chaos soak: trade against the simulator while "
                                         "faults are injected; check the invariants")
    chaos.add_argument("--minutes", type=float, default=1.0, help="length of the soak")
    chaos.add_argument("--seed", type=int, default=1, help="fault sequence and market seed")
    chaos.add_argument("--dir", default=None,
                       help="keep the run's log, reports and state here (default: temporary)")
    chaos.add_argument("--json", default=None, metavar="FILE", help="also write the result")
    chaos.set_defaults(func=_chaos)


def _journal(args: argparse.Namespace) -> int:
    """Show a journal's runs, open requests, last restart report; export a table; forget a
    kept trailing high-water."""
    from .errors import TradovateError
    from .journal.command import export, forget_high_water, show_lines
    from .replay.command import settings_for

    try:
        path = args.path or settings_for(args.settings).journal.path
        if args.journal_command == "show":
            for line in show_lines(path, last=args.last):
                print(line)
        elif args.journal_command == "forget-high-water":
            if (args.account is None) == (not args.all):
                raise ValueError("forget-high-water: give an account id or --all")
            for line in forget_high_water(path, None if args.all else args.account):
                print(line)
        else:
            target = export(path, args.table, args.output, args.format)
            print(f"journal {args.table} -> {target}")
    except (TradovateError, ValueError, OSError) as exc:
        print(f"journal: {exc}", file=sys.stderr)
        return 1
    return 0


def _add_journal_parser(sub: Any) -> None:
    journal = sub.add_parser("journal", help="read the trading journal")
    journal_sub = journal.add_subparsers(dest="journal_command", required=True)
    show = journal_sub.add_parser("show", help="runs, requests never acknowledged, positions, "
                                               "the last restart report, recent decisions")
    show.add_argument("--last", type=int, default=10, help="recent items listed (default 10)")
    out = journal_sub.add_parser("export", help="fills or requests (decisions) to CSV/Parquet")
    out.add_argument("table", choices=("fills", "requests"))
    out.add_argument("output", help="file to write (.csv or .parquet)")
    out.add_argument("--format", choices=("csv", "parquet"), default=None,
                     help="default: from the output's suffix")
    forget = journal_sub.add_parser(
        "forget-high-water", help="forget the trailing-drawdown high-water kept for an account "
                                  "(after the firm reset it; stop the app first)")
    forget.add_argument("account", nargs="?", type=int, default=None, help="the account id")
    forget.add_argument("--all", action="store_true", help="every account's")
    for parser in (show, out, forget):
        parser.add_argument("--settings", default=None,
                            help="settings TOML for [journal] path (default: ./settings.toml "
                                 "if present)")
        parser.add_argument("--path", default=None, help="the journal file (overrides)")
    journal.set_defaults(func=_journal)


def _bench(args: argparse.Namespace) -> int:
    """Run the benchmark suite (``python -m bench``, options passed through). It lives in
    the source checkout's ``bench/``, next to ``src/``, not in the installed package."""
    import subprocess

    here = Path(__file__).resolve().parents[2]  # the checkout of an editable install
    for root in (Path.cwd(), here):
        if (root / "bench" / "__main__.py").is_file():
            return subprocess.call([sys.executable, "-m", "bench", *args.bench_args], cwd=root)
    print("tradovate-api bench: the benchmark suite ships with the source checkout "
          "(bench/ next to src/); run it from there", file=sys.stderr)
    return EXIT_USAGE


DESCRIPTION = ("Automated futures trading on the Tradovate API. Try it first on the embedded "
               "simulator: tradovate-api run")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradovate-api", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the trading strategy (default: the reference "
                                     "strategy on the embedded simulator)")
    run.add_argument("--settings", default=None,
                     help=f"settings TOML file (default: ./{DEFAULT_SETTINGS} if present, "
                          f"else built-in defaults)")
    run.add_argument("--env-file", default=None,
                     help="secrets file (default: ./.env if present); the environment wins")
    run.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                     help="stop after this many seconds of trading and print the summary")
    run.add_argument("--env", choices=("sim", "demo", "live"), default=None,
                     help="override the settings' environment")
    run.add_argument("--i-understand-live-trading", action="store_true",
                     help="required with environment 'live' (real money)")
    run.add_argument("--dashboard", action="store_true",
                     help="serve the web dashboard (positions, P&L, alerts, kill switch) on "
                          "127.0.0.1; its URL with the access token is printed at start")
    run.set_defaults(func=_run)
    dashboard = sub.add_parser("dashboard", help="open the web dashboard of a running "
                                                 "'run --dashboard'")
    dashboard.add_argument("--settings", default=None,
                           help=f"the running app's settings TOML, for [dashboard] "
                                f"address_file (default: ./{DEFAULT_SETTINGS} if present)")
    dashboard.add_argument("--print-only", action="store_true",
                           help="print the URL (with its token) without opening a browser")
    dashboard.set_defaults(func=_dashboard)
    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate settings and secrets; print the "
                                                "effective configuration, secrets masked")
    check.add_argument("--settings", default="settings.toml", help="settings TOML file")
    check.add_argument("--env-file", default=None,
                       help="secrets file (default: ./.env if present); the environment wins")
    check.add_argument("--env", choices=("sim", "demo", "live"), default=None,
                       help="override the settings' environment (as run --env does)")
    check.set_defaults(func=_config_check)
    _add_sim_parser(sub)
    _add_report_parser(sub)
    _add_chaos_parser(sub)
    _add_replay_parser(sub)
    _add_data_parser(sub)
    _add_sweep_parser(sub)
    _add_journal_parser(sub)
    bench = sub.add_parser("bench", add_help=False,
                           help="benchmarks: tick-to-order, throughput, memory, start-up "
                                "(python -m bench; `bench --help` lists its options)")
    bench.set_defaults(func=_bench, bench_args=[])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        args.bench_args = extra  # every option is the benchmark's own
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
