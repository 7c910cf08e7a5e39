/*
 * MLPF_DISPATCH: per-CPU clones of a loop function (SSE2 baseline, AVX2,
 * AVX-512F), picked once at load time by an ifunc resolver, so a portable
 * build still runs wide vectors where the CPU has them.  Needs GCC or clang
 * on x86-64 ELF with glibc (ifunc); elsewhere the portable loop alone is
 * built.  Results are identical on every clone: the build forbids
 * contraction into fused multiply-adds, and every other operation (add,
 * multiply, divide, square root, conversions) rounds the same in every
 * instruction set.  -DMLPF_NO_DISPATCH turns it off.
 */
#ifndef MLPFAST_DISPATCH_H
#define MLPFAST_DISPATCH_H

#if defined(__x86_64__) && defined(__ELF__) && defined(__GLIBC__) && \
    defined(__GNUC__) && defined(__has_attribute) && !defined(MLPF_NO_DISPATCH)
#if __has_attribute(target_clones)
#define MLPF_DISPATCH __attribute__((target_clones("default", "avx2", "avx512f")))
#endif
#endif
#ifndef MLPF_DISPATCH
#define MLPF_DISPATCH
#endif

/*
 * MLPF_INLINE: a static helper that must be inlined into each clone of the
 * MLPF_DISPATCH functions calling it.  GCC keeps larger helpers out of line,
 * compiled once for the baseline, and their loops then run on two-lane
 * vectors whatever the CPU.
 */
#if defined(__GNUC__) || defined(__clang__)
#define MLPF_INLINE inline __attribute__((always_inline))
#else
#define MLPF_INLINE inline
#endif

#endif
