#!/usr/bin/env bash
# Builds the Python formatter (app.py) into a WASI component with componentize-py, against
# hookgate's WIT (world `formatter` of the newest version, hookgate:plugin@0.2.0; the frozen
# versions in wit/deps/ are read too and left unused).
#
#   examples/python-formatter/build.sh OUT.wasm [VENV_DIR]
#
# componentize-py comes from PyPI into a virtual environment (VENV_DIR, default .venv beside
# this script), once. Exit status 3 means the tool could not be installed (no python3 venv, no
# PyPI); any other failure is a build error. The component is rebuilt only when app.py, this
# script or the WIT files are newer than OUT.wasm.
set -euo pipefail

# 0.17.2 emits components that wasmtime 48 (hookgate's runtime) instantiates with WASI 0.2.
COMPONENTIZE_PY_VERSION=0.17.2

here="$(cd "$(dirname "$0")" && pwd)"
wit="$here/../../wit"
out="${1:?usage: build.sh OUT.wasm [VENV_DIR]}"
venv="${2:-$here/.venv}"

up_to_date=true
for input in "$here/app.py" "$here/build.sh" "$wit"/*.wit "$wit"/deps/*/*.wit; do
    [ "$out" -nt "$input" ] || up_to_date=false
done
if $up_to_date; then
    echo "$out is up to date"
    exit 0
fi

tool="$venv/bin/componentize-py"
if ! "$tool" --version 2>/dev/null | grep -qx "componentize-py $COMPONENTIZE_PY_VERSION"; then
    echo "installing componentize-py $COMPONENTIZE_PY_VERSION into $venv" >&2
    python3 -m venv "$venv" >&2 || exit 3
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "componentize-py==$COMPONENTIZE_PY_VERSION" >&2 || exit 3
fi

mkdir -p "$(dirname "$out")"
"$tool" -d "$wit" -w formatter componentize -p "$here" app -o "$out.partial" >&2
mv "$out.partial" "$out"
echo "built $out"
