/*
 * MLPF_DISPATCH marks the loop functions that run on wide vectors where the
 * CPU has them.  It adds nothing to the function itself any more: setup.py
 * compiles each kernel source once per instruction set (SSE2 baseline,
 * AVX2, AVX-512) and simd.c picks one copy at run time, a lower one if
 * MLPFAST_SIMD asks for it (mlpfast_simd.h says how, and why not GCC's
 * target_clones).  Including this header in such a copy renames its
 * kernels to that copy's names.
 */
#ifndef MLPFAST_DISPATCH_H
#define MLPFAST_DISPATCH_H

#include "mlpfast_simd.h"

#define MLPF_DISPATCH

/*
 * MLPF_INLINE: a static helper that must be inlined into the loop calling
 * it, so that the loop vectorises whole (GCC keeps larger helpers out of
 * line).  Only a hint where the compiler has no always_inline.
 */
#if defined(__GNUC__) || defined(__clang__)
#define MLPF_INLINE inline __attribute__((always_inline))
#else
#define MLPF_INLINE inline
#endif

#endif
