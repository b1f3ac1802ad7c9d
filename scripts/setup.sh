#!/usr/bin/env bash
# Idempotent set-up: system packages, the virtualenv, codehelm with the embedded model.
# Fast when nothing changed: a stamp records the hash of what was installed.
# llama-cpp-python compiles from source (~5 min on 2 cores) once; pip's wheel cache
# (~/.cache/pip) keeps the wheel, so a fresh virtualenv reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
stamp="$VENV/.codehelm-setup"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/codehelm" ]; then
    exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: codehelm needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 2
fi

# bubblewrap isolates the local sandbox.
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing bubblewrap" >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
    else
        echo "setup: warning: bubblewrap is missing; install it (apt-get install bubblewrap)" >&2
    fi
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip wheel 2> >(grep -v "^WARNING: Location" >&2)

# A native llama.cpp build crashes on some CPUs ("Illegal instruction"): target a portable AVX2 set.
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
echo "setup: installing codehelm and its dependencies into $VENV (first time: ~6 min)" >&2
"$VENV/bin/python" -m pip install -q -e ".[local,ray,eval,bench,dev]" 2> >(grep -v "^WARNING: Location" >&2)

echo "$want" > "$stamp"
echo "setup: done" >&2
