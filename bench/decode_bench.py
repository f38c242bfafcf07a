"""Cost of decoding market-data frames into typed models vs a plain single-pass JSON decode.

Issue 3's target: ``decode_frame`` of a typical 10-level DOM ``a[...]`` frame (and of a frame
batching several messages) costs at most 1.2x ``msgspec.json.decode`` of the same bytes,
untyped, measured in the same run. Every variant is timed in each round, in turn, so drift
in machine load hits them alike; the table shows per-decode medians with the min-max range.

Run: ``.venv/bin/python bench/decode_bench.py [--rounds 7] [--iterations 20000]``.
Writes ``bench/results/decode.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from tradovate_api.protocol import MarketDataEvent, Messages, decode_frame, encode_messages

TARGET_RATIO = 1.2
RESULTS = Path(__file__).parent / "results" / "decode.json"
TICK = 0.25


def num(x: float) -> float | int:
    """Tradovate normalises numbers: 2633.00 goes out as 2633 (reference §5.3)."""
    return int(x) if x.is_integer() else x


def dom(contract_id: int, best_bid: float, stamp: str) -> dict[str, Any]:
    """A 10-level book around ``best_bid`` with varied sizes, as Tradovate sends it."""
    bids = [{"price": num(best_bid - i * TICK), "size": (7 + 131 * i) % 470 + 1} for i in range(10)]
    offers = [{"price": num(best_bid + (i + 1) * TICK), "size": (5 + 173 * i) % 530 + 1}
              for i in range(10)]
    return {"contractId": contract_id, "timestamp": stamp, "bids": bids, "offers": offers}


def quote(contract_id: int, bid: float, stamp: str) -> dict[str, Any]:
    entries = {
        "Bid": {"price": num(bid), "size": 7}, "TotalTradeVolume": {"size": 411832},
        "Offer": {"price": num(bid + TICK), "size": 12}, "LowPrice": {"price": num(bid - 18.25)},
        "Trade": {"price": num(bid), "size": 2}, "OpenInterest": {"size": 2140702},
        "OpeningPrice": {"price": num(bid - 3)}, "HighPrice": {"price": num(bid + 31.5)},
        "SettlementPrice": {"price": num(bid - 4.75)}}
    return {"timestamp": stamp, "contractId": contract_id, "entries": entries}


def md_event(**data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"e": "md", "d": data}


def dom_frame() -> bytes:
    return encode_messages([md_event(doms=[dom(2710963, 5312.25, "2024-06-11T14:30:01.237Z")])])


def batched_frame() -> bytes:
    """Quotes and DOMs of several contracts, one message each, in one ``a`` frame."""
    messages = []
    for n, (cid, px) in enumerate([(2710963, 5312.25), (2710970, 18625.5), (2711001, 39120.0)]):
        stamp = f"2024-06-11T14:30:01.{237 + n:03d}Z"
        messages.append(md_event(quotes=[quote(cid, px, stamp)]))
        messages.append(md_event(doms=[dom(cid, px, stamp)]))
    return encode_messages(messages)


def time_per_call(fn: Callable[[Any], object], arg: Any, iterations: int) -> float:
    """Mean nanoseconds per call over ``iterations`` calls."""
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(iterations):
        fn(arg)
    return (clock() - start) / iterations


def measure(frame: bytes, rounds: int, iterations: int) -> dict[str, Any]:
    payload = frame[1:]
    decoded = decode_frame(frame)
    if not isinstance(decoded, Messages) or len(decoded.items) != len(json.loads(payload)) \
            or not all(type(m) is MarketDataEvent for m in decoded.items):
        raise SystemExit(f"frame does not decode to typed messages: {decoded!r:.200}")
    variants: dict[str, tuple[Callable[[Any], object], Any]] = {
        "msgspec.json.decode(payload), untyped": (msgspec.json.decode, payload),
        "decode_frame(frame), typed": (decode_frame, frame),
        "decode_frame(memoryview(frame)), typed": (decode_frame, memoryview(frame)),
        "json.loads(payload), stdlib": (json.loads, payload),
    }
    for fn, arg in variants.values():  # warm-up
        time_per_call(fn, arg, max(1, iterations // 10))
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (fn, arg) in variants.items():
            samples[name].append(time_per_call(fn, arg, iterations))
    baseline, typed = list(variants)[:2]
    rows = {name: {"median_ns": statistics.median(s), "min_ns": min(s), "max_ns": max(s),
                   "samples_ns": s} for name, s in samples.items()}
    round_ratios = [t / b for t, b in zip(samples[typed], samples[baseline], strict=True)]
    return {
        "frame_bytes": len(frame),
        "messages": len(decoded.items),
        "rows": rows,
        "ratio_of_medians": rows[typed]["median_ns"] / rows[baseline]["median_ns"],
        "ratio_per_round_median": statistics.median(round_ratios),
        "ratio_per_round_min": min(round_ratios),
        "ratio_per_round_max": max(round_ratios),
    }


def table(name: str, result: dict[str, Any]) -> str:
    rows = result["rows"]
    base = rows["msgspec.json.decode(payload), untyped"]["median_ns"]
    lines = [f"### {name}: {result['frame_bytes']} B, {result['messages']} message(s)", "",
             "| decoder | median µs | min–max µs | vs msgspec untyped |",
             "|---|---:|---:|---:|"]
    for label, row in rows.items():
        lines.append(f"| {label} | {row['median_ns'] / 1000:.2f} | "
                     f"{row['min_ns'] / 1000:.2f}–{row['max_ns'] / 1000:.2f} | "
                     f"{row['median_ns'] / base:.2f}× |")
    verdict = "meets" if result["ratio_of_medians"] <= TARGET_RATIO else "MISSES"
    lines += ["", f"ratio typed/untyped (medians) = **{result['ratio_of_medians']:.2f}** "
                  f"(per round: median {result['ratio_per_round_median']:.2f}, "
                  f"{result['ratio_per_round_min']:.2f}–{result['ratio_per_round_max']:.2f}); "
                  f"{verdict} the ≤ {TARGET_RATIO} target", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=20000)
    args = parser.parse_args(argv)
    frames = {"10-level DOM frame": dom_frame(), "batched frame (3 quotes + 3 DOMs)":
              batched_frame()}
    results = {name: measure(frame, args.rounds, args.iterations)
               for name, frame in frames.items()}
    print(f"# decode benchmark: {args.rounds} rounds × {args.iterations} decodes per variant, "
          f"Python {platform.python_version()}, msgspec {msgspec.__version__}\n")
    for name, result in results.items():
        print(table(name, result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "python": platform.python_version(), "msgspec": msgspec.__version__,
        "machine": platform.machine(), "rounds": args.rounds, "iterations": args.iterations,
        "target_ratio": TARGET_RATIO, "frames": results}, indent=2))
    print(f"wrote {RESULTS}")
    ok = all(r["ratio_of_medians"] <= TARGET_RATIO for r in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
