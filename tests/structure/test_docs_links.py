"""Every link in the README and ``docs/`` leads somewhere inside the repository: to a file
that exists and, with a ``#fragment``, to a heading that exists (GitHub's anchors). Docs that
point at a moved file or a renamed heading send a newcomer nowhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_CODE_BLOCK = re.compile(r"```.*?```", re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*$", re.M)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _text(path: Path) -> str:
    return _CODE_BLOCK.sub("", path.read_text(encoding="utf-8"))


def broken_links(doc: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for link in _LINK.findall(_text(doc)):
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        path, _, fragment = link.partition("#")
        target = (doc.parent / path).resolve() if path else doc
        if not target.is_relative_to(root):
            problems.append(f"{link}: outside the repository")
        elif not target.exists():
            problems.append(f"{link}: no such file")
        elif fragment and target.suffix == ".md" and fragment not in {
                anchor(h) for h in _HEADING.findall(_text(target))}:
            problems.append(f"{link}: no such heading")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_link_leads_somewhere_in_the_repository(doc: Path) -> None:
    assert broken_links(doc) == []


def test_the_check_finds_a_broken_link(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("# A title\n\n[ok](#a-title) [bad](#nothing) [gone](missing.md) "
                   "[away](../x.md)\n", encoding="utf-8")
    assert broken_links(doc, tmp_path) == [
        "#nothing: no such heading", "missing.md: no such file", "../x.md: outside the repository"]
    assert anchor("The trading application (`tradovate_api.runtime.app`)") == \
        "the-trading-application-tradovate_apiruntimeapp"
