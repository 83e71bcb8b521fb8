"""The README and docs/ hold together: every relative link and heading anchor resolves, every ``make`` command they
show is a target of the Makefile, and the README stays a five-minute read."""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from devtools.settings_docs import REPO_ROOT
from stacks.settings import load_settings

README = REPO_ROOT / "README.md"
PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
README_LINE_BUDGET = 200
# Words of a project's past that a newcomer cannot know.
HISTORY_PHRASES = ("the original sample", "original streaming sample", "before these changes", "before this change",
                   "hands-on", "before this scheme")  # fmt: skip


@cache
def tokens(page: Path) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(page.read_text())


def inline_children(page: Path) -> list[Token]:
    return [child for token in tokens(page) if token.type == "inline" for child in token.children or []]


def github_anchor(heading: str, seen: dict[str, int]) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if not count else f"{slug}-{count}"


@cache
def anchors(page: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = []
    page_tokens = tokens(page)
    for index, token in enumerate(page_tokens):
        if token.type == "heading_open":
            inline = page_tokens[index + 1]
            text = "".join(child.content for child in inline.children or [] if child.type in {"text", "code_inline"})
            found.append(github_anchor(text, seen))
    return frozenset(found)


def links(page: Path) -> list[str]:
    found = [str(child.attrs.get("href", "")) for child in inline_children(page) if child.type == "link_open"]
    found += [str(child.attrs.get("src", "")) for child in inline_children(page) if child.type == "image"]
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    broken = []
    for href in links(page):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            continue  # the web is not checked offline
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if not target.exists():
            broken.append(f"{href}: no such file")
        elif parts.fragment and (target.suffix != ".md" or parts.fragment not in anchors(target)):
            broken.append(f"{href}: no heading #{parts.fragment} in {target.name}")
    assert not broken, broken


def test_anchors_follow_githubs_rule() -> None:
    seen: dict[str, int] = {}
    assert github_anchor("IAM, checked against AWS's rules", seen) == "iam-checked-against-awss-rules"
    assert github_anchor("Optional HTTPS endpoint (queryHttpApi)", seen) == "optional-https-endpoint-queryhttpapi"
    assert [github_anchor("Metadata", seen) for _ in range(2)] == ["metadata", "metadata-1"]


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [no anchor](#nowhere)\n")
    with pytest.raises(AssertionError, match=r"missing.md: no such file.*#nowhere: no heading"):
        test_every_relative_link_and_anchor_resolves(page)


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (REPO_ROOT / "Makefile").read_text(), flags=re.M))


def shown_code(page: Path) -> list[str]:
    blocks = [token.content for token in tokens(page) if token.type in {"fence", "code_block"}]
    return blocks + [child.content for child in inline_children(page) if child.type == "code_inline"]


def make_targets_shown(page: Path) -> set[str]:
    shown = set()
    for code in shown_code(page):
        for line in code.splitlines():
            for match in re.finditer(r"(?:^|[\s;(&|`])make((?:\s+[A-Za-z_]+=\S+)*)\s+([a-z][a-z-]*)", line):
                shown.add(match[2])
    return shown


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_make_command_shown_is_a_target(page: Path) -> None:
    missing = make_targets_shown(page) - makefile_targets()
    assert not missing, f"{page.name} shows make targets the Makefile lacks: {sorted(missing)}"


def test_the_check_finds_the_commands_it_is_meant_to() -> None:
    assert {"synth", "test", "deploy", "upload", "doctor", "destroy"} <= make_targets_shown(README)
    assert "help" in makefile_targets()


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_docs_speak_to_a_newcomer(page: Path) -> None:
    text = " ".join(page.read_text().lower().split())
    assert not [phrase for phrase in HISTORY_PHRASES if phrase in text]


def test_the_readme_is_a_five_minute_read() -> None:
    text = README.read_text()
    assert len(text.splitlines()) <= README_LINE_BUDGET
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Deploy", "## Try it", "## Configure", "## Destroy", "## Cost", "## Documentation"]
    linked = {Path(urlsplit(href).path).name for href in links(README)}
    assert {page.name for page in PAGES[1:] if page.suffix == ".md"} <= linked, "link every docs page"


def test_the_readmes_stream_mapping_is_one_synthesis_accepts() -> None:
    block = README.read_text().split('"app:streamDocument": ', 1)[1].split("\n```", 1)[0]
    settings = load_settings({"app:streamDocument": json.loads(block)})
    assert settings.stream.document["id"] == "ticket/{key}"


def test_shown_commands_parse_as_shell() -> None:
    for page in PAGES:
        for code in [token for token in tokens(page) if token.type == "fence" and token.info in {"bash", "sh"}]:
            for line in code.content.replace("\\\n", " ").splitlines():
                shlex.split(line, comments=True)
