"""The HTML report: one self-contained file that shows what a run did, to send to a colleague.

``report.html`` holds everything inline: the style sheet, the script, the graph as SVG (laid out
by Graphviz from the run's DOT, :mod:`.dot` and :mod:`.render`) and the run's data as JSON.  It
loads nothing and links nowhere, so it works from an e-mail attachment on a machine without
network; no URL appears in it literally (a test checks): the record's own values that contain one
(a filter's documentation link, say) are written with ``/`` escaped, and display unchanged.
The summary, the tables of inputs and outputs and the environment are plain HTML, readable with
scripts disabled; the script adds zoom and pan, the timeline, and the side panel that shows an
activity's parameters, roles, digests and times when it or a file is clicked.

Large runs stay usable because the graph draws each loop as one group node and collapses
repeated calls as ``graph.dot`` does (:mod:`..grouping`), and the timeline draws one row per step
of a loop, not per call.  The graph comes in *layers*, each laid out by Graphviz: the products and
their lineage (:mod:`..product_lineage`, shown first: files and steps, the Python objects
handed between steps drawn as edges named by their type), the call tree, and for each loop (up to
:data:`MAX_EXPANDED`) the same view with that loop expanded, which a click on its node shows.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from importlib.resources import files
from os.path import basename
from typing import Any

from ...version import __version__
from .dot import Drawing
from .dot import drawing as dot_drawing
from .dot import short_name
from ..grouping import find_groups
from ..model import RunModel
from ..product_lineage import file_lineage
from ..names import utc
from ..products import FileVersion, program
from .images import RenderError
from .images import render as draw
from .report_data import Layer, ReportView
from ..statements import printable

ASSETS = "report_assets"
MAX_EXPANDED = 12  # loops per view drawn expanded (each is one more Graphviz layout in the file)
SOFTWARE = ("gammapy", "numpy", "scipy", "astropy", "regions", "iminuit", "matplotlib", "autoprov")
_XML_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')


def _asset(name: str) -> str:
    return files(__package__).joinpath(ASSETS, name).read_text(encoding="utf-8")


def _text(value: Any) -> str:
    """Escaped HTML text in which no URL appears literally (``://`` written as ``:&#47;&#47;``); a
    file name that is not UTF-8 is written as the other documents write it (``caf\\xe9.txt``)."""
    return html.escape(printable(str(value))).replace("://", ":&#47;&#47;")


def _printable_data(value: Any) -> Any:
    """The view with every string as UTF-8 can hold it (file names may hold undecodable bytes)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(key) if isinstance(key, str) else key: _printable_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_printable_data(item) for item in value]
    return value


def _json_for_script(data: Any) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>``, ``&`` and no literal ``/`` (so no URL, no ``</script>``)."""
    text = json.dumps(_printable_data(data), ensure_ascii=False, separators=(",", ":"), default=repr)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("/", "\\/")


def inline_svg(svg: str) -> str:
    """Graphviz's SVG document as an element of the HTML page: no XML prolog, DOCTYPE or
    namespace declarations (the HTML parser supplies them), no URL."""
    svg = _XML_PROLOG.sub("", svg, count=1)
    svg = _XMLNS.sub("", svg.split(">", 1)[0], count=0) + ">" + svg.split(">", 1)[1]
    return svg.replace("://", ":&#47;&#47;")


def _size(value: int | None) -> str:
    if value is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def _seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s" if value < 120 else f"{value / 60:.1f} min"


def _row(label: str, value: str) -> str:
    return f"<tr><th>{_text(label)}</th><td>{value}</td></tr>"


def _summary(model: RunModel) -> str:
    info, environment, exit_info = model.info, model.environment or {}, model.exit_info
    python = environment.get("python") or {}
    platform = environment.get("platform") or {}
    git = environment.get("git") or {}
    packages = environment.get("packages") or {}
    command = shlex.join(str(arg) for arg in (environment.get("argv") or [info.get("program", "")] + list(info.get("program_args") or [])))
    status = f'<span class="badge status-{_text(model.status)}">{_text(model.status)}</span>'
    if model.exit_code is not None:
        status += f" exit status {_text(model.exit_code)}"
    rows = [
        _row("command", f"<code>python {_text(command)}</code>"),
        _row("status", status),
        _row("started", _text(utc(model.start).isoformat(timespec="seconds")) if model.start else "?"),
        _row("duration", _text(_seconds(exit_info.get("duration"))) + (f" (CPU {_text(_seconds(exit_info.get('cpu_time')))})" if exit_info.get("cpu_time") is not None else "")),
        _row("peak memory", _text(_size(exit_info.get("peak_rss")))),
        _row("who", _text(f"{environment.get('user', '?')}@{environment.get('hostname', '?')}")),
        _row("where", f"<code>{_text(environment.get('cwd') or info.get('cwd', '?'))}</code>"),
        _row("machine", _text(" ".join(str(platform.get(key, "")) for key in ("system", "release", "machine")).strip() + (f", {platform['n_cpus']} CPUs" if platform.get("n_cpus") else ""))),
        _row("python", _text(f"{python.get('implementation', 'Python')} {python.get('version', info.get('python', '?'))}") + (f" <code>{_text(python['executable'])}</code>" if python.get("executable") else "")),
        _row("software", ", ".join(f"{_text(name)} {_text(packages[name])}" for name in SOFTWARE if name in packages) or _text(f"autoprov {info.get('autoprov_version', __version__)}")),
        _row("capture", _text(f"{info.get('engine', '?')} engine, filters {', '.join(info.get('filters') or []) or 'none'}, digests {info.get('hash_algorithm', '?')}")),
        _row("recorded", _text(f"{len(model.activities)} activities" + (f" (+{len(model.left_out)} property reads and library-internal commands, not shown: autoprov report --all)" if model.left_out else "") + f", {model.entity_count} entities")),
    ]
    script = program(model)
    if script is not None:
        rows.insert(1, _row("program", f"<code>{_text(script.path)}</code> <span class=\"digest\">{_text(script.algorithm or '')} {_text(script.digest or '')}</span>"))
    if git.get("commit"):
        dirty = ' <span class="badge status-failed">dirty</span>' if git.get("dirty") else ""
        rows.append(_row("git", f"<code>{_text(git['commit'][:12])}</code> {_text(git.get('branch') or '')}{dirty} <code>{_text(git.get('root', ''))}</code>"))
    if model.errors:
        rows.append(_row("capture errors", "<br>".join(_text(error) for error in model.errors)))
    return '<table class="facts">' + "".join(rows) + "</table>"


def _files_table(title: str, who: str, items: list[FileVersion], index: dict, model: RunModel, empty: str) -> str:
    if not items:
        return f"<h3>{_text(title)}</h3><p class=\"muted\">{_text(empty)}</p>"
    rows = []
    for item in items:
        entity = index[item.key]
        acts = [model.activities[act] for act in item.activities if act is not None and act in model.activities]
        by = ", ".join(f'<a class="ref" href="#act-{a.act}">{_text(short_name(a.name))}</a>' for a in acts[:3])
        if None in item.activities:
            by = (by + ", " if by else "") + '<a class="ref" href="#session">the script</a>'
        if len(acts) > 3:
            by += f" (+{len(acts) - 3})"
        rows.append(
            f'<tr><td><a class="ref" href="#ent-{entity}" title="{_text(item.path)}">{_text(basename(item.path) or item.path)}</a>'
            f'<div class="path">{_text(item.path)}</div></td>'
            f"<td>{_text(', '.join(item.roles))}</td><td>{by}</td><td class=\"num\">{_text(_size(item.size))}</td>"
            f'<td><span class="digest" title="{_text(item.algorithm or "")}">{_text(item.digest or "not hashed")}</span></td></tr>'
        )
    head = f"<tr><th>file</th><th>role</th><th>{who}</th><th>size</th><th>digest</th></tr>"
    return f'<h3>{_text(title)} <span class="count">{len(items)}</span></h3><table class="files"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _environment(model: RunModel) -> str:
    environment = model.environment
    if not environment:
        return '<p class="muted">Not recorded: the run did not stop normally.</p>'
    parts = []
    for section in ("platform", "python", "git"):
        values = environment.get(section)
        if isinstance(values, dict) and values:
            rows = "".join(_row(key, _text(json.dumps(value) if isinstance(value, (dict, list)) else value)) for key, value in values.items())
            parts.append(f'<div class="card"><h3>{_text(section)}</h3><table class="facts">{rows}</table></div>')
    variables = environment.get("environment_variables") or {}
    if variables:
        rows = "".join(_row(key, f"<code>{_text(value)}</code>") for key, value in variables.items())
        parts.append(f'<div class="card wide"><h3>environment variables</h3><table class="facts">{rows}</table></div>')
    packages = environment.get("packages") or {}
    if packages:
        rows = "".join(f"<tr><td>{_text(name)}</td><td>{_text(version)}</td></tr>" for name, version in sorted(packages.items()))
        parts.append(
            f'<div class="card wide"><h3>packages <span class="count">{len(packages)}</span></h3>'
            f'<input type="search" class="filter" data-filter="packages" placeholder="filter packages">'
            f'<div class="scroll"><table class="files" id="packages"><thead><tr><th>distribution</th><th>version</th></tr></thead><tbody>{rows}</tbody></table></div></div>'
        )
    return '<div class="cards">' + "".join(parts) + "</div>"


def _svg(drawing: Drawing) -> str:
    """The drawing as inline SVG, or a note why there is none."""
    try:
        return inline_svg(draw(drawing.text, "svg").decode("utf-8"))
    except RenderError as error:
        return f'<p class="muted">No graph drawn: {_text(error)}. The timeline and tables below still show the run.</p>'


def _layers(model: RunModel, grouped: bool) -> list[Layer]:
    """The graph's layers: per view (products, then calls) the drawing with every loop collapsed,
    then one per loop with that loop expanded."""
    layers = []
    lineage = file_lineage(model)  # files and steps, the objects they handed on drawn as edges
    views = [("products", *lineage) if lineage else ("products", None, []), ("calls", model, [])]
    for view, part, passes in views:
        if part is None:
            continue
        groups = find_groups(part) if grouped else []
        # names only in the boxes, so the graph stays legible at "fit": the panel and the tooltip give the parameters
        base = dot_drawing(part, complete=True, groups=groups, prefix=view[0], label_params=0, passes=passes,
                           chained=not passes)  # render() left out what is to be left out
        layers.append(Layer(view[0], view, base, None))
        for number, (node, (group, _)) in enumerate(list(base.groups.items())[:MAX_EXPANDED]):
            index = groups.index(group)
            expanded = dot_drawing(part, complete=True, groups=groups, expanded=frozenset({index}), prefix=f"{view[0]}{number}x",
                                   label_params=0, passes=passes, chained=not passes)
            layers.append(Layer(f"{view[0]}{number}x", view, expanded, node))
    return layers


def _graph_html(layers: list[Layer]) -> str:
    return "".join(
        f'<div class="graph-layer" data-layer="{layer.id}" data-view="{layer.view}"{" hidden" if index else ""}>{_svg(layer.drawing)}</div>'
        for index, layer in enumerate(layers)
    )


def render(model: RunModel, complete: bool = False) -> str:
    """The report of ``model`` as one HTML document (``complete``: with the property reads and
    library-internal commands, which are otherwise left out: :mod:`.clutter`)."""
    if not complete:
        from ..clutter import quiet

        model = quiet(model)
    layers = _layers(model, grouped=not complete)
    groups = find_groups(model) if not complete else []
    # the timeline's rows: one per node of the call tree with every loop expanded (never laid out)
    timeline = dot_drawing(model, complete=True, groups=groups, expanded=frozenset(range(len(groups))), prefix="t")
    view = ReportView(model, timeline, layers)
    data = view.build()
    program_name = basename(str(model.info.get("program") or "session"))
    files_html = (
        _files_table("Inputs (files as found before the run)", "read by", view.inputs, view.index, model, "The run read no file it found before it started.")
        + _files_table("Outputs (files as the run left them)", "written by", view.outputs, view.index, model, "The run left no file behind.")
    )
    values = {
        "TITLE": _text(f"run of {program_name}"),
        "RUN_ID": _text(model.run_id),
        "STATUS": _text(model.status),
        "CSS": _asset("report.css"),
        "SUMMARY": _summary(model),
        "GRAPH": _graph_html(layers),
        "VIEWS": "" if len({layer.view for layer in layers}) < 2 else (
            '<span class="views" role="group" aria-label="graph view">'
            '<button type="button" data-view="products" title="the files the run left and what they were made from">products</button>'
            '<button type="button" data-view="calls" title="every recorded call, loops as one node each">call tree</button></span>'),
        "FILES": files_html,
        "ENVIRONMENT": _environment(model),
        "DATA": _json_for_script(data),
        "SCRIPT": _asset("report.js"),
        "VERSION": _text(model.info.get("autoprov_version", __version__)),
    }
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda match: values[match.group(1)], _asset("report.html"))
