"""Block-by-block training over dask arrays, on whatever scheduler is active.

``dask_ml.wrappers.Incremental`` already streams the row blocks of a dask
array through ``partial_fit`` and is what we recommend for a 1-D target.  Two
things it cannot do, as of dask-ml 2025.1 on dask 2026.8:

- a 2-D target (multi-output regression, multilabel classification): it names
  block ``i`` of y as ``(name, i)``, which is not a key of a 2-D array, so
  ``partial_fit`` receives that tuple instead of the block;
- per-row ``sample_weight``: fit keyword arguments go whole to every block,
  so each block gets all n weights and ``partial_fit`` rejects them.

``partial_fit_blocks`` chains one task per row block instead, each taking
the model that the previous task returned, so the blocks are visited in
order and the result is the same as calling ``partial_fit`` on each block
in turn in one process.  Under a ``distributed.Client`` the tasks run on the
cluster's workers and the model travels between them by pickle.
"""
from __future__ import annotations

import copy
import math
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import dask.array
    from numpy.typing import ArrayLike

Estimator = TypeVar("Estimator")


def partial_fit_blocks(
    estimator: Estimator,
    X: dask.array.Array,
    y: dask.array.Array,
    *,
    classes: ArrayLike | None = None,
    sample_weight: dask.array.Array | None = None,
) -> Estimator:
    """Train ``estimator`` with one ``partial_fit`` call per row block, in order.

    Parameters
    ----------
    estimator : estimator with a ``partial_fit`` method
        Typically an :class:`mlpfast.MLPClassifier` or
        :class:`mlpfast.MLPRegressor`, fresh or already trained (training
        continues from its current state).  It is not modified: the trained
        model is a copy, returned.
    X : dask.array.Array of shape (n_samples, n_features)
        Training data.  Blocks split along columns are joined first, so each
        task sees whole rows.
    y : dask.array.Array of shape (n_samples,) or (n_samples, n_outputs)
        Targets, split into the same row blocks as ``X`` (rechunked to them
        when the block sizes are known and differ).
    classes : array-like, optional
        All class labels, passed with the first block as ``partial_fit``
        requires for a classifier that has not been trained yet.  For a
        multilabel indicator target, ``numpy.arange(n_labels)``.  Leave it
        out for a regressor.
    sample_weight : dask.array.Array of shape (n_samples,), optional
        Per-row weights, split into the same row blocks as ``X``.

    Returns
    -------
    estimator
        The trained copy, after ``partial_fit`` has seen every block once.

    Raises
    ------
    ImportError
        If dask is not installed (``pip install 'mlpfast[dask]'``).
    TypeError
        If ``estimator`` has no ``partial_fit`` or an input is not a dask array.
    ValueError
        If the inputs have the wrong number of dimensions or cannot be split
        into the same row blocks.

    Examples
    --------
    >>> import dask.array as da
    >>> from sklearn.datasets import make_regression
    >>> import mlpfast
    >>> X, y = make_regression(n_samples=400, n_features=6, n_targets=2, random_state=0)
    >>> model = mlpfast.partial_fit_blocks(
    ...     mlpfast.MLPRegressor(hidden_layer_sizes=(10,), random_state=0),
    ...     da.from_array(X, chunks=100), da.from_array(y, chunks=100))
    >>> model.t_  # rows seen
    400
    """
    dask_array, delayed = _import_dask()
    if getattr(estimator, "solver", None) == "lbfgs":
        # L-BFGS is not stochastic: the classifier has no partial_fit and the
        # regressor's (scikit-learn's quirk) refits from scratch on each block.
        raise ValueError("partial_fit_blocks needs a stochastic solver ('sgd' or 'adam'), "
                         "got solver='lbfgs'")
    if not hasattr(type(estimator), "partial_fit"):
        raise TypeError(f"{type(estimator).__name__} has no partial_fit method")
    X = _whole_rows(_checked_dask_array(X, "X", (2,), dask_array))
    y = _whole_rows(_checked_dask_array(y, "y", (1, 2), dask_array))
    y = _on_row_blocks_of(X, y, "y")
    weight_blocks = None
    if sample_weight is not None:
        sample_weight = _checked_dask_array(sample_weight, "sample_weight", (1,), dask_array)
        weight_blocks = _on_row_blocks_of(X, sample_weight, "sample_weight").to_delayed().ravel()

    x_blocks = X.to_delayed().ravel()
    y_blocks = y.to_delayed().ravel()
    # Each task trains the model it receives in place, so task keys must be
    # unique per call: a key shared with another call would hand over a model
    # trained on other data.
    name = f"partial_fit_blocks-{uuid.uuid4().hex}"
    model = copy.deepcopy(estimator)
    for i, (x_block, y_block) in enumerate(zip(x_blocks, y_blocks)):
        fit_kwargs: dict[str, Any] = {}
        if i == 0 and classes is not None:
            fit_kwargs["classes"] = classes
        weight_block = None if weight_blocks is None else weight_blocks[i]
        model = delayed(_partial_fit_block)(
            model, x_block, y_block, weight_block, fit_kwargs, dask_key_name=(name, i))
    return model.compute()


def _import_dask():
    try:
        import dask.array as dask_array
        from dask import delayed
    except ImportError:
        raise ImportError(
            "partial_fit_blocks needs the 'dask' extra: pip install 'mlpfast[dask]'") from None
    return dask_array, delayed


def _partial_fit_block(model, X_block, y_block, weight_block, fit_kwargs):
    """One task of the chain: train on one block, hand the model on."""
    if weight_block is not None:
        fit_kwargs = {**fit_kwargs, "sample_weight": weight_block}
    model.partial_fit(X_block, y_block, **fit_kwargs)
    return model


def _checked_dask_array(array, name, allowed_ndims, dask_array):
    if not isinstance(array, dask_array.Array):
        raise TypeError(
            f"{name} must be a dask array, got {type(array).__module__}.{type(array).__name__}; "
            "for in-memory data call partial_fit directly")
    if array.ndim not in allowed_ndims:
        expected = " or ".join(str(n) for n in allowed_ndims)
        raise ValueError(f"{name} must have {expected} dimensions, got {array.ndim}")
    return array


def _whole_rows(array):
    """The array with all its columns in one block."""
    if array.ndim == 2 and len(array.chunks[1]) > 1:
        return array.rechunk({1: -1})
    return array


def _on_row_blocks_of(X, array, name):
    """``array`` split into X's row blocks."""
    x_rows, rows = X.chunks[0], array.chunks[0]
    if rows == x_rows:
        return array
    if any(math.isnan(size) for size in x_rows + rows):
        # Sizes unknown until computed: pair the blocks one to one and let
        # partial_fit reject a pair whose row counts differ.
        if len(rows) == len(x_rows):
            return array
        raise ValueError(
            f"{name} has {len(rows)} row blocks of unknown size but X has "
            f"{len(x_rows)}; call compute_chunk_sizes() on both first")
    if sum(rows) != sum(x_rows):
        raise ValueError(f"{name} has {sum(rows)} rows but X has {sum(x_rows)}")
    return array.rechunk({0: x_rows})
