"""Every repository path that docs/design.md names exists.

Two places name paths: backticked spans (their first word, e.g. ``tools/eval.py`` in
```tools/eval.py CONFIG```; a path inside the package may omit ``onedrive/``) and the
layout tree of section 3 (an indented block: two spaces per level, the names before the
first run of two spaces, further names on a line being siblings of the first).
Placeholders (``<split>``, ``OUT/…``, globs) and the user-data folders are not checked.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DESIGN = ROOT / "docs" / "design.md"
CODE_ROOTS = ("onedrive/", "tools/", "configs/", "tests/", "docs/")
TOP_FILES = ("setup.py", "Makefile", "README.md", "LICENSE", "pytest.ini", "ruff.toml")
PLACEHOLDER = re.compile(r"[<>{}*…]|\bOUT\b|\bDIR\b")


def backticked_paths(text: str) -> list[str]:
    paths = []
    for span in re.findall(r"`([^`\n]+)`", text):
        words = span.split()
        word = words[0].rstrip(".,:;)") if words else ""
        if not word or PLACEHOLDER.search(word) or word.startswith(("http", "-")):
            continue
        if word.startswith(CODE_ROOTS) or word in TOP_FILES or ("/" in word and word.endswith(".py")):
            paths.append(word)
    return paths


def layout_paths(text: str) -> list[str]:
    """Paths of the indented tree under '## 3.' (4 spaces, then 2 per level)."""
    section = text.split("\n## 3.", 1)[1].split("\n## ", 1)[0]
    stack: list[str] = []  # open directories, one per level
    paths = []
    for line in section.splitlines():
        if not line.startswith("    ") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        level, odd = divmod(indent - 4, 2)
        if odd or level > len(stack):
            continue  # a description's continuation line
        names = re.split(r" {2,}", line.strip())[0].split(" ")
        folder = "/".join(stack[:level])
        first_dir = names[0].rsplit("/", 1)[0] if "/" in names[0].rstrip("/") else ""
        entries = [(names[0], folder)] + [(name, "/".join(p for p in (folder, first_dir) if p)) for name in names[1:]]
        del stack[level:]
        for name, folder in entries:
            if PLACEHOLDER.search(name):
                continue
            paths.append("/".join(p for p in (folder, name.rstrip("/")) if p))
        if len(names) == 1 and names[0].endswith("/"):
            stack.append(names[0].rstrip("/"))
    return paths


def exists(path: str) -> bool:
    return (ROOT / path).exists() or (ROOT / "onedrive" / path).exists()


def test_layout_parser_reads_the_tree():
    paths = layout_paths(DESIGN.read_text(encoding="utf-8"))
    # the tree names the top files and the package's nested modules, as full paths
    assert {
        "setup.py",
        "LICENSE",
        "onedrive/schema.py",
        "onedrive/model/heads/lane.py",
        "onedrive/training/run.py",
    } <= set(paths)


def test_every_path_design_md_names_exists():
    text = DESIGN.read_text(encoding="utf-8")
    named = backticked_paths(text) + layout_paths(text)
    missing = sorted({path for path in named if not exists(path)})
    assert not missing, f"docs/design.md names paths that do not exist: {missing}"
