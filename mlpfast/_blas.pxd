# cython: language_level=3
"""Row-major matrix products over scipy's BLAS, for float32 and float64.

scipy.linalg.cython_blas exposes the Fortran (column-major) BLAS.  A
row-major ``C = A @ B`` is the column-major ``C^T = B^T A^T``, so every call
below passes the operands swapped.  When a product degenerates to a
matrix-vector or vector-vector product, the same BLAS routine numpy's
``matmul`` would pick (gemv or dot) is called instead of gemm: the
routines sum in different orders, and keeping numpy's choice keeps
rounding equal to scikit-learn's.  The pointers are not const in scipy's
declarations, hence the casts; no routine here writes to A or B.
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport ddot, dgemm, dgemv, sdot, sgemm, sgemv


cdef inline void gemm(char trans_a, char trans_b, int m, int n, int k,
                      const floating *a, int lda, const floating *b, int ldb,
                      floating beta, floating *c, int ldc) noexcept nogil:
    """Column-major c (m x n) = op(a) @ op(b) + beta * c, op(x) = x or x^T."""
    cdef floating one = 1.0
    if floating is double:
        dgemm(&trans_a, &trans_b, &m, &n, &k, &one, <double *> a, &lda,
              <double *> b, &ldb, &beta, c, &ldc)
    else:
        sgemm(&trans_a, &trans_b, &m, &n, &k, &one, <float *> a, &lda,
              <float *> b, &ldb, &beta, c, &ldc)


cdef inline void gemv(char trans, int m, int n, const floating *a, int lda,
                      const floating *x, floating *y) noexcept nogil:
    """Column-major y = op(a) @ x for an (m x n) matrix a, unit strides."""
    cdef floating one = 1.0, zero = 0.0
    cdef int inc = 1
    if floating is double:
        dgemv(&trans, &m, &n, &one, <double *> a, &lda, <double *> x, &inc,
              &zero, y, &inc)
    else:
        sgemv(&trans, &m, &n, &one, <float *> a, &lda, <float *> x, &inc,
              &zero, y, &inc)


cdef inline floating dot(int n, const floating *x, const floating *y) noexcept nogil:
    """Inner product of two contiguous vectors of length n."""
    cdef int inc = 1
    if floating is double:
        return ddot(&n, <double *> x, &inc, <double *> y, &inc)
    else:
        return sdot(&n, <float *> x, &inc, <float *> y, &inc)


cdef inline void outer_product(const floating *a, const floating *b, floating *c,
                               int m, int n) noexcept nogil:
    """c (m x n) = a (m) outer b (n): a product over an inner size of 1.

    numpy computes these directly, without BLAS; so does this, for the same
    rounding.
    """
    cdef Py_ssize_t i, j
    for i in range(m):
        for j in range(n):
            c[i * n + j] = a[i] * b[j]


cdef inline void matmul(const floating *a, const floating *b, floating *c,
                        int m, int k, int n) noexcept nogil:
    """c (m x n) = a (m x k) @ b (k x n); all row-major and contiguous."""
    if m == 1 and n == 1:
        c[0] = dot(k, a, b)
    elif m == 1:
        gemv(c'N', n, k, b, n, a, c)
    elif n == 1:
        gemv(c'T', k, m, a, k, b, c)
    else:
        gemm(c'N', c'N', n, m, k, b, n, a, k, 0.0, c, n)


cdef inline void matmul_transposed_b(const floating *a, const floating *b, floating *c,
                                     int m, int k, int n) noexcept nogil:
    """c (m x n) = a (m x k) @ b^T, for a row-major b of shape (n x k)."""
    if k == 1 and m > 1 and n > 1:
        outer_product(a, b, c, m, n)
    elif m == 1 and n == 1:
        c[0] = dot(k, a, b)
    elif m == 1:
        gemv(c'T', k, n, b, k, a, c)
    elif n == 1:
        gemv(c'T', k, m, a, k, b, c)
    else:
        gemm(c'T', c'N', n, m, k, b, k, a, k, 0.0, c, n)


cdef inline void matmul_transposed_a(const floating *a, const floating *b, floating *c,
                                     int m, int k, int n) noexcept nogil:
    """c (m x n) = a^T @ b, for row-major a (k x m) and b (k x n)."""
    if k == 1 and m > 1 and n > 1:
        outer_product(a, b, c, m, n)
    elif m == 1 and n == 1:
        c[0] = dot(k, a, b)
    elif m == 1:
        gemv(c'N', n, k, b, n, a, c)
    elif n == 1:
        gemv(c'N', m, k, a, m, b, c)
    else:
        gemm(c'N', c'T', n, m, k, b, n, a, m, 0.0, c, n)


cdef inline void add_matmul_transposed_a(const floating *a, const floating *b, floating *c,
                                         int m, int k, int n) noexcept nogil:
    """c (m x n) += a^T @ b, for row-major a (k x m) and b (k x n).

    Accumulates a gradient over row chunks; only the first chunk needs
    numpy's exact rounding, so this always calls gemm.
    """
    gemm(c'N', c'T', n, m, k, b, n, a, m, 1.0, c, n)
