"""Every relative link in the README, ARCHITECTURE.md and docs/ leads somewhere.

A link names a file of the repository (relative to the page) and, for a Markdown page,
optionally one of its headings (`page.md#a-heading`, or `#a-heading` on the same page),
spelt as GitHub spells heading anchors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "ARCHITECTURE.md", *(ROOT / "docs").glob("*.md")])

#: Pages that another line of work is writing: linked already, not yet on this branch.
EXPECTED_SOON = {"docs/classifier-figures.md"}

_FENCE = re.compile(r"^(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _prose(text: str) -> list[str]:
    """The page's lines outside fenced code blocks, with code spans blanked out."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        lines.append("" if fenced else _CODE_SPAN.sub("", line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page (a repeated heading gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    """The relative link targets on a page (web addresses and mail left out)."""
    targets = []
    for line in _prose(page.read_text(encoding="utf-8")):
        for target in _LINK.findall(line):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):
                targets.append(target)
    return targets


def broken(page: Path) -> list[str]:
    problems = []
    for target in links(page):
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page
        name = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
        if not dest.exists():
            if name not in EXPECTED_SOON:
                problems.append(f"{target}: no file {name}")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no heading #{anchor} in {name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    assert broken(page) == []


def test_the_checker_sees_a_broken_file_and_a_broken_heading(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("# A page\n\n## Its `second` heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[fine](there.md#its-second-heading) [gone](missing.md) [wrong](there.md#nowhere)\n"
        "`[in code](ignored.md)` [web](https://example.org/x.md) [self](#a-title)\n"
        "```\n[fenced](also-ignored.md)\n```\n# A title\n",
        encoding="utf-8",
    )
    # Outside the repository: names are shown as full paths, so compare the endings.
    problems = broken(page)
    assert len(problems) == 2
    assert problems[0].startswith("missing.md: no file ")
    assert problems[1].startswith("there.md#nowhere: no heading #nowhere in ")


def test_the_readme_still_names_the_two_commands() -> None:
    """CI runs `make test` as the README's test command (.ci/run); the demo is `make demo`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in readme
    assert "make demo" in readme
