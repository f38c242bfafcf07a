"""A settings mistake is refused alike by ``config check`` and by ``run``: one line, the same
reason, before the journal or a login (nothing under ``state/``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradovate_api.cli import main


def both_refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: str,
                env: str = "") -> str:
    """The error line ``config check`` prints for ``settings`` (``run`` prints the same
    reason); ``env``: the env file's text."""
    path = tmp_path / "settings.toml"
    path.write_text(settings, encoding="utf-8")
    (tmp_path / "secrets.env").write_text(env, encoding="utf-8")
    lines = []
    for command in (["config", "check"], ["run", "--duration", "1"]):
        code = main([*command, "--settings", str(path), "--env-file",
                     str(tmp_path / "secrets.env")])
        _out, err = capsys.readouterr()
        assert code == 1, command
        assert len(err.strip().splitlines()) == 1, err
        lines.append(err.strip())
    assert not (tmp_path / "state").exists()  # refused before the journal or a login
    check, run = lines
    assert check.endswith(run.removeprefix("configuration error: ")), lines
    return check
