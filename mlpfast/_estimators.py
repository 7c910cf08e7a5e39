"""scikit-learn estimators backed by mlpfast's compiled kernels.

The estimators own their parameters and their validation, the input
checks, the network's initialisation, the fitted attributes and
prediction. ``fit`` and ``partial_fit`` check and initialise, then hand
training to ``mlpfast._training`` (validation split, epoch loop, stopping
rules, best weights, L-BFGS). ``fit``'s own validation set (``X_val``,
``y_val``, ``sample_weight_val``) follows the rules of scikit-learn's
``HistGradientBoostingClassifier.fit`` (in
``sklearn/ensemble/_hist_gradient_boosting/gradient_boosting.py``).
Every numeric loop runs in ``mlpfast._kernels``.
Behaviour follows scikit-learn 1.9's ``MLPClassifier``/``MLPRegressor``,
quirks included, so results reproduce: the reference is scikit-learn's
source, ``sklearn/neural_network/_multilayer_perceptron.py`` and
``_stochastic_optimizers.py``, and its user guide,
https://scikit-learn.org/stable/modules/neural_networks_supervised.html.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union

import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike, NDArray
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.callback import CallbackSupportMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier as _SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as _SklearnMLPRegressor
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_array, check_consistent_length, check_random_state, column_or_1d
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from mlpfast import _checks, _kernels, _threads, _training
from mlpfast._activations import (
    HIDDEN_ACTIVATIONS, LOSSES, OUTPUT_ACTIVATION_OF_LOSS, REGRESSION_LOSSES,
)
from mlpfast._callbacks import FitTasks
from mlpfast._inputs import (
    check_sample_weight, class_positions, indicator_matrix, kernel_matrix,
)
from mlpfast._network import NetworkLayout, aligned, glorot_uniform_params
from mlpfast._schedules import SCHEDULES

# Types of the public signatures. Annotations stay strings until asked for
# (typing.get_type_hints), so the sparse names cost nothing at import.
MatrixLike = Union[ArrayLike, "scipy.sparse.spmatrix", "scipy.sparse.sparray"]
HiddenLayerSizes = Union[int, Sequence[int], "NDArray[np.integer[Any]]"]
# Literal types cannot be computed: tests/test_tables.py checks these two
# against mlpfast._activations.HIDDEN_ACTIVATIONS and REGRESSION_LOSSES.
Activation = Literal["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu",
                     "softplus"]
Solver = Literal["lbfgs", "sgd", "adam"]
LearningRateSchedule = Literal["constant", "invscaling", "adaptive", "cosine"]
# One rate for every hidden layer, or one per hidden layer.
DropoutRates = Union[float, Sequence[float]]
RegressionLoss = Literal["squared_error", "poisson", "huber"]
RandomStateLike = int | np.random.RandomState | None
# 'balanced', {label: weight}, or one {label: weight} per output (multilabel).
ClassWeight = Union[Literal["balanced"], dict[Any, float], list[dict[Any, float]], None]
# Methods returning self return the caller's own class (a subclass included).
_Estimator = TypeVar("_Estimator", bound="_BaseMLP")
_Method = TypeVar("_Method", bound=Callable[..., Any])

if TYPE_CHECKING:
    # scikit-learn ships no type information, so type checkers would see the
    # methods these decorate as Any; declared here, the signatures show.
    def with_callbacks(method: _Method) -> _Method: ...

    def available_if(check: Callable[[Any], Any]) -> Callable[[_Method], _Method]: ...
else:
    from sklearn.callback import with_callbacks
    from sklearn.utils.metaestimators import available_if

# Estimator class -> the names of its __init__ parameters, which
# BaseEstimator._get_param_names finds by inspecting the signature each time.
_PARAMETER_NAMES = {}

# scikit-learn's Interval constraint, whose module is private, taken from its
# own alpha constraint.
_Interval = type(_SklearnMLPRegressor._parameter_constraints["alpha"][0])


def _with_options(constraints, name, options):
    """``constraints`` with parameter ``name`` limited to the strings ``options``.

    Where the options are scikit-learn's own, its constraint is kept, so
    that its error messages (which list a set in its iteration order) stay
    the same to the character; otherwise a new one is made with the class of
    scikit-learn's (its ``StrOptions``, whose module is private).
    """
    (template,) = constraints[name]
    if template.options == set(options):
        return dict(constraints)
    return {**constraints, name: [type(template)(set(options))]}


# mlpfast's parameters that shape how a model trains, not what a fitted
# model is (with the schedules scikit-learn lacks): a model trained with
# them converts to scikit-learn's (mlpfast._interop).
TRAINING_RULES = ("dropout", "weight_decay", "max_grad_norm")


def _beyond_sklearn_constraints(constraints):
    """scikit-learn's parameter constraints with mlpfast's own options added:
    its activations, its schedules and the training rules of its own."""
    constraints = _with_options(constraints, "activation", HIDDEN_ACTIVATIONS)
    constraints = _with_options(constraints, "learning_rate", tuple(SCHEDULES))
    return {
        **constraints,
        # A number for every hidden layer or a sequence of them, whose
        # entries _checks.dropout_rates checks.
        "dropout": [_Interval(Real, 0, 1, closed="left"), "array-like"],
        "weight_decay": [_Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [_Interval(Real, 0, None, closed="neither"), None],
    }


def _caller_weights(targets, sample_weight):
    """The rows' weights as the caller gave them (no class weights)."""
    return sample_weight


def _is_plain_target(y, n_rows):
    """True for targets ``validate_data`` passes unchanged: a native 1-D ndarray
    of ``n_rows`` booleans, integers or strings, or of finite floats."""
    if type(y) is not np.ndarray or y.shape != (n_rows,) or not y.dtype.isnative:
        return False
    kind = y.dtype.kind
    return kind in "biuU" or (kind == "f" and bool(np.isfinite(y).all()))


def _reject_weightless_classes(classes, labels, sample_weight):
    """ValueError for classes whose samples' weights sum to zero.

    'balanced' divides by that sum: scikit-learn's classifiers go on with
    an infinite class weight, and NaN sample weights, and fail later.
    """
    if sample_weight is None:
        return
    totals = np.bincount(np.searchsorted(classes, labels), weights=sample_weight,
                         minlength=len(classes))
    weightless = classes[totals == 0]
    if len(weightless):
        raise ValueError(
            f"class_weight='balanced' cannot weigh the classes {weightless.tolist()}: "
            "the sample_weight of their samples sums to zero"
        )


class _BaseMLP(CallbackSupportMixin, BaseEstimator):
    """Shared machinery of MLPClassifier and MLPRegressor.

    ``_fit`` validates the input, initialises the network (or checks the
    one a warm start or ``partial_fit`` continues) and delegates training to
    ``mlpfast._training``, which updates the fitted attributes in place.
    Fitted parameters live in one flat vector ``_params`` laid out by
    ``_layout``; ``coefs_`` and ``intercepts_`` are views into it.
    Training reports to scikit-learn's callbacks (``set_callbacks``) as
    described in ``mlpfast._callbacks``.
    """

    def __init__(self, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, loss, shuffle,
                 random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                 early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                 n_iter_no_change, max_fun, dropout, weight_decay, max_grad_norm):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm

    # ------------------------------------------------------------------
    # Parameters: the flat vector and its views
    # ------------------------------------------------------------------
    def _set_params_vector(self, layout, params):
        self._layout = layout
        self._params = params
        self.coefs_ = layout.coef_views(params)
        self.intercepts_ = layout.intercept_views(params)
        self._views = tuple(self.coefs_ + self.intercepts_)

    def _sync_params_vector(self):
        """Rebuild the flat vector if coefs_/intercepts_ were assigned by hand.

        scikit-learn reads the lists at every use, so users (and its own
        tests) may set them directly, even before the first fit.
        """
        views = getattr(self, "_views", ())
        arrays = self.coefs_ + self.intercepts_
        if len(arrays) == len(views):
            for array, view in zip(arrays, views):
                if array is not view:
                    break
            else:
                return
        coefs = [np.asarray(coef) for coef in self.coefs_]
        intercepts = [np.asarray(intercept) for intercept in self.intercepts_]
        layout = NetworkLayout([coefs[0].shape[0]] + [coef.shape[1] for coef in coefs])
        dtype = np.result_type(*coefs, *intercepts)
        self._set_params_vector(layout, layout.pack(coefs, intercepts, dtype))

    def _network(self):
        """The compiled network description, cached while nothing it holds changes."""
        key = (self._layout, self.activation, self.out_activation_, float(self.alpha),
               *self._network_loss())
        cached = getattr(self, "_network_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, _kernels.Network(*key))
            self._network_cache = cached
        return cached[1]

    def _network_loss(self):
        """The loss the network trains with and its parameter, as ``Network`` takes them.

        (None, None): the output activation's default loss, which is the
        classifier's log-loss for either of its output activations.
        """
        return None, None

    def __getstate__(self):
        # A copy: BaseEstimator may hand back the live __dict__ itself.
        state = dict(super().__getstate__())
        if "_params" in state:
            # The views are rebuilt on load; store the vector they look into.
            self._sync_params_vector()
            state["_params"] = self._params
            for derived in ("coefs_", "intercepts_", "_views", "_network_cache"):
                state.pop(derived, None)
        # Per-process shortcuts, rebuilt on first use.
        for shortcut in ("_validated_parameters", "_seeded_random_state"):
            state.pop(shortcut, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_params" in state:
            # Unpickled arrays start wherever numpy put them.
            params = aligned(self._params)
            if getattr(self, "_best_params", None) is self._params:
                self._best_params = params
            self._set_params_vector(self._layout, params)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------
    def _check_params(self):
        """scikit-learn's parameter validation, unless the same parameters passed it last.

        ``fit`` and ``partial_fit`` validate at every call, also where
        scikit-learn's ``partial_fit`` skips it once fitted: mlpfast reads
        parameters of its own at every call (``dropout``, ``weight_decay``,
        ...). Parameters that may change in place are validated every time
        (``_checks.parameters_snapshot``).
        """
        if get_config().get("skip_parameter_validation", False):
            return
        snapshot = _checks.parameters_snapshot(self._parameter_values())
        if snapshot is None or snapshot != getattr(self, "_validated_parameters", None):
            self._validate_params()
            self._validated_parameters = snapshot

    def _parameter_values(self):
        """``get_params(deep=False)``, without inspecting ``__init__``'s signature each time."""
        cls = type(self)
        names = _PARAMETER_NAMES.get(cls)
        if names is None:
            names = _PARAMETER_NAMES[cls] = tuple(cls._get_param_names())
        return {name: getattr(self, name) for name in names}

    def _fresh_random_state(self):
        """``check_random_state(self.random_state)``, quicker for an integer seed.

        A new ``RandomState(seed)`` first seeds itself from the operating
        system's entropy (numpy's SeedSequence), about 80 us, a fifth of a
        200-row digits ``partial_fit`` call; reseeding one made here before
        (``RandomState.seed``, the same legacy seeding) leaves it in the same
        state in about 1 us. Only the estimator that made it reseeds it:
        copies (the callbacks' fitted copies share the attribute) make their
        own, so that training one never moves another's generator.
        """
        seed = self.random_state
        if not isinstance(seed, Integral):
            return check_random_state(seed)
        owner, generator = getattr(self, "_seeded_random_state", (None, None))
        if owner != id(self):
            generator = np.random.RandomState(seed)
            self._seeded_random_state = (id(self), generator)
        else:
            generator.seed(seed)
        return generator

    def _hidden_layer_sizes_list(self):
        return _checks.hidden_layer_sizes_list(self.hidden_layer_sizes)

    def _fit(self, X, y, sample_weight=None, incremental=False, X_val=None, y_val=None,
             sample_weight_val=None):
        """Validate, initialise on a first pass, train (``mlpfast._training``), check."""
        # Callbacks score on the data as given (feature names included).
        X_given, y_given = X, y
        hidden_sizes = self._hidden_layer_sizes_list()
        _checks.check_stochastic_only_options(
            self, _checks.dropout_rates(self.dropout, len(hidden_sizes)))
        _checks.reject_dates(X)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        # Training takes class weights too; callbacks, which score, get the
        # caller's weights, as score() does.
        weigh = self._sample_weighting(y, sample_weight)
        training_weight = weigh(y, sample_weight)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1]] + hidden_sizes + [self.n_outputs_]
        if not is_classifier(self):
            _checks.check_regression_targets(y)
        validation_rows = self._validation_rows(X, X_val, y_val, sample_weight_val)
        if validation_rows is not None:
            validation_rows = validation_rows._replace(
                sample_weight=weigh(validation_rows.y, validation_rows.sample_weight))
        _checks.check_network_size(layer_units, X.dtype, X.shape[0], self.batch_size,
                                   self.solver)

        self._random_state = self._fresh_random_state()
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        else:
            self._sync_params_vector()
            if self._layout.layer_units != tuple(layer_units):
                raise ValueError(
                    f"the network has layers {list(self._layout.layer_units)} but the new "
                    f"data and hidden_layer_sizes need {layer_units}"
                )
        tasks = FitTasks(
            self, task_name="partial_fit" if incremental else "fit",
            max_subtasks=1 if incremental else self.max_iter,
            X=X_given, y=y_given, sample_weight=sample_weight,
        )
        if self.solver in _training.STOCHASTIC_SOLVERS:
            _training.fit_stochastic(self, X, y, training_weight, incremental, tasks,
                                     validation_rows)
        else:
            _training.fit_lbfgs(self, X, y, training_weight, tasks)

        if not np.isfinite(self._params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed."
            )
        tasks.end(self._fitted_state)
        return self

    def _sample_weighting(self, y, sample_weight):
        """How rows are weighed in training: by the caller's weights alone
        (see MLPClassifier's for class weights)."""
        return _caller_weights

    def _validation_rows(self, X, X_val, y_val, sample_weight_val):
        """``fit``'s validation set, checked as X and y are, or None when not given.

        The rules and messages of scikit-learn's ``HistGradientBoosting*.fit``:
        X_val and y_val come together, are checked, and then need early
        stopping. Unlike there, ``sample_weight_val`` without them is an error
        rather than ignored, and so are 'lbfgs' (which never stops early) and
        fewer than two rows (the least a split leaves).

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
            The validated training input, whose dtype X_val takes.
        X_val, y_val, sample_weight_val : array-like or None
            As given to ``fit``.

        Returns
        -------
        validation_rows : mlpfast._training.Dataset or None
            In the form of the training rows: targets of shape
            (n_val, n_outputs), binarized for a classifier.
        """
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError(
                    "sample_weight_val is provided, but X_val and y_val were not provided."
                )
            return None
        if y_val is None:
            raise ValueError("X_val is provided, but y_val was not provided.")
        if X_val is None:
            raise ValueError("y_val is provided, but X_val was not provided.")

        _checks.reject_dates(X_val, name="X_val")
        X_val_checked = check_array(X_val, accept_sparse=["csr", "csc"], dtype=X.dtype,
                                    ensure_min_samples=2, input_name="X_val", estimator=self)
        if X_val_checked.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X_val has {X_val_checked.shape[1]} features, but {type(self).__name__} "
                f"is expecting {self.n_features_in_} features as input."
            )
        # The feature names of X, with scikit-learn's warning or error.
        validate_data(self, X_val, reset=False, skip_check_array=True)
        Y_val = self._validation_targets(y_val)
        check_consistent_length(X_val_checked, Y_val)
        sample_weight_val = check_sample_weight(sample_weight_val, X_val_checked.shape[0],
                                                name="sample_weight_val")
        if not self.early_stopping:
            raise ValueError(
                "X_val and y_val are passed to fit while at the same time "
                "early_stopping is False. When passing X_val and y_val to fit, "
                "early_stopping should be set to True."
            )
        if self.solver not in _training.STOCHASTIC_SOLVERS:
            raise ValueError(
                f"X_val and y_val are passed to fit while at the same time solver is "
                f"{self.solver!r}, which does not stop early. When passing X_val and "
                "y_val to fit, solver should be 'sgd' or 'adam'."
            )
        return _training.Dataset(X_val_checked, Y_val, sample_weight_val)

    def _fitted_state(self, params=None, **fitted_scalars):
        """Fitted attributes for a copy of this model that training leaves alone.

        Callbacks get such a copy as ``fitted_estimator``. The copy shares
        everything training only reads; what training changes in place (the
        parameter vector, the lists it appends to, the optimizer state) is
        copied, so the copy predicts, scores and even trains on its own.

        Parameters
        ----------
        params : ndarray of shape (n_params,), default=None
            The copy's parameter vector, used as it is; a copy of the current
            one when None.
        **fitted_scalars
            Fitted attributes that differ from this model's (L-BFGS's
            ``n_iter_`` and ``loss_`` while it runs).
        """
        if params is None:
            params = self._params.copy()
        coefs = self._layout.coef_views(params)
        intercepts = self._layout.intercept_views(params)
        state = {
            "_params": params, "coefs_": coefs, "intercepts_": intercepts,
            "_views": tuple(coefs + intercepts), **fitted_scalars,
        }
        for name in _training.PER_EPOCH_LISTS:
            if getattr(self, name, None) is not None:
                state[name] = list(getattr(self, name))
        if getattr(self, "_best_params", None) is self._params:
            # The copy's snapshot must follow the copy's own weights (see
            # mlpfast._training._end_on_best_params); a separate snapshot is
            # never written to.
            state["_best_params"] = params
        if hasattr(self, "_optimizer"):
            state["_optimizer"] = copy.deepcopy(self._optimizer)
        return state

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = OUTPUT_ACTIVATION_OF_LOSS[self.loss]
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"

        layout = NetworkLayout(layer_units)
        self._set_params_vector(
            layout, glorot_uniform_params(layout, self.activation, self._random_state, dtype)
        )
        _training.reset_progress(self)

    @with_callbacks
    def fit(self: _Estimator, X: MatrixLike, y: ArrayLike,
            sample_weight: ArrayLike | None = None, *, X_val: MatrixLike | None = None,
            y_val: ArrayLike | None = None,
            sample_weight_val: ArrayLike | None = None) -> _Estimator:
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The targets (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights. The data term and the L2 term of the loss are
            both divided by the (batch's) weight sum, as in scikit-learn.
        X_val : array-like or sparse matrix of shape (n_val, n_features), default=None
            A validation set for early stopping, in place of the split that
            ``validation_fraction`` sets aside: all of X trains, and no
            random number is drawn for a split, so the epochs shuffle X in
            other orders than a fit that splits (with the same
            ``random_state``). Needs ``y_val``, ``early_stopping=True`` and
            the 'sgd' or 'adam' solver; checked as X is (features, feature
            names, at least two rows, finite values), and converted to X's
            dtype.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            The targets of ``X_val``, of the kind of y: for a classifier,
            labels among the classes of y.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows, in the validation score and
            ``validation_loss_curve_``; only with ``X_val``.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        self._check_params()
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, X_val=X_val,
                         y_val=y_val, sample_weight_val=sample_weight_val)

    def _check_solver(self):
        if self.solver not in _training.STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                "%s is not stochastic." % self.solver
            )
        return True

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------
    def predict(self, X: MatrixLike) -> NDArray[Any]:
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted classes (classifier) or values (regressor).
        """
        self._check_fitted()
        return self._predict(X)

    def _check_fitted(self):
        # A fitted model has its flat vector; the generic check is slow and
        # only needed for models whose coefs_ were set by hand.
        if "_params" not in self.__dict__:
            check_is_fitted(self)

    def _is_plain_input(self, X):
        """True for input that scikit-learn's validation passes unchanged, if finite.

        A native-endian float ndarray of the fitted width, for a model fitted
        without feature names: predicting on it skips the generic validation,
        which costs far more than the network on a few rows.  The kernel
        checks that it is finite (``forward``'s ``require_finite``), in less
        time than a numpy check takes on a few rows.
        """
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.shape[0] > 0
            and (X.dtype == np.float64 or X.dtype == np.float32)
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and not hasattr(self, "feature_names_in_")
        )

    def _validate_training_data(self, X, y, reset, y_numeric=False):
        """``validate_data`` of training X and y, quicker for plain arrays.

        Later calls of a stream (``partial_fit``, a warm start) of plain
        input (``_is_plain_input``, C-contiguous) and targets
        (``_is_plain_target``) get the checks that validation would make of
        them (dtype, shape, finite values, the fitted width) without its
        generic machinery, which took as long as training a 200-row digits
        block (bench/MEASUREMENTS.md, 'Per-call costs of streaming'); any
        other input, and input that fails a check, goes through
        ``validate_data``, whose errors and warnings it raises.
        """
        if (not reset and self._is_plain_input(X) and X.flags.c_contiguous
                and _is_plain_target(y, X.shape[0]) and _kernels.all_finite_matrix(X)):
            return X, y
        return validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=y_numeric, dtype=(np.float64, np.float32), reset=reset)

    def _validate_predict_input(self, X):
        _checks.reject_dates(X)
        return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)

    def _forward_pass_fast(self, X, check_input=True):
        """Network output for X, shape (n_samples, n_outputs_)."""
        plain = check_input and self._is_plain_input(X)
        if check_input and not plain:
            X = self._validate_predict_input(X)
        out = self._network_output(X, require_finite=plain)
        if out is None:
            # X holds NaN or infinity: scikit-learn's validation reports it.
            out = self._network_output(self._validate_predict_input(X))
        return out

    def _network_output(self, X, require_finite=False):
        """The kernel's forward pass over validated X (None: X is not finite)."""
        self._sync_params_vector()
        params = self._params
        if type(X) is np.ndarray and X.dtype == params.dtype and X.flags.c_contiguous:
            # Tested first, without the general tests below (a sparse check
            # costs a tenth of a small network's pass on one row).
            if 0 < X.shape[0] <= _kernels.FEW_ROWS:
                network = self._network()
                if X.shape[0] > 1 or not network.splits_one_row(params.itemsize):
                    return _kernels.forward_few_rows(network, X, params, require_finite)
                team = _threads.one_row_team()
                try:
                    return _kernels.forward_few_rows(network, X, params, require_finite, team)
                finally:
                    _threads.release_one_row_team(team)
        elif X.dtype != params.dtype or scipy.sparse.issparse(X):
            # The output dtype follows numpy's promotion of X with the weights.
            dtype = np.result_type(X.dtype, params.dtype)
            if dtype not in (np.float32, np.float64):
                dtype = np.float64
            params = params.astype(dtype, copy=False)
            X = kernel_matrix(X, dtype)
        elif not X.flags.c_contiguous:
            X = np.ascontiguousarray(X)
        return _kernels.forward(self._network(), X, params, require_finite)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier, trained by compiled kernels.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    same parameters, attributes and results (a float64 fit with the same
    ``random_state`` lands on the same weights), for every solver, with
    sample weights, and with dense or sparse (CSR/CSC) input. It also takes
    ``class_weight``, as scikit-learn's other classifiers do.

    Takes scikit-learn's callbacks (``sklearn.callback``) through
    ``set_callbacks``, directly or propagated from a meta-estimator: each
    ``fit`` or ``partial_fit`` call is a task with one subtask per epoch
    ('sgd', 'adam') or per L-BFGS iteration ('lbfgs'), and a callback may
    stop training after any of them.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'elu', 'gelu', \
'silu', 'softplus'}, default='relu'
        Activation function of the hidden layers. The first four are
        scikit-learn's; the others are PyTorch's (``torch.nn.functional``
        with its default parameters): 'leaky_relu' has slope 0.01 below 0,
        'elu' alpha 1, 'gelu' is the exact x * Phi(x) (erf, not the tanh
        approximation), 'silu' is x * sigmoid(x), 'softplus' is
        log(1 + exp(x)) with beta 1, and x itself above 20. A model with one
        of those does not convert to scikit-learn (:func:`mlpfast.to_sklearn`).
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The weight optimizer.
    alpha : float, default=0.0001
        Strength of the L2 penalty, divided by the batch size in the loss.
    batch_size : int or 'auto', default='auto'
        Minibatch size; 'auto' is ``min(200, n_samples)``.
    learning_rate : {'constant', 'invscaling', 'adaptive', 'cosine'}, default='constant'
        Learning-rate schedule. scikit-learn's three drive 'sgd' only (and
        'adam' keeps ``learning_rate_init``, as in scikit-learn). 'cosine'
        (mlpfast's own) drives 'sgd' and 'adam': the rate of epoch ``e``
        (0-based, ``n_iter_`` at its start) is ``learning_rate_init * (1 +
        cos(pi * e / max_iter)) / 2``, PyTorch's ``CosineAnnealingLR`` with
        ``T_max=max_iter`` and ``eta_min=0``; for 'adam' that is the rate
        before bias correction. Every ``fit`` anneals anew (a warm start
        too); ``partial_fit``, whose ``n_iter_`` restarts at 0 each call as
        in scikit-learn, trains at ``learning_rate_init``.
    learning_rate_init : float, default=0.001
        Initial learning rate for 'sgd' and 'adam'.
    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the early-stopping split (none is drawn
        when ``fit`` is given ``X_val``) and shuffling.
    tol : float, default=1e-4
        Minimum improvement of loss or validation score.
    verbose : bool, default=False
        Print progress after each epoch.
    warm_start : bool, default=False
        Reuse the previous solution as initialisation.
    momentum : float, default=0.9
        Momentum for 'sgd'.
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with 'sgd'.
    early_stopping : bool, default=False
        Stop when the score on a held-out validation split, or on the
        validation set given to ``fit`` (``X_val``, ``y_val``), stops
        improving; the model keeps the weights of the best epoch.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, unless
        ``fit`` is given ``X_val``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates.
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.
    max_fun : int, default=15000
        Function-evaluation budget of 'lbfgs'.
    class_weight : dict, list of dict or 'balanced', default=None
        Weights of the classes as ``{class_label: weight}``; a class left
        out weighs 1. A fit with class weights is the fit with each sample's
        weight (1 without ``sample_weight``) multiplied by its class's
        weight, for every solver, the early-stopping split and validation
        score included. 'balanced' weighs each class by
        ``n_samples / (n_classes * n_samples_of_the_class)`` over the labels
        given to ``fit``, the samples counted with their ``sample_weight``,
        as :func:`sklearn.utils.class_weight.compute_class_weight` computes
        it (whose rules and errors for the dict's labels apply too).
        ``partial_fit`` takes dicts, not 'balanced': compute the weights
        once from the full labels and pass them as a dict. For a multilabel
        ``y``, a list of one dict per label column, weighing its values 0
        and 1, or 'balanced' (each column balanced); a sample's weight is
        the product over the columns, as in
        :func:`sklearn.utils.class_weight.compute_sample_weight`.
    dropout : float or sequence of float, default=0.0
        Inverted dropout of the hidden layers during training, as
        ``torch.nn.Dropout``: each hidden unit of each training row is
        zeroed with this probability, in [0, 1), and the units kept are
        scaled by ``1 / (1 - dropout)``, forward and backward (the same
        mask); never in ``predict``, ``predict_proba``, ``score`` or the
        early-stopping validation. A sequence gives one rate per hidden
        layer. The masks come from ``random_state`` without drawing from it
        (the shuffles and the validation split are those of the same fit
        without dropout) and do not depend on the number of threads; the
        same ``random_state`` gives the same fit, and every ``partial_fit``
        call new masks. ``loss_curve_`` is then the loss of the
        dropped-out network. 'sgd' and 'adam' only.
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW's, and the same rule for 'sgd'):
        before every step, each weight of ``coefs_`` (not the intercepts)
        is multiplied by ``1 - rate * weight_decay``, the rate being the one
        in force (the schedule's; Adam's before bias correction), as
        ``torch.optim.AdamW`` does. Independent of ``alpha``, which stays
        scikit-learn's L2 term in the loss. 'sgd' and 'adam' only.
    max_grad_norm : float or None, default=None
        Gradient-norm clipping: per mini-batch, the gradient of all weights
        and intercepts (the ``alpha`` term included, the weight decay not)
        is scaled by ``max_grad_norm / (norm + 1e-6)`` when that is below 1,
        as ``torch.nn.utils.clip_grad_norm_``. 'sgd' and 'adam' only.

        ``dropout``, ``weight_decay``, ``max_grad_norm`` and 'cosine'
        change how a model trains, not what a fitted model is:
        :func:`mlpfast.to_sklearn` converts such a model (with a warning
        that scikit-learn's copy would train on without them).

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        The class labels seen by ``fit`` (or given as ``classes`` to the first
        ``partial_fit``), as scikit-learn's ``classes_``.
    loss_ : float
        The training loss after the last epoch or iteration, the data loss
        plus the ``alpha`` term.
    best_loss_ : float or None
        The lowest training loss seen, which the stopping rule compares
        with; None with early stopping, which watches the validation score.
    loss_curve_ : list of float
        The training loss after each epoch (not set by 'lbfgs').
    validation_scores_ : list of float or None
        With early stopping, the score of the validation rows after each
        epoch (accuracy; R^2 for the regressor); None without it.
    validation_loss_curve_ : list of float or None
        With early stopping, the loss of the validation rows after each
        epoch, measured as ``loss_curve_``'s: the (weighted) mean data loss
        plus ``0.5 * alpha * ||W||^2`` divided by the validation weight sum
        (the number of rows, without weights). The entry of the epoch whose
        weights the model keeps (the best one, after a first fit) is the
        fitted model's loss. None without early stopping; not set by
        'lbfgs', which sets none of the per-epoch records. A warm start
        appends to it, as to ``validation_scores_``; epochs trained without
        the record (by a model converted from scikit-learn's) have NaN.
    best_validation_score_ : float or None
        With early stopping, the best entry of ``validation_scores_``, that
        of the kept weights; None without it.
    t_ : int
        Training samples seen.
    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Weight matrices (views into one flat parameter vector).
    intercepts_ : list of ndarray of shape (n_fan_out,)
        Bias vectors (views into the same vector).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, when X has string column
        names (a pandas DataFrame); not set otherwise.
    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last ``fit``; 1 after a
        ``partial_fit`` call.
    n_layers_ : int
        Number of layers, the input and output layers included.
    n_outputs_ : int
        Number of outputs: 1 for binary targets, else one per class, or one
        per label of a multilabel target.
    out_activation_ : str
        The output layer's activation: 'logistic' (binary and multilabel)
        or 'softmax' (multiclass).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
    >>> import numpy as np
    >>> from mlpfast import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=500,
    ...               random_state=0)
    >>> clf = MLPClassifier(**params).fit(X, y)
    >>> clf.predict(X[[0, 60, 120]])
    array([0, 1, 2])
    >>> [weights.shape for weights in clf.coefs_]
    [(4, 16), (16, 3)]

    scikit-learn's MLP with the same parameters ends on the same weights:

    >>> reference = SklearnMLPClassifier(**params).fit(X, y)
    >>> np.allclose(clf.coefs_[0], reference.coefs_[0], rtol=1e-9, atol=0)
    True
    """

    _parameter_constraints = {
        **_beyond_sklearn_constraints(_SklearnMLPClassifier._parameter_constraints),
        # As DecisionTreeClassifier, which takes the same values, declares it,
        # so the error messages are scikit-learn's to the character; StrOptions
        # is the class of scikit-learn's own 'solver' constraint (its module is
        # private).
        "class_weight": [
            dict, list,
            type(_SklearnMLPClassifier._parameter_constraints["solver"][0])({"balanced"}),
            None,
        ],
    }

    def __init__(self, hidden_layer_sizes: HiddenLayerSizes = (100,),
                 activation: Activation = "relu", *, solver: Solver = "adam",
                 alpha: float = 0.0001, batch_size: int | Literal["auto"] = "auto",
                 learning_rate: LearningRateSchedule = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True,
                 random_state: RandomStateLike = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 max_fun: int = 15000, class_weight: ClassWeight = None,
                 dropout: DropoutRates = 0.0, weight_decay: float = 0.0,
                 max_grad_norm: float | None = None) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss="log_loss", shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dropout=dropout, weight_decay=weight_decay, max_grad_norm=max_grad_norm,
        )
        self.class_weight = class_weight

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_training_data(X, y, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)

        binarizer_fitted_here = (not hasattr(self, "classes_")
                                 or (not self.warm_start and not incremental))
        if binarizer_fitted_here:
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        positions = class_positions(y, self.classes_)
        # Labels that are all known classes pass the partial_fit check below.
        if not binarizer_fitted_here and (self.warm_start or positions is None):
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        f"in the previous call to fit. Previously got {self.classes_}, "
                        f"`y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        # bool keeps float32 X from being upcast when y is combined with it.
        if positions is not None and len(self.classes_) >= 2:
            return X, indicator_matrix(positions, len(self.classes_))
        return X, self._label_binarizer.transform(y).astype(bool)

    def _sample_weighting(self, y, sample_weight):
        """``class_weight`` of this fit's labels, as a function that weighs rows.

        The class weights are those of the labels of this call: 'balanced'
        counts them (with ``sample_weight``), as scikit-learn's classifiers
        count the labels given to ``fit``. The function weighs the training
        rows and, with the same class weights, a validation set given to
        ``fit``.

        Parameters
        ----------
        y : ndarray of shape (n_samples, n_columns) of bool
            The binarized targets.
        sample_weight : ndarray of shape (n_samples,) or None
            The caller's checked weights; 'balanced' counts with them.

        Returns
        -------
        weigh : callable ``(targets, sample_weight) -> sample_weight``
            For targets binarized as ``y`` is and their checked weights (or
            None): those weights times each row's class weight; the weights
            unchanged (None included) when ``class_weight`` is None.
        """
        if self.class_weight is None:
            return _caller_weights
        # The labels again: class weights are given by label, and _fit has
        # only the binarized targets (decoding costs one pass per fit).
        labels = self._label_binarizer.inverse_transform(y)
        columns = self._label_columns(labels)
        tables = []
        for (labels_k, classes_k), class_weight_k in zip(
                columns, self._class_weight_per_output(len(columns))):
            if isinstance(class_weight_k, str):
                # 'balanced' weighs the classes present, as compute_sample_weight
                # does; a column of a multilabel target may hold one value only.
                classes_k = np.unique(labels_k)
                _reject_weightless_classes(classes_k, labels_k, sample_weight)
            tables.append((classes_k, compute_class_weight(
                class_weight_k, classes=classes_k, y=labels_k, sample_weight=sample_weight)))

        def weigh(targets, row_weight):
            weight = None
            for column, ((labels_k, _), (classes_k, class_weights)) in enumerate(zip(
                    self._label_columns(self._label_binarizer.inverse_transform(targets)),
                    tables)):
                positions = np.searchsorted(classes_k, labels_k).clip(max=len(classes_k) - 1)
                if (classes_k[positions] != labels_k).any():
                    raise ValueError(
                        f"class_weight='balanced' has no weight for a label of column "
                        f"{column} of y_val: the training labels' column holds only "
                        f"{classes_k.tolist()}"
                    )
                output_weight = class_weights[positions]
                weight = output_weight if weight is None else weight * output_weight
            if row_weight is not None:
                weight = weight * row_weight
            # The product obeys the rules of sample weights (not all zero).
            return check_sample_weight(weight, len(weight))

        return weigh

    def _label_columns(self, labels):
        """(labels, classes) of each output: one for labels, one per column of a
        multilabel target (whose columns hold 0 or 1)."""
        if labels.ndim == 1:
            return [(labels, self.classes_)]
        return [(column, np.array([0, 1])) for column in labels.T]

    def _class_weight_per_output(self, n_outputs):
        """``class_weight`` as one entry ('balanced' or a dict) per output."""
        class_weight = self.class_weight
        if isinstance(class_weight, list):
            if len(class_weight) != n_outputs or not all(
                    isinstance(entry, dict) for entry in class_weight):
                raise ValueError(
                    f"class_weight as a list must hold one dict per output of y; y has "
                    f"{n_outputs} output(s), got {class_weight!r}"
                )
            return class_weight
        if isinstance(class_weight, dict) and n_outputs > 1:
            raise ValueError(
                f"For a multilabel y ({n_outputs} outputs), class_weight must be 'balanced' "
                "or a list of dicts, one per output, not a dict."
            )
        return [class_weight] * n_outputs

    def _validation_targets(self, y_val):
        """``fit``'s y_val binarized as y is, after checking it holds classes of y.

        Labels for labels (each among ``classes_``), a label indicator
        matrix of as many columns for one.
        """
        y_val = check_array(y_val, accept_sparse="csr", ensure_2d=False, dtype=None,
                            input_name="y_val", estimator=self)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        if self._label_binarizer.y_type_.startswith("multilabel"):
            if (not type_of_target(y_val).startswith("multilabel")
                    or y_val.shape[1] != len(self.classes_)):
                raise ValueError(
                    f"y_val must be a label indicator matrix with {len(self.classes_)} "
                    f"columns, as y was; got {type_of_target(y_val)} targets of shape "
                    f"{y_val.shape}."
                )
            return self._label_binarizer.transform(y_val).astype(bool)
        if y_val.ndim != 1:
            raise ValueError(
                f"y_val must hold one class label per row, as y did; got shape {y_val.shape}."
            )
        positions = class_positions(y_val, self.classes_)
        if positions is None:
            raise ValueError(
                f"`y_val` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y_val' has {unique_labels(y_val)}."
            )
        if len(self.classes_) >= 2:
            return indicator_matrix(positions, len(self.classes_))
        return self._label_binarizer.transform(y_val).astype(bool)

    def _score_function(self, y_true, y_pred, sample_weight):
        # accuracy_score's value (numpy.average of the matches) without its
        # input checks, for the model's own 1-D labels: the checks took
        # about two thirds as long as training an early-stopping digits
        # epoch (bench/MEASUREMENTS.md, 'Early-stopping scores').
        # Zero or negative weights keep its checks (and its errors).
        if (y_true.ndim == 1 and y_pred.ndim == 1
                and (sample_weight is None or (sample_weight > 0).all())):
            return float(np.average(y_true == y_pred, weights=sample_weight))
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    def _predict(self, X, check_input=True):
        return self._prediction_of(self._forward_pass_fast(X, check_input=check_input))

    def _prediction_of(self, out):
        """The labels predicted from network outputs ``out``."""
        if self.n_outputs_ == 1:
            out = out.ravel()
        return self._labels_of(out)

    def _labels_of(self, y_pred):
        """Labels for network outputs, as LabelBinarizer.inverse_transform gives them.

        The two common cases are decoded directly (the binarizer's generic
        path costs tens of microseconds): multiclass takes the first maximum
        (``_kernels.row_argmax``, numpy's argmax, of the kernels' C-contiguous
        float outputs), binary thresholds strictly at 0.5.
        """
        binarizer = self._label_binarizer
        classes = binarizer.classes_
        if binarizer.y_type_ == "multiclass" and y_pred.ndim == 2:
            return classes.take(_kernels.row_argmax(y_pred), mode="clip")
        if (binarizer.y_type_ == "binary" and len(classes) == 2 and y_pred.ndim == 1
                and binarizer.neg_label == 0 and binarizer.pos_label == 1):
            return classes[(y_pred > 0.5).astype(np.intp)]
        return binarizer.inverse_transform(y_pred)

    @available_if(lambda est: est._check_solver())
    @with_callbacks
    def partial_fit(self: _Estimator, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> _Estimator:
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first
            call, optional later.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._check_params()
        if isinstance(self.class_weight, str):
            # scikit-learn's SGDClassifier.partial_fit error, to the letter.
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit. In order to use "
                "'balanced' weights, use compute_class_weight('balanced', classes=classes, "
                "y=y). In place of y you can use a large enough sample of the full training "
                "set target to properly estimate the class frequency distributions. Pass the "
                "resulting weights as the class_weight parameter."
            )
        if self._first_partial_fit_call(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _first_partial_fit_call(self, classes):
        """Check ``classes`` against earlier calls; True on the first call."""
        known = getattr(self, "classes_", None)
        if known is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is None:
            return False
        if known is None:
            self.classes_ = unique_labels(classes)
            return True
        if (type(classes) is np.ndarray and classes.dtype == known.dtype
                and np.array_equal(known, classes)):
            # The classes_ array itself, or its equal: already what
            # unique_labels gives (sorted, unique, its checks passed), whose
            # generic checks took a third of a 200-row digits call.
            # dask_ml's Incremental passes classes on every call.
            return False
        if not np.array_equal(known, unique_labels(classes)):
            raise ValueError(
                "`classes=%r` is not the same as on last call to partial_fit, was: %r"
                % (classes, known)
            )
        return False

    def predict_log_proba(self, X: MatrixLike) -> NDArray[np.floating[Any]]:
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X: MatrixLike) -> NDArray[np.floating[Any]]:
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Probability of each class (two columns for a binary problem).
        """
        self._check_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def score(self, X: MatrixLike, y: ArrayLike,
              sample_weight: ArrayLike | None = None) -> float:
        """Mean accuracy on the given data.

        Multilabel targets count a sample as right only when all its labels are.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The true labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy of ``self.predict(X)`` against ``y``.
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, trained by compiled kernels.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    same parameters (``loss`` first), attributes and results, for every
    solver and both of scikit-learn's losses, with sample weights, and with
    dense or sparse (CSR/CSC) input. Takes scikit-learn's callbacks as
    :class:`MLPClassifier` does. The Huber loss (``loss='huber'``,
    ``huber_delta``) is mlpfast's own.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'huber'}, default='squared_error'
        The loss function. 'huber' is, for each output's residual ``d``
        (target minus prediction), ``0.5 * d**2`` where ``|d| <=
        huber_delta`` and ``huber_delta * (|d| - 0.5 * huber_delta)``
        beyond: squared error near the fit, absolute error far from it, so
        that the gradient of a residual is at most ``huber_delta`` and
        outliers pull less. For one output its value and gradient are those
        of ``torch.nn.HuberLoss(delta=huber_delta)``. It is averaged as
        'squared_error' is: over outputs and over (weighted) rows, with the
        gradient, as scikit-learn's squared-error gradient, not divided by
        the number of outputs. A Huber fit whose residuals all stay within
        ``huber_delta`` is therefore exactly a 'squared_error' fit.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun, dropout, weight_decay, max_grad_norm
        As in :class:`MLPClassifier`.
    huber_delta : float, default=1.0
        The threshold of the Huber loss, a positive number in the targets'
        units; ignored unless ``loss='huber'``.

    Attributes
    ----------
    loss_, best_loss_, loss_curve_, validation_scores_, validation_loss_curve_, \
best_validation_score_, t_, coefs_, intercepts_, n_features_in_, feature_names_in_, \
n_iter_, n_layers_, n_outputs_, out_activation_
        As in :class:`MLPClassifier`; ``out_activation_`` is 'identity', or
        'exp' for the Poisson loss.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from mlpfast import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    >>> y = y / y.std()
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> round(reg.score(X, y), 2)
    1.0
    """

    _parameter_constraints = {
        **_with_options(_beyond_sklearn_constraints(_SklearnMLPRegressor._parameter_constraints),
                        "loss", REGRESSION_LOSSES),
        "huber_delta": [_Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, loss: RegressionLoss = "squared_error",
                 hidden_layer_sizes: HiddenLayerSizes = (100,),
                 activation: Activation = "relu", *, solver: Solver = "adam",
                 alpha: float = 0.0001, batch_size: int | Literal["auto"] = "auto",
                 learning_rate: LearningRateSchedule = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5,
                 max_iter: int = 200, shuffle: bool = True,
                 random_state: RandomStateLike = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-8, n_iter_no_change: int = 10,
                 max_fun: int = 15000, huber_delta: float = 1.0,
                 dropout: DropoutRates = 0.0, weight_decay: float = 0.0,
                 max_grad_norm: float | None = None) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss=loss, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            dropout=dropout, weight_decay=weight_decay, max_grad_norm=max_grad_norm,
        )
        self.huber_delta = huber_delta

    def _validate_input(self, X, y, incremental, reset):
        X, y = self._validate_training_data(X, y, reset, y_numeric=True)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _validation_targets(self, y_val):
        """``fit``'s y_val checked as y is, of shape (n_val, n_outputs_)."""
        y_val = check_array(y_val, ensure_2d=False, dtype=None, input_name="y_val",
                            estimator=self)
        if y_val.dtype.kind == "O":
            # As validate_data's y_numeric does for y.
            y_val = y_val.astype(np.float64)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            # A column warns, as a column y does.
            y_val = column_or_1d(y_val, warn=True)
        n_outputs = 1 if y_val.ndim == 1 else y_val.shape[1]
        if n_outputs != self.n_outputs_:
            raise ValueError(
                f"y_val has {n_outputs} target(s) per row, but y had {self.n_outputs_}."
            )
        _checks.check_regression_targets(y_val, name="y_val")
        return y_val.reshape((-1, self.n_outputs_))

    def _network_loss(self):
        """``loss`` and its parameter, where ``out_activation_`` is the loss's own.

        ``out_activation_`` is set from ``loss`` by the fit that builds the
        network. A warm start or ``partial_fit`` after ``loss`` changed to
        one of another output activation keeps the network, and trains
        with its output activation's default loss; predictions never depend
        on ``loss``.
        """
        if OUTPUT_ACTIVATION_OF_LOSS.get(self.loss) != self.out_activation_:
            return None, None
        parameter = LOSSES[self.loss].parameter
        return self.loss, None if parameter is None else float(getattr(self, parameter))

    def _score_function(self, y_true, y_pred, sample_weight):
        # r2_score's value, computed with its own operations, without its
        # input checks (a cost paid every early-stopping epoch:
        # bench/MEASUREMENTS.md, 'Early-stopping scores'), for the model's
        # own predictions in the targets' dtype and positive weights; other
        # cases (fewer than two rows, a constant or exactly fitted output,
        # mixed dtypes) keep r2_score, with its warnings.
        n_rows = y_true.shape[0]
        if (n_rows >= 2 and y_pred.dtype == y_true.dtype and y_pred.size == y_true.size
                and (sample_weight is None or (sample_weight.dtype == y_true.dtype
                                               and (sample_weight > 0).all()))):
            true, pred = y_true.reshape(n_rows, -1), y_pred.reshape(n_rows, -1)
            weight = 1.0 if sample_weight is None else sample_weight[:, None]
            numerator = (weight * (true - pred) ** 2).sum(axis=0)
            mean = np.average(true, axis=0, weights=sample_weight)
            denominator = (weight * (true - mean) ** 2).sum(axis=0)
            if (numerator != 0).all() and (denominator != 0).all():
                return float(np.average(1 - numerator / denominator))
        return r2_score(y_true, y_pred, sample_weight=sample_weight)

    def _predict(self, X, check_input=True):
        return self._prediction_of(self._forward_pass_fast(X, check_input=check_input))

    def _prediction_of(self, out):
        """The predictions of network outputs ``out``: the outputs, one column raveled."""
        if out.shape[1] == 1:
            return out.ravel()
        return out

    # scikit-learn's condition returns the bound method without calling it, so
    # partial_fit is always available on the regressor; kept for parity.
    @available_if(lambda est: est._check_solver)
    @with_callbacks
    def partial_fit(self: _Estimator, X: MatrixLike, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> _Estimator:
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        self._check_params()
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def score(self, X: MatrixLike, y: ArrayLike,
              sample_weight: ArrayLike | None = None) -> float:
        """Coefficient of determination R^2 on the given data.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The true values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` against ``y``, averaged uniformly over
            the outputs.
        """
        return super().score(X, y, sample_weight=sample_weight)
