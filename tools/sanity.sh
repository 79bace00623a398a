#!/usr/bin/env bash
# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Run `ansible-test sanity` (or, as tools/units.sh, `ansible-test units`) on this checkout.
#
# Usage: tools/sanity.sh [SANITY-TEST-NAME...] [-- EXTRA ansible-test OPTIONS...]
#        tools/units.sh  [TEST-PATH...]        [-- EXTRA ansible-test OPTIONS...]
#   tools/sanity.sh                      all sanity tests
#   tools/sanity.sh validate-modules pep8
#   tools/sanity.sh -- -v
#   tools/units.sh tests/unit/plugins/module_utils/
#
# ansible-test needs the collection to physically live under
# .../ansible_collections/secretsops/aws/ (it reads the physical working directory, so the
# .collections symlink is not enough). This script copies the tracked files plus untracked
# but not ignored ones (work in progress included, ignored files such as .venv excluded)
# into build/ansible_collections/secretsops/aws/, makes the dependency collections
# (amazon.aws, community.aws from the PyPI `ansible` package) visible next to it, and runs
# ansible-test there.
#
# ansible-test bootstraps pip in its per-test virtualenvs from a get-pip script it downloads
# from a host that is not always reachable. When that script is not cached, a small
# stand-in is written to ~/.ansible/test/cache/get_pip_<ver>.py: it runs ensurepip in a
# subprocess and then `pip install` with the requested packages (from the package index
# pip is configured for).
set -euo pipefail

MODE="${ANSIBLE_TEST_COMMAND:-sanity}"   # tools/units.sh sets it to `units`
case "$MODE" in
    sanity|units) ;;
    *) echo "error: ANSIBLE_TEST_COMMAND must be sanity or units, not '$MODE'" >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

PY_VERSION="${ANSIBLE_TEST_PYTHON:-3.11}"
# How ansible-test provides the test environment: --local (this venv; default) or e.g.
# "--venv --requirements" (a fresh virtualenv with ansible-test's pinned requirements).
read -r -a ENV_OPTS <<< "${ANSIBLE_TEST_ENV:---local}"
VENV_BIN="${VENV_BIN:-$ROOT/.venv/bin}"
if [[ ! -x "$VENV_BIN/ansible-test" ]]; then
    echo "error: $VENV_BIN/ansible-test not found; run 'make setup' first" >&2
    exit 2
fi
PYTHON="$VENV_BIN/python"

# Split arguments: test names before `--`, raw ansible-test options after it.
TESTS=()
EXTRA=()
while (($#)); do
    if [[ "$1" == "--" ]]; then
        shift
        EXTRA=("$@")
        break
    fi
    TESTS+=("$1")
    shift
done

# --- get-pip stand-in -------------------------------------------------------------------
# The pip version ansible-test bootstraps (get_venv_packages() in python_requirements.py).
PIP_VERSION="$("$PYTHON" - <<'EOF'
import pathlib, re, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
m = re.search(r"pip='([0-9.]+)'", src.read_text())
print(m.group(1) if m else "24.2")
EOF
)"
CACHE_DIR="$HOME/.ansible/test/cache"
GET_PIP="$CACHE_DIR/get_pip_${PIP_VERSION//./_}.py"
if [[ ! -s "$GET_PIP" ]]; then
    mkdir -p "$CACHE_DIR"
    cat > "$GET_PIP.tmp" <<'EOF'
"""Offline stand-in for get-pip.py, written by secretsops.aws tools/sanity.sh.

ansible-test runs this as `python get_pip_X.py [pip options] pip==X --no-setuptools --no-wheel`
inside a fresh virtualenv. Bootstrap the bundled pip with ensurepip in a *subprocess* (run
in-process, ensurepip sets PIP_CONFIG_FILE=/dev/null, which would hide the machine's pip
configuration from the install below), then install the requested packages with it.
"""
import subprocess
import sys


def main():
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    if any(not a.startswith("-") for a in args):
        subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
EOF
    mv "$GET_PIP.tmp" "$GET_PIP"
    echo "wrote get-pip stand-in: $GET_PIP"
fi

# --- collection tree --------------------------------------------------------------------
BUILD_ROOT="$ROOT/build"
DEST="$BUILD_ROOT/ansible_collections/secretsops/aws"
# One run at a time per checkout: each run replaces the copy (and ansible-test keeps its
# virtualenvs and results inside it), so a concurrent run would pull the tree from under this one.
mkdir -p "$BUILD_ROOT"
if command -v flock >/dev/null; then
    exec 9>"$BUILD_ROOT/.ansible-test.lock"
    if ! flock -n 9; then
        echo "waiting for another tools/sanity.sh or tools/units.sh run in this checkout..." >&2
        flock 9
    fi
fi
rm -rf "$DEST"
mkdir -p "$DEST"
# Tracked + untracked-not-ignored files that exist (a deleted tracked file is skipped).
git ls-files -z --cached --others --exclude-standard \
    | "$PYTHON" -c '
import os, sys
names = [n for n in sys.stdin.buffer.read().split(b"\0") if n]
seen = set()
for n in names:
    if n not in seen and (os.path.isfile(n) or os.path.islink(n)):
        seen.add(n)
        sys.stdout.buffer.write(n + b"\0")
' \
    | tar --null --files-from=- -cf - \
    | tar -xf - -C "$DEST"
# Make the copy its own git work tree: ansible-test walks up to the nearest .git to list the
# collection's files, and this checkout's .gitignore ignores build/ (it would see no files).
git -C "$DEST" init --quiet

# Dependency collections next to ours, from the venv (`ansible` PyPI package) unless the
# user already put them somewhere on ANSIBLE_COLLECTIONS_PATH-style layout under build/.
SITE_COLLECTIONS="$("$PYTHON" -c 'import ansible_collections, os; print(os.path.dirname(ansible_collections.__file__) if getattr(ansible_collections, "__file__", None) else list(ansible_collections.__path__)[0])' 2>/dev/null || true)"
for dep in amazon/aws community/aws; do
    target="$BUILD_ROOT/ansible_collections/$dep"
    if [[ -n "$SITE_COLLECTIONS" && -d "$SITE_COLLECTIONS/$dep" && ! -e "$target" ]]; then
        mkdir -p "$(dirname "$target")"
        ln -s "$SITE_COLLECTIONS/$dep" "$target"
    fi
done

if [[ "$MODE" == units && ! -f "$DEST/tests/unit/requirements.txt" ]]; then
    # ansible-test --requirements installs this into its virtualenv (copy only, not the checkout).
    mkdir -p "$DEST/tests/unit"
    printf '%s\n' 'boto3>=1.34' 'botocore>=1.34' 'moto[server]>=5.1,<6' > "$DEST/tests/unit/requirements.txt"
fi

# --- run ------------------------------------------------------------------------------------
cd "$DEST"
export PATH="$VENV_BIN:$PATH"
start=$SECONDS
set +e
if [[ "$MODE" == sanity ]]; then
    SANITY_TESTS=()
    for name in ${TESTS[@]+"${TESTS[@]}"}; do SANITY_TESTS+=(--test "$name"); done
    ansible-test sanity "${ENV_OPTS[@]}" --python "$PY_VERSION" --color no "${EXTRA[@]}" ${SANITY_TESTS[@]+"${SANITY_TESTS[@]}"}
else
    ansible-test units "${ENV_OPTS[@]}" --python "$PY_VERSION" --color no "${EXTRA[@]}" ${TESTS[@]+"${TESTS[@]}"}
fi
rc=$?
set -e
echo "ansible-test $MODE finished in $((SECONDS - start))s (exit $rc)"
exit "$rc"
