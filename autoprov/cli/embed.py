"""``autoprov embed RUN``: provenance into the FITS files a run wrote, after the fact.

The same as ``--embed fits`` during the run (:mod:`autoprov.export.fits_embed`): keywords in every
HDU, a ``PROVENANCE`` table, and the embedded versions recorded in the run's log; then the run's
documents that exist are written again, so that they hold the new versions.
"""

from __future__ import annotations

import os
import sys

from .options import run_folder, store_parser


def embed_command(argv: list[str]) -> int:
    """Embed, print one line per FITS output; status 1 when a file could not be embedded."""
    parser = store_parser("autoprov embed", run=True, description="Embed a run's provenance in the FITS files it wrote.")
    options = parser.parse_args(argv)
    run_dir = run_folder(options)
    from ..export import FORMATS, GRAPH_FORMATS, load, write_run
    from ..export.fits_embed import embed_run
    from ..export.renderers import RENDERERS
    from ..store import RunFolder

    results = embed_run(run_dir)
    if not results:
        print(f"autoprov: {run_dir.name}: the run wrote no FITS file", file=sys.stderr)
        return 0
    width = max(len(_shown(result.path)) for result in results)
    for result in results:
        print(f"{'embedded' if result.done else 'left':<9} {_shown(result.path):<{width}}  {result.how}")
    if any(result.done for result in results):
        folder = RunFolder(run_dir)
        formats = tuple(fmt for fmt in FORMATS if RENDERERS[fmt].target(folder).exists())
        graphs = tuple(fmt for fmt in GRAPH_FORMATS if folder.graph(fmt).exists())
        written = write_run(run_dir, load(run_dir), formats or ("json",), graphs)
        for note in written.notes:
            print(f"autoprov: {run_dir.name}: note: {note}", file=sys.stderr)
    return 0 if all(result.done or result.how == "already embedded" for result in results) else 1


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
