"""The address file ``tradovate-api dashboard`` reads: 0600, atomic, only while its app runs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tradovate_api.dashboard import DashboardAddress, read_address, remove_address, write_address
from tradovate_api.errors import ConfigError

ADDRESS = DashboardAddress("http://127.0.0.1:4567/", "the-token-value-1234", os.getpid())


def test_written_for_this_user_only_even_over_an_older_open_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "dashboard.json"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    write_address(path, ADDRESS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_address(path) == ADDRESS
    assert ADDRESS.open_url == "http://127.0.0.1:4567/?token=the-token-value-1234"
    assert [p.name for p in path.parent.iterdir()] == ["dashboard.json"]


def test_no_file_or_an_ended_app_is_said_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "dashboard.json"
    with pytest.raises(ConfigError, match="no dashboard is running"):
        read_address(path)
    path.write_text("not json")
    with pytest.raises(ConfigError, match="not a dashboard address file"):
        read_address(path)
    ended = DashboardAddress(ADDRESS.url, ADDRESS.token, _ended_pid())
    write_address(path, ended)
    with pytest.raises(ConfigError, match="has ended"):
        read_address(path)


def test_removed_only_while_it_still_names_this_run(tmp_path: Path) -> None:
    path = tmp_path / "dashboard.json"
    newer = DashboardAddress("http://127.0.0.1:9999/", "another-token-56789", os.getpid())
    write_address(path, newer)
    remove_address(path, ADDRESS)
    assert read_address(path) == newer
    remove_address(path, newer)
    assert not path.exists()


def _ended_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_the_token_stays_out_of_the_addresss_repr() -> None:
    address = DashboardAddress("http://127.0.0.1:8080/", "tok-secret-value-123456", 1)
    shown = repr(address) + str(address) + f"{address!r}"
    assert "tok-secret-value-123456" not in shown
    assert "token='***'" in repr(address)
    assert address.open_url.endswith("?token=tok-secret-value-123456")  # where it belongs
