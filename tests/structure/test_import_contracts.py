"""The import contracts of ``pyproject.toml`` hold, and each one catches the wrong import it
exists for.

``lint-imports`` is the law (docs/adr/0008-import-contracts.md); these tests show it is not a
law that cannot be broken: each wrong import below is written into a copy of the package in a
temporary directory, and the contract named for it must then fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import tradovate_api

PACKAGE = Path(tradovate_api.__file__).parent
CONFIG = Path(__file__).resolve().parents[2] / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(source_root: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package found first under ``source_root``."""
    command = [str(LINT_IMPORTS), "--no-cache", "--no-logo"]
    for contract in contracts:
        command += ["--contract", contract]
    environment = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run([*command, str(CONFIG)], cwd=source_root, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package's source under ``tmp_path`` (the root to put on the path)."""
    shutil.copytree(PACKAGE, tmp_path / "tradovate_api",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _contract(contract_id: str) -> dict[str, object]:
    contracts = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def _top_level_modules() -> set[str]:
    return {f"tradovate_api.{path.stem}" for path in PACKAGE.iterdir()
            if (path.suffix == ".py" and path.stem != "__init__")
            or (path.is_dir() and (path / "__init__.py").exists())}


@pytest.mark.parametrize(("contract_id", "allowed"), [
    ("simulator-beside-client", {"simulator", "protocol", "errors"}),
    ("strategies-use-the-strategy-api", {"strategies", "strategy"}),
])
def test_a_forbidden_list_names_every_module_but_the_allowed_ones(
        contract_id: str, allowed: set[str]) -> None:
    """A new package is forbidden to the simulator and to strategies until a decision (an ADR)
    allows it: the lists cannot fall behind the package."""
    listed = _contract(contract_id)["forbidden_modules"]
    assert isinstance(listed, list)
    forbidden = {module for module in listed if module.count(".") == 1}
    assert forbidden == _top_level_modules() - {f"tradovate_api.{a}" for a in allowed}


def test_the_package_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(PACKAGE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# (contract id, module of the copy, the wrong import added to it)
WRONG_IMPORTS = [
    # the protocol core reaching up into the stores
    ("layers", "protocol/frames.py", "import tradovate_api.stores"),
    # replay reaching up into the research layer that is built on it (ADR 0009)
    ("layers", "replay/engine.py", "import tradovate_api.research.sweep"),
    # the simulator leaning on the client's configuration
    ("simulator-beside-client", "simulator/book.py", "import tradovate_api.settings"),
    # risk (allowed below the simulator by the layers) borrowing from the simulator
    ("client-stack-without-simulator", "orders/risk.py", "import tradovate_api.simulator"),
    # a strategy reaching past its API into a store
    ("strategies-use-the-strategy-api", "strategies/reference.py",
     "import tradovate_api.stores"),
    ("strategies-use-the-strategy-api", "strategies/reference.py",
     "from tradovate_api.strategy import dispatch"),
]


@pytest.mark.parametrize(("contract", "module", "line"), WRONG_IMPORTS,
                         ids=[f"{c}:{m}" for c, m, _ in WRONG_IMPORTS])
def test_a_wrong_import_breaks_its_contract(package_copy: Path, contract: str, module: str,
                                            line: str) -> None:
    assert _lint(package_copy, contract).returncode == 0  # the copy holds before the change
    with (package_copy / "tradovate_api" / module).open("a", encoding="utf-8") as f:
        f.write(f"\n{line}  # a wrong import\n")
    result = _lint(package_copy, contract)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert f"tradovate_api.{module[:-3].replace('/', '.')}" in result.stdout


def test_an_import_circle_between_modules_breaks_the_no_circles_contract(
        package_copy: Path) -> None:
    stores = package_copy / "tradovate_api" / "stores"
    (stores / "loop_a.py").write_text("from . import loop_b  # a circle\n", encoding="utf-8")
    (stores / "loop_b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from . import loop_a\n",
        encoding="utf-8")
    result = _lint(package_copy, "no-circles")
    assert result.returncode != 0, result.stdout
    assert "tradovate_api.stores" in result.stdout
    assert "loop_" in result.stdout


def test_an_import_circle_between_packages_breaks_the_no_circles_contract(
        package_copy: Path) -> None:
    with (package_copy / "tradovate_api" / "errors.py").open("a", encoding="utf-8") as f:
        f.write("\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
                "    import tradovate_api.secrets  # a circle: secrets imports errors\n")
    result = _lint(package_copy, "no-circles")
    assert result.returncode != 0, result.stdout
    assert "errors" in result.stdout
    assert "secrets" in result.stdout


def test_a_new_package_must_be_given_a_layer(package_copy: Path) -> None:
    (package_copy / "tradovate_api" / "unplaced.py").write_text('"""Nowhere yet."""\n',
                                                                encoding="utf-8")
    result = _lint(package_copy, "layers")
    assert result.returncode != 0, result.stdout
    assert "unplaced" in result.stdout + result.stderr


def test_the_contract_shown_to_users_is_the_one_the_framework_keeps() -> None:
    """docs/strategies.md gives users the strategies contract to copy: the same list."""
    doc = (CONFIG.parent / "docs" / "strategies.md").read_text(encoding="utf-8")
    shown = doc[doc.index("```toml", doc.index("Enforce it in your project")):]
    shown = shown[:shown.index("```", 7)]
    listed = tomllib.loads(shown.removeprefix("```toml"))["tool"]["importlinter"]["contracts"][0]
    assert listed["forbidden_modules"] == _contract("strategies-use-the-strategy-api")[
        "forbidden_modules"]
    assert listed["allow_indirect_imports"] is True
