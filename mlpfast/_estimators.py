"""scikit-learn estimators backed by mlpfast's compiled kernels.

The estimators own their parameters and their validation, the input
checks, the network's initialisation, the fitted attributes and
prediction. ``fit`` and ``partial_fit`` check and initialise, then hand
training to ``mlpfast._training`` (validation split, epoch loop, stopping
rules, best weights, L-BFGS). Every numeric loop runs in
``mlpfast._kernels``.
Behaviour follows scikit-learn 1.9's ``MLPClassifier``/``MLPRegressor``,
quirks included, so results reproduce: the reference is scikit-learn's
source, ``sklearn/neural_network/_multilayer_perceptron.py`` and
``_stochastic_optimizers.py``, and its user guide,
https://scikit-learn.org/stable/modules/neural_networks_supervised.html.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
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
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from mlpfast import _checks, _kernels, _training
from mlpfast._activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATION_OF_LOSS, REGRESSION_LOSSES
from mlpfast._callbacks import FitTasks
from mlpfast._inputs import (
    check_sample_weight, class_positions, indicator_matrix, kernel_matrix,
)
from mlpfast._network import NetworkLayout, glorot_uniform_params

# Types of the public signatures. Annotations stay strings until asked for
# (typing.get_type_hints), so the sparse names cost nothing at import.
MatrixLike = Union[ArrayLike, "scipy.sparse.spmatrix", "scipy.sparse.sparray"]
HiddenLayerSizes = Union[int, Sequence[int], "NDArray[np.integer[Any]]"]
# Literal types cannot be computed: tests/test_tables.py checks these two
# against mlpfast._activations.HIDDEN_ACTIVATIONS and REGRESSION_LOSSES.
Activation = Literal["identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu",
                     "softplus"]
Solver = Literal["lbfgs", "sgd", "adam"]
LearningRateSchedule = Literal["constant", "invscaling", "adaptive"]
RegressionLoss = Literal["squared_error", "poisson"]
RandomStateLike = int | np.random.RandomState | None
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
                 n_iter_no_change, max_fun):
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
        key = (self._layout, self.activation, self.out_activation_, float(self.alpha))
        cached = getattr(self, "_network_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, _kernels.Network(*key))
            self._network_cache = cached
        return cached[1]

    def __getstate__(self):
        # A copy: BaseEstimator may hand back the live __dict__ itself.
        state = dict(super().__getstate__())
        if "_params" in state:
            # The views are rebuilt on load; store the vector they look into.
            self._sync_params_vector()
            state["_params"] = self._params
            for derived in ("coefs_", "intercepts_", "_views", "_network_cache"):
                state.pop(derived, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_params" in state:
            self._set_params_vector(self._layout, self._params)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------
    def _check_params(self):
        if not get_config().get("skip_parameter_validation", False):
            self._validate_params()

    def _hidden_layer_sizes_list(self):
        return _checks.hidden_layer_sizes_list(self.hidden_layer_sizes)

    def _fit(self, X, y, sample_weight=None, incremental=False):
        """Validate, initialise on a first pass, train (``mlpfast._training``), check."""
        # Callbacks score on the data as given (feature names included).
        X_given, y_given = X, y
        hidden_sizes = self._hidden_layer_sizes_list()
        _checks.reject_dates(X)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1]] + hidden_sizes + [self.n_outputs_]
        if not is_classifier(self):
            _checks.check_regression_targets(y)
        _checks.check_network_size(layer_units, X.dtype, X.shape[0], self.batch_size,
                                   self.solver)

        self._random_state = check_random_state(self.random_state)
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
            _training.fit_stochastic(self, X, y, sample_weight, incremental, tasks)
        else:
            _training.fit_lbfgs(self, X, y, sample_weight, tasks)

        if not np.isfinite(self._params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed."
            )
        tasks.end(self._fitted_state)
        return self

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
            sample_weight: ArrayLike | None = None) -> _Estimator:
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

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        self._check_params()
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

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
        if X.dtype != params.dtype or scipy.sparse.issparse(X):
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
    sample weights, and with dense or sparse (CSR/CSC) input.

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
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule for 'sgd'.
    learning_rate_init : float, default=0.001
        Initial learning rate for 'sgd' and 'adam'.
    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the early-stopping split and shuffling.
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
        Stop when the score on a held-out validation split stops improving.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates.
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.
    max_fun : int, default=15000
        Function-evaluation budget of 'lbfgs'.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
    loss_ : float
    best_loss_ : float or None
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    t_ : int
        Training samples seen.
    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Weight matrices (views into one flat parameter vector).
    intercepts_ : list of ndarray of shape (n_fan_out,)
        Bias vectors (views into the same vector).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    n_iter_ : int
    n_layers_ : int
    n_outputs_ : int
    out_activation_ : str
    """

    _parameter_constraints = _with_options(_SklearnMLPClassifier._parameter_constraints,
                                           "activation", HIDDEN_ACTIVATIONS)

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
                 max_fun: int = 15000) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss="log_loss", shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
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
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._labels_of(y_pred)

    def _labels_of(self, y_pred):
        """Labels for network outputs, as LabelBinarizer.inverse_transform gives them.

        The two common cases are decoded directly (the binarizer's generic
        path costs tens of microseconds): multiclass takes the first maximum,
        binary thresholds strictly at 0.5.
        """
        binarizer = self._label_binarizer
        classes = binarizer.classes_
        if binarizer.y_type_ == "multiclass" and y_pred.ndim == 2:
            return classes.take(y_pred.argmax(axis=1), mode="clip")
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
    solver and both losses, with sample weights, and with dense or sparse
    (CSR/CSC) input. Takes scikit-learn's callbacks as
    :class:`MLPClassifier` does.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss function.
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in :class:`MLPClassifier`.

    Attributes
    ----------
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, \
t_, coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_, \
n_outputs_, out_activation_
        As in :class:`MLPClassifier`; ``out_activation_`` is 'identity', or
        'exp' for the Poisson loss.
    """

    _parameter_constraints = _with_options(
        _with_options(_SklearnMLPRegressor._parameter_constraints, "activation",
                      HIDDEN_ACTIVATIONS),
        "loss", REGRESSION_LOSSES)

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
                 max_fun: int = 15000) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            loss=loss, shuffle=shuffle, random_state=random_state, tol=tol,
            verbose=verbose, warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

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
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

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
