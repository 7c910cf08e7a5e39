"""Input conversion between scikit-learn's validation and the kernels.

scikit-learn's ``validate_data`` has already checked values and shapes; what
is left is to give the kernels exactly what they read: C-contiguous arrays of
the network's dtype, CSR matrices with intp indices whose structure is
consistent (the kernels index without bounds checks), and sample weights as a
1-D array.
"""
import numbers

import numpy as np
import scipy.sparse
from sklearn.utils import check_array


class KernelCsr:
    """A CSR matrix as the kernels read it: intp indices, verified structure.

    scipy may store indices as int32 and rebuild them on construction, so
    the kernels get this plain holder instead of a scipy matrix.
    """

    format = "csr"
    ndim = 2

    def __init__(self, data, indices, indptr, shape):
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.shape = shape

    @property
    def dtype(self):
        return self.data.dtype


def kernel_matrix(X, dtype):
    """X as the kernels take it: a C-contiguous ``dtype`` array or a KernelCsr.

    CSC and other sparse formats become CSR, as in scikit-learn.  The CSR
    structure is verified here because the kernels trust it.
    """
    if not scipy.sparse.issparse(X):
        return np.ascontiguousarray(X, dtype=dtype)
    X = scipy.sparse.csr_matrix(X, dtype=dtype)
    n_rows, n_features = X.shape
    indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
    indices = np.ascontiguousarray(X.indices, dtype=np.intp)
    data = np.ascontiguousarray(X.data)
    if (indptr.shape != (n_rows + 1,) or indptr[0] != 0 or indptr[-1] != data.shape[0]
            or indices.shape != data.shape or np.any(np.diff(indptr) < 0)):
        raise ValueError("X is not a valid CSR matrix: its indptr is inconsistent")
    if indices.size and (indices.min() < 0 or indices.max() >= n_features):
        raise ValueError(
            f"X is not a valid CSR matrix: column indices must lie in [0, {n_features})"
        )
    return KernelCsr(data, indices, indptr, X.shape)


def check_sample_weight(sample_weight, n_samples, name="sample_weight"):
    """Sample weights as a 1-D float array of length n_samples, or None.

    Follows scikit-learn's rules: a scalar is broadcast, integers become
    float64, negative weights are accepted, all-zero weights are not.
    ``name`` is the argument the messages name (``sample_weight_val`` for
    the weights of a validation set).
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    else:
        sample_weight = check_array(
            sample_weight, accept_sparse=False, ensure_2d=False,
            dtype=[np.float64, np.float32], order="C", input_name=name,
        )
        if sample_weight.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {sample_weight.ndim}D "
                "array. Expected either a scalar value or a 1D array of length "
                f"{n_samples}."
            )
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"{name}.shape == {sample_weight.shape}, expected {(n_samples,)}!"
            )
    if np.all(sample_weight == 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight


def class_positions(y, classes):
    """Index of each label of 1-D ``y`` in the sorted ``classes``, or None.

    None when y is not 1-D or holds a label that is not one of the classes
    (or one that cannot be compared with them): the caller then takes
    scikit-learn's own path, with its checks and messages.
    """
    if y.ndim != 1 or len(classes) == 0:
        return None
    try:
        positions = np.searchsorted(classes, y)
        found = classes.take(positions, mode="clip")
        if not (found == y).all():
            return None
    except TypeError:   # labels and classes of types that do not compare
        return None
    return positions


def indicator_matrix(positions, n_classes):
    """The bool targets LabelBinarizer.transform gives for labels at positions.

    Its own path builds a sparse matrix and checks the labels' type again:
    over a quarter of a 200-row ``partial_fit`` call (bench/MEASUREMENTS.md,
    'Class targets without LabelBinarizer').  Two classes
    give one column (the second class), more give one column per class, as
    there; ``n_classes`` must be at least 2.
    """
    if n_classes == 2:
        return (positions == 1).reshape(-1, 1)
    indicator = np.zeros((positions.shape[0], n_classes), dtype=bool)
    indicator[np.arange(positions.shape[0]), positions] = True
    return indicator
