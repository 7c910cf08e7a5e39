# cython: language_level=3
"""Fused-type front for the plain C element-wise kernels in src_c/.

Each inline function picks the float or double C routine at compile time.
"""
from cython cimport floating


cdef extern from "mlpfast_elementwise.h" nogil:
    ctypedef struct mlpf_sgd_step:
        double learning_rate
        double momentum
        int nesterov

    ctypedef struct mlpf_adam_step:
        double learning_rate
        double beta_1
        double beta_2
        double epsilon

    ctypedef struct mlpf_gradient_finish:
        double alpha
        int add_l2
        double weight_sum

    unsigned mlpf_flush_subnormals_begin()
    void mlpf_flush_subnormals_end(unsigned saved)

    void mlpf_bias_activation_f64(double *z, const double *bias, Py_ssize_t n_rows,
                                  Py_ssize_t n_cols, int activation)
    void mlpf_bias_activation_f32(float *z, const float *bias, Py_ssize_t n_rows,
                                  Py_ssize_t n_cols, int activation)
    void mlpf_multiply_derivative_f64(const double *z, const double *a, double *delta,
                                      Py_ssize_t n, int activation)
    void mlpf_multiply_derivative_f32(const float *z, const float *a, float *delta,
                                      Py_ssize_t n, int activation)
    double mlpf_loss_and_output_delta_f64(const double *out, const double *y,
                                          const double *sample_weight, double *delta,
                                          Py_ssize_t n_rows, Py_ssize_t n_cols, int loss)
    double mlpf_loss_and_output_delta_f32(const float *out, const float *y,
                                          const float *sample_weight, float *delta,
                                          Py_ssize_t n_rows, Py_ssize_t n_cols, int loss)
    void mlpf_finish_weight_gradient_f64(double *grad, const double *weights, Py_ssize_t n,
                                         double alpha, double weight_sum)
    void mlpf_finish_weight_gradient_f32(float *grad, const float *weights, Py_ssize_t n,
                                         double alpha, double weight_sum)
    void mlpf_transpose_f64(const double *src, Py_ssize_t n_rows, Py_ssize_t n_cols,
                            double *dst)
    void mlpf_transpose_f32(const float *src, Py_ssize_t n_rows, Py_ssize_t n_cols,
                            float *dst)
    void mlpf_column_sums_f64(const double *delta, Py_ssize_t n_rows, Py_ssize_t n_cols,
                              double *out, int accumulate)
    void mlpf_column_sums_f32(const float *delta, Py_ssize_t n_rows, Py_ssize_t n_cols,
                              float *out, int accumulate)
    void mlpf_divide_f64(double *x, Py_ssize_t n, double divisor)
    void mlpf_divide_f32(float *x, Py_ssize_t n, double divisor)
    int mlpf_all_finite_f64(const double *x, Py_ssize_t n)
    int mlpf_all_finite_f32(const float *x, Py_ssize_t n)
    double mlpf_sum_f64(const double *x, Py_ssize_t n)
    float mlpf_sum_f32(const float *x, Py_ssize_t n)
    void mlpf_sgd_finish_update_f64(double *params, double *velocity, const double *grad,
                                    const double *grad_second, Py_ssize_t n,
                                    const mlpf_gradient_finish *finish,
                                    const mlpf_sgd_step *step)
    void mlpf_sgd_finish_update_f32(float *params, float *velocity, const float *grad,
                                    const float *grad_second, Py_ssize_t n,
                                    const mlpf_gradient_finish *finish,
                                    const mlpf_sgd_step *step)
    void mlpf_adam_finish_update_f64(double *params, double *m, double *v,
                                     const double *grad, const double *grad_second,
                                     Py_ssize_t n, const mlpf_gradient_finish *finish,
                                     const mlpf_adam_step *step)
    void mlpf_adam_finish_update_f32(float *params, float *m, float *v, const float *grad,
                                     const float *grad_second, Py_ssize_t n,
                                     const mlpf_gradient_finish *finish,
                                     const mlpf_adam_step *step)


cdef inline void bias_activation(floating *z, const floating *bias, Py_ssize_t n_rows,
                                 Py_ssize_t n_cols, int activation) noexcept nogil:
    if floating is double:
        mlpf_bias_activation_f64(z, bias, n_rows, n_cols, activation)
    else:
        mlpf_bias_activation_f32(z, bias, n_rows, n_cols, activation)


cdef inline void multiply_derivative(const floating *z, const floating *a, floating *delta,
                                     Py_ssize_t n, int activation) noexcept nogil:
    if floating is double:
        mlpf_multiply_derivative_f64(z, a, delta, n, activation)
    else:
        mlpf_multiply_derivative_f32(z, a, delta, n, activation)


cdef inline double loss_and_output_delta(const floating *out, const floating *y,
                                         const floating *sample_weight, floating *delta,
                                         Py_ssize_t n_rows, Py_ssize_t n_cols,
                                         int loss) noexcept nogil:
    if floating is double:
        return mlpf_loss_and_output_delta_f64(out, y, sample_weight, delta, n_rows, n_cols,
                                              loss)
    else:
        return mlpf_loss_and_output_delta_f32(out, y, sample_weight, delta, n_rows, n_cols,
                                              loss)


cdef inline void finish_weight_gradient(floating *grad, const floating *weights,
                                        Py_ssize_t n, double alpha,
                                        double weight_sum) noexcept nogil:
    if floating is double:
        mlpf_finish_weight_gradient_f64(grad, weights, n, alpha, weight_sum)
    else:
        mlpf_finish_weight_gradient_f32(grad, weights, n, alpha, weight_sum)


cdef inline void column_sums(const floating *delta, Py_ssize_t n_rows, Py_ssize_t n_cols,
                             floating *out, bint accumulate) noexcept nogil:
    if floating is double:
        mlpf_column_sums_f64(delta, n_rows, n_cols, out, accumulate)
    else:
        mlpf_column_sums_f32(delta, n_rows, n_cols, out, accumulate)


cdef inline void divide(floating *x, Py_ssize_t n, double divisor) noexcept nogil:
    if floating is double:
        mlpf_divide_f64(x, n, divisor)
    else:
        mlpf_divide_f32(x, n, divisor)


cdef inline void sgd_finish_update(floating *params, floating *velocity,
                                   const floating *grad, const floating *grad_second,
                                   Py_ssize_t n, const mlpf_gradient_finish *finish,
                                   const mlpf_sgd_step *step) noexcept nogil:
    if floating is double:
        mlpf_sgd_finish_update_f64(params, velocity, grad, grad_second, n, finish, step)
    else:
        mlpf_sgd_finish_update_f32(params, velocity, grad, grad_second, n, finish, step)


cdef inline void adam_finish_update(floating *params, floating *m, floating *v,
                                    const floating *grad, const floating *grad_second,
                                    Py_ssize_t n, const mlpf_gradient_finish *finish,
                                    const mlpf_adam_step *step) noexcept nogil:
    if floating is double:
        mlpf_adam_finish_update_f64(params, m, v, grad, grad_second, n, finish, step)
    else:
        mlpf_adam_finish_update_f32(params, m, v, grad, grad_second, n, finish, step)


cdef inline floating vector_sum(const floating *x, Py_ssize_t n) noexcept nogil:
    if floating is double:
        return mlpf_sum_f64(x, n)
    else:
        return mlpf_sum_f32(x, n)


cdef inline bint all_finite(const floating *x, Py_ssize_t n) noexcept nogil:
    if floating is double:
        return mlpf_all_finite_f64(x, n)
    else:
        return mlpf_all_finite_f32(x, n)


cdef inline void transpose(const floating *src, Py_ssize_t n_rows, Py_ssize_t n_cols,
                           floating *dst) noexcept nogil:
    """dst (n_cols x n_rows) = src (n_rows x n_cols) transposed, both row-major."""
    if floating is double:
        mlpf_transpose_f64(src, n_rows, n_cols, dst)
    else:
        mlpf_transpose_f32(src, n_rows, n_cols, dst)
