"""Commands a library starts for itself are recorded, marked ``internal``, and not drawn by default.

The rule (``autoprov/children/internal.py``, docs/record.md): the frame that started the command,
past the standard library and autoprov, is code of an installed package.  matplotlib's ``fc-list``
(its font cache, built on first import with an empty ``MPLCONFIGDIR``) is internal; the program's own
``subprocess.run(["true"])`` is not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SCRIPTS, environment

SCRIPT = SCRIPTS / "font_cache_and_own_command.py"


def test_library_commands_are_marked_and_left_out_of_graph_summary_and_report(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "autoprov", "--store", ".prov", "--filter", "none", "--match", "__main__:*",
                           "--export", "sync", "--format", "json,html", str(SCRIPT)], cwd=tmp_path, capture_output=True, text=True,
                          env=environment({"MPLCONFIGDIR": str(tmp_path / "matplotlib")}), timeout=300)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in (tmp_path / ".prov").iterdir() if (p / "events.jsonl").exists()]
    commands = [event[7] for line in (run_dir / "events.jsonl").read_text().splitlines() for event in json.loads(line)
                if event[0] == "act" and event[3] == "command"]
    internal = [params for params in commands if params.get("internal")]
    own = [params for params in commands if not params.get("internal")]
    assert internal and {params["argv"][0] for params in internal} == {"fc-list"}
    assert {params["internal"] for params in internal} == {"matplotlib"}
    assert [params["argv"] for params in own] == [["true"]]
    graph, report = (run_dir / "graph.dot").read_text(), (run_dir / "report.html").read_text()
    assert "fc-list" not in graph and "fc-list" not in report
    assert 'label="command\\nargv=[\\"true\\"]' in graph  # the program's own command is drawn
    assert done.stderr.strip().splitlines()[-1].split(": ", 2)[2].startswith(f"1 activities (+{len(internal)} library-internal, not drawn")
    for command, output in (("graph", "all.dot"), ("report", "all.html")):
        shown = subprocess.run([sys.executable, "-m", "autoprov", command, "--store", ".prov", run_dir.name, "--all", "-o", output],
                               cwd=tmp_path, capture_output=True, text=True, env=environment(), timeout=300)
        assert shown.returncode == 0, shown.stderr
        assert "fc-list" in (tmp_path / output).read_text()
