"""The documentation holds together: every relative link resolves (file and heading), each doc says first
what it is for, the README's command table is the list `make help` prints, every command the docs or the
stack's own messages name is a real target, and every `.env.example` variable is documented."""

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
TARGET = r"([a-z.][a-z0-9.-]*[a-z0-9])"


def markdown_files() -> list[Path]:
    """The Markdown files git tracks, plus new ones not yet added (never the ignored: .venv, .stack)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return sorted({REPO / name for name in listed if (REPO / name).is_file()})


def prose(text: str) -> str:
    """`text` without code blocks and code spans, where a `[x](y)` is an example, not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(path: Path) -> set[str]:
    """The #fragments GitHub gives `path`'s headings: lower case, punctuation dropped, spaces to hyphens."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", FENCE.sub("", path.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(path.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check offline
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no such heading")
    return broken


def test_the_markdown_files_are_found():
    names = {path.relative_to(REPO).as_posix() for path in markdown_files()}
    assert {"README.md", "bench/README.md", "docs/configuration.md", "docs/terraform.md"} <= names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(path):
    assert broken_links(path) == []


def test_a_broken_link_or_heading_is_caught(tmp_path):
    (tmp_path / "other.md").write_text("# A heading, with `code`\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-heading-with-code) [ok](other.md#twice-1) [ok](#mine) [web](https://example.com)\n"
        "`[not a link](nowhere.md)`\n\n# Mine\n\n[gone](missing.md) [bad](other.md#nope) ![img](nope.png)\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file", "other.md#nope: no such heading", "nope.png: no such file",
    ]  # fmt: skip


DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "bench" / "README.md"]


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.relative_to(REPO).as_posix())
def test_each_doc_opens_with_one_line_saying_what_it_is_for(path):
    first = path.read_text().split("\n", 1)[0]
    assert first and not first.startswith(("#", "|", "-", "`", "!")) and first.endswith("."), first


def help_targets() -> list[str]:
    result = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "STACK": "embedded"},  # no `docker info` probe: the list does not depend on it
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return re.findall(rf"^  make {TARGET}\s", result.stdout, re.M)


def readme_command_table() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| (`make .+?) \|", section, re.M)
    return [name for cell in first_cells for name in re.findall(rf"`make {TARGET}", cell)]


def test_the_readme_command_table_lists_exactly_what_make_help_prints():
    listed, printed = readme_command_table(), help_targets()
    assert len(printed) > 20 and len(listed) == len(set(listed)), listed
    assert sorted(listed) == sorted(printed), {
        "in make help, not in the README": sorted(set(printed) - set(listed)),
        "in the README, not in make help": sorted(set(listed) - set(printed)),
    }


def named_commands() -> dict[str, set[str]]:
    """Every `make X` a reader is told to type: in the docs' code, and in the stack's own messages."""
    named: dict[str, set[str]] = {}
    for path in markdown_files():
        text = path.read_text()
        code = " ".join(CODE_SPAN.findall(text) + FENCE.findall(text))
        for name in re.findall(rf"(?:`|^|\n|\s)make {TARGET}", code):
            named.setdefault(name, set()).add(path.relative_to(REPO).as_posix())
    for path in sorted((REPO / "embedded").rglob("*.py")):
        text = path.read_text()
        # `make X` in a message, and the lines of the list `make up` prints at the end (NEXT_STEPS).
        for name in re.findall(rf"`make {TARGET}", text) + re.findall(rf"^ +make {TARGET}", text, re.M):
            named.setdefault(name, set()).add(path.relative_to(REPO).as_posix())
    return named


def test_every_command_the_docs_and_the_stack_name_is_a_make_target():
    named, targets = named_commands(), set(help_targets())
    assert {"up", "down", "invoke", "executions"} <= set(named)
    assert {name: sorted(where) for name, where in named.items() if name not in targets} == {}


def test_every_env_example_variable_is_documented():
    variables = re.findall(r"(?m)^#?\s*([A-Z][A-Z0-9_]+)=", (REPO / ".env.example").read_text())
    documented = (REPO / "docs" / "configuration.md").read_text()
    assert len(variables) > 30
    assert [name for name in dict.fromkeys(variables) if f"`{name}`" not in documented] == []
