"""The default formats are those the installed extras can write; a missing extra is named only
when the user asked for its format (``--format xml``), not after every run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import TESTS, environment

WITHOUT_RDF = {"PYTHONPATH": str(TESTS / "data" / "no_rdf_extra")}


def run(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    (tmp_path / "prog.py").write_text("def double(x):\n    return 2 * x\n\nprint(double(21))\n")
    extra = environment(WITHOUT_RDF)
    extra["PYTHONPATH"] = WITHOUT_RDF["PYTHONPATH"] + ":" + environment()["PYTHONPATH"]
    return subprocess.run([sys.executable, "-m", "autoprov", "--match", "__main__:*", "--export", "sync", *options, "prog.py"],
                          cwd=tmp_path, capture_output=True, text=True, env=extra, timeout=300)


def test_no_note_for_formats_the_user_did_not_ask_for(tmp_path: Path) -> None:
    done = run(tmp_path)
    assert done.returncode == 0 and done.stdout == "42\n", done.stderr
    assert "needs" not in done.stderr and "pip install" not in done.stderr, done.stderr
    (run_dir,) = [p for p in (tmp_path / ".prov").iterdir() if (p / "events.jsonl").exists()]
    assert (run_dir / "provenance.provn").exists() and (run_dir / "report.html").exists()
    assert not (run_dir / "provenance.xml").exists() and not (run_dir / "provenance.ttl").exists()


def test_a_note_when_the_user_asked_for_the_format(tmp_path: Path) -> None:
    done = run(tmp_path, "--format", "json,xml,ttl")
    assert done.returncode == 0, done.stderr
    assert "provenance.xml skipped: PROV-XML needs lxml: pip install 'autoprov[rdf]'" in done.stderr
    assert "provenance.ttl skipped: Turtle needs rdflib: pip install 'autoprov[rdf]'" in done.stderr
