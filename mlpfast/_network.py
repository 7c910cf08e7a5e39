"""Layer layout over one flat parameter vector, and weight initialisation.

All weight matrices come first, then all bias vectors (the order in which
scikit-learn packs parameters for L-BFGS), so the vector can be handed to
``scipy.optimize`` as it is.
"""
import numpy as np

from mlpfast._activations import ACTIVATIONS

# Where flat parameter vectors start: on a cache line (64 bytes), so that a
# weight matrix whose rows are a multiple of 64 bytes has every row on a line
# boundary. numpy's own arrays start on 16 bytes; from there a one-row product
# of 392 x 256 float32 weights (half of a 784 x 256 layer) took 4.3 us against
# 3.5 from a line boundary, its vector loads straddling two lines
# (bench/MEASUREMENTS.md, 'Weights on cache lines').
VECTOR_ALIGNMENT = 64


def aligned_empty(n, dtype):
    """An uninitialised vector of n elements starting on a VECTOR_ALIGNMENT boundary.

    Parameters
    ----------
    n : int
    dtype : numpy dtype

    Returns
    -------
    ndarray of shape (n,)
        A view into a slightly larger byte buffer.
    """
    itemsize = np.dtype(dtype).itemsize
    buffer = np.empty(n * itemsize + VECTOR_ALIGNMENT, dtype=np.uint8)
    start = -buffer.ctypes.data % VECTOR_ALIGNMENT
    return buffer[start : start + n * itemsize].view(dtype)


def aligned_copy(values, dtype):
    """A new vector of ``dtype`` holding ``values`` (1-D), starting on a VECTOR_ALIGNMENT boundary."""
    copy = aligned_empty(len(values), dtype)
    copy[...] = values
    return copy


def aligned(vector):
    """``vector`` itself if it starts on a VECTOR_ALIGNMENT boundary, else an aligned copy."""
    if vector.ctypes.data % VECTOR_ALIGNMENT == 0:
        return vector
    return aligned_copy(vector, vector.dtype)


class NetworkLayout:
    """Where each layer's weights and biases sit in the flat parameter vector.

    Parameters
    ----------
    layer_units : sequence of int
        Widths of every layer, the input first and the output last.

    Attributes
    ----------
    layer_units : tuple of int
    coef_offsets : tuple of int
        Start of layer ``l``'s weight matrix, row-major
        ``(layer_units[l], layer_units[l + 1])``.
    intercept_offsets : tuple of int
        Start of layer ``l``'s bias vector, length ``layer_units[l + 1]``.
    n_params : int
        Length of the flat vector.
    """

    def __init__(self, layer_units):
        self.layer_units = tuple(int(units) for units in layer_units)
        fan_pairs = list(zip(self.layer_units[:-1], self.layer_units[1:]))
        offset = 0
        coef_offsets = []
        for fan_in, fan_out in fan_pairs:
            coef_offsets.append(offset)
            offset += fan_in * fan_out
        intercept_offsets = []
        for _, fan_out in fan_pairs:
            intercept_offsets.append(offset)
            offset += fan_out
        self.coef_offsets = tuple(coef_offsets)
        self.intercept_offsets = tuple(intercept_offsets)
        self.n_params = offset

    @property
    def n_weight_layers(self):
        return len(self.layer_units) - 1

    def coef_views(self, params):
        """Weight matrices as views into ``params``."""
        return [
            params[start : start + fan_in * fan_out].reshape(fan_in, fan_out)
            for start, fan_in, fan_out in zip(
                self.coef_offsets, self.layer_units[:-1], self.layer_units[1:]
            )
        ]

    def intercept_views(self, params):
        """Bias vectors as views into ``params``."""
        return [
            params[start : start + fan_out]
            for start, fan_out in zip(self.intercept_offsets, self.layer_units[1:])
        ]

    def pack(self, coefs, intercepts, dtype):
        """A new flat vector holding copies of the given layer arrays."""
        params = aligned_empty(self.n_params, dtype)
        for view, array in zip(self.coef_views(params), coefs):
            view[...] = array
        for view, array in zip(self.intercept_views(params), intercepts):
            view[...] = array
        return params


def glorot_uniform_params(layout, activation, random_state, dtype):
    """Initial parameters drawn exactly as scikit-learn draws them.

    For each layer in order, the weights and then the biases come from
    ``random_state.uniform(-bound, bound, shape)`` in float64 with
    ``bound = sqrt(factor / (fan_in + fan_out))``, the hidden activation's
    ``init_bound_factor`` (mlpfast._activations) for every layer, the output
    layer included, and are then cast to ``dtype``.

    Parameters
    ----------
    layout : NetworkLayout
    activation : str
        The hidden activation.
    random_state : numpy.random.RandomState
    dtype : numpy dtype

    Returns
    -------
    params : ndarray of shape (layout.n_params,)
    """
    factor = ACTIVATIONS[activation].init_bound_factor
    params = aligned_empty(layout.n_params, dtype)
    coef_views = layout.coef_views(params)
    intercept_views = layout.intercept_views(params)
    for coef, intercept in zip(coef_views, intercept_views):
        fan_in, fan_out = coef.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept[...] = random_state.uniform(-bound, bound, fan_out)
    return params
