"""Input and size checks that run in Python before any compiled kernel.

The kernels in ``mlpfast._kernels`` are compiled without bounds checks, so
everything they are handed must already be known to be sound: integer layer
widths, products that fit the 32-bit sizes of a BLAS call, buffers that can be
allocated at all.  scikit-learn's own validation (``validate_data`` and the
parameter constraints) runs first; this module adds what it leaves out:

* ``hidden_layer_sizes`` must hold integers.  scikit-learn accepts any
  array-like there and fails later, deep inside numpy, with a TypeError;
  ``int()`` would silently truncate 5.5 to 5.  Here: the same TypeError type,
  with a message naming the parameter.
* A network too large to train fails fast, before anything is allocated, with
  ``NetworkTooLargeError`` (both a MemoryError, which is what scikit-learn's
  first failing allocation raises, and a ValueError) saying how much memory
  the fit would need.
* Dates and time spans (datetime64/timedelta64) are rejected as X, and
  non-numeric regression targets as y, with a TypeError.  scikit-learn
  converts datetime X silently to numbers whose scale depends on the unit, and
  fails on such y (and on datetime X at predict) with a numpy TypeError.
"""
import numbers
import os
import sys

import numpy as np

from mlpfast._kernels import MAX_BLAS_INT, MAX_CHUNK_ROWS

# The float64 vectors scipy's L-BFGS-B (m = 10) keeps.
LBFGS_VECTORS = 25


class NetworkTooLargeError(MemoryError, ValueError):
    """The network cannot be trained here: too large to allocate or to address.

    A MemoryError, as what scikit-learn's failing allocation raises, and a
    ValueError, as the invalid ``hidden_layer_sizes`` it usually stems from.
    """


def _format_bytes(n_bytes):
    value = float(n_bytes)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if value < 1024.0 or unit == "EiB":
            break
        value /= 1024.0
    if unit == "bytes":
        return f"{int(n_bytes)} bytes"
    if value >= 1024.0:
        return f"{value:.3g} {unit}"
    return f"{value:.1f} {unit}"


def hidden_layer_sizes_list(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a list of Python ints, or a clear error.

    Raises ValueError for sizes <= 0 (scikit-learn's check and message, which
    runs first) and TypeError for anything that is not an integer: floats
    (even 5.0, as scikit-learn), bools, strings, None, nested sequences.
    """
    sizes = hidden_layer_sizes
    if isinstance(sizes, np.ndarray) and sizes.ndim != 1:
        raise TypeError(
            "hidden_layer_sizes must be an int or a 1-D sequence of ints, got an "
            f"array of shape {sizes.shape}"
        )
    if not hasattr(sizes, "__iter__") or isinstance(sizes, (str, bytes)):
        sizes = [sizes]
    sizes = list(sizes)
    for size in sizes:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Real):
            raise TypeError(
                f"hidden_layer_sizes must hold integers, got {size!r} of type "
                f"{type(size).__name__} in {sizes!r}"
            )
    if any(size <= 0 for size in sizes):
        raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
    for size in sizes:
        if not isinstance(size, numbers.Integral):
            raise TypeError(
                f"hidden_layer_sizes must hold integers, got {size!r} of type "
                f"{type(size).__name__} in {sizes!r}"
            )
    return [int(size) for size in sizes]


# A fit that needs less memory than this process already holds fits in any
# limit it runs under: with numpy, scipy and scikit-learn imported it holds
# several times SURELY_AVAILABLE_BYTES.  Smaller fits skip reading the
# limits, three files that took about a sixth of a 200-row partial_fit
# call (bench/MEASUREMENTS.md, 'Memory limit reading').
SURELY_AVAILABLE_BYTES = 32 * 2**20


def _memory_limit():
    """Bytes this process could use at most (RAM + swap, or a cgroup limit); None if unknown."""
    limit = None
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo if ":" in line)
        limit = sum(int(fields[key].split()[0]) * 1024
                    for key in ("MemTotal", "SwapTotal") if key in fields) or None
    except (OSError, ValueError):
        try:
            limit = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            limit = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as cgroup_file:
                text = cgroup_file.read().strip()
        except OSError:
            continue
        if text.isdigit():
            limit = int(text) if limit is None else min(limit, int(text))
        break
    return limit


def training_footprint(layer_units, itemsize, batch_rows, n_moments):
    """Element counts and bytes a fit of this network allocates.

    Counts the flat parameter vector, its best-so-far copy, the gradient, the
    optimizer moments (``n_moments`` vectors) and the per-batch workspace
    (activations and deltas of every layer, the gathered input and target
    rows). Python ints: nothing here can overflow.

    Returns
    -------
    n_params : int
    n_bytes : int
    """
    units = [int(u) for u in layer_units]
    n_params = sum(a * b for a, b in zip(units[:-1], units[1:])) + sum(units[1:])
    workspace = 2 * batch_rows * sum(units[1:]) + batch_rows * (units[0] + units[-1])
    n_elements = (3 + n_moments) * n_params + workspace
    return n_params, n_elements * itemsize


def check_network_size(layer_units, dtype, n_samples, batch_size, solver):
    """Fail fast, before allocating, if the network cannot be trained here.

    Parameters
    ----------
    layer_units : sequence of int
        Every layer width, the input first and the output last.
    dtype : numpy dtype of the weights
    n_samples : int
        Training rows (the batch is at most this many).
    batch_size : int or 'auto'
    solver : str

    Raises
    ------
    NetworkTooLargeError
        If the parameters exceed what the platform can address (sys.maxsize)
        or the memory the fit needs exceeds this machine's RAM + swap.
    ValueError
        If a weight matrix or a batch of a layer exceeds the 2**31 - 1
        elements a BLAS call can address.
    """
    units = [int(u) for u in layer_units]
    itemsize = np.dtype(dtype).itemsize
    if solver == "lbfgs":
        # Full batch, in chunks of at most the kernels' MAX_CHUNK_ROWS rows;
        # scipy's L-BFGS-B keeps about 2 * 10 correction vectors plus a few more.
        batch_rows = min(MAX_CHUNK_ROWS, max(n_samples, 1))
        n_moments = LBFGS_VECTORS
        dtype = np.float64  # L-BFGS-B works in float64 whatever X's dtype
        itemsize = 8
    else:
        if batch_size == "auto":
            batch_rows = min(200, n_samples)
        else:
            batch_rows = int(np.clip(batch_size, 1, max(n_samples, 1)))
        n_moments = 2 if solver == "adam" else 1
    n_params, n_bytes = training_footprint(units, itemsize, batch_rows, n_moments)

    def described():
        # Formatted only for an error: otherwise more than half of the check's time
        # (run at every partial_fit call).
        return (
            f"a network with layers {units} has {n_params:,} parameters; training it "
            f"({np.dtype(dtype).name}, batch of {batch_rows} rows) needs about "
            f"{_format_bytes(n_bytes)} ({n_bytes:,} bytes)"
        )

    if n_params > sys.maxsize // itemsize or n_bytes > sys.maxsize:
        raise NetworkTooLargeError(
            f"{described()}, more than this platform can address "
            f"(sys.maxsize = {sys.maxsize:,} bytes). Reduce hidden_layer_sizes."
        )
    limit = _memory_limit() if n_bytes > SURELY_AVAILABLE_BYTES else None
    if limit is not None and n_bytes > limit:
        raise NetworkTooLargeError(
            f"{described()}, more than the {_format_bytes(limit)} of memory this "
            "machine has. Reduce hidden_layer_sizes."
        )
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        if fan_in * fan_out > MAX_BLAS_INT:
            raise ValueError(
                f"a {fan_in} x {fan_out} weight matrix has {fan_in * fan_out:,} elements, "
                f"more than the {MAX_BLAS_INT:,} (2**31 - 1) a BLAS call can address"
            )
    for width in units:
        if batch_rows * width > MAX_BLAS_INT:
            raise ValueError(
                f"a batch of {batch_rows} rows of a {width}-wide layer has "
                f"{batch_rows * width:,} elements, more than the {MAX_BLAS_INT:,} "
                "(2**31 - 1) a BLAS call can address; lower batch_size"
            )
    return n_bytes


def _dtype_kinds(X):
    dtypes = getattr(X, "dtypes", None)  # pandas DataFrame
    if dtypes is not None and not isinstance(dtypes, np.dtype):
        try:
            return [(getattr(d, "kind", None), d) for d in dtypes]
        except TypeError:
            return []
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype) or hasattr(dtype, "kind"):
        return [(getattr(dtype, "kind", None), dtype)]
    return []


def reject_dates(X, name="X"):
    """TypeError if X holds datetime64 or timedelta64 values."""
    for kind, dtype in _dtype_kinds(X):
        if kind in ("M", "m"):
            raise TypeError(
                f"{name} has dtype {dtype}: dates and time spans are not numbers. "
                "Convert them to numeric features (e.g. seconds) before using them."
            )


def check_regression_targets(y, name="y"):
    """TypeError unless the validated regression targets are numbers."""
    if np.asarray(y).dtype.kind not in "biuf":
        raise TypeError(
            f"MLPRegressor needs numeric targets, got {name} of dtype {np.asarray(y).dtype}"
        )


def dropout_rates(dropout, n_hidden):
    """``dropout`` as one float rate in [0, 1) per hidden layer, or a clear error.

    A number applies to every hidden layer; a sequence must hold one number
    per hidden layer. The parameter constraints have checked a number's
    range, not a sequence's entries.

    Raises
    ------
    TypeError
        For entries that are not real numbers (bools included).
    ValueError
        For a sequence of the wrong length or entries outside [0, 1).
    """
    if isinstance(dropout, numbers.Real) and not isinstance(dropout, (bool, np.bool_)):
        entries = [dropout] * n_hidden
    else:
        entries = list(np.ravel(np.asarray(dropout, dtype=object)))
        if np.ndim(dropout) != 1 or len(entries) != n_hidden:
            raise ValueError(
                f"dropout must be a number or a sequence of one rate per hidden layer "
                f"({n_hidden}), got {dropout!r}"
            )
    rates = []
    for entry in entries:
        if not isinstance(entry, numbers.Real) or isinstance(entry, (bool, np.bool_)):
            raise TypeError(f"dropout rates must be real numbers, got {entry!r}")
        if not 0 <= entry < 1:
            raise ValueError(f"dropout rates must be in [0, 1), got {entry!r}")
        rates.append(float(entry))
    return rates


def check_stochastic_only_options(estimator, rates):
    """ValueError when 'lbfgs' is asked for what only the stochastic solvers do.

    Dropout makes the objective random, which breaks L-BFGS's line search;
    decoupled weight decay and gradient clipping are rules of a gradient
    step, which L-BFGS does not take. Silently ignoring them would train
    another model than the one asked for. ``rates`` are the estimator's
    dropout rates (``dropout_rates``).
    """
    if estimator.solver != "lbfgs":
        return
    in_use = []
    if any(rates):
        in_use.append(f"dropout={estimator.dropout!r}")
    if estimator.weight_decay != 0:
        in_use.append(f"weight_decay={estimator.weight_decay!r}")
    if estimator.max_grad_norm is not None:
        in_use.append(f"max_grad_norm={estimator.max_grad_norm!r}")
    if in_use:
        raise ValueError(
            f"{', '.join(in_use)} needs solver='sgd' or 'adam': solver='lbfgs' takes no "
            "mini-batch steps (and dropout would make its objective random)"
        )


def parameters_snapshot(parameters):
    """A value that compares equal exactly when the parameters are the same, or None.

    scikit-learn's parameter validation costs about a tenth of a millisecond,
    a quarter of a 200-row digits ``partial_fit`` call once the rest is lean
    (bench/MEASUREMENTS.md, 'Per-call costs of streaming'): estimators
    validate again only when this value differs from the one of the last
    validation that passed.  Each value is taken with its exact type, since
    the constraints tell ``True`` from ``1`` and ``1.0`` from ``1``.

    Parameters
    ----------
    parameters : dict
        ``get_params(deep=False)`` of an estimator.

    Returns
    -------
    snapshot : tuple or None
        None when a value could change without its identity changing (a
        list, a dict, an array): those parameters are validated every time.
    """
    try:
        return tuple((name, _frozen_parameter(value)) for name, value in parameters.items())
    except TypeError:
        return None


_IMMUTABLE_PARAMETER_TYPES = frozenset((type(None), bool, int, float, str))


def _frozen_parameter(value):
    """``value`` with its type, recursively through tuples; TypeError for the mutable."""
    if type(value) is tuple:
        return tuple, tuple(_frozen_parameter(item) for item in value)
    if type(value) in _IMMUTABLE_PARAMETER_TYPES or isinstance(value, np.generic):
        return type(value), value
    if isinstance(value, np.random.RandomState):
        # The constraint is on the type; drawing numbers does not change it.
        return (np.random.RandomState,)
    raise TypeError(f"{type(value).__name__} parameters may change in place")
