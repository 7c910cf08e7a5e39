"""mlpfast's training rules beyond scikit-learn: ``dropout``, ``weight_decay``,
``max_grad_norm`` and ``learning_rate='cosine'``.

References: the plain-numpy MLP of ``numpy_reference`` (scikit-learn's Adam
form plus decoupled decay, a backward pass through fixed dropout masks),
finite differences of the kernel's own loss under a fixed mask, and
scikit-learn itself (every rule at its default is its model). PyTorch, the
reference of the SGD steps, clipping and the cosine schedule, is in
tests/test_training_rules_torch.py.
"""
import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.utils._param_validation import InvalidParameterError

import mlpfast
import numpy_reference as ref
from conftest import assert_weights_close, engine_only
from mlpfast import MLPClassifier, MLPRegressor, _kernels, _training
from mlpfast._network import NetworkLayout, glorot_uniform_params

# scikit-learn's MLP has none of these rules.
pytestmark = [engine_only,
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

HIDDEN = (8, 6)


def _classification(n_rows=60, seed=0):
    X, y = make_classification(n_samples=n_rows, n_features=5, n_informative=4,
                               n_redundant=0, n_classes=3, random_state=seed)
    return X, y


def _one_hot(y):
    return (y[:, None] == np.unique(y)).astype(np.float64)


def _initial_params(n_features, n_outputs, activation="relu", hidden=HIDDEN):
    """The weights an estimator with random_state=0 starts from."""
    layout = NetworkLayout((n_features, *hidden, n_outputs))
    return layout, glorot_uniform_params(layout, activation, np.random.RandomState(0),
                                         np.float64)


def _weight_mask(layout):
    """True at the entries of the flat vector that are weights (not biases)."""
    mask = np.zeros(layout.n_params, dtype=bool)
    for view in layout.coef_views(mask):
        view[...] = True
    return mask


def _flat(estimator):
    return np.concatenate([c.ravel() for c in estimator.coefs_]
                          + [b.ravel() for b in estimator.intercepts_])


# ---------------------------------------------------------------------------
# defaults: scikit-learn's model
# ---------------------------------------------------------------------------

def _small_fit_params(solver, max_iter, batch_size=16):
    return dict(hidden_layer_sizes=HIDDEN, solver=solver, max_iter=max_iter, random_state=0,
                batch_size=batch_size, learning_rate_init=0.01)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_every_rule_at_its_default_is_scikit_learns_fit(solver):
    X, y = _classification()
    params = _small_fit_params(solver, 15)
    # scikit-learn's model within the parity tests' tolerance (BLAS rounds
    # its products otherwise than numpy's); mlpfast's own path bit for bit.
    reference = SkMLPClassifier(**params).fit(X, y)
    default = MLPClassifier(**params).fit(X, y)
    assert_weights_close(default, reference)
    for rules in ({"dropout": 0.0, "weight_decay": 0.0, "max_grad_norm": None},
                  {"dropout": [0.0, 0.0]}, {"dropout": (0, 0.0)}):
        fast = MLPClassifier(**params, **rules).fit(X, y)
        assert_array_equal(_flat(fast), _flat(default))
        assert fast.loss_curve_ == default.loss_curve_


@pytest.mark.parametrize("batch_size", [16, 128], ids=["whole-batches", "split-batches"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_clipping_that_never_clips_changes_nothing(solver, batch_size):
    # The clipped path finishes the gradient in place before the step, in
    # the same operations and order: without clipping, the same bits (also
    # where a batch's two halves' gradients are added, SPLIT_MIN_ROWS).
    X, y = _classification(300)
    params = _small_fit_params(solver, 5, batch_size)
    plain = MLPClassifier(**params).fit(X, y)
    bounded = MLPClassifier(**params, max_grad_norm=1e12).fit(X, y)
    assert_array_equal(_flat(bounded), _flat(plain))
    clipped = MLPClassifier(**params, max_grad_norm=1e-3).fit(X, y)
    assert not np.allclose(_flat(clipped), _flat(plain))


# ---------------------------------------------------------------------------
# Adam with decoupled weight decay and the cosine schedule: numpy reference
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_adam_with_weight_decay_equals_the_numpy_reference(schedule):
    # scikit-learn's Adam form (numpy_reference.AdamState), each step
    # preceded by the decay of the weights by 1 - rate * weight_decay, the
    # rate being the one before bias correction: learning_rate_init, or
    # the cosine rate of the epoch. Both sides compute the same float64
    # operations in a different order; 4 epochs of 2 steps stay far
    # within rtol 1e-9.
    X, y = _classification()
    rate, decay, epochs, batch = 0.01, 0.5, 4, 30
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="adam", learning_rate_init=rate,
                        learning_rate=schedule, weight_decay=decay, alpha=1e-3,
                        batch_size=batch, max_iter=epochs, shuffle=False,
                        n_iter_no_change=epochs + 1, random_state=0).fit(X, y)
    Y = _one_hot(y)
    layout, params = _initial_params(X.shape[1], Y.shape[1])
    weights = _weight_mask(layout)
    units = list(layout.layer_units)
    state = ref.AdamState(rate, 0.9, 0.999, 1e-8, np.zeros_like(params), np.zeros_like(params))
    for epoch in range(epochs):
        if schedule == "cosine":
            state.learning_rate_init = rate * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        for rows in ref.batch_slices(len(X), batch):
            _, grad = ref.loss_and_gradient(params, units, X[rows], Y[rows], "relu",
                                            "softmax", 1e-3)
            params = np.where(weights, params * (1 - state.learning_rate_init * decay), params)
            params = state.step(params, grad)
    assert_allclose(_flat(clf), params, rtol=1e-9, atol=1e-14)
    # The decay is large enough to matter.
    undecayed = MLPClassifier(**{**clf.get_params(), "weight_decay": 0.0}).fit(X, y)
    assert not np.allclose(_flat(undecayed), params, rtol=1e-3)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("max_iter", [1, 4, 7])
def test_cosine_rate_of_the_last_epoch(solver, max_iter):
    # The rate in force during epoch e (set at its start) is
    # rate * (1 + cos(pi * e / max_iter)) / 2; after max_iter epochs,
    # e = max_iter - 1. For Adam, the rate before bias correction.
    X, y = _classification()
    rate = 0.05
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, solver=solver, learning_rate="cosine",
                        learning_rate_init=rate, max_iter=max_iter, random_state=0,
                        tol=0.0, n_iter_no_change=max_iter + 1).fit(X, y)
    assert clf.n_iter_ == max_iter
    expected = rate * 0.5 * (1 + math.cos(math.pi * (max_iter - 1) / max_iter))
    scheduled = (clf._optimizer.learning_rate if solver == "sgd"
                 else clf._optimizer.scheduled_rate)
    assert scheduled == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_with_cosine_trains_at_the_initial_rate(solver):
    # partial_fit's n_iter_ restarts at 0 every call (as scikit-learn's), so
    # each call is epoch 0 of the schedule: the constant rate's steps.
    X, y = _classification()
    common = dict(hidden_layer_sizes=HIDDEN, solver=solver, learning_rate_init=0.02,
                  random_state=0)
    cosine = MLPClassifier(learning_rate="cosine", **common)
    constant = MLPClassifier(learning_rate="constant", **common)
    for _ in range(3):
        cosine.partial_fit(X, y, classes=np.unique(y))
        constant.partial_fit(X, y, classes=np.unique(y))
    assert_array_equal(_flat(cosine), _flat(constant))


def test_step_rules_follow_the_parameters_between_partial_fit_calls():
    X, y = _classification()
    common = dict(hidden_layer_sizes=HIDDEN, solver="sgd", learning_rate_init=0.05,
                  random_state=0)
    plain = MLPClassifier(**common).partial_fit(X, y, classes=np.unique(y))
    switched = MLPClassifier(**common).partial_fit(X, y, classes=np.unique(y))
    switched.set_params(weight_decay=0.5).partial_fit(X, y)
    plain.partial_fit(X, y)
    assert not np.allclose(_flat(switched), _flat(plain))
    switched.set_params(weight_decay=0.0)
    twin = MLPClassifier(**common).partial_fit(X, y, classes=np.unique(y))
    twin.set_params(weight_decay=0.5).partial_fit(X, y)
    twin.set_params(weight_decay=0.0)
    switched.partial_fit(X, y)
    twin.partial_fit(X, y)
    # Back at 0, both continue alike: the rule is the estimator's at each call.
    assert_array_equal(_flat(switched), _flat(twin))


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def test_dropout_mask_keeps_units_at_the_rate_asked():
    # 400,000 independent Bernoulli(0.7) draws: the kept share is within 5
    # standard deviations (sqrt(0.21 / 4e5) = 7.2e-4) of 0.7.
    dropout = _kernels.Dropout([0.3, 0.6], key=12345)
    for layer, rate in ((1, 0.3), (2, 0.6)):
        kept = _kernels.dropout_mask(dropout, layer, 0, 2000, 200)
        sd = math.sqrt(rate * (1 - rate) / kept.size)
        assert abs(kept.mean() - (1 - rate)) < 5 * sd
        # Rows and columns alike: no unit is always kept or dropped.
        assert abs(kept.mean(axis=0) - (1 - rate)).max() < 5 * math.sqrt(
            rate * (1 - rate) / 2000)


def test_dropout_masks_of_other_batches_layers_and_keys_are_independent():
    # Two independent Bernoulli(0.5) masks agree on half of the units.
    n = 200 * 500
    sd = math.sqrt(0.25 / n)
    first = _kernels.dropout_mask(_kernels.Dropout([0.5, 0.5], key=1), 1, 0, 500, 200)
    others = [
        _kernels.dropout_mask(_kernels.Dropout([0.5, 0.5], key=1, batches=1), 1, 0, 500, 200),
        _kernels.dropout_mask(_kernels.Dropout([0.5, 0.5], key=1), 2, 0, 500, 200),
        _kernels.dropout_mask(_kernels.Dropout([0.5, 0.5], key=2), 1, 0, 500, 200),
        # The next rows of the same batch.
        _kernels.dropout_mask(_kernels.Dropout([0.5, 0.5], key=1), 1, 500, 500, 200),
    ]
    for other in others:
        assert abs((first == other).mean() - 0.5) < 5 * sd


def test_dropout_mask_of_rows_does_not_depend_on_the_block():
    dropout = _kernels.Dropout([0.4], key=7, batches=3)
    whole = _kernels.dropout_mask(dropout, 1, 0, 100, 13)
    parts = np.vstack([_kernels.dropout_mask(dropout, 1, 0, 37, 13),
                       _kernels.dropout_mask(dropout, 1, 37, 63, 13)])
    assert_array_equal(parts, whole)


def _one_step(X, Y, params, layout, dropout, rate, threads=None):
    """params after one full-batch SGD step (momentum 0, alpha 0) at ``rate``, and the loss."""
    network = _kernels.Network(layout, "tanh", "softmax", 0.0)
    params = params.copy()
    step = _kernels.StepState.sgd(rate, 0.0, False)
    loss = _kernels.train_epoch(network, X, Y.astype(bool), np.arange(len(X)), len(X), params,
                                step, np.zeros_like(params), None,
                                threads=threads, dropout=dropout)
    return params, loss / len(X)


def _masked_reference_gradient(params, layout, X, Y, masks, rates):
    """numpy_reference's backward pass with each hidden layer's output times
    its mask / (1 - rate): the same mask scales the forward activation and
    the backward delta."""
    weights, biases = ref.unpack(params, list(layout.layer_units))
    activations, zs = [X], []
    a = X
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w + b
        last = layer == len(weights) - 1
        a = ref.activate(z, "softmax" if last else "tanh")
        zs.append(z)
        if not last:
            a = a * masks[layer] / (1 - rates[layer])
        activations.append(a)
    delta = (activations[-1] - Y) / len(X)
    weight_grads, bias_grads = [None] * len(weights), [None] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        weight_grads[layer] = activations[layer].T @ delta
        bias_grads[layer] = delta.sum(axis=0)
        if layer > 0:
            undropped = ref.activate(zs[layer - 1], "tanh")
            delta = ((delta @ weights[layer].T) * masks[layer - 1] / (1 - rates[layer - 1])
                     * ref.derivative(zs[layer - 1], undropped, "tanh"))
    return ref.pack(weight_grads, bias_grads)


@pytest.mark.parametrize("rates", [(0.3, 0.3), (0.5, 0.0), (0.0, 0.25)],
                         ids=["both", "first-only", "second-only"])
def test_dropout_gradient_is_the_masked_networks(rates):
    # One step at rate 1 moves params by minus the gradient of the network
    # whose hidden outputs are times mask / (1 - p), the masks those the
    # kernel's generator gives for batch 0. The numpy reference computes
    # that gradient independently; float64 rounding of a 40-row batch.
    X, y = _classification(40)
    Y = _one_hot(y)
    layout, params = _initial_params(X.shape[1], Y.shape[1], "tanh")
    dropout = _kernels.Dropout(list(rates), key=99)
    masks = [_kernels.dropout_mask(dropout, layer + 1, 0, len(X), layout.layer_units[layer + 1])
             for layer in range(2)]
    stepped, _ = _one_step(X, Y, params, layout, dropout, 1.0)
    expected = _masked_reference_gradient(params, layout, X, Y, masks, rates)
    assert_allclose(params - stepped, expected, rtol=1e-9, atol=1e-14)
    assert dropout.batches == 1
    # The masks drop about the share asked.
    for mask, rate in zip(masks, rates):
        if rate == 0:
            assert mask.all()


def test_dropout_gradient_matches_finite_differences_of_the_kernel_loss():
    # Under a fixed mask (a fresh Dropout with the same key draws batch 0's
    # masks again) the training loss is a smooth function of the weights:
    # its central differences (step 1e-6, error ~1e-10 relative to the
    # gradient's scale) equal the gradient the kernel steps with.
    X, y = _classification(30)
    Y = _one_hot(y)
    layout, params = _initial_params(X.shape[1], Y.shape[1], "tanh")

    def fresh():
        return _kernels.Dropout([0.4, 0.2], key=2024)

    stepped, _ = _one_step(X, Y, params, layout, fresh(), 1.0)
    gradient = params - stepped
    rng = np.random.default_rng(0)
    h = 1e-6
    for index in rng.choice(layout.n_params, 25, replace=False):
        shifted = [params.copy(), params.copy()]
        shifted[0][index] += h
        shifted[1][index] -= h
        up = _one_step(X, Y, shifted[0], layout, fresh(), 0.0)[1]
        down = _one_step(X, Y, shifted[1], layout, fresh(), 0.0)[1]
        assert (up - down) / (2 * h) == pytest.approx(gradient[index], rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dropout_result_does_not_depend_on_the_helper_thread(dtype):
    # A 128-row batch is computed as two halves, on two threads with the
    # helper thread: each half draws the masks of its own rows.
    X, y = _classification(128)
    X = X.astype(dtype)
    Y = _one_hot(y)
    layout, params = _initial_params(X.shape[1], Y.shape[1], "tanh")
    params = params.astype(dtype)
    alone, _ = _one_step(X, Y, params, layout, _kernels.Dropout([0.3, 0.3], key=5), 0.1)
    helper = _kernels.ThreadTeam()
    try:
        paired, _ = _one_step(X, Y, params, layout, _kernels.Dropout([0.3, 0.3], key=5), 0.1,
                              threads=helper)
    finally:
        helper.close()
    assert_array_equal(paired, alone)


def test_no_dropout_at_inference():
    X, y = _classification()
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, dropout=0.5, max_iter=20,
                        random_state=0).fit(X, y)
    params = _flat(clf)
    expected = ref.forward(params, [X.shape[1], *HIDDEN, 3], X, "relu", "softmax")[-1]
    assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))


def test_dropout_fits_are_reproducible_and_draw_from_the_random_state_only():
    X, y = _classification()
    common = dict(hidden_layer_sizes=HIDDEN, dropout=[0.3, 0.1], max_iter=10)
    first = MLPClassifier(random_state=3, **common).fit(X, y)
    again = MLPClassifier(random_state=3, **common).fit(X, y)
    other = MLPClassifier(random_state=4, **common).fit(X, y)
    assert_array_equal(_flat(first), _flat(again))
    assert not np.allclose(_flat(first), _flat(other))
    # Per-layer rates are used as given: swapping them changes the fit.
    swapped = MLPClassifier(random_state=3, **{**common, "dropout": [0.1, 0.3]}).fit(X, y)
    assert not np.allclose(_flat(first), _flat(swapped))
    # The random state is not drawn from: a RandomState ends where it ends
    # without dropout.
    states = [np.random.RandomState(0), np.random.RandomState(0)]
    MLPClassifier(random_state=states[0], **common).fit(X, y)
    MLPClassifier(random_state=states[1], **{**common, "dropout": 0.0}).fit(X, y)
    assert states[0].randint(2 ** 31) == states[1].randint(2 ** 31)


def test_each_call_draws_other_masks_even_without_shuffling():
    # Without shuffling the random state stays where it is between
    # partial_fit calls; the samples already seen (t_) tell the calls apart.
    X, y = _classification()
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, dropout=0.3, shuffle=False, random_state=0)
    clf.partial_fit(X, y, classes=np.unique(y))
    keys = []
    for _ in range(2):
        clf._random_state = np.random.RandomState(0)
        keys.append(_kernels.dropout_mask(_training._dropout(clf), 1, 0, len(X), HIDDEN[0]))
        clf.partial_fit(X, y)
    assert not np.array_equal(keys[0], keys[1])


def test_dropout_regularises():
    # A wide network fitted to noise: dropout keeps the training fit looser.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10))
    y = rng.integers(0, 2, 200)
    common = dict(hidden_layer_sizes=(200,), max_iter=300, learning_rate_init=0.01,
                  random_state=0, tol=0)
    plain = MLPClassifier(**common).fit(X, y)
    dropped = MLPClassifier(**common, dropout=0.5).fit(X, y)
    assert dropped.score(X, y) < plain.score(X, y)


# ---------------------------------------------------------------------------
# everywhere else: errors, early stopping, warm start, save/load, to_sklearn
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("rule", [{"dropout": 0.2}, {"dropout": [0.0, 0.1]},
                                  {"weight_decay": 0.01}, {"max_grad_norm": 1.0}])
def test_lbfgs_refuses_the_stochastic_rules(rule):
    X, y = _classification()
    name = next(iter(rule))
    with pytest.raises(ValueError, match=f"{name}=.*needs solver='sgd' or 'adam'"):
        MLPClassifier(hidden_layer_sizes=HIDDEN, solver="lbfgs", **rule).fit(X, y)


def test_lbfgs_ignores_the_cosine_schedule_as_scikit_learns_schedules():
    X, y = _classification()
    cosine = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="lbfgs", learning_rate="cosine",
                           random_state=0).fit(X, y)
    constant = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="lbfgs", random_state=0).fit(X, y)
    assert_array_equal(_flat(cosine), _flat(constant))


@pytest.mark.parametrize("params, error, message", [
    ({"dropout": 1.0}, InvalidParameterError, "'dropout' parameter"),
    ({"dropout": -0.1}, InvalidParameterError, "'dropout' parameter"),
    ({"dropout": "half"}, InvalidParameterError, "'dropout' parameter"),
    ({"dropout": [0.1]}, ValueError, r"one rate per hidden layer \(2\)"),
    ({"dropout": [0.1, 0.2, 0.3]}, ValueError, r"one rate per hidden layer \(2\)"),
    ({"dropout": [[0.1, 0.2]]}, ValueError, "one rate per hidden layer"),
    ({"dropout": [0.1, 1.0]}, ValueError, r"in \[0, 1\), got 1.0"),
    ({"dropout": [0.1, float("nan")]}, ValueError, r"in \[0, 1\), got nan"),
    ({"dropout": [0.1, True]}, TypeError, "real numbers, got True"),
    ({"dropout": [0.1, "x"]}, TypeError, "real numbers, got 'x'"),
    ({"weight_decay": -0.1}, InvalidParameterError, "'weight_decay' parameter"),
    ({"max_grad_norm": 0.0}, InvalidParameterError, "'max_grad_norm' parameter"),
    ({"max_grad_norm": "big"}, InvalidParameterError, "'max_grad_norm' parameter"),
    ({"learning_rate": "cosinus"}, InvalidParameterError, "'learning_rate' parameter"),
])
def test_bad_rule_values_are_named(params, error, message):
    X, y = _classification()
    with pytest.raises(error, match=message):
        MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=2, **params).fit(X, y)


RULES = dict(dropout=[0.2, 0.1], weight_decay=0.01, max_grad_norm=1.0, learning_rate="cosine")


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_warm_start_and_partial_fit_with_every_rule(solver):
    X, y = _classification(120)
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, solver=solver, early_stopping=True,
                        max_iter=30, random_state=0, learning_rate_init=0.02, **RULES)
    X_val, y_val = _classification(50, seed=1)
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    # Validation runs without dropout, on the weights of each epoch: the
    # best epoch's entries are the restored model's score and loss.
    best = int(np.argmax(clf.validation_scores_))
    assert clf.validation_scores_[best] == clf.best_validation_score_
    assert clf.validation_scores_[best] == clf.score(X_val, y_val)
    params = _flat(clf)
    weights = params[_weight_mask(clf._layout)]
    expected_loss = (ref.data_loss(clf.predict_proba(X_val), _one_hot(y_val), "softmax")
                     + 0.5 * clf.alpha * weights @ weights / len(X_val))
    assert clf.validation_loss_curve_[best] == pytest.approx(expected_loss, rel=1e-12)
    n_epochs = clf.n_iter_
    clf.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert len(clf.validation_scores_) == n_epochs + clf.n_iter_
    stream = MLPClassifier(hidden_layer_sizes=HIDDEN, solver=solver, random_state=0,
                           learning_rate_init=0.05, **RULES)
    for _ in range(20):
        for start in range(0, 120, 40):
            stream.partial_fit(X[start:start + 40], y[start:start + 40], classes=np.unique(y))
    # It learns: well above the 1/3 of guessing.
    assert stream.score(X, y) > 0.6


def test_regressor_takes_every_rule():
    X, y = make_regression(n_samples=80, n_features=4, noise=0.1, random_state=0)
    plain = MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=50, random_state=0,
                         learning_rate_init=0.01).fit(X, y)
    ruled = MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=50, random_state=0,
                         learning_rate_init=0.01, **RULES).fit(X, y)
    assert np.isfinite(ruled.predict(X)).all()
    assert not np.allclose(_flat(plain), _flat(ruled))


def test_save_and_load_keep_the_rules_and_the_training_state(tmp_path):
    X, y = _classification()
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="sgd", random_state=0,
                        learning_rate_init=0.05, max_iter=5, **RULES).fit(X, y)
    path = tmp_path / "model.npz"
    mlpfast.save(clf, path)
    loaded = mlpfast.load(path)
    for name, value in RULES.items():
        assert getattr(loaded, name) == value
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # Weight decay and clipping continue as on the saved model (dropout
    # draws new masks in every call, from the random state's position).
    for model in (clf, loaded):
        model.set_params(dropout=0.0).partial_fit(X, y)
    assert_array_equal(_flat(loaded), _flat(clf))


def test_to_sklearn_converts_a_model_trained_with_the_rules_and_says_what_it_drops():
    X, y = _classification()
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="sgd", random_state=0,
                        max_iter=5, **RULES).fit(X, y)
    with pytest.warns(UserWarning, match="would train on without mlpfast's dropout=.*"
                      "learning_rate='cosine'.*max_grad_norm=1.0.*weight_decay=0.01"):
        converted = mlpfast.to_sklearn(clf)
    assert converted.learning_rate == "constant"
    assert converted._optimizer.lr_schedule == "constant"
    # scikit-learn's forward pass rounds its products as numpy does.
    assert_allclose(converted.predict_proba(X), clf.predict_proba(X), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        converted.partial_fit(X, y)  # scikit-learn trains on with what it has
