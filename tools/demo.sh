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

# The shipped gammapy filter is the default once it exists; until then, select the API calls.
selection=()
if [ ! -f filters/gammapy.yaml ]; then
    selection=(--filter none)
    while read -r pattern; do
        case $pattern in ''|'#'*) ;; *) selection+=(--match "$pattern") ;; esac
    done < examples/gammapy_api.match
fi

echo "== python -m autoprov examples/crab_1d.py --outdir $outdir   (GAMMAPY_DATA=$GAMMAPY_DATA)"
"$python" -m autoprov --store "$store" "${selection[@]}" examples/crab_1d.py --outdir "$outdir"

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
echo "demo: done.  The record of this run is $run_dir"
