"""``autoprov report RUN [-o report.html]``: the self-contained HTML report of a run, from its log."""

from __future__ import annotations

from pathlib import Path

from ..store import RunFolder, atomic_write
from .options import run_folder, store_parser


def report_command(argv: list[str]) -> int:
    """Write the report (default: ``report.html`` in the run folder) and print where it is."""
    parser = store_parser("autoprov report", run=True, description="Write one self-contained HTML file that shows a run.")
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="where to write it (default: report.html in the run folder)")
    parser.add_argument("--all", action="store_true", help="every activity: also the property reads (dataset.models) and the commands libraries start for themselves (matplotlib's fc-list...), and loops call by call instead of one 'N x (...)' node each")
    options = parser.parse_args(argv)
    run_dir = run_folder(options)
    from ..export import load
    from ..export.quiet_gc import paused_gc
    from ..export.renderers.report import render

    with paused_gc():
        text = render(load(run_dir), complete=options.all)
    output = Path(options.output) if options.output else RunFolder(run_dir).report
    atomic_write(output, text)
    print(output)
    return 0
