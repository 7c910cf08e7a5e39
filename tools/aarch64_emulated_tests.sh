#!/usr/bin/env bash
# Builds mlpfast for Linux aarch64 and runs a subset of its tests there under
# user-mode emulation (qemu-aarch64 through proot), on an x86-64 Linux host.
#
# Not part of CI: on a fresh machine the root file system alone takes about
# ten minutes and the aarch64 packages three before the tests start, and the
# tests run about 30x slower than natively. It is run by hand; the README
# quotes its last output with the date.
#
#   sudo apt-get install qemu-user proot debootstrap gcc-aarch64-linux-gnu
#   bash tools/aarch64_emulated_tests.sh            # everything below, in order
#   bash tools/aarch64_emulated_tests.sh root       # one step only: root, packages, build, test
#
# Steps:
#   root      a Debian bookworm arm64 root file system (debootstrap --foreign,
#             second stage under emulation: ~10 min on 2 cores). Cached: kept
#             between runs and only made once.
#   packages  aarch64 wheels of the runtime and test dependencies, downloaded on
#             the host (pip inside the emulated system cannot verify the package
#             index's certificate here), installed into a venv in the root.
#             Cached likewise.
#   build     the extension cross-compiled on the host with aarch64-linux-gnu-gcc
#             against the root's Python headers and its aarch64 numpy headers
#             (compiling under emulation would be many times slower); Cython
#             runs on the host, since the C it writes does not depend on the
#             target. Always redone, from a copy of the working tree.
#   test      the chosen tests (MLPFAST_AARCH64_TESTS, default below) run by the
#             root's aarch64 Python against that build.
#
# Environment:
#   MLPFAST_AARCH64_CACHE   where the root (wheels and venv inside it), the host's build
#                           venv and the build tree are kept (default /var/cache/mlpfast-aarch64)
#   MLPFAST_AARCH64_MIRROR  Debian mirror (default: the first deb.debian.org-style URI apt uses)
#   MLPFAST_AARCH64_TESTS   pytest arguments (default: kernel, parity and property tests)
set -euo pipefail

START_SECONDS=$SECONDS
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CACHE="${MLPFAST_AARCH64_CACHE:-/var/cache/mlpfast-aarch64}"
ROOT="$CACHE/root"
SUITE=bookworm
# The root's Python (bookworm ships 3.11); the host builds for this version.
TARGET_PY=3.11
# Inside the root: the venv with the dependencies, and where the build goes.
VENV_IN_ROOT=/opt/mlpfast-venv
SRC_IN_ROOT=/opt/mlpfast-src

step() {
    printf '\n==== [%5ds] %s ====\n' "$((SECONDS - START_SECONDS))" "$*"
}

die() {
    printf 'aarch64_emulated_tests: %s\n' "$*" >&2
    exit 1
}

# Runs a command inside the root under emulation, in the folder IN_ROOT_CWD
# (default /). -0 (fake root) lets apt, dpkg and pip believe they own the
# files. The host's environment stays out: its PIP_* settings name host
# paths.
in_root() {
    proot -0 -q qemu-aarch64 -r "$ROOT" -b /proc -b /dev -b /sys -w "${IN_ROOT_CWD:-/}" \
        /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 "$@"
}

default_mirror() {
    # The Debian mirror apt already uses on this host (deb822 or one-line form).
    local uri
    # Only "URIs:" and "deb" lines: comments may name mirrors that are not reachable.
    uri="$(grep -hE '^[[:space:]]*(URIs:|deb[[:space:]])' /etc/apt/sources.list.d/*.sources \
        /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^ ]*/debian/?' \
        | head -n 1 || true)"
    echo "${uri:-http://deb.debian.org/debian}"
}

make_root() {
    if [[ -f "$ROOT/.mlpfast-root-ready" ]]; then
        echo "cached: $ROOT"
        return
    fi
    for tool in debootstrap proot qemu-aarch64; do
        command -v "$tool" >/dev/null || die "$tool not found (apt-get install qemu-user proot debootstrap)"
    done
    local mirror="${MLPFAST_AARCH64_MIRROR:-$(default_mirror)}"
    echo "mirror: $mirror"
    # A half-made root from an interrupted run is not resumable: start over.
    rm -rf "$ROOT"
    mkdir -p "$CACHE"
    # libpython3.11-dev: the headers the host compiles the extension against.
    debootstrap --foreign --arch=arm64 --variant=minbase \
        --include=python3,python3-venv,python3-pip,libpython${TARGET_PY}-dev \
        "$SUITE" "$ROOT" "$mirror"
    # No /usr/bin/env in the root yet: proot directly.
    DEBOOTSTRAP_DIR=/debootstrap proot -0 -q qemu-aarch64 -r "$ROOT" -b /proc -b /dev -b /sys -w / \
        /debootstrap/debootstrap --second-stage
    touch "$ROOT/.mlpfast-root-ready"
}

# Requirements read from pyproject.toml, so that this script follows it:
# "runtime" (the dependencies and the test-core extra), "build" (the build
# requirements).
requirements() {
    python3 - "$REPO_ROOT/pyproject.toml" "$1" <<'PY'
import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)
if sys.argv[2] == "build":
    print("\n".join(project["build-system"]["requires"]))
else:
    print("\n".join(project["project"]["dependencies"]
                    + project["project"]["optional-dependencies"]["test-core"]))
PY
}

install_packages() {
    local stamp="$ROOT/opt/.mlpfast-packages" wanted
    wanted="$(requirements runtime)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        echo "cached: $VENV_IN_ROOT in the root"
        return
    fi
    local wheels="$ROOT/opt/mlpfast-wheels"
    rm -rf "$wheels" "$ROOT$VENV_IN_ROOT"
    mkdir -p "$wheels"
    local -a reqs
    mapfile -t reqs <<<"$wanted"
    # Binary wheels only, for the root's Python and glibc (bookworm: 2.36).
    python3 -m pip download --quiet --only-binary=:all: --python-version "$TARGET_PY" \
        --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
        --platform manylinux2014_aarch64 --dest "$wheels" "${reqs[@]}"
    in_root "/usr/bin/python$TARGET_PY" -m venv "$VENV_IN_ROOT"
    in_root "$VENV_IN_ROOT/bin/python" -m pip install --quiet --no-index \
        --find-links /opt/mlpfast-wheels "${reqs[@]}"
    echo "$wanted" > "$stamp"
}

# A host virtual environment with the build requirements (Cython writes the C
# on the host; numpy and scipy there only feed setup.py and Cython's cimports).
host_build_env() {
    local venv="$CACHE/host-build-venv" wanted
    wanted="$(requirements build)"
    if [[ ! -f "$venv/.mlpfast-build-reqs" || "$(cat "$venv/.mlpfast-build-reqs")" != "$wanted" ]]; then
        rm -rf "$venv"
        python3 -m venv "$venv"
        local -a reqs
        mapfile -t reqs <<<"$wanted"
        "$venv/bin/python" -m pip install --quiet "${reqs[@]}" wheel
        echo "$wanted" > "$venv/.mlpfast-build-reqs"
    fi
    echo "$venv"
}

cross_build() {
    command -v aarch64-linux-gnu-gcc >/dev/null \
        || die "aarch64-linux-gnu-gcc not found (apt-get install gcc-aarch64-linux-gnu)"
    local venv tree numpy_include
    venv="$(host_build_env)"
    tree="$CACHE/build-tree"
    rm -rf "$tree"
    mkdir -p "$tree"
    # The working tree as it is (uncommitted edits included), without the
    # host's build products.
    if git -C "$REPO_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$REPO_ROOT" ls-files -z --cached --others --exclude-standard \
            | (cd "$REPO_ROOT" && xargs -0 cp --parents -t "$tree" 2>/dev/null || true)
    else
        cp -r "$REPO_ROOT/." "$tree"
        rm -rf "$tree/build" "$tree"/mlpfast/*.so
    fi
    [[ -f "$tree/setup.py" ]] || die "copying the working tree to $tree failed"
    numpy_include="$(echo "$ROOT$VENV_IN_ROOT"/lib/python$TARGET_PY/site-packages/numpy/_core/include)"
    [[ -f "$numpy_include/numpy/arrayobject.h" ]] || die "no aarch64 numpy headers in the root (run the packages step)"
    [[ -f "$ROOT/usr/include/python$TARGET_PY/Python.h" ]] || die "no Python headers in the root"
    # -I in CFLAGS comes before the host's numpy and Python include folders
    # that setup.py and setuptools add, so the root's aarch64 headers win.
    # -idirafter: Debian's pyconfig.h includes <aarch64-linux-gnu/python3.X/...>,
    # found in the root's /usr/include, searched after the cross compiler's
    # own C library headers. The extension suffix is the target's.
    (cd "$tree" && env \
        CC=aarch64-linux-gnu-gcc \
        LDSHARED="aarch64-linux-gnu-gcc -shared" \
        CFLAGS="-I$numpy_include -I$ROOT/usr/include/python$TARGET_PY -idirafter $ROOT/usr/include" \
        SETUPTOOLS_EXT_SUFFIX=".cpython-${TARGET_PY/./}-aarch64-linux-gnu.so" \
        "$venv/bin/python" setup.py --quiet build_ext --inplace)
    local built
    built="$(echo "$tree"/mlpfast/_kernels*.so)"
    file "$built" | grep -q 'ARM aarch64' || die "$built is not an aarch64 shared object: $(file "$built")"
    echo "built: ${built#"$tree"/} ($(file -b "$built" | cut -d, -f1-2))"
    # Into the root: the package with its extension, and what the tests read.
    rm -rf "$ROOT$SRC_IN_ROOT"
    mkdir -p "$ROOT$SRC_IN_ROOT"
    cp -r "$tree/mlpfast" "$tree/tests" "$tree/examples" "$tree/src_c" "$tree/pyproject.toml" \
        "$ROOT$SRC_IN_ROOT/"
}

# The kernel, parity-with-scikit-learn and property tests: the ones whose
# results depend on the C kernels and the BLAS the CPU runs.
DEFAULT_TESTS="tests/test_kernels.py tests/test_parity_sklearn.py tests/test_properties.py"

run_tests() {
    local tests="${MLPFAST_AARCH64_TESTS:-$DEFAULT_TESTS}" started=$SECONDS status=0
    echo "date:   $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "host:   $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "qemu:   $(qemu-aarch64 --version | head -n 1)"
    echo "target: $(in_root /usr/bin/uname -m), $(in_root "$VENV_IN_ROOT/bin/python" -c 'import platform, numpy, scipy, sklearn
print("Python", platform.python_version(), "numpy", numpy.__version__, "scipy", scipy.__version__, "scikit-learn", sklearn.__version__)')"
    echo "tests:  $tests"
    # shellcheck disable=SC2086  # the test selection is a list of words
    IN_ROOT_CWD="$SRC_IN_ROOT" in_root PYTHONPATH="$SRC_IN_ROOT" \
        "$VENV_IN_ROOT/bin/python" -m pytest -p no:cacheprovider -q $tests || status=$?
    echo "pytest under emulation: exit code $status, $((SECONDS - started)) s"
    return "$status"
}

# All in one function, called on the last line: bash has then read the whole
# file before it runs anything, so editing the script during a run (the root
# takes ten minutes) cannot change what the running copy does.
main() {
    case "${1:-all}" in
        root) make_root ;;
        packages) install_packages ;;
        build) cross_build ;;
        test) run_tests ;;
        all)
            step "root file system"; make_root
            step "aarch64 packages"; install_packages
            step "cross-compiled build"; cross_build
            step "tests under emulation"; run_tests
            ;;
        *) die "unknown step '$1' (root, packages, build, test or all)" ;;
    esac
    step "done"
}

main "$@"; exit
