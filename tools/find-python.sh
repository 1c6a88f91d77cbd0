#!/usr/bin/env bash
# Print the path of a Python interpreter for version $1 (default 3.12): that exact minor version
# if one is on PATH or in pyenv, else (unless $2 is --exact) the newest one above it.
# Exit 1 with a clear message when there is none.
set -u
want=${1:-3.12}
exact=${2:-}
major=${want%%.*}; minor=${want#*.}
version_of() { "$1" -c "import sys; print('%d.%d' % sys.version_info[:2])" 2>/dev/null; }
candidates=()
for name in "python$want" python3.13 python3.12 python3.11 python3 python; do
    path=$(command -v "$name" 2>/dev/null) && candidates+=("$path")
done
if command -v pyenv >/dev/null 2>&1; then
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -rV); do
        prefix=$(pyenv prefix "$version" 2>/dev/null) && candidates+=("$prefix/bin/python")
    done
fi
best=""; best_version=""
for interp in "${candidates[@]}"; do
    [ -x "$interp" ] || continue
    v=$(version_of "$interp") || continue   # pyenv shims fail for versions not selected
    [ -n "$v" ] || continue
    if [ "$v" = "$want" ]; then
        "$interp" -c "import sys; print(sys.executable)"; exit 0
    fi
    if [ -z "$exact" ] && [ "${v%%.*}" -eq "$major" ] && [ "${v#*.}" -gt "$minor" ]; then
        if [ -z "$best" ] || [ "${v#*.}" -gt "${best_version#*.}" ]; then best=$interp; best_version=$v; fi
    fi
done
if [ -n "$best" ]; then "$best" -c "import sys; print(sys.executable)"; exit 0; fi
echo "error: no Python $want${exact:+ (exactly)}${exact:- or newer} found on PATH or through pyenv; install one (e.g. 'pyenv install $want') or set PYTHON_MIN" >&2
exit 1
