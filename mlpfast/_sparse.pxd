# cython: language_level=3
"""First-layer products for CSR input, for float32 and float64.

Both loops visit the stored entries in the order scipy's own CSR/CSC
products do (row by row, entries in stored order, one scaled row added at a
time), so a sparse fit rounds like scikit-learn's sparse fit.  The caller
guarantees a valid CSR structure (checked in Python before any kernel).
"""
from cython cimport floating

ctypedef Py_ssize_t intp_t


cdef struct SparseRows:
    const void *values        # float or double, the network's dtype
    const intp_t *indices
    const intp_t *indptr
    const intp_t *rows        # the rows taken, in order; NULL: first_row, first_row + 1, ...
    Py_ssize_t first_row


cdef inline Py_ssize_t row_number(const SparseRows *x, Py_ssize_t i) noexcept nogil:
    return x.rows[i] if x.rows != NULL else x.first_row + i


cdef inline void sparse_matmul(const SparseRows *x, Py_ssize_t n_rows, const floating *b,
                               floating *c, Py_ssize_t n) noexcept nogil:
    """c (n_rows x n) = X[rows] @ b, for a row-major b of shape (n_features x n)."""
    cdef const floating *values = <const floating *> x.values
    cdef Py_ssize_t i, j, entry, row
    cdef floating value
    cdef floating *c_row
    cdef const floating *b_row
    for i in range(n_rows):
        row = row_number(x, i)
        c_row = c + i * n
        for j in range(n):
            c_row[j] = 0
        for entry in range(x.indptr[row], x.indptr[row + 1]):
            value = values[entry]
            b_row = b + x.indices[entry] * n
            for j in range(n):
                c_row[j] += value * b_row[j]


cdef inline void sparse_transposed_matmul(const SparseRows *x, Py_ssize_t n_rows,
                                          const floating *b, floating *c,
                                          Py_ssize_t n_features, Py_ssize_t n,
                                          bint accumulate) noexcept nogil:
    """c (n_features x n) = X[rows]^T @ b (or += when accumulate), b (n_rows x n)."""
    cdef const floating *values = <const floating *> x.values
    cdef Py_ssize_t i, j, entry, row
    cdef floating value
    cdef floating *c_row
    cdef const floating *b_row
    if not accumulate:
        for j in range(n_features * n):
            c[j] = 0
    for i in range(n_rows):
        row = row_number(x, i)
        b_row = b + i * n
        for entry in range(x.indptr[row], x.indptr[row + 1]):
            value = values[entry]
            c_row = c + x.indices[entry] * n
            for j in range(n):
                c_row[j] += value * b_row[j]
