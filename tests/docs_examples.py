"""The documentation as tests: every command and code block of README.md and docs/*.md, run verbatim.

Sybil (a well-kept documentation-testing library) finds the fenced blocks and the HTML-comment
directives; this module only says how each kind of block is run, the way a user would run it:

- ``bash`` blocks: each command in a shell, in the document's own fresh folder, with the venv's
  ``python`` and ``autoprov`` first on ``PATH``, a private ``HOME``, and no autoprov options the
  document does not give; a command must exit 0 unless a ``status`` directive says otherwise;
- ``console`` blocks: each ``$ command`` is run the same way and what it prints (stdout then stderr)
  must match the lines shown under it, where ``...`` stands for any text (as doctest's ELLIPSIS);
- ``python`` blocks: a program run by the venv's python in the folder, or, when the block holds
  IPython magics, a notebook run by a real Jupyter kernel (each magic line a cell of its own, as a user
  types them), which must end with no error output;
- ``yaml``, ``toml``, ``sql`` blocks: ``sql`` runs against the folder's run index; the others are
  fragments or files: a ``file NAME`` directive writes the block into the folder for later commands.

Directives, in an HTML comment before a block (invisible to readers):
``<!-- docs-test: file NAME -->`` (the next block is that file), ``<!-- docs-test: status N -->`` (the
next block's commands may exit with N as well as 0), ``<!-- docs-test: env NAME=VALUE -->`` (for the
rest of the document; a relative value is taken from the repository), and Sybil's own
``<!-- skip: next "why" -->``; ``<!-- invisible-code-block: bash ... -->`` runs set-up a reader does
not need to see.  A block in any other language fails the test until it gets a runner or a skip.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import CodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, FencedCodeBlockLexer

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
COMMAND_TIMEOUT = 600  # seconds: one command of a document (a real analysis takes ~20 s)
LANGUAGES = {"bash", "console", "python", "yaml", "toml", "sql"}


@dataclass
class Folder:
    """The fresh folder one document's commands run in, and what its directives set for them."""

    path: Path
    env: dict[str, str]
    next_file: str | None = None
    next_status: set[int] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)


def fresh_folder(root: Path) -> Folder:
    """A folder as a user has it after cloning: the examples beside them, nothing of autoprov's."""
    work = root / "work"
    work.mkdir(parents=True)
    shutil.copytree(REPO / "examples", work / "examples")
    home = root / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AUTOPROV_", "PYTEST_", "COV_")) and key != "VIRTUAL_ENV"}
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / ".local" / "state"),
               PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(VENV_BIN.parent),
               MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("GAMMAPY_DATA", str((REPO.parent / "shared" / "data" / "gammapy-data").resolve()))
    return Folder(work, env)


def folder_of(example: Example) -> Folder:
    return example.namespace["folder"]


def run_command(folder: Folder, command: str, where: str) -> subprocess.CompletedProcess:
    folder.ran.append(command)
    try:
        return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=folder.path, env=folder.env,
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{where}: `{command}` did not end within {COMMAND_TIMEOUT} s") from None


def commands_of(source: str) -> list[str]:
    """The commands of a shell block: one a line, ``\\`` continuing a line; blank and comment lines dropped."""
    commands, pending = [], ""
    for line in source.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line)
    return commands


def take_file(example: Example) -> bool:
    """Write the block into the folder when a ``file`` directive named it; True if it did."""
    folder = folder_of(example)
    if folder.next_file is None:
        return False
    target = folder.path / folder.next_file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(example.parsed, encoding="utf-8")
    folder.next_file = None
    return True


def where(example: Example) -> str:
    return f"{Path(example.path).relative_to(REPO)}:{example.line}"


def evaluate_bash(example: Example) -> str | None:
    if take_file(example):
        return None
    folder = folder_of(example)
    allowed, folder.next_status = {0} | folder.next_status, set()
    for command in commands_of(example.parsed):
        done = run_command(folder, command, where(example))
        if done.returncode not in allowed:
            return (f"{where(example)}: `{command}` exited {done.returncode}\n"
                    f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")
    return None


def console_steps(source: str) -> list[tuple[str, str]]:
    """(command, the output shown under it) for each ``$ `` line of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(command, "\n".join(lines).strip("\n")) for command, lines in steps]


def output_matches(shown: str, printed: str) -> bool:
    """doctest's ELLIPSIS rule, line ends and trailing blanks aside."""
    def tidy(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
    return doctest.OutputChecker().check_output(tidy(shown) + "\n", tidy(printed) + "\n", doctest.ELLIPSIS)


def clip(text: str, keep: int = 2500) -> str:
    """The head and tail of a long output: where a shown output and a printed one part is usually near one end."""
    return text if len(text) <= 2 * keep else f"{text[:keep]}\n[... {len(text) - 2 * keep} characters ...]\n{text[-keep:]}"


def evaluate_console(example: Example) -> str | None:
    folder = folder_of(example)
    allowed, folder.next_status = {0} | folder.next_status, set()
    for command, shown in console_steps(example.parsed):
        done = run_command(folder, command, where(example))
        printed = done.stdout + done.stderr
        if done.returncode not in allowed:
            return f"{where(example)}: `{command}` exited {done.returncode}\n{printed[-3000:]}"
        if shown and not output_matches(shown, printed):
            return f"{where(example)}: `{command}` printed\n{clip(printed)}\n--- the document shows\n{shown}"
    return None


MAGIC = re.compile(r"^\s*%", re.MULTILINE)


def notebook_cells(source: str) -> list[str]:
    """The cells a user makes of a block with magics: each line magic a cell, a cell magic with what follows."""
    cells: list[str] = []
    lines = source.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("%%"):
            cells.append("\n".join(lines[index:]))
            break
        if line.strip():
            cells.append(line)
    return cells


def evaluate_python(example: Example) -> str | None:
    if take_file(example):
        return None
    folder = folder_of(example)
    if MAGIC.search(example.parsed):
        return run_notebook(folder, notebook_cells(example.parsed), where(example))
    done = run_command(folder, shlex.join(["python", "-c", example.parsed]), where(example))
    if done.returncode != 0:
        return f"{where(example)}: the block exited {done.returncode}\n{(done.stdout + done.stderr)[-3000:]}"
    return None


def run_notebook(folder: Folder, cells: list[str], place: str) -> str | None:
    """Run the cells in a real kernel (nbclient, the venv's ipykernel) in the folder; errors are failures."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(folder.env)  # the kernel inherits the environment of the process that starts it
    try:
        NotebookClient(notebook, timeout=COMMAND_TIMEOUT, kernel_name="python3",
                       resources={"metadata": {"path": str(folder.path)}}).execute()
    except Exception as error:  # nbclient raises CellExecutionError with the cell and its traceback
        return f"{place}: the notebook failed: {error}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" or (output.get("name") == "stderr" and "Error" in output.get("text", "")):
                return f"{place}: cell {cell.source!r} printed {json.dumps(output)[:2000]}"
    folder.ran.append("notebook: " + " | ".join(cells))
    return None


def evaluate_sql(example: Example) -> str | None:
    """SQL as a user types it into ``sqlite3 .prov/index.sqlite``: it must run on the folder's index."""
    index = folder_of(example).path / ".prov" / "index.sqlite"
    if not index.exists():
        return f"{where(example)}: no run index at {index} for this query (a set-up run is missing)"
    with sqlite3.connect(index) as database:
        try:
            database.execute(example.parsed).fetchall()
        except sqlite3.Error as error:
            return f"{where(example)}: the query fails on the run index: {error}"
    return None


def evaluate_fragment(example: Example) -> str | None:
    """YAML and TOML blocks are files (a ``file`` directive) or must be skipped with a reason."""
    if take_file(example):
        return None
    language = example.region.lexemes.get("arguments", "?")
    return (f"{where(example)}: a {language} block that is neither written as a file (<!-- docs-test: file NAME -->) "
            "nor skipped with a reason (<!-- skip: next \"why\" -->)")


def evaluate_directive(example: Example) -> None:
    folder = folder_of(example)
    action, _, value = example.parsed.strip().partition(" ")
    value = value.strip()
    if action == "file":
        folder.next_file = value
    elif action == "status":
        folder.next_status = {int(code) for code in value.split(",")}
    elif action == "env":
        name, _, setting = value.partition("=")
        path = REPO / setting
        folder.env[name] = str(path) if setting and not setting.startswith("/") and path.exists() else setting
    else:
        raise ValueError(f"{where(example)}: unknown docs-test directive {action!r}")


def parse_directives(document: Document):
    for lexed in DirectiveInHTMLCommentLexer("docs-test")(document):
        yield Region(lexed.start, lexed.end, lexed.lexemes["arguments"], evaluate_directive)


def no_runner(example: Example) -> str:
    return f"{where(example)}: no runner for a {example.parsed!r} block"


def unknown_languages(document: Document):
    """Blocks in a language no runner knows: each one fails until it gets a runner or a skip."""
    lexer = FencedCodeBlockLexer(language=r"[^\s`]+", mapping={"language": "arguments", "source": "source"})
    for lexed in lexer(document):
        if lexed.lexemes["arguments"] not in LANGUAGES:
            yield Region(lexed.start, lexed.end, lexed.lexemes["arguments"], no_runner)


DOCS = Sybil(
    parsers=[
        SkipParser(),
        parse_directives,
        CodeBlockParser("bash", evaluate_bash),
        CodeBlockParser("console", evaluate_console),
        CodeBlockParser("python", evaluate_python),
        CodeBlockParser("sql", evaluate_sql),
        CodeBlockParser("yaml", evaluate_fragment),
        CodeBlockParser("toml", evaluate_fragment),
        unknown_languages,
    ],
)


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def parse(path: Path) -> Document:
    return Document.parse(str(path), *DOCS.parsers)
