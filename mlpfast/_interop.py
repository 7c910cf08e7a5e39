"""Conversion of fitted models between mlpfast and scikit-learn.

:func:`to_sklearn` and :func:`from_sklearn` copy a fitted model's parameters
(``get_params``), weights, fitted attributes and optimizer state to the
other library's estimator class. The copy owns every array: training or
editing one model never changes the other.

The weights are copied bit for bit. Predictions of the two models agree to
a few units in the last place, not bitwise: the libraries compute the same
formulas with different matrix-product and activation kernels. Converting
back gives bitwise the predictions of the original model.

Training continues where it stopped: ``partial_fit`` and a ``warm_start``
``fit`` after conversion take the same steps as they would have in the
original library (same optimizer moments, step count, learning rate, loss
history, early-stopping bookkeeping). Only the per-call random state is not
copied; both libraries derive it afresh from ``random_state`` at every
``fit`` and ``partial_fit``.
"""
import copy
import warnings

import numpy as np
from sklearn import neural_network
from sklearn.utils.validation import check_is_fitted

from mlpfast._estimators import TRAINING_RULES, MLPClassifier, MLPRegressor
from mlpfast._network import NetworkLayout
from mlpfast._schedules import sklearn_schedule
from mlpfast._optimizer_adapter import (
    OptimizerStateError,
    optimizer_from_sklearn,
    optimizer_to_sklearn,
)

# Fitted attributes that both libraries store in the same form.
_COMMON_FITTED_ATTRIBUTES = (
    "n_features_in_",
    "feature_names_in_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "classes_",
    "_label_binarizer",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "t_",
    "n_iter_",
    "_no_improvement_count",
)

_SKLEARN_COUNTERPART = {
    MLPClassifier: neural_network.MLPClassifier,
    MLPRegressor: neural_network.MLPRegressor,
}
_MLPFAST_COUNTERPART = {sklearn_class: mlpfast_class
                        for mlpfast_class, sklearn_class in _SKLEARN_COUNTERPART.items()}


def to_sklearn(
    estimator: MLPClassifier | MLPRegressor,
) -> neural_network.MLPClassifier | neural_network.MLPRegressor:
    """A scikit-learn MLP holding a copy of a fitted mlpfast model.

    Parameters
    ----------
    estimator : mlpfast.MLPClassifier or mlpfast.MLPRegressor
        A fitted model.

    Returns
    -------
    sklearn.neural_network.MLPClassifier or sklearn.neural_network.MLPRegressor
        Fitted, with the same parameters, weights (bit for bit), fitted
        attributes and optimizer state; it owns all its arrays.

    Raises
    ------
    TypeError
        If ``estimator`` is not an mlpfast MLP.
    ValueError
        If the model uses what scikit-learn's MLP cannot hold: a parameter
        it lacks (``class_weight``, say) away from its default, or a value
        it does not accept (an activation or loss of mlpfast's own), naming
        the parameter.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import mlpfast
    >>> X, y = load_iris(return_X_y=True)
    >>> fast = mlpfast.MLPClassifier(max_iter=500, random_state=0).fit(X, y)
    >>> reference = mlpfast.to_sklearn(fast)
    >>> type(reference).__module__
    'sklearn.neural_network._multilayer_perceptron'
    >>> bool((reference.predict(X) == fast.predict(X)).all())
    True
    """
    target_class = _counterpart(estimator, _SKLEARN_COUNTERPART, "to_sklearn")
    _check_sklearn_holds(estimator, target_class)
    coefs, intercepts = _copied_weights(estimator)
    converted = _unfitted_copy(estimator, target_class)
    converted.coefs_, converted.intercepts_ = coefs, intercepts

    # After an early-stopping fit the snapshot is the weight vector itself
    # (see mlpfast._training._end_on_best_params); scikit-learn's counterpart is a
    # snapshot that is the coefs_ and intercepts_ lists.
    estimator._sync_params_vector()
    best_params = getattr(estimator, "_best_params", None)
    if best_params is estimator._params:
        converted._best_coefs, converted._best_intercepts = coefs, intercepts
    elif best_params is not None:
        layout = _layout_of(coefs, intercepts)
        converted._best_coefs = [view.copy() for view in layout.coef_views(best_params)]
        converted._best_intercepts = [view.copy()
                                      for view in layout.intercept_views(best_params)]

    optimizer = getattr(estimator, "_optimizer", None)
    if optimizer is not None:
        _convert_optimizer(
            converted,
            lambda: optimizer_to_sklearn(optimizer, _layout_of(coefs, intercepts),
                                         coefs + intercepts),
        )
    return converted


def from_sklearn(
    estimator: neural_network.MLPClassifier | neural_network.MLPRegressor,
) -> MLPClassifier | MLPRegressor:
    """An mlpfast MLP holding a copy of a fitted scikit-learn model.

    Parameters
    ----------
    estimator : sklearn.neural_network.MLPClassifier or sklearn.neural_network.MLPRegressor
        A fitted model.

    Returns
    -------
    mlpfast.MLPClassifier or mlpfast.MLPRegressor
        Fitted, with the same parameters, weights (bit for bit), fitted
        attributes and optimizer state; it owns all its arrays.

    Raises
    ------
    TypeError
        If ``estimator`` is not a scikit-learn MLP.
    ValueError
        If its ``coefs_`` and ``intercepts_`` do not form a network of
        float32 or float64 layers.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted.

    Warns
    -----
    UserWarning
        When the optimizer state cannot be read (an unexpected scikit-learn
        optimizer); the model is converted without it, and ``partial_fit``
        then starts with a fresh optimizer.

    Notes
    -----
    A scikit-learn regressor trained on float32 X with float64 targets keeps
    its optimizer moments in float64 (its backward pass promotes to the
    targets' dtype). mlpfast keeps them in the dtype of the weights, so they
    are rounded to float32 here, and training continues as mlpfast's own
    float32 training does: within float32 rounding of scikit-learn's.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neural_network import MLPClassifier
    >>> import mlpfast
    >>> X, y = load_iris(return_X_y=True)
    >>> reference = MLPClassifier(learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> fast = mlpfast.from_sklearn(reference)
    >>> type(fast).__name__, fast.n_iter_ == reference.n_iter_
    ('MLPClassifier', True)
    >>> bool((fast.predict(X) == reference.predict(X)).all())
    True
    """
    target_class = _counterpart(estimator, _MLPFAST_COUNTERPART, "from_sklearn")
    coefs, intercepts = _copied_weights(estimator)
    layout = _layout_of(coefs, intercepts)
    dtype = _common_float_dtype(coefs + intercepts, "coefs_ and intercepts_")
    converted = _unfitted_copy(estimator, target_class)
    converted._set_params_vector(layout, layout.pack(coefs, intercepts, dtype))

    best_coefs = getattr(estimator, "_best_coefs", None)
    best_intercepts = getattr(estimator, "_best_intercepts", None)
    if _are_the_arrays_of(best_coefs, estimator.coefs_) and _are_the_arrays_of(
            best_intercepts, estimator.intercepts_):
        # scikit-learn's snapshot after an early-stopping fit: the live arrays.
        converted._best_params = converted._params
    elif best_coefs is not None and best_intercepts is not None:
        best_dtype = _common_float_dtype(best_coefs + best_intercepts,
                                         "_best_coefs and _best_intercepts")
        converted._best_params = layout.pack(best_coefs, best_intercepts, best_dtype)

    optimizer = getattr(estimator, "_optimizer", None)
    if optimizer is not None:
        _convert_optimizer(converted,
                           lambda: optimizer_from_sklearn(optimizer, layout, dtype))
    return converted


def _are_the_arrays_of(snapshot, live):
    """True when the snapshot list holds the live arrays themselves, not copies."""
    return snapshot is not None and len(snapshot) == len(live) and all(
        best is array for best, array in zip(snapshot, live))


def _counterpart(estimator, counterparts, function_name):
    """The other library's class for ``estimator``; TypeError for anything else."""
    for source_class, target_class in counterparts.items():
        if isinstance(estimator, source_class):
            return target_class
    expected = " or ".join(f"{cls.__module__.split('.')[0]}.{cls.__name__}"
                           for cls in counterparts)
    raise TypeError(
        f"{function_name} expects a fitted {expected}, got "
        f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    )


def _copied_weights(estimator):
    """Owned, C-contiguous copies of a fitted model's coefs_ and intercepts_."""
    check_is_fitted(estimator, ("coefs_", "intercepts_"))
    coefs = [np.array(coef, copy=True, order="C") for coef in estimator.coefs_]
    intercepts = [np.array(intercept, copy=True, order="C")
                  for intercept in estimator.intercepts_]
    return coefs, intercepts


def _training_rules_in_use(estimator):
    """mlpfast's training rules that ``estimator`` sets away from their defaults.

    Returns
    -------
    dict of str to object
        Each such parameter and its value.
    """
    params = estimator.get_params(deep=False)
    defaults = type(estimator)().get_params(deep=False)
    in_use = {name: params[name] for name in TRAINING_RULES
              if params[name] is not defaults[name] and params[name] != defaults[name]}
    if sklearn_schedule(params["learning_rate"]) != params["learning_rate"]:
        in_use["learning_rate"] = params["learning_rate"]
    return in_use


def _check_sklearn_holds(estimator, sklearn_class):
    """Raise ValueError, naming the parameter, unless ``sklearn_class`` can hold
    every parameter of ``estimator``.

    A parameter that only mlpfast has must be at its default: scikit-learn's
    model would silently drop it (a class-weighted model, refitted there,
    would train without its class weights). A value scikit-learn does not
    accept (an activation or a loss of mlpfast's own) fails scikit-learn's
    own parameter validation. The training rules (``TRAINING_RULES`` and a
    schedule of mlpfast's own) are the exception: they shape how a model
    trains, not what the fitted model is, so the model converts, with a
    warning naming them (see _held_parameters).
    """
    params = estimator.get_params(deep=False)
    held = sklearn_class().get_params(deep=False)
    defaults = type(estimator)().get_params(deep=False)
    rules = _training_rules_in_use(estimator)
    if rules:
        warnings.warn(
            f"to_sklearn: scikit-learn's {sklearn_class.__name__} holds this model's "
            f"weights but would train on without mlpfast's "
            f"{', '.join(f'{name}={value!r}' for name, value in sorted(rules.items()))}"
            + (" (learning_rate='constant' instead)" if "learning_rate" in rules else ""),
            UserWarning, stacklevel=3,
        )
    params = _held_parameters(params, held)
    for name in sorted(params.keys() - held.keys() - set(TRAINING_RULES)):
        if params[name] is not defaults[name] and params[name] != defaults[name]:
            raise ValueError(
                f"to_sklearn: scikit-learn's {sklearn_class.__name__} has no parameter "
                f"{name!r} (this model has {name}={params[name]!r}); "
                f"set_params({name}={defaults[name]!r}) converts the fitted model without it"
            )
    try:
        sklearn_class(**{name: params[name] for name in held})._validate_params()
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"to_sklearn: scikit-learn's {sklearn_class.__name__} cannot hold this model: {exc}"
        ) from exc


def _held_parameters(params, held):
    """``params`` with a schedule of mlpfast's own replaced by 'constant' when
    the target (parameters ``held``) is scikit-learn's, which lacks it."""
    if "learning_rate" in held:
        return {**params, "learning_rate": sklearn_schedule(params["learning_rate"])}
    return params


def _unfitted_copy(estimator, target_class):
    """A ``target_class`` estimator with a copy of ``estimator``'s parameters and
    fitted attributes, but no weights yet.

    One ``deepcopy`` call copies everything, so objects shared inside the
    source (``classes_`` is ``_label_binarizer.classes_``) stay shared in the
    copy, and a ``RandomState`` passed as ``random_state`` is copied, not
    shared between the two models.
    """
    # Only the parameters both classes have: to_sklearn has checked that
    # mlpfast's own are at their defaults (or training rules, which it
    # drops), and from_sklearn leaves them there.
    held = target_class().get_params(deep=False)
    params = {name: value for name, value
              in _held_parameters(estimator.get_params(deep=False), held).items()
              if name in held}
    attributes = {name: getattr(estimator, name) for name in _COMMON_FITTED_ATTRIBUTES
                  if hasattr(estimator, name)}
    params, attributes = copy.deepcopy((params, attributes))
    converted = target_class(**params)
    for name, value in attributes.items():
        setattr(converted, name, value)
    return converted


def _layout_of(coefs, intercepts):
    """The layout of a network given as per-layer arrays; ValueError if they do not chain."""
    if not coefs or len(coefs) != len(intercepts):
        raise ValueError(
            f"coefs_ and intercepts_ must be non-empty lists of equal length, got "
            f"{len(coefs)} and {len(intercepts)} arrays"
        )
    layer_units = []
    for index, (coef, intercept) in enumerate(zip(coefs, intercepts)):
        chains = coef.ndim == 2 and (not layer_units or coef.shape[0] == layer_units[-1])
        if not chains or intercept.shape != (coef.shape[1],):
            raise ValueError(
                f"layer {index} does not fit the network: coefs_[{index}] has shape "
                f"{coef.shape} and intercepts_[{index}] has shape {intercept.shape}, "
                f"after layers of widths {layer_units}"
            )
        if not layer_units:
            layer_units.append(coef.shape[0])
        layer_units.append(coef.shape[1])
    return NetworkLayout(layer_units)


def _common_float_dtype(arrays, what):
    dtypes = {array.dtype for array in arrays}
    if len(dtypes) != 1 or not dtypes <= {np.dtype(np.float32), np.dtype(np.float64)}:
        raise ValueError(
            f"{what} must all be float32 or all float64, got dtypes "
            f"{sorted(str(dtype) for dtype in dtypes)}"
        )
    return dtypes.pop()


def _convert_optimizer(converted, make_optimizer):
    """Give ``converted`` the optimizer ``make_optimizer`` builds, or none with a warning."""
    try:
        converted._optimizer = make_optimizer()
    except OptimizerStateError as error:
        warnings.warn(
            f"The optimizer state could not be converted ({error}); partial_fit on "
            "the converted model starts with a fresh optimizer.",
            UserWarning,
            stacklevel=3,
        )
