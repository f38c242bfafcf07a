"""A full disk: every lost journal record is counted exactly, new orders halt (cancels still go
out) with an urgent alert, and trading resumes by itself once the journal can write again.

The disk is made full for real, without privileges: the child process lowers its own
``RLIMIT_FSIZE`` to 1 byte (``SIGXFSZ`` ignored), so every write the journal makes — SQLite's
WAL and the write-ahead file — fails in the kernel as it would on a full disk (``EFBIG``
instead of ``ENOSPC``; SQLite reports it as a disk I/O error). See ``disk_child.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradovate_api.journal import JournalReader

CHILD = Path(__file__).with_name("disk_child.py")
TRADING = Path(__file__).parents[1] / "trading"


@pytest.mark.timeout(90)
def test_a_full_disk_counts_every_lost_record_halts_new_orders_and_resumes(
        tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(TRADING), str(CHILD.parent), *sys.path])}
    done = subprocess.run([sys.executable, str(CHILD), str(path)], capture_output=True,
                          text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    [line] = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    result = json.loads(line[len("RESULT "):])

    # While the disk was full: no new order went out, and the refusal said why.
    assert result["ahead"][0] == "refused"
    assert "cannot write the request ahead" in result["ahead"][1]
    assert result["halted"].startswith("write failed")
    assert result["refused"][0] == "refused"
    assert result["refused"][1].startswith("journal cannot write (write failed")
    # ... but cancels did, and the resting order is cancelled on the exchange.
    assert result["cancel"][0] == "acked"
    assert result["resting_status"] == "Canceled"
    # Writing again: the halt ended by itself and the next order went out.
    assert result["resumed"] is True
    assert result["after"][0] == "acked"
    severities = {key: severity for severity, key in result["alerts"]}
    assert severities["journal.write_failed"] == "urgent"
    assert severities["journal.write_resumed"] == "routine"

    # Every lost record is counted: what the child journaled during the outage, exactly.
    assert result["lost"] == result["lost_during"] == result["expected_lost"] > 400
    with JournalReader(path) as reader:
        gaps = reader.gaps()
        connections = [c.detail or c.event for c in reader.connections()]
        events = [c.event for c in reader.connections()]
        requests = {r.cl_ord_id: r for r in reader.requests()}
    assert sum(g.lost for g in gaps) == result["lost"]
    assert all(g.reason.startswith("write failed") for g in gaps)
    assert not any(e.startswith("while full") for e in events)
    assert "before the disk filled" in events
    assert "after the disk had room" in events, connections
    assert requests[result["after_cl_ord_id"]].state == "ACKED"
    assert result["refused_cl_ord_id"] not in requests  # its record was among the lost
