#!/usr/bin/env bash
# The autoprov demo: run the 1D Crab spectral analysis (examples/crab_1d.py) unchanged under
# `python -m autoprov`, then show where its provenance record is and what it holds.
# Usage: bash tools/demo.sh [PYTHON]   (make demo passes the project's venv python)
set -euo pipefail
python=${1:-python3}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export GAMMAPY_DATA=${GAMMAPY_DATA:-$(cd "$root/.." && pwd)/shared/data/gammapy-data}
if [ ! -f "$GAMMAPY_DATA/hess-dl3-dr1/obs-index.fits.gz" ]; then
    echo "demo: no H.E.S.S. DL3-DR1 data under GAMMAPY_DATA=$GAMMAPY_DATA (expected ../shared beside the repository)" >&2
    exit 1
fi
cd "$root"
outdir=demo_out
store=$root/.prov

# The graph image needs Graphviz's `dot`: find it, or install it when we may (root + apt-get).
if ! command -v dot >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "demo: Graphviz 'dot' not found; installing it (apt-get install graphviz)"
        (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || true
    fi
    command -v dot >/dev/null 2>&1 || echo "demo: Graphviz 'dot' is missing: the record gets graph.dot but no graph.svg (install graphviz to draw it)"
fi

# --export sync: every document and the graph are written before the command returns
echo "== python -m autoprov --export sync examples/crab_1d.py --outdir $outdir   (GAMMAPY_DATA=$GAMMAPY_DATA)"
"$python" -m autoprov --store "$store" --export sync --graph svg,png examples/crab_1d.py --outdir "$outdir"

run_dir=$("$python" - "$store" <<'PY'
import sys
from pathlib import Path
from autoprov.store import find_run
print(find_run(Path(sys.argv[1]), "latest"))
PY
)
echo
echo "== the analysis wrote:"
ls -l "$outdir"
echo
echo "== the provenance record: $run_dir"
ls -l "$run_dir"
echo
events=$("$python" -m autoprov events --store "$store" latest)
echo "== a few captured activities (autoprov events latest):"
printf '%s\n' "$events" | grep '^\["act"' | awk 'NR <= 8 { print substr($0, 1, 160) }'
echo
echo "== files the run read and wrote (op, path):"
printf '%s\n' "$events" | grep '^\["file"' | awk -F'"' '!seen[$4 $6]++ && n++ < 12 { print "  " $4, $6 }'
echo
echo "== autoprov show latest"
"$python" -m autoprov show --store "$store" latest
echo

# Runs across time: a three-step chain (reduce -> fit -> plot), then what produced the plot.
chain=demo_chain
for step in reduce fit plot; do
    echo "== python -m autoprov examples/chain/$step.py --outdir $chain"
    "$python" -m autoprov --store "$store" --export sync --quiet examples/chain/$step.py --outdir "$chain"
done
echo
echo "== autoprov list   (the run index, $store/index.sqlite)"
"$python" -m autoprov list --store "$store" | tail -n 4
echo
echo "== autoprov lineage $chain/crab_sed.png   (across the three runs, back to the DL3 files)"
"$python" -m autoprov lineage --store "$store" "$chain/crab_sed.png" > "$chain/lineage.txt"
head -n 24 "$chain/lineage.txt"
echo "   ... (the whole tree: $chain/lineage.txt)"
echo
echo "== the 1D analysis again with 8 energy bins per decade, then autoprov diff (exit status 1: they differ)"
"$python" -m autoprov --store "$store" --export sync --quiet examples/crab_1d.py --outdir "${outdir}_8bins" --energy-bins 8
"$python" -m autoprov diff --store "$store" "$(basename "$run_dir")" latest > "$chain/diff.txt" || true
head -n 30 "$chain/diff.txt"
echo
echo "demo: done.  The record of this run is $run_dir"
for name in provenance.json provenance.provn provenance.xml provenance.ttl environment.json graph.svg graph.png report.html; do
    [ -f "$run_dir/$name" ] && echo "  $run_dir/$name"
done
if [ -f "$run_dir/report.html" ]; then
    echo
    echo "demo: the report, one self-contained HTML file to open or send: $run_dir/report.html"
fi
true
