"""Log writer: JSON lines, rotation, never blocking, surviving write failures, redaction."""

from __future__ import annotations

import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tradovate_api.logwriter import LogWriter, setup_logging
from tradovate_api.secrets import Secret


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A private logger (not the root) so pytest's own handlers stay out of the way."""
    log = logging.getLogger(f"test.logwriter.{request.node.name}")
    log.propagate = False
    yield log
    log.handlers.clear()


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_become_json_lines_with_extras_and_tracebacks(
        tmp_path: Path, logger: logging.Logger) -> None:
    path = tmp_path / "logs" / "run.jsonl"
    writer = setup_logging(path, "DEBUG", logger=logger)
    logger.info("order %s placed", 42, extra={"order_id": 42, "symbol": "MESZ6"})
    logger.debug("details")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("handler failed")
    assert writer.close(timeout=5)
    lines = read_lines(path)
    assert [line["msg"] for line in lines] == ["order 42 placed", "details", "handler failed"]
    assert lines[0]["level"] == "INFO"
    assert lines[0]["logger"] == logger.name
    assert lines[0]["order_id"] == 42
    assert lines[0]["symbol"] == "MESZ6"
    assert str(lines[0]["ts"]).endswith("+00:00")
    assert "ValueError: boom" in str(lines[2]["exc"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert writer.written == 3
    assert writer.dropped == 0
    assert writer.write_errors == 0


def test_level_is_applied(tmp_path: Path, logger: logging.Logger) -> None:
    path = tmp_path / "run.jsonl"
    writer = setup_logging(path, "WARNING", logger=logger)
    logger.info("not written")
    logger.warning("written")
    assert writer.close(timeout=5)
    assert [line["msg"] for line in read_lines(path)] == ["written"]


def test_rotation_by_size_keeps_backup_count_files(tmp_path: Path,
                                                   logger: logging.Logger) -> None:
    path = tmp_path / "run.jsonl"
    writer = setup_logging(path, "INFO", max_bytes=2_000, backup_count=2, logger=logger)
    for index in range(300):
        logger.info("record %04d %s", index, "x" * 40)
        if index % 50 == 49:
            assert writer.flush(timeout=5)  # several batches, so several rotations
    assert writer.close(timeout=5)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["run.jsonl", "run.jsonl.1", "run.jsonl.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2_000
    newest = read_lines(path)
    assert newest[-1]["msg"] == "record 0299 " + "x" * 40
    older = read_lines(tmp_path / "run.jsonl.1")
    assert older[-1]["msg"] < newest[0]["msg"]  # type: ignore[operator]


def test_full_disk_is_counted_never_raised(logger: logging.Logger) -> None:
    writer = setup_logging("/dev/full", "INFO", logger=logger)
    for index in range(50):
        logger.info("cannot be stored %d", index)
    assert writer.flush(timeout=5)
    assert writer.write_errors >= 1
    assert writer.written == 0
    logger.error("still accepted after errors")
    assert writer.close(timeout=5)
    assert os.path.exists("/dev/full")  # never rotated away


def test_unwritable_path_recovers_once_writable(tmp_path: Path,
                                               logger: logging.Logger) -> None:
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the log directory should be")
    path = blocker / "run.jsonl"
    writer = setup_logging(path, "INFO", logger=logger)
    logger.info("lost: the directory cannot be created")
    assert writer.flush(timeout=5)
    assert writer.write_errors == 1
    blocker.unlink()
    logger.info("kept: the directory can now be created")
    assert writer.close(timeout=5)
    assert [line["msg"] for line in read_lines(path)] == ["kept: the directory can now be created"]


def test_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path,
                                                          logger: logging.Logger) -> None:
    # A FIFO nobody reads: the writer thread blocks opening it, so the queue fills up.
    fifo = tmp_path / "stalled.fifo"
    os.mkfifo(fifo)
    writer = setup_logging(fifo, "INFO", queue_size=10, logger=logger)
    started = time.perf_counter()
    for index in range(2_000):
        logger.info("tick %d", index)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"2000 log calls took {elapsed:.3f}s: the hot path blocked"
    assert writer.dropped >= 2_000 - 300  # at most one batch plus a full queue got through
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # unblocks the writer
    try:
        assert writer.close(timeout=5)
        os.set_blocking(reader, True)
        data = b""
        while chunk := os.read(reader, 65536):
            data += chunk
    finally:
        os.close(reader)
    lines = [json.loads(line) for line in data.decode().splitlines()]
    ticks = [line for line in lines if str(line["msg"]).startswith("tick ")]
    assert len(ticks) + writer.dropped == 2_000  # every record written or counted
    notices = [line for line in lines if "dropped_total" in line]
    assert notices[-1] == lines[-1]
    assert notices[-1]["level"] == "WARNING"
    assert notices[-1]["dropped_total"] == writer.dropped
    reported = [int(str(n["msg"]).split(": ")[1].split()[0]) for n in notices]
    assert sum(reported) == writer.dropped


def test_close_is_bounded_in_time_when_the_writer_is_stuck(tmp_path: Path,
                                                           logger: logging.Logger) -> None:
    fifo = tmp_path / "stuck.fifo"
    os.mkfifo(fifo)
    writer = setup_logging(fifo, "INFO", logger=logger)
    logger.info("the writer blocks opening a FIFO with no reader")
    started = time.monotonic()
    assert writer.close(timeout=0.3) is False
    assert time.monotonic() - started < 1.0
    logger.info("after close the handler is detached")
    assert writer.handler not in logger.handlers
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # let the thread finish
    try:
        assert writer.close(timeout=5)
    finally:
        os.close(reader)


def test_registered_secrets_never_reach_the_file(tmp_path: Path,
                                                 logger: logging.Logger) -> None:
    fake = Secret("fake-token-Zq81xw")
    path = tmp_path / "run.jsonl"
    writer = LogWriter(path)
    writer.attach(logger)
    logger.setLevel(logging.INFO)
    logger.info("renewed token %s", fake.reveal())
    logger.info("raw token in extra", extra={"token": fake.reveal(), "nested": {
        "t": fake.reveal()}})
    try:
        raise RuntimeError(f"server said {fake.reveal()} is expired")
    except RuntimeError:
        logger.exception("failure")
    logger.info('quoted "%s"', fake.reveal() + '"tail')
    assert writer.close(timeout=5)
    text = path.read_text()
    assert "fake-token-Zq81xw" not in text
    lines = read_lines(path)
    assert lines[0]["msg"] == "renewed token ***"
    assert lines[1]["token"] == "***"
    assert lines[1]["nested"] == {"t": "***"}
    assert "server said *** is expired" in str(lines[2]["exc"])
    assert lines[3]["msg"] == 'quoted "***"tail"'
