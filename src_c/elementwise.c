/* Instantiates the element-wise kernels of elementwise_impl.h for double and float. */

/*
 * As in vecmath.c (see there): without it GCC leaves scalar the SSE2 and
 * AVX2 clones of the loops that pick a factor by a comparison and multiply
 * by it (the activations' derivatives, leaky_relu), since it folds the
 * multiplication by 1 away and may not then execute the other one
 * unconditionally.  No result changes.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlpfast_dispatch.h"
#include "mlpfast_elementwise.h"
#include "mlpfast_vecmath.h"

/*
 * What exists once, not per SIMD path (mlpfast_simd.h): the tables, the
 * unknown-code report and the flush-to-zero switches, in the baseline copy.
 */
#if MLPF_SIMD_SHARED

/*
 * Flush-to-zero: x86 (SSE): MXCSR's flush-to-zero (results) and
 * denormals-are-zero (inputs) bits; aarch64: FPCR's FZ bit (bit 24), which
 * does both.  MSVC on ARM64 and other targets: a no-op (subnormal weights
 * then keep their slow arithmetic, and results change by less than the
 * smallest normal number, as below).
 */
#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define MLPF_MXCSR_FLUSH_TO_ZERO 0x8000u
#define MLPF_MXCSR_DENORMALS_ARE_ZERO 0x0040u
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define MLPF_FPCR_FLUSH_TO_ZERO (1ull << 24)

static unsigned long long read_fpcr(void)
{
    unsigned long long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
}

static void write_fpcr(unsigned long long fpcr)
{
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
}
#endif

/* The tables of mlpfast_tables.h as the Python layer reads them. */
#define MLPF_ACTIVATION_NAME_(NAME, name, roles, keeps) #name,
#define MLPF_ACTIVATION_ROLE_(NAME, name, roles, keeps) roles,
#define MLPF_ACTIVATION_KEEPS_DERIVATIVE_(NAME, name, roles, keeps) keeps,
#define MLPF_LOSS_NAME_(NAME, name, OUTPUT, is_default, has_parameter) #name,
#define MLPF_LOSS_OUTPUT_(NAME, name, OUTPUT, is_default, has_parameter) MLPF_##OUTPUT,
#define MLPF_LOSS_IS_DEFAULT_(NAME, name, OUTPUT, is_default, has_parameter) is_default,
#define MLPF_LOSS_HAS_PARAMETER_(NAME, name, OUTPUT, is_default, has_parameter) has_parameter,
const char *const mlpf_activation_names[] = {MLPF_ACTIVATIONS(MLPF_ACTIVATION_NAME_)};
const int mlpf_activation_roles[] = {MLPF_ACTIVATIONS(MLPF_ACTIVATION_ROLE_)};
const int mlpf_activation_keeps_derivative[] = {MLPF_ACTIVATIONS(MLPF_ACTIVATION_KEEPS_DERIVATIVE_)};
const char *const mlpf_loss_names[] = {MLPF_LOSSES(MLPF_LOSS_NAME_)};
const int mlpf_loss_outputs[] = {MLPF_LOSSES(MLPF_LOSS_OUTPUT_)};
const int mlpf_loss_is_default[] = {MLPF_LOSSES(MLPF_LOSS_IS_DEFAULT_)};
const int mlpf_loss_has_parameter[] = {MLPF_LOSSES(MLPF_LOSS_HAS_PARAMETER_)};
#undef MLPF_ACTIVATION_NAME_
#undef MLPF_ACTIVATION_ROLE_
#undef MLPF_ACTIVATION_KEEPS_DERIVATIVE_
#undef MLPF_LOSS_NAME_
#undef MLPF_LOSS_OUTPUT_
#undef MLPF_LOSS_IS_DEFAULT_
#undef MLPF_LOSS_HAS_PARAMETER_

#define MLPF_TABLE_LENGTH(table) (sizeof(table) / sizeof((table)[0]))
_Static_assert(MLPF_TABLE_LENGTH(mlpf_activation_names) == MLPF_N_ACTIVATIONS &&
                   MLPF_TABLE_LENGTH(mlpf_activation_roles) == MLPF_N_ACTIVATIONS &&
                   MLPF_TABLE_LENGTH(mlpf_activation_keeps_derivative) == MLPF_N_ACTIVATIONS,
               "one entry per activation in every activation table");
_Static_assert(MLPF_TABLE_LENGTH(mlpf_loss_names) == MLPF_N_LOSSES &&
                   MLPF_TABLE_LENGTH(mlpf_loss_outputs) == MLPF_N_LOSSES &&
                   MLPF_TABLE_LENGTH(mlpf_loss_is_default) == MLPF_N_LOSSES &&
                   MLPF_TABLE_LENGTH(mlpf_loss_has_parameter) == MLPF_N_LOSSES,
               "one entry per loss in every loss table");

void mlpf_unknown_code(const char *table, int code)
{
    fprintf(stderr, "mlpfast: internal error: %s code %d is not in its table\n", table, code);
    abort();
}

/*
 * SplitMix64's output function (Steele, Lea and Flood 2014): one 64-bit
 * key per (fit, batch, layer) from their sum, so that neighbouring batches
 * and layers get unrelated masks.
 */
static uint64_t mlpf_mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

void mlpf_dropout_draw_for(mlpf_dropout_draw *draw, uint64_t fit_key, uint64_t batch,
                           int layer, double rate)
{
    /* Odd multipliers (the golden ratio's, and another) spread batch and layer apart. */
    uint64_t key = mlpf_mix64(fit_key + batch * UINT64_C(0x9e3779b97f4a7c15) +
                              (uint64_t)layer * UINT64_C(0xd1b54a32d192ed03));
    double threshold = rate * 4294967296.0 + 0.5;
    draw->key_low = (uint32_t)key;
    draw->key_high = (uint32_t)(key >> 32);
    draw->threshold = threshold >= 4294967295.0 ? UINT32_C(4294967295) : (uint32_t)threshold;
    draw->scale = 1.0 / (1.0 - rate);
    draw->first_row = 0;
}

/*
 * The optimizer step runs with subnormal numbers flushed to zero, so that
 * no weight or moment is ever stored as a subnormal: weights of inputs that
 * are always 0 only shrink (their gradient is the L2 term), and after ~1900
 * digits epochs 942 of the 6400 first-layer weights were subnormal, each
 * product with them a microcode assist: epochs took about fifteen times as
 * long (scikit-learn's epochs, which keep them, about three times;
 * bench/MEASUREMENTS.md, 'Subnormal weights').  Flushed,
 * a weight differs from scikit-learn's by less than the smallest normal
 * number (2.2e-308; 1.2e-38 in float32), which changes no prediction.
 * Functions of their own, called around the step from another translation
 * unit, so that no compiler moves the step's arithmetic across the mode
 * change.
 */
unsigned mlpf_flush_subnormals_begin(void)
{
#ifdef MLPF_MXCSR_FLUSH_TO_ZERO
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | MLPF_MXCSR_FLUSH_TO_ZERO | MLPF_MXCSR_DENORMALS_ARE_ZERO);
    return saved;
#elif defined(MLPF_FPCR_FLUSH_TO_ZERO)
    /* Only the FZ bit's previous state is kept: it is all that changes. */
    unsigned long long fpcr = read_fpcr();
    write_fpcr(fpcr | MLPF_FPCR_FLUSH_TO_ZERO);
    return (fpcr & MLPF_FPCR_FLUSH_TO_ZERO) != 0;
#else
    return 0;
#endif
}

void mlpf_flush_subnormals_end(unsigned saved)
{
#ifdef MLPF_MXCSR_FLUSH_TO_ZERO
    _mm_setcsr(saved);
#elif defined(MLPF_FPCR_FLUSH_TO_ZERO)
    unsigned long long fpcr = read_fpcr() & ~MLPF_FPCR_FLUSH_TO_ZERO;
    write_fpcr(saved ? fpcr | MLPF_FPCR_FLUSH_TO_ZERO : fpcr);
#else
    (void)saved;
#endif
}

#endif /* MLPF_SIMD_SHARED */

/*
 * MLPF_SHUFFLE4(a, b, i, j, k, l): the vector (c[i], c[j], c[k], c[l]) of
 * the lanes c = a0..a3 b0..b3 of two 4-lane vectors, through the compiler's
 * generic vector extension (lowered to each clone's instruction set); GCC's
 * needs the lane index vector type `lane4` in scope.  Undefined elsewhere:
 * mlpf_transpose then copies element by element.
 */
#if defined(__clang__)
#define MLPF_SHUFFLE4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#elif defined(__GNUC__) && __GNUC__ >= 7
#define MLPF_SHUFFLE4(a, b, i, j, k, l) __builtin_shuffle(a, b, (lane4){i, j, k, l})
#endif

#define REAL double
#define LANE_INT int64_t
#define SFX _f64
#define EXP_INPLACE mlpf_exp_inplace_f64
#define LOGISTIC_INPLACE mlpf_logistic_inplace_f64
#define LOG log
#define NORMAL_CDF_PDF mlpf_normal_cdf_pdf_f64
#define EXPM1_EXP mlpf_expm1_exp_f64
#define EXP_NEG_ABS mlpf_exp_neg_abs_f64
#define LOG1P_INPLACE mlpf_log1p_inplace_f64
#define TANH_INPLACE mlpf_tanh_inplace_f64
#define SQRT sqrt
#define REAL_EPS DBL_EPSILON
#include "elementwise_impl.h"
#undef REAL
#undef LANE_INT
#undef SFX
#undef EXP_INPLACE
#undef LOGISTIC_INPLACE
#undef LOG
#undef NORMAL_CDF_PDF
#undef EXPM1_EXP
#undef EXP_NEG_ABS
#undef LOG1P_INPLACE
#undef TANH_INPLACE
#undef SQRT
#undef REAL_EPS

#define REAL float
#define LANE_INT int32_t
#define SFX _f32
#define EXP_INPLACE mlpf_exp_inplace_f32
#define LOGISTIC_INPLACE mlpf_logistic_inplace_f32
#define LOG logf
#define NORMAL_CDF_PDF mlpf_normal_cdf_pdf_f32
#define EXPM1_EXP mlpf_expm1_exp_f32
#define EXP_NEG_ABS mlpf_exp_neg_abs_f32
#define LOG1P_INPLACE mlpf_log1p_inplace_f32
#define TANH_INPLACE mlpf_tanh_inplace_f32
#define SQRT sqrtf
#define REAL_EPS FLT_EPSILON
#include "elementwise_impl.h"
