"""The simulator stands beside the client on the protocol core: its modules import nothing of
``tradovate_api`` but ``tradovate_api.protocol``, ``tradovate_api.errors`` and the simulator
itself — type-checking imports included. What it needs from orders, stores, recordings or the
settings moves down into the protocol core or is handed to it by its caller. Read from the
source with ``ast``, so nothing is imported to check it."""

from __future__ import annotations

import ast

from test_package_cycles import PACKAGE, ROOT, _imported, _module_name

SIMULATOR = f"{PACKAGE}.simulator"
ALLOWED = (f"{PACKAGE}.protocol", f"{PACKAGE}.errors", SIMULATOR)
"""What the simulator may import (each with its submodules)."""


def foreign_imports(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """The imports of ``tradovate_api`` in ``source`` (the text of ``module``) outside
    :data:`ALLOWED`, in the order they appear."""
    found = []
    for target in _imported(ast.parse(source), module, is_package):
        if target != PACKAGE and not target.startswith(f"{PACKAGE}."):
            continue
        if not any(target == allowed or target.startswith(f"{allowed}.")
                   for allowed in ALLOWED):
            found.append(target)
    return found


def test_the_simulator_imports_only_the_protocol_core_and_itself() -> None:
    paths = sorted((ROOT / "simulator").rglob("*.py"))
    assert len(paths) > 20  # the reading works
    wrong = {}
    for path in paths:
        module, is_package = _module_name(path)
        found = foreign_imports(module, path.read_text(encoding="utf-8"),
                                is_package=is_package)
        if found:
            wrong[module] = found
    assert wrong == {}


def test_the_check_finds_a_wrong_import() -> None:
    source = ("from typing import TYPE_CHECKING\n"
              "from ..protocol import Side\n"
              "from ..errors.config_validation import key_text\n"
              "from .book import Book\n"
              "from ..orders.contracts import ContractBook\n"
              "import tradovate_api.settings\n"
              "if TYPE_CHECKING:\n"
              "    from ..stores import Trade\n"
              "    from .. import recording\n")
    assert foreign_imports(f"{SIMULATOR}.example", source) == [
        f"{PACKAGE}.orders.contracts", f"{PACKAGE}.settings", f"{PACKAGE}.stores",
        f"{PACKAGE}.recording"]
