/*
 * mlpfast element-wise kernels: everything an MLP does between two matrix
 * products.  Each function exists in a double (_f64) and a float (_f32)
 * version, generated from one body in elementwise_impl.h.
 *
 * The arithmetic follows scikit-learn's numpy expressions operation by
 * operation (same order, same divisions, same summation order) so that a
 * float64 fit reproduces scikit-learn's weights up to libm rounding.  The
 * library must therefore be compiled without floating-point contraction
 * (-ffp-contract=off): a fused multiply-add rounds differently.
 */
#ifndef MLPFAST_ELEMENTWISE_H
#define MLPFAST_ELEMENTWISE_H

#include <stddef.h>
#include <stdint.h>

#include "mlpfast_tables.h"

/* One SGD step: v = momentum*v - lr*g, then params += v (or the Nesterov look-ahead). */
typedef struct {
    double learning_rate;
    double momentum;
    int nesterov;
} mlpf_sgd_step;

/* One Adam step; learning_rate is the bias-corrected rate of this step. */
typedef struct {
    double learning_rate;
    double beta_1;
    double beta_2;
    double epsilon;
} mlpf_adam_step;

/*
 * How one run of parameters (a layer's weights or its biases) is updated
 * besides the optimizer's own rule.  Its gradient from the raw sums:
 * ((sum + alpha * W) / weight_sum) * scale for weights, without the alpha
 * term for biases; then, before the optimizer's update, the parameters
 * times decay_factor (decoupled weight decay, AdamW's order).
 */
typedef struct {
    double alpha;         /* L2 penalty strength */
    int add_l2;           /* 1: add alpha * W (weights); 0: biases */
    double weight_sum;    /* divide by: the batch's sample-weight sum (its row count
                             unweighted) */
    double scale;         /* gradient clipping's factor, 1 when the norm is within bounds */
    double decay_factor;  /* 1 - rate * weight_decay for weights, 1 for biases */
} mlpf_run_update;

/*
 * A dropout layer's draw for one block of a batch's rows: unit j of batch
 * row r is kept where the hash of its counter r * n_cols + j under this
 * batch's and layer's key is at least `threshold`, and kept values are
 * multiplied by `scale`.  The mask depends on the row's place in the
 * batch, never on which thread computes which rows.
 */
typedef struct {
    uint32_t key_low, key_high;  /* mlpf_dropout_draw_for's key of (fit, batch, layer) */
    uint32_t threshold;          /* round(p * 2**32), at most 2**32 - 1 */
    double scale;                /* 1 / (1 - p) */
    ptrdiff_t first_row;         /* the block's first row within the batch */
} mlpf_dropout_draw;

/*
 * A bijective 32-bit mixer (xor-shift, multiply, twice more; constants
 * from Chris Wellons' hash-prospector search, "lowbias32"): consecutive
 * counters give hashes with no visible pattern, and its 32-bit multiplies
 * vectorise on every x86 level and on aarch64.
 */
static inline uint32_t mlpf_mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x21f0aaadu;
    x ^= x >> 15;
    x *= 0x735a2d97u;
    x ^= x >> 15;
    return x;
}

/* The draw of a fit's key, a batch (counted from the fit's start) and a layer. */
void mlpf_dropout_draw_for(mlpf_dropout_draw *draw, uint64_t fit_key, uint64_t batch,
                           int layer, double rate);

#define MLPF_DECLARE(REAL, SFX)                                                  \
    void mlpf_bias_activation##SFX(REAL *z, const REAL *bias, ptrdiff_t n_rows,  \
                                   ptrdiff_t n_cols, int activation,             \
                                   REAL *kept);                                  \
    void mlpf_multiply_derivative##SFX(const REAL *kept, const REAL *a, REAL *delta, \
                                       ptrdiff_t n, int activation);            \
    double mlpf_loss_and_output_delta##SFX(const REAL *out, const REAL *y,       \
                                           const REAL *sample_weight,            \
                                           REAL *delta, ptrdiff_t n_rows,        \
                                           ptrdiff_t n_cols, int loss,           \
                                           double loss_parameter);               \
    void mlpf_finish_weight_gradient##SFX(REAL *grad, const REAL *weights,       \
                                          ptrdiff_t n, double alpha,            \
                                          double weight_sum);                   \
    void mlpf_column_sums##SFX(const REAL *delta, ptrdiff_t n_rows,              \
                               ptrdiff_t n_cols, REAL *out, int accumulate);     \
    void mlpf_divide##SFX(REAL *x, ptrdiff_t n, double divisor);                 \
    REAL mlpf_sum##SFX(const REAL *x, ptrdiff_t n);                              \
    void mlpf_transpose##SFX(const REAL *src, ptrdiff_t n_rows, ptrdiff_t n_cols, \
                             REAL *dst);                                         \
    int mlpf_all_finite##SFX(const REAL *x, ptrdiff_t n);                        \
    void mlpf_row_times_matrix##SFX(const REAL *x, const REAL *w, ptrdiff_t n_in, \
                                    ptrdiff_t n_out, REAL *z);                   \
    void mlpf_sgd_finish_update##SFX(REAL *params, REAL *velocity,               \
                                     const REAL *const *grad_parts,              \
                                     int n_parts, ptrdiff_t n,                   \
                                     const mlpf_run_update *update,         \
                                     const mlpf_sgd_step *step);                 \
    void mlpf_adam_finish_update##SFX(REAL *params, REAL *m, REAL *v,            \
                                      const REAL *const *grad_parts,             \
                                      int n_parts, ptrdiff_t n,                  \
                                      const mlpf_run_update *update,        \
                                      const mlpf_adam_step *step);                \
    double mlpf_finished_gradient_squares##SFX(const REAL *const *grad_parts,    \
                                               int n_parts,                      \
                                               const REAL *params, ptrdiff_t n,  \
                                               const mlpf_run_update *update);   \
    void mlpf_dropout_forward##SFX(const REAL *a, REAL *dropped,                 \
                                   unsigned char *mask, ptrdiff_t n_rows,        \
                                   ptrdiff_t n_cols,                             \
                                   const mlpf_dropout_draw *draw);               \
    void mlpf_dropout_backward##SFX(REAL *delta, const unsigned char *mask,      \
                                    ptrdiff_t n, double scale);

MLPF_DECLARE(double, _f64)
MLPF_DECLARE(float, _f32)

/*
 * Subnormal numbers flushed to zero by the calling thread's floating-point
 * unit until mlpf_flush_subnormals_end(saved) restores its previous mode
 * (x86 with SSE: MXCSR's flush-to-zero and denormals-are-zero bits;
 * aarch64: FPCR's FZ bit; a no-op elsewhere).  For the optimizer step, see
 * elementwise.c.
 */
unsigned mlpf_flush_subnormals_begin(void);
void mlpf_flush_subnormals_end(unsigned saved);

#undef MLPF_DECLARE

#endif /* MLPFAST_ELEMENTWISE_H */
