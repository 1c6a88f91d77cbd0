"""The HTML report: one self-contained file, written with the other outputs, usable in a real browser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autoprov.export.model import load

from browser import open_report
from conftest import SCRIPTS, environment, wait_for_outputs
from synthetic import write_synthetic_run

MATCH = ["--filter", "none", "--match", "__main__:*"]


def autoprov(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autoprov", *args], cwd=cwd, capture_output=True, text=True, env=environment(), timeout=300)


def run_toy(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "n.txt").write_text("7")
    done = autoprov("--store", str(tmp_path / ".prov"), *MATCH, *options, str(SCRIPTS / "report_toy.py"), "n.txt", "out.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in (tmp_path / ".prov").iterdir() if (p / "events.jsonl").exists()]
    return done, run_dir


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    return run_toy(tmp_path_factory.mktemp("toy"), "--export", "sync")


def assert_self_contained(text: str) -> None:
    """Nothing a browser would fetch, and no URL at all: the record's own URLs are escaped."""
    assert "://" not in text
    for pattern in (r"<link\b", r"\bsrc\s*=", r"@import", r"url\(", r"<iframe", r"<img\b", r"\bfetch\(", r"XMLHttpRequest", r"<base\b"):
        assert not re.search(pattern, text, re.I), pattern
    assert re.search(r"<svg\b", text) and "<style>" in text and text.count("<script") == 2


def test_report_is_self_contained_and_escapes_the_record(toy):
    done, run_dir = toy
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    assert_self_contained(text)
    assert "<b>bold</b>" not in text  # a parameter's markup is data, never markup
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S).group(1))
    make = next(act for act in data["acts"] if act["name"] == "__main__.make")
    assert make["params"]["url"] == "https://example.org/docs?a=1&b=<2>" and make["params"]["label"] == "</script><b>bold</b>"
    assert [data["ents"][i]["label"] for i in data["inputs"]] == ["n.txt"]
    assert [data["ents"][i]["label"] for i in data["outputs"]] == ["out.json"]


def test_summary_line_names_the_report(toy, tmp_path):
    done, run_dir = toy  # --export sync: written before the line is printed
    assert done.stderr.strip().splitlines()[-1].endswith(f"-> .prov/{run_dir.name}/ (report: .prov/{run_dir.name}/report.html)")
    done, run_dir = run_toy(tmp_path / "background")
    assert done.stderr.strip().splitlines()[-1].endswith(f"(report: .prov/{run_dir.name}/report.html, written in a moment)")
    wait_for_outputs(run_dir, ("report.html",))
    assert_self_contained((run_dir / "report.html").read_text(encoding="utf-8"))
    done, run_dir = run_toy(tmp_path / "json-only", "--format", "json", "--export", "sync")
    assert done.stderr.strip().splitlines()[-1].endswith(f"-> .prov/{run_dir.name}/")
    assert not (run_dir / "report.html").exists()


def test_report_command_and_export_format(toy, tmp_path):
    _, run_dir = toy
    done = autoprov("report", run_dir.name, "--store", str(run_dir.parent), "-o", str(tmp_path / "mine.html"), cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == str(tmp_path / "mine.html"), done.stderr
    (run_dir / "report.html").unlink()
    done = autoprov("export", run_dir.name, "--store", str(run_dir.parent), "--format", "html", cwd=tmp_path)
    assert done.returncode == 0 and Path(done.stdout.strip()) == run_dir / "report.html", done.stderr
    assert (run_dir / "report.html").read_text(encoding="utf-8") == (tmp_path / "mine.html").read_text(encoding="utf-8")


def test_clicks_show_parameters_digests_and_times(toy, tmp_path):
    _, run_dir = toy
    model = load(run_dir)
    make = next(act for act in model.activities.values() if act.name == "__main__.make")
    with open_report(run_dir / "report.html", tmp_path / "profile") as page:
        panel = page.page.locator("#panel-body")
        page.page.locator("button[data-view=calls]").click()  # the graph opens on the products; make is in the call tree
        page.page.locator('#graph-view .graph-layer:not([hidden]) g.node', has_text="__main__.make").first.click()
        text = panel.inner_text()
        assert "__main__.make" in text and "parameters" in text.lower()
        assert "https://example.org/docs?a=1&b=<2>" in text and "</script><b>bold</b>" in text  # shown as written
        assert re.search(r"scale\s+2\b", text) and re.search(r"n\s+7", text)
        page.page.locator("table.files a", has_text="out.json").click()  # the outputs table links to the entity
        text = panel.inner_text()
        digest = model.digests[(str(run_dir.parent.parent / "out.json"), 1)][1]
        assert "out.json" in text and digest in text and "generated by" in text.lower()
        page.page.locator(f'#timeline-view .bar[data-act="{make.act}"]').click()  # the timeline too
        assert "__main__.make" in panel.inner_text() and "started" in panel.inner_text()
        assert page.page.locator("#graph-view g.node.selected").count() == 1
        page.page.locator('[data-zoom="in"]').click()
        page.screenshot("report-toy.png")


def test_a_2000_activity_run_stays_usable(tmp_path):
    run_dir = write_synthetic_run(tmp_path / "store", observations=500)
    done = autoprov("report", "latest", "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = run_dir / "report.html"
    text = report.read_text(encoding="utf-8")
    assert_self_contained(text)
    assert len(text) < 5_000_000 and "Maker.run x 500" in text  # a step of the loop, in the layer that expands it
    with open_report(report, tmp_path / "profile") as page:
        shown = page.page.locator("#graph-view .graph-layer:not([hidden])")
        assert shown.locator("g.node").count() < 20
        assert page.page.locator("#timeline-view .bar").count() == 2000
        shown.locator("g.node", has_text="500 x (EventList.read").click()  # the loop, one node: expand it
        shown.locator('g.node:has(text:text-is("Maker.run x 500"))').click()
        panel = page.page.locator("#panel-body")
        assert "500 calls" in panel.inner_text().lower()
        panel.locator("a", has_text="#3").first.click()  # one call of the collapsed node
        text = panel.inner_text().lower()
        assert "call 3 of 500" in text and re.search(r"index\s+2\b", text)
        page.screenshot("report-2000-activities.png")
