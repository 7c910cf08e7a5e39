#!/usr/bin/env bash
# Compiles src_c as setup.py's BuildExt does (each SIMD path's copy of the
# kernels, then the shared sources), with warnings as errors, and links
# tests/c/platform_smoke.c against it: a check for compilers and targets
# that cannot build the Python extension here (mingw-w64, aarch64).  Each
# object's dependency file (OUTPUT.d/*.d, -MD) lists the headers it read.
#
# usage: tools/check_c_portable.sh CC OUTPUT PATHS [FLAG...]
#   CC      the compiler, e.g. x86_64-w64-mingw32-gcc
#   OUTPUT  the smoke program to write; its objects go to OUTPUT.d/
#   PATHS   "all" (baseline, AVX2, AVX-512: x86-64) or "baseline"
#   FLAG    more compiler flags, e.g. -DMLPF_ATOMICS_INTERLOCKED
# The instruction-set flags mirror setup.py's SIMD_PATHS.
set -euo pipefail

CC="$1"
OUTPUT="$2"
PATHS="$3"
shift 3
EXTRA=("$@")

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
OBJ="$OUTPUT.d"
rm -rf "$OBJ"
mkdir -p "$OBJ"
FLAGS=(-O2 -Wall -Wextra -Werror -ffp-contract=off -fno-math-errno
       "-I$ROOT/src_c" "${EXTRA[@]}")

copy() {  # copy NAME NUMBER ISA-FLAGS...
    local name="$1" number="$2"
    shift 2
    for source in elementwise vecmath simd_table; do
        "$CC" "${FLAGS[@]}" "$@" -DMLPF_SIMD_COPY="$number" -MD -c "$ROOT/src_c/$source.c" \
            -o "$OBJ/${source}_$name.o"
    done
}

HAVE=()
copy baseline 0
if [[ "$PATHS" == all ]]; then
    copy avx2 1 -mavx2
    copy avx512 2 -mavx512f
    HAVE=(-DMLPF_SIMD_HAVE_AVX2=1 -DMLPF_SIMD_HAVE_AVX512=1)
fi
for source in src_c/simd src_c/team tests/c/platform_smoke; do
    "$CC" "${FLAGS[@]}" "${HAVE[@]}" -MD -c "$ROOT/$source.c" -o "$OBJ/$(basename "$source").o"
done
LIBS=(-lm)
case "$("$CC" -dumpmachine)" in
    *mingw*|*windows*) ;;
    *) LIBS+=(-lpthread) ;;
esac
"$CC" "${EXTRA[@]}" "$OBJ"/*.o -o "$OUTPUT" "${LIBS[@]}"
echo "built $OUTPUT with $CC ($("$CC" -dumpmachine)), SIMD paths: $PATHS"
