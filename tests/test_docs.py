"""README.md and docs/*.md run verbatim, each in a fresh folder with the defaults (tests/docs_examples.py).

A document is one test: its blocks run in order in one folder, as a reader goes through it, so a
command may use what an earlier one made.  A doc change that breaks a command fails here with the
file and line of the block.
"""

from __future__ import annotations

from pathlib import Path
from unittest import SkipTest

import pytest

from docs_examples import REPO, documents, fresh_folder, no_runner, parse

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", documents(), ids=lambda path: str(path.relative_to(REPO)))
def test_document_runs_verbatim(path: Path, tmp_path: Path) -> None:
    document = parse(path)
    document.namespace["folder"] = folder = fresh_folder(tmp_path)
    skipped = []
    for example in document:
        try:
            example.evaluate()
        except SkipTest as reason:
            skipped.append(f"{example.line}: {reason}")
    print(f"{path.name}: ran {len(folder.ran)} commands; skipped blocks: {skipped}")


def test_every_block_is_run_or_skipped_with_a_reason() -> None:
    """A block with no runner fails the document's test; this names them all at once, cheaply."""
    problems = []
    for path in documents():
        for example in parse(path):
            if example.region.evaluator is no_runner:
                problems.append(f"{path.relative_to(REPO)}:{example.line}: a {example.region.parsed!r} block")
    assert not problems, "blocks no runner knows (give them a language the docs tests run, or a skip):\n" + "\n".join(problems)
