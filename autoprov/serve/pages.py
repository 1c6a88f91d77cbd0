"""The browser UI: server-rendered HTML with one inline style sheet and one inline script, no CDN.

Pages: the runs (the ``list`` filters as a form), a run (its files, each linked to its lineage; its
HTML report; a diff with another run), a file's lineage both ways (the ProvSAP drawings, fetched by
the page so that a long walk shows a running clock instead of a blank tab), and the diff of two
runs.  Every value shown is escaped; the store is shown as :meth:`StoreLocation.display` shows it
(a password masked).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#24476b;color:#fff;padding:.6em 1.2em}header a{color:#fff;text-decoration:none;margin-right:1.2em}
main{padding:1em 1.4em}table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef2f6}code{font-size:12px}.bad{color:#a00}.note{color:#555}form{margin:.6em 0 1em}
input{margin-right:.6em}.drawing{background:#fff;border:1px solid #ddd;padding:.5em;margin:.5em 0 1.5em;overflow:auto}
.drawing svg{max-width:100%;height:auto}
"""

# Fetch each drawing named by data-src; while it is on its way, show how long it has been going.
SCRIPT = """
for (const box of document.querySelectorAll('[data-src]')) {
  const started = Date.now();
  const clock = setInterval(() => { box.querySelector('.progress').textContent =
      'tracing... ' + ((Date.now() - started) / 1000).toFixed(1) + ' s'; }, 200);
  fetch(box.dataset.src, {credentials: 'same-origin'}).then(async (response) => {
    clearInterval(clock);
    const text = await response.text();
    if (response.ok) { box.innerHTML = text; const bound = response.headers.get('X-ProvSAP-Bound');
      if (bound) box.insertAdjacentHTML('afterbegin', '<p class="bad">cut short at the bound of ' + bound.replace(/[<&]/g, '') + '</p>'); }
    else { box.textContent = text; box.classList.add('bad'); }
  }).catch((error) => { clearInterval(clock); box.textContent = 'failed: ' + error; });
}
"""


def page(title: str, body: str, store: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - autoprov</title>'
            f"<style>{STYLE}</style></head><body><header><a href=\"/\">autoprov runs</a>"
            f"<span class=\"note\" style=\"color:#cfe\">store {escape(store)}</span></header>"
            f"<main><h1>{escape(title)}</h1>{body}</main><script>{SCRIPT}</script></body></html>")


def link(href: str, text: str, /, **query: Any) -> str:
    target = href + ("?" + urlencode({k: v for k, v in query.items() if v not in (None, "")}) if query else "")
    return f'<a href="{escape(target)}">{escape(text)}</a>'


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


def runs_page(runs: list[Any], total: int, filters: dict[str, str], store: str) -> str:
    fields = [("status", "completed,failed"), ("since", "7d"), ("until", "2026-12-01"), ("script", "crab_1d.py"),
              ("param", "NAME=VALUE"), ("used", "/path/of/a/file"), ("generated", "/path/of/a/file")]
    form = "".join(f'<label>{name} <input name="{name}" value="{escape(filters.get(name, ""))}" placeholder="{escape(hint)}" size="14"></label>'
                   for name, hint in fields)
    rows = "".join(
        f"<tr><td>{link('/runs/' + run.run_id, run.run_id)}</td><td class=\"{'bad' if run.status != 'completed' else ''}\">{escape(run.status)}</td>"
        f"<td>{escape(run.program or '')}</td><td>{_when(run.start_time)}</td><td>{run.activities}</td><td>{escape(run.user or '')}@{escape(run.host or '')}</td></tr>"
        for run in runs)
    table = (f"<table><tr><th>run</th><th>status</th><th>program</th><th>started (UTC)</th><th>activities</th><th>where</th></tr>{rows}</table>"
             if runs else '<p class="note">no run matches</p>')
    count = f"{total} run(s)" if total == len(runs) else f'{total} runs: <span class="bad">the newest {len(runs)} shown</span>, filter to see others'
    return page("Runs", f'<form method="get">{form}<button>filter</button></form><p>{count}</p>{table}', store)


def run_page(run: Any, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]], others: list[Any], report: bool, store: str) -> str:
    summary = "".join(f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>" for name, value in (
        ("status", run.status), ("exit code", run.exit_code), ("program", run.program), ("command", run.command),
        ("started (UTC)", _when(run.start_time)), ("duration", f"{run.duration:.2f} s" if run.duration is not None else ""),
        ("activities", run.activities), ("python", run.python), ("platform", run.platform), ("user", run.user),
        ("host", run.host), ("folder", run.folder), ("git commit", run.git_commit or "")))
    links = [link(f"/runs/{run.run_id}/report", "HTML report") if report else '<span class="note">no HTML report on this machine</span>',
             link("/provsap", "ProvSAP (inputs, back)", ID=run.run_id, DEPTH="ALL", RESPONSEFORMAT="PROV-SVG"),
             link("/provsap", "ProvSAP (outputs, forward)", ID=run.run_id, DEPTH="ALL", DIRECTION="FORWARD", RESPONSEFORMAT="PROV-SVG")]
    options = "".join(f'<option value="{escape(other.run_id)}">{escape(other.run_id)} {escape(other.program or "")}</option>'
                      for other in others if other.run_id != run.run_id)
    diff = (f'<form method="get" action="/diff"><input type="hidden" name="a" value="{escape(run.run_id)}">'
            f'compare with <select name="b">{options}</select> <button>diff</button></form>') if options else ""
    body = (f"<p>{' · '.join(links)}</p>{diff}<table>{summary}</table>"
            f"<h2>Inputs</h2>{_files(inputs, 'read no file')}<h2>Outputs</h2>{_files(outputs, 'wrote no file')}")
    return page(f"Run {run.run_id}", body, store)


def _files(files: list[tuple[str, str]], empty: str) -> str:
    if not files:
        return f'<p class="note">{empty}</p>'
    rows = "".join(f"<tr><td>{link('/files', path, digest=digest, path=path)}</td><td><code>{escape(digest)}</code></td></tr>" for path, digest in files)
    return f"<table><tr><th>file</th><th>content</th></tr>{rows}</table>"


def file_page(path: str, digest: str, store: str) -> str:
    def drawing(direction: str, title: str) -> str:
        source = "/provsap?" + urlencode({"ID": digest, "DEPTH": "ALL", "DIRECTION": direction, "RESPONSEFORMAT": "PROV-SVG"})
        return (f"<h2>{escape(title)}</h2><p>{link('/provsap', 'as PROV-JSON', ID=digest, DEPTH='ALL', DIRECTION=direction)} · "
                f"{link('/steps', 'steps as a list', digest=digest, direction=direction, path=path)}</p>"
                f'<div class="drawing" data-src="{escape(source)}"><span class="progress">tracing...</span></div>')
    body = (f"<p><code>{escape(digest)}</code></p>"
            + drawing("BACK", "Lineage: where this content came from")
            + drawing("FORWARD", "Impact: what was made from it"))
    return page(f"File {path}", body, store)


def steps_page(path: str, direction: str, steps: list[Any], store: str) -> str:
    rows = "".join(f"<tr><td>{link('/runs/' + step.run_id, step.run_id)}</td><td>{escape(step.program or '')}</td>"
                   f"<td>{escape('script (outside recorded calls)' if step.name == 'run' else step.name)}</td><td>{_when(step.time)}</td></tr>"
                   for step in steps)
    title = ("Steps that made " if direction == "BACK" else "Steps that used ") + path
    return page(title, f"<table><tr><th>run</th><th>program</th><th>step</th><th>time (UTC)</th></tr>{rows}</table>", store)


def diff_page(result: Any, store: str) -> str:
    a, b = result.a, result.b
    def changes(title: str, items: list[Any]) -> str:
        if not items:
            return ""
        rows = "".join(f"<tr><td>{escape(str(c.name))}</td><td>{escape(str(c.a))}</td><td>{escape(str(c.b))}</td></tr>" for c in items)
        return f"<h2>{escape(title)}</h2><table><tr><th></th><th>A</th><th>B</th></tr>{rows}</table>"

    activity_rows = "".join(f"<tr><td>{escape(item.name)} #{item.occurrence}</td><td>{escape(str(c.name))}</td><td>{escape(str(c.a))}</td><td>{escape(str(c.b))}</td></tr>"
                            for item in result.changed for c in item.changes)
    body = (f"<p>A: {link('/runs/' + a.run_id, a.run_id)} ({escape(a.program or '')}) · B: {link('/runs/' + b.run_id, b.run_id)} ({escape(b.program or '')})</p>"
            + ("<p><b>no differences</b></p>" if result.equal else "")
            + changes("Run", result.run) + changes("Environment", result.environment)
            + (f"<h2>Activities changed</h2><table><tr><th>call</th><th>what</th><th>A</th><th>B</th></tr>{activity_rows}</table>" if activity_rows else "")
            + (f"<p>added in B: {escape(', '.join(f'{n} #{o}' for n, o in result.added))}</p>" if result.added else "")
            + (f"<p>removed in B: {escape(', '.join(f'{n} #{o}' for n, o in result.removed))}</p>" if result.removed else "")
            + changes("Inputs: same path, other content", result.inputs.content) + changes("Outputs: same path, other content", result.outputs.content)
            + changes("Outputs only in A", result.outputs.only_a) + changes("Outputs only in B", result.outputs.only_b))
    return page("Diff", body, store)


def error_page(status: int, message: str, store: str) -> str:
    return page(f"{status}", f'<p class="bad">{escape(message)}</p>', store)
