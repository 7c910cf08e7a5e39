/*
 * The element-wise kernels on several instruction sets ("SIMD paths"), one
 * chosen at run time.
 *
 * setup.py compiles the kernel sources (elementwise.c, vecmath.c,
 * simd_table.c) once per path this compiler can target, each time with
 * -DMLPF_SIMD_COPY=<path> and that path's instruction-set flags: the
 * baseline (SSE2 on x86-64; whatever the target's default is elsewhere),
 * and on x86-64 AVX2 (-mavx2, MSVC /arch:AVX2) and AVX-512 (-mavx512f, MSVC
 * /arch:AVX512).  In each copy the defines below rename every kernel
 * mlpf_X to mlpf_X_<path>, and simd_table.c collects the copy's kernels
 * into one table, mlpf_simd_table_<path>.  simd.c, compiled once, defines
 * the plain names: each calls its kernel through the table of the path
 * chosen at the first call (the best this CPU runs, or a lower one forced
 * with MLPFAST_SIMD; see simd.c).
 *
 * Why not GCC's target_clones: its ifunc resolver cannot be steered, so a
 * lower path cannot be tested on a CPU that has a higher one, and it needs
 * ELF with glibc (no musl, macOS or Windows).  Plain translation units with
 * flags build the same code with GCC, Clang and MSVC.
 *
 * Results are identical on every path: the build forbids contraction into
 * fused multiply-adds, and every other operation (add, multiply, divide,
 * square root, conversions) rounds the same in every instruction set.
 *
 * Adding a kernel to mlpfast_elementwise.h or mlpfast_vecmath.h: one rename
 * line below and one MLPF_SIMD_FUNCTIONS line.  A missing rename makes the
 * copies define the same symbol twice (a link error); a missing table line
 * leaves the plain name undefined (an import error).
 */
#ifndef MLPFAST_SIMD_H
#define MLPFAST_SIMD_H

/* The paths, lowest first; MLPFAST_SIMD names them. */
#define MLPF_SIMD_BASELINE 0
#define MLPF_SIMD_AVX2 1
#define MLPF_SIMD_AVX512 2
#define MLPF_SIMD_N_PATHS 3

#ifdef MLPF_SIMD_COPY
#if MLPF_SIMD_COPY == MLPF_SIMD_BASELINE
#define MLPF_SIMD_SUFFIX _baseline
#elif MLPF_SIMD_COPY == MLPF_SIMD_AVX2
#define MLPF_SIMD_SUFFIX _avx2
#elif MLPF_SIMD_COPY == MLPF_SIMD_AVX512
#define MLPF_SIMD_SUFFIX _avx512
#else
#error "MLPF_SIMD_COPY is not one of the MLPF_SIMD_ paths"
#endif
#define MLPF_SIMD_PASTE_(name, suffix) name##suffix
#define MLPF_SIMD_PASTE(name, suffix) MLPF_SIMD_PASTE_(name, suffix)
#define MLPF_SIMD_RENAME(name) MLPF_SIMD_PASTE(name, MLPF_SIMD_SUFFIX)

#define mlpf_bias_activation_f64 MLPF_SIMD_RENAME(mlpf_bias_activation_f64)
#define mlpf_bias_activation_f32 MLPF_SIMD_RENAME(mlpf_bias_activation_f32)
#define mlpf_multiply_derivative_f64 MLPF_SIMD_RENAME(mlpf_multiply_derivative_f64)
#define mlpf_multiply_derivative_f32 MLPF_SIMD_RENAME(mlpf_multiply_derivative_f32)
#define mlpf_loss_and_output_delta_f64 MLPF_SIMD_RENAME(mlpf_loss_and_output_delta_f64)
#define mlpf_loss_and_output_delta_f32 MLPF_SIMD_RENAME(mlpf_loss_and_output_delta_f32)
#define mlpf_finish_weight_gradient_f64 MLPF_SIMD_RENAME(mlpf_finish_weight_gradient_f64)
#define mlpf_finish_weight_gradient_f32 MLPF_SIMD_RENAME(mlpf_finish_weight_gradient_f32)
#define mlpf_column_sums_f64 MLPF_SIMD_RENAME(mlpf_column_sums_f64)
#define mlpf_column_sums_f32 MLPF_SIMD_RENAME(mlpf_column_sums_f32)
#define mlpf_divide_f64 MLPF_SIMD_RENAME(mlpf_divide_f64)
#define mlpf_divide_f32 MLPF_SIMD_RENAME(mlpf_divide_f32)
#define mlpf_sum_f64 MLPF_SIMD_RENAME(mlpf_sum_f64)
#define mlpf_sum_f32 MLPF_SIMD_RENAME(mlpf_sum_f32)
#define mlpf_transpose_f64 MLPF_SIMD_RENAME(mlpf_transpose_f64)
#define mlpf_transpose_f32 MLPF_SIMD_RENAME(mlpf_transpose_f32)
#define mlpf_all_finite_f64 MLPF_SIMD_RENAME(mlpf_all_finite_f64)
#define mlpf_all_finite_f32 MLPF_SIMD_RENAME(mlpf_all_finite_f32)
#define mlpf_row_times_matrix_f64 MLPF_SIMD_RENAME(mlpf_row_times_matrix_f64)
#define mlpf_row_times_matrix_f32 MLPF_SIMD_RENAME(mlpf_row_times_matrix_f32)
#define mlpf_sgd_finish_update_f64 MLPF_SIMD_RENAME(mlpf_sgd_finish_update_f64)
#define mlpf_sgd_finish_update_f32 MLPF_SIMD_RENAME(mlpf_sgd_finish_update_f32)
#define mlpf_adam_finish_update_f64 MLPF_SIMD_RENAME(mlpf_adam_finish_update_f64)
#define mlpf_adam_finish_update_f32 MLPF_SIMD_RENAME(mlpf_adam_finish_update_f32)
#define mlpf_exp_inplace_f64 MLPF_SIMD_RENAME(mlpf_exp_inplace_f64)
#define mlpf_exp_inplace_f32 MLPF_SIMD_RENAME(mlpf_exp_inplace_f32)
#define mlpf_tanh_inplace_f64 MLPF_SIMD_RENAME(mlpf_tanh_inplace_f64)
#define mlpf_tanh_inplace_f32 MLPF_SIMD_RENAME(mlpf_tanh_inplace_f32)
#define mlpf_logistic_inplace_f64 MLPF_SIMD_RENAME(mlpf_logistic_inplace_f64)
#define mlpf_logistic_inplace_f32 MLPF_SIMD_RENAME(mlpf_logistic_inplace_f32)
#define mlpf_expm1_inplace_f64 MLPF_SIMD_RENAME(mlpf_expm1_inplace_f64)
#define mlpf_expm1_inplace_f32 MLPF_SIMD_RENAME(mlpf_expm1_inplace_f32)
#define mlpf_log1p_inplace_f64 MLPF_SIMD_RENAME(mlpf_log1p_inplace_f64)
#define mlpf_log1p_inplace_f32 MLPF_SIMD_RENAME(mlpf_log1p_inplace_f32)
#define mlpf_erf_inplace_f64 MLPF_SIMD_RENAME(mlpf_erf_inplace_f64)
#define mlpf_erf_inplace_f32 MLPF_SIMD_RENAME(mlpf_erf_inplace_f32)
#define mlpf_erfc_inplace_f64 MLPF_SIMD_RENAME(mlpf_erfc_inplace_f64)
#define mlpf_erfc_inplace_f32 MLPF_SIMD_RENAME(mlpf_erfc_inplace_f32)
#define mlpf_normal_cdf_pdf_f64 MLPF_SIMD_RENAME(mlpf_normal_cdf_pdf_f64)
#define mlpf_normal_cdf_pdf_f32 MLPF_SIMD_RENAME(mlpf_normal_cdf_pdf_f32)
#define mlpf_expm1_exp_f64 MLPF_SIMD_RENAME(mlpf_expm1_exp_f64)
#define mlpf_expm1_exp_f32 MLPF_SIMD_RENAME(mlpf_expm1_exp_f32)
#define mlpf_exp_neg_abs_f64 MLPF_SIMD_RENAME(mlpf_exp_neg_abs_f64)
#define mlpf_exp_neg_abs_f32 MLPF_SIMD_RENAME(mlpf_exp_neg_abs_f32)
#define mlpf_finished_gradient_squares_f64 MLPF_SIMD_RENAME(mlpf_finished_gradient_squares_f64)
#define mlpf_finished_gradient_squares_f32 MLPF_SIMD_RENAME(mlpf_finished_gradient_squares_f32)
#define mlpf_dropout_forward_f64 MLPF_SIMD_RENAME(mlpf_dropout_forward_f64)
#define mlpf_dropout_forward_f32 MLPF_SIMD_RENAME(mlpf_dropout_forward_f32)
#define mlpf_dropout_backward_f64 MLPF_SIMD_RENAME(mlpf_dropout_backward_f64)
#define mlpf_dropout_backward_f32 MLPF_SIMD_RENAME(mlpf_dropout_backward_f32)
#endif /* MLPF_SIMD_COPY */

/*
 * 1 in the translation units that define what exists once, not per path
 * (elementwise.c's tables and flush-to-zero functions): the baseline copy,
 * or a build without copies (tests/test_vecmath.py compiles vecmath.c so).
 */
#if !defined(MLPF_SIMD_COPY) || MLPF_SIMD_COPY == MLPF_SIMD_BASELINE
#define MLPF_SIMD_SHARED 1
#else
#define MLPF_SIMD_SHARED 0
#endif

#include <stddef.h>

#include "mlpfast_elementwise.h"
#include "mlpfast_vecmath.h"

/*
 * X(return type, `return` or nothing, name, parameters, arguments) for each
 * kernel and precision, REAL and SFX standing for the precision.
 */
#define MLPF_SIMD_KERNELS(X, REAL, SFX)                                                     \
    X(void, , mlpf_bias_activation##SFX,                                                    \
      (REAL *z, const REAL *bias, ptrdiff_t n_rows, ptrdiff_t n_cols, int activation,       \
       REAL *kept),                                                                         \
      (z, bias, n_rows, n_cols, activation, kept))                                          \
    X(void, , mlpf_multiply_derivative##SFX,                                                \
      (const REAL *kept, const REAL *a, REAL *delta, ptrdiff_t n, int activation),          \
      (kept, a, delta, n, activation))                                                      \
    X(double, return, mlpf_loss_and_output_delta##SFX,                                      \
      (const REAL *out, const REAL *y, const REAL *sample_weight, REAL *delta,              \
       ptrdiff_t n_rows, ptrdiff_t n_cols, int loss, double loss_parameter),                \
      (out, y, sample_weight, delta, n_rows, n_cols, loss, loss_parameter))                 \
    X(void, , mlpf_finish_weight_gradient##SFX,                                             \
      (REAL *grad, const REAL *weights, ptrdiff_t n, double alpha, double weight_sum),      \
      (grad, weights, n, alpha, weight_sum))                                                \
    X(void, , mlpf_column_sums##SFX,                                                        \
      (const REAL *delta, ptrdiff_t n_rows, ptrdiff_t n_cols, REAL *out, int accumulate),   \
      (delta, n_rows, n_cols, out, accumulate))                                             \
    X(void, , mlpf_divide##SFX, (REAL *x, ptrdiff_t n, double divisor), (x, n, divisor))    \
    X(REAL, return, mlpf_sum##SFX, (const REAL *x, ptrdiff_t n), (x, n))                    \
    X(void, , mlpf_transpose##SFX,                                                          \
      (const REAL *src, ptrdiff_t n_rows, ptrdiff_t n_cols, REAL *dst),                     \
      (src, n_rows, n_cols, dst))                                                           \
    X(int, return, mlpf_all_finite##SFX, (const REAL *x, ptrdiff_t n), (x, n))              \
    X(void, , mlpf_row_times_matrix##SFX,                                                   \
      (const REAL *x, const REAL *w, ptrdiff_t n_in, ptrdiff_t n_out, REAL *z),             \
      (x, w, n_in, n_out, z))                                                               \
    X(void, , mlpf_sgd_finish_update##SFX,                                                  \
      (REAL *params, REAL *velocity, const REAL *const *grad_parts, int n_parts,            \
       ptrdiff_t n, const mlpf_run_update *update, const mlpf_sgd_step *step),              \
      (params, velocity, grad_parts, n_parts, n, update, step))                               \
    X(void, , mlpf_adam_finish_update##SFX,                                                 \
      (REAL *params, REAL *m, REAL *v, const REAL *const *grad_parts, int n_parts,          \
       ptrdiff_t n, const mlpf_run_update *update, const mlpf_adam_step *step),             \
      (params, m, v, grad_parts, n_parts, n, update, step))                                   \
    X(double, return, mlpf_finished_gradient_squares##SFX,                                  \
      (const REAL *const *grad_parts, int n_parts, const REAL *params, ptrdiff_t n,         \
       const mlpf_run_update *update),                                                      \
      (grad_parts, n_parts, params, n, update))                                               \
    X(void, , mlpf_dropout_forward##SFX,                                                    \
      (const REAL *a, REAL *dropped, unsigned char *mask, ptrdiff_t n_rows,                 \
       ptrdiff_t n_cols, const mlpf_dropout_draw *draw),                                    \
      (a, dropped, mask, n_rows, n_cols, draw))                                             \
    X(void, , mlpf_dropout_backward##SFX,                                                   \
      (REAL *delta, const unsigned char *mask, ptrdiff_t n, double scale),                  \
      (delta, mask, n, scale))                                                              \
    X(void, , mlpf_exp_inplace##SFX, (REAL *x, ptrdiff_t n), (x, n))                        \
    X(void, , mlpf_tanh_inplace##SFX, (REAL *x, ptrdiff_t n), (x, n))                       \
    X(void, , mlpf_logistic_inplace##SFX, (REAL *x, ptrdiff_t n), (x, n))                   \
    X(void, , mlpf_expm1_inplace##SFX, (REAL *x, ptrdiff_t n), (x, n))                      \
    X(void, , mlpf_log1p_inplace##SFX, (REAL *x, ptrdiff_t n), (x, n))                      \
    X(void, , mlpf_erf_inplace##SFX, (REAL *x, ptrdiff_t n), (x, n))                        \
    X(void, , mlpf_erfc_inplace##SFX, (REAL *x, ptrdiff_t n), (x, n))                       \
    X(void, , mlpf_normal_cdf_pdf##SFX, (REAL *x, REAL *pdf, ptrdiff_t n), (x, pdf, n))     \
    X(void, , mlpf_expm1_exp##SFX, (REAL *x, REAL *e, ptrdiff_t n), (x, e, n))            \
    X(void, , mlpf_exp_neg_abs##SFX, (const REAL *x, REAL *e, ptrdiff_t n), (x, e, n))

#define MLPF_SIMD_FUNCTIONS(X)             \
    MLPF_SIMD_KERNELS(X, double, _f64)     \
    MLPF_SIMD_KERNELS(X, float, _f32)

/* One path's kernels.  Member names are pasted (fn_<name>), never renamed. */
#define MLPF_SIMD_MEMBER_(ret, return_, name, params, args) ret (*fn_##name) params;
typedef struct {
    MLPF_SIMD_FUNCTIONS(MLPF_SIMD_MEMBER_)
} mlpf_simd_table;
#undef MLPF_SIMD_MEMBER_

/* Each copy's table (simd_table.c); setup.py says which copies were built. */
extern const mlpf_simd_table mlpf_simd_table_baseline;
extern const mlpf_simd_table mlpf_simd_table_avx2;
extern const mlpf_simd_table mlpf_simd_table_avx512;

/* ---- the choice of path (simd.c) ---------------------------------------- */

/* "baseline", "avx2" or "avx512"; NULL for anything else. */
const char *mlpf_simd_name(int path);

/* A path's kernels; NULL if this build lacks the path.  Calling them on a
   CPU without its instruction set is an illegal instruction: see below. */
const mlpf_simd_table *mlpf_simd_kernels(int path);

/* Bit p set for each path p this build has and this CPU (and OS) runs. */
unsigned mlpf_simd_available(void);

/*
 * The path for a request (MLPFAST_SIMD's value; NULL or "" asks for the
 * best), given the available set: the requested path when available, else
 * the best available path below it (any path at all, for an unknown name).
 * When the request cannot be honoured, a sentence saying so and what runs
 * instead goes into note (note_size bytes; note[0] is 0 otherwise).
 */
int mlpf_simd_choose(const char *request, unsigned available, char *note, size_t note_size);

/* The path the kernels run on: chosen once, at the first kernel call. */
int mlpf_simd_active(void);

#endif /* MLPFAST_SIMD_H */
