"""Each scenario at a tiny size, for each client, through ``python -m bench``: the run ends,
and the JSON and table hold the measured fields with sane values. No timing assertions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import available_clients
from bench.dashboard_page import chromium

ROOT = Path(__file__).resolve().parents[2]
PROBES, WARMUP, FRAMES = 60, 5, 600


def run_bench(out: Path, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--probes", str(PROBES), "--warmup",
         str(WARMUP), "--frames", str(FRAMES), "--soak-minutes", "0.05", "--out", str(out),
         *args], cwd=ROOT, capture_output=True, text=True, timeout=55, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads((out / "latest.json").read_text())
    assert (out / "latest.md").read_text().strip() == proc.stdout.strip()
    # smoke sizes are noise: targets are listed, never judged
    assert "MISSED" not in proc.stdout
    assert " met |" not in proc.stdout
    assert all(row["met"] is None for row in result["targets"])
    return result


@pytest.mark.parametrize("client", available_clients())
def test_every_scenario_measures_a_client(client: str, tmp_path: Path) -> None:
    result = run_bench(tmp_path, "--clients", client, "--soak-clients", client,
                       "--scenarios", "idle,loaded,flood,soak")
    runs = {run["scenario"]: run["metrics"] for run in result["runs"]}
    assert set(runs) == {"idle", "loaded", "flood"}
    for scenario in ("idle", "loaded"):
        m = runs[scenario]
        assert m["n"] == PROBES
        assert m["lost"] == 0
        assert 0 < m["p50_us"] <= m["p90_us"] <= m["p99_us"] <= m["max_us"]
        assert m["unmatched_orders"] == 0
        assert m["orders_received"] >= PROBES + WARMUP
    queued = result["params"]["queued"]
    loaded = runs["loaded"]
    assert loaded["frames_sent"] >= (PROBES + WARMUP) * (queued + 1)
    flood = runs["flood"]
    assert flood["frames_per_s"] > 0
    assert flood["events_per_s"] >= flood["frames_per_s"]
    assert flood["frames_sent"] > FRAMES
    assert flood["events_sent"] > flood["frames_sent"]
    for m in runs.values():  # nothing lost, nothing invented, on any path
        assert m["frames_counted"] == m["frames_sent"]
        assert m["events_applied"] == m["events_sent"]
        assert m["client_cpu_us_per_frame"] > 0
    (soak,) = result["soak"]
    assert soak["client"] == client
    rss = soak["metrics"]["rss_mb"]
    assert len(rss) >= 2
    assert all(mb > 0 for _, mb in rss)
    assert rss[-1][1] > 5  # a Python process with the stack loaded, not the bare exec
    assert soak["metrics"]["lost"] == 0
    assert soak["metrics"]["frames_counted"] == soak["metrics"]["frames_sent"]
    table = result["summary"]["table"]
    assert table["idle"][client]["p50_us"]["n"] == 1
    markdown = (tmp_path / "latest.md").read_text()
    assert "### Tick-to-order latency" in markdown
    assert f"| {client} |" in markdown


def test_clients_are_compared_in_the_same_round(tmp_path: Path) -> None:
    clients = available_clients()
    result = run_bench(tmp_path, "--clients", ",".join(clients), "--scenarios", "idle",
                       "--rounds", "2", "--probes", "30")
    order = [(run["round"], run["client"]) for run in result["runs"]]
    assert [c for r, c in order if r == 0] == clients
    assert [c for r, c in order if r == 1] == clients[1:] + clients[:1]  # rotated
    ratios = result["summary"]["ratios"]
    assert ratios["idle p50_us naive/bare"]["n"] == 2
    assert ratios["idle p50_us naive/bare"]["median"] > 0
    if "full" in clients:
        assert {row["target"] for row in result["targets"]} >= {
            "idle tick-to-order p50: full ≤ 1.25× bare"}


def test_start_up_to_first_strategy_event_against_the_simulator(tmp_path: Path) -> None:
    result = run_bench(tmp_path, "--clients", "bare", "--scenarios", "startup,busy")
    startup = result["startup"]
    (run,) = startup["runs"]
    assert run["first_event_hook"] in ("on_quote", "on_dom", "on_trade")
    assert 0 < run["interpreter_and_imports_s"] < run["first_event_s"]
    assert 0 < run["run_to_on_start_s"] < run["from_run_s"] <= run["first_event_s"]
    assert run["from_run_s"] == pytest.approx(
        run["run_to_on_start_s"] + run["on_start_to_first_event_s"])
    assert startup["first_event_s"]["n"] == 1
    (target,) = [t for t in result["targets"] if t["target"].startswith("start-up")]
    assert target["measured"] == run["first_event_s"]
    assert "process spawned → first strategy event" in (tmp_path / "latest.md").read_text()
    assert result["busy_poll"]["skipped"]


@pytest.mark.skipif("full" not in available_clients(), reason="needs the full client")
def test_busy_poll_mode_is_measured_next_to_the_full_client(tmp_path: Path) -> None:
    result = run_bench(tmp_path, "--clients", "full", "--scenarios", "idle,flood,busy",
                       "--rounds", "2", "--probes", "30")
    measured = [(run["round"], run["scenario"], run["client"]) for run in result["runs"]]
    assert [c for r, s, c in measured if (r, s) == (0, "idle")] == ["full", "full-busy"]
    assert [c for r, s, c in measured if (r, s) == (1, "idle")] == ["full-busy", "full"]
    assert [c for _, s, c in measured if s == "flood"] == ["full", "full"]
    for run in result["runs"]:
        if run["client"] == "full-busy":
            assert run["metrics"]["n"] == 30
            assert run["metrics"]["lost"] == 0
    busy = result["busy_poll"]
    assert busy["ratios"]["idle full-busy/full"]["p50"]["n"] == 2
    assert busy["ratios"]["idle full-busy/full"]["p50"]["median"] > 0
    markdown = (tmp_path / "latest.md").read_text()
    assert "| full-busy | idle (paced probes) |" in markdown
    assert "| idle | full-busy/full |" in markdown


@pytest.mark.skipif("full" not in available_clients(), reason="needs the full client")
def test_the_dashboards_cost_is_measured_with_a_page_open(tmp_path: Path) -> None:
    if chromium() is None:
        reason = "no chromium: full-dash opens the dashboard in it (apt-get install chromium)"
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail(reason + " (REQUIRE_CHROMIUM is set)")
        pytest.skip(reason)
    result = run_bench(tmp_path, "--clients", "full,full-dash", "--scenarios", "idle",
                       "--probes", "30")
    (dash,) = [run for run in result["runs"] if run["client"] == "full-dash"]
    assert dash["metrics"]["n"] == 30
    assert dash["metrics"]["lost"] == 0
    page = dash["client_result"]["dashboard"]
    assert page["pages"] == 1  # still open when the feeder was done
    assert page["page_updates"] >= 1  # the page rendered pushed snapshots
    assert page["loop_ms_per_s"] > 0  # the pusher's own time on the event loop, measured
    ratio = result["summary"]["ratios"]["idle p50_us full-dash/full"]
    assert ratio["n"] == 1
    assert ratio["median"] > 0
    assert result["dashboard"]["ratios"]["idle"]["client_cpu"]["n"] == 1
    costs = [row for row in result["targets"] if row["target"].startswith("dashboard open")]
    assert [row["met"] for row in costs] == [None, None, None]  # reported, not judged
    markdown = (tmp_path / "latest.md").read_text()
    assert "| idle p50_us full-dash/full |" in markdown
    assert "### Dashboard open" in markdown
    assert "dashboard open costs ≤ 5% (noise-bounded): idle p50 |" in markdown
