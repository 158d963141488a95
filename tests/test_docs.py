"""The README and docs/ stay navigable: every relative link resolves, the README stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
README_MAX_LINES = 260

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text without fenced code blocks, where brackets and headings are not markdown."""
    return _FENCE.sub("", text)


def anchors(text: str) -> set[str]:
    """GitHub's heading ids: rendered text lower-cased, punctuation dropped, spaces to hyphens,
    a repeated id suffixed -1, -2, ..."""
    seen: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(_prose(text)):
        rendered = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", rendered.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(text: str) -> list[str]:
    return _LINK.findall(_CODE.sub("", _prose(text)))


def broken_links(page: Path) -> list[str]:
    """Relative links of a markdown file whose file or heading does not exist."""
    bad = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text(encoding="utf-8")):
            bad.append(f"{target} (no heading #{anchor} in {dest.name})")
    return bad


def test_the_link_checker_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Look at the data: `mathcls explore`\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n[ok](other.md#look-at-the-data-mathcls-explore) [ok](#page) [web](https://example.com/x)\n"
        "[gone](missing.md) [bad](other.md#nope) [self](#nowhere)\n"
        "```\n[not a link](inside-code.md)\n```\n`[nor](this.md)`\n",
        encoding="utf-8")
    assert broken_links(page) == ["missing.md (no such file)", "other.md#nope (no heading #nope in other.md)",
                                  "#nowhere (no heading #nowhere in page.md)"]


def test_anchors_follow_github_rules():
    text = "# Bad input: one sentence, before any work\n## LLM fine-tuning: LoRA and QLoRA\n## Notes\n## Notes\n"
    assert anchors(text) == {"bad-input-one-sentence-before-any-work", "llm-fine-tuning-lora-and-qlora",
                             "notes", "notes-1"}


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert not broken_links(page), f"{page.relative_to(ROOT)}: broken links {broken_links(page)}"


def test_the_readme_stays_short_and_links_every_docs_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < README_MAX_LINES, "move detail from README.md into a docs/ page"
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(text) if t.startswith("docs/")}
    assert PAGES and not [p.name for p in PAGES if p.resolve() not in linked], "a docs/ page the README does not link"


def test_the_readme_build_table_names_only_real_modules():
    table = README.read_text(encoding="utf-8").split("## How it is built", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`([\w/]+(?:\.py|/))`", table)
    assert named and not [n for n in named if not (ROOT / "mathcls" / n).exists()]
