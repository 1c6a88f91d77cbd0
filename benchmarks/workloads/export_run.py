"""Export one stored run to one format with autoprov's exporter; print time and size as JSON.

Run in its own process so the benchmark can read its peak RSS.  Formats: ``json`` (streamed
PROV-JSON), ``provn`` (through prov.model), ``dot`` (the compact graph text, not laid out).
The cyclic garbage collector is paused around load and write, as every export of the product
does (``autoprov.session.postrun``, ``autoprov export``): without that, collections rescanning the
growing heap took a third of the time measured here before.
Exits with status 3 and says so when the exporter is not importable.
"""

import json
import sys
import time
from pathlib import Path

try:
    from autoprov.export import model as export_model
    from autoprov.export.renderers import provjson
    from autoprov.export.renderers.dot import to_dot
    from autoprov.export.outputs import serialize
    from autoprov.export.quiet_gc import paused_gc
except ImportError as error:
    print(json.dumps({"error": f"exporter not available ({error})"}))
    sys.exit(3)


def main(run_dir: Path, fmt: str, out: Path) -> None:
    with paused_gc():
        start = time.perf_counter()
        model = export_model.load(run_dir)
        loaded = time.perf_counter()
        if fmt == "json":
            provjson.write(model, out)
        else:
            text = to_dot(model) if fmt == "dot" else serialize(model, fmt)
            out.write_text(text, encoding="utf-8")
        done = time.perf_counter()
    print(json.dumps({"load_s": loaded - start, "write_s": done - loaded, "total_s": done - start,
                      "activities": len(model.activities), "bytes": out.stat().st_size}))


main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
