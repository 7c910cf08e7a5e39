/*
 * The choice of SIMD path (mlpfast_simd.h) and the kernels under their
 * plain names, each a call through the chosen path's table.
 *
 * The path is chosen once, at the first kernel call (or the first
 * mlpf_simd_active call): the best path this build has and this CPU runs,
 * unless the environment variable MLPFAST_SIMD names another:
 *   baseline   SSE2 on x86-64 (the target's default elsewhere)
 *   avx2       AVX2 (x86-64)
 *   avx512     AVX-512 F, CD, BW, DQ and VL (x86-64)
 * A path that cannot run here, or an unknown name, is never fatal: the best
 * available path below it runs instead (any path, for an unknown name), and
 * one line on stderr says so.  Every path gives identical results, so the
 * variable is for testing a lower path on a machine that has a higher one.
 *
 * setup.py defines MLPF_SIMD_HAVE_AVX2 and MLPF_SIMD_HAVE_AVX512 here when
 * it built those copies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlpfast_platform.h"
#include "mlpfast_simd.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define MLPF_SIMD_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

static const char *const path_names[MLPF_SIMD_N_PATHS] = {"baseline", "avx2", "avx512"};

static const mlpf_simd_table *const path_tables[MLPF_SIMD_N_PATHS] = {
    &mlpf_simd_table_baseline,
#ifdef MLPF_SIMD_HAVE_AVX2
    &mlpf_simd_table_avx2,
#else
    NULL,
#endif
#ifdef MLPF_SIMD_HAVE_AVX512
    &mlpf_simd_table_avx512,
#else
    NULL,
#endif
};

const char *mlpf_simd_name(int path)
{
    return path >= 0 && path < MLPF_SIMD_N_PATHS ? path_names[path] : NULL;
}

const mlpf_simd_table *mlpf_simd_kernels(int path)
{
    return path >= 0 && path < MLPF_SIMD_N_PATHS ? path_tables[path] : NULL;
}

#ifdef MLPF_SIMD_X86
static void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int r[4];
    __cpuidex(r, (int)leaf, (int)subleaf);
    for (int i = 0; i < 4; i++) {
        regs[i] = (unsigned)r[i];
    }
#else
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

/* XCR0: which register states the operating system saves on a context switch. */
static unsigned long long enabled_register_states(void)
{
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    /* The instruction, not _xgetbv: GCC's intrinsic needs -mxsave. */
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#endif
}

#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID1_ECX_AVX (1u << 28)
#define CPUID7_EBX_AVX2 (1u << 5)
/* AVX-512 F, DQ, CD, BW, VL: MSVC's /arch:AVX512 may use all five. */
#define CPUID7_EBX_AVX512 ((1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31))
#define XCR0_AVX_STATE 0x6ull       /* XMM and YMM registers */
#define XCR0_AVX512_STATE 0xe6ull   /* and the opmask and ZMM registers */

/*
 * Paths the CPU has and the OS supports.  The OS check matters: a CPU with
 * AVX under an OS (or hypervisor) that does not save the YMM registers
 * faults on the first AVX instruction.  macOS enables the AVX-512 state
 * only on first use, so there XCR0 denies AVX-512 and AVX2 runs: slower,
 * never wrong.
 */
static unsigned cpu_paths(void)
{
    unsigned paths = 1u << MLPF_SIMD_BASELINE;
    unsigned regs[4];
    cpuid(0, 0, regs);
    if (regs[0] < 7) {
        return paths;
    }
    cpuid(1, 0, regs);
    if ((regs[2] & (CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX)) !=
        (CPUID1_ECX_OSXSAVE | CPUID1_ECX_AVX)) {
        return paths;
    }
    unsigned long long states = enabled_register_states();
    cpuid(7, 0, regs);
    if ((states & XCR0_AVX_STATE) == XCR0_AVX_STATE && (regs[1] & CPUID7_EBX_AVX2)) {
        paths |= 1u << MLPF_SIMD_AVX2;
        if ((states & XCR0_AVX512_STATE) == XCR0_AVX512_STATE &&
            (regs[1] & CPUID7_EBX_AVX512) == CPUID7_EBX_AVX512) {
            paths |= 1u << MLPF_SIMD_AVX512;
        }
    }
    return paths;
}
#else
static unsigned cpu_paths(void)
{
    return 1u << MLPF_SIMD_BASELINE;
}
#endif

unsigned mlpf_simd_available(void)
{
    unsigned built = 0;
    for (int path = 0; path < MLPF_SIMD_N_PATHS; path++) {
        if (path_tables[path] != NULL) {
            built |= 1u << path;
        }
    }
    return built & cpu_paths();
}

/* The highest path in `paths` up to `limit`; the baseline if none. */
static int highest(unsigned paths, int limit)
{
    for (int path = limit; path > MLPF_SIMD_BASELINE; path--) {
        if (paths & (1u << path)) {
            return path;
        }
    }
    return MLPF_SIMD_BASELINE;
}

int mlpf_simd_choose(const char *request, unsigned available, char *note, size_t note_size)
{
    if (note_size > 0) {
        note[0] = '\0';
    }
    const int best = highest(available, MLPF_SIMD_N_PATHS - 1);
    if (request == NULL || request[0] == '\0') {
        return best;
    }
    for (int path = 0; path < MLPF_SIMD_N_PATHS; path++) {
        if (strcmp(request, path_names[path]) == 0) {
            if (available & (1u << path)) {
                return path;
            }
            int lower = highest(available, path);
            snprintf(note, note_size,
                     "mlpfast: MLPFAST_SIMD=%s: this CPU or this build has no %s path; "
                     "the kernels run on the %s path",
                     request, request, path_names[lower]);
            return lower;
        }
    }
    snprintf(note, note_size,
             "mlpfast: MLPFAST_SIMD=%.40s is not one of baseline, avx2, avx512; "
             "the kernels run on the %s path",
             request, path_names[best]);
    return best;
}

/* The chosen path plus one; 0 until it is chosen. */
static mlpf_atomic_uint active_plus_one;
static mlpf_once choice = MLPF_ONCE_INIT;

static void choose_active_path(void)
{
    char note[200];
    int path = mlpf_simd_choose(getenv("MLPFAST_SIMD"), mlpf_simd_available(), note,
                                sizeof note);
    if (note[0] != '\0') {
        fprintf(stderr, "%s\n", note);
    }
    mlpf_atomic_store_release(&active_plus_one, (unsigned)path + 1);
}

int mlpf_simd_active(void)
{
    unsigned chosen = mlpf_atomic_load_acquire(&active_plus_one);
    if (chosen == 0) {
        mlpf_call_once(&choice, choose_active_path);
        chosen = mlpf_atomic_load_acquire(&active_plus_one);
    }
    return (int)chosen - 1;
}

static inline const mlpf_simd_table *kernels(void)
{
    return path_tables[mlpf_simd_active()];
}

/* The kernels under their plain names, as mlpfast_elementwise.h and
   mlpfast_vecmath.h declare them (which checks each signature). */
#define MLPF_SIMD_FORWARD_(ret, return_, name, params, args) \
    ret name params                                          \
    {                                                        \
        return_ kernels()->fn_##name args;                   \
    }
MLPF_SIMD_FUNCTIONS(MLPF_SIMD_FORWARD_)
#undef MLPF_SIMD_FORWARD_
