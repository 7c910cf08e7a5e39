"""The training rules beyond scikit-learn against PyTorch (float64 autograd).

From the same initial weights (an estimator with ``random_state=0`` draws
them as ``glorot_uniform_params`` does from ``RandomState(0)``; with
``shuffle=False`` its batches are consecutive rows), mlpfast's SGD steps
(momentum 0) on scikit-learn's loss, the mean cross-entropy plus
``0.5 * alpha * ||W||^2 / rows``, equal PyTorch's with:

- ``weight_decay``: each weight times ``1 - lr * weight_decay`` before the
  step, as ``torch.optim.AdamW`` decays (PyTorch's SGD has no decoupled
  decay; the rule is written out, the gradients are autograd's);
- ``max_grad_norm``: ``torch.nn.utils.clip_grad_norm_``, clipping active and
  inactive;
- ``learning_rate='cosine'``: ``torch.optim.lr_scheduler.CosineAnnealingLR``
  with ``T_max=max_iter``, stepped once per epoch;
- ``dropout``: the hidden outputs times the kernel's masks over ``1 - p``,
  the scaling of ``torch.nn.functional.dropout`` (checked here too).

Every step's gradient agrees to a few ulps and a few steps amplify that
little: rtol 1e-9 has a wide margin (as tests/test_activations_torch.py).
"""
import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from conftest import engine_only
from mlpfast import MLPClassifier, _kernels, _training
from mlpfast._network import NetworkLayout, glorot_uniform_params

pytestmark = engine_only  # scikit-learn's MLP has none of these rules
torch = pytest.importorskip("torch")
functional = torch.nn.functional

HIDDEN = (7, 5)
ALPHA = 1e-3
RATE = 0.1


def _data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 4))
    y = np.argmax(X[:, :3] + 0.5 * rng.standard_normal((60, 3)), axis=1)
    return X, y


def _fit(X, y, batch_size, epochs, activation="tanh", **rules):
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, activation=activation, solver="sgd",
                        momentum=0.0, learning_rate_init=RATE, alpha=ALPHA,
                        batch_size=batch_size, max_iter=epochs, shuffle=False,
                        n_iter_no_change=epochs + 1, random_state=0, **rules)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


class TorchNetwork:
    """The estimator's initial network as PyTorch leaf tensors."""

    def __init__(self, n_features, n_classes, activation="tanh"):
        layout = NetworkLayout((n_features, *HIDDEN, n_classes))
        params = glorot_uniform_params(layout, activation, np.random.RandomState(0),
                                       np.float64)
        self.weights = [torch.tensor(w.T.copy(), requires_grad=True)
                        for w in layout.coef_views(params)]
        self.biases = [torch.tensor(b.copy(), requires_grad=True)
                       for b in layout.intercept_views(params)]
        self.activation = {"tanh": torch.tanh, "relu": torch.relu}[activation]

    @property
    def parameters(self):
        return self.weights + self.biases

    def loss(self, X, y, masks=None, rates=None):
        """scikit-learn's batch loss; hidden outputs times mask / (1 - p) if masks."""
        output = X
        for layer, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            output = functional.linear(output, weight, bias)
            if layer < len(self.weights) - 1:
                output = self.activation(output)
                if masks is not None:
                    output = output * masks[layer] / (1.0 - rates[layer])
        penalty = 0.5 * ALPHA * sum((w * w).sum() for w in self.weights) / X.shape[0]
        return functional.cross_entropy(output, y) + penalty

    def arrays(self):
        return ([w.detach().numpy().T for w in self.weights]
                + [b.detach().numpy() for b in self.biases])


def _torch_sgd(X, y, batch_size, epochs, *, weight_decay=0.0, max_grad_norm=None,
               cosine=False):
    """mlpfast's SGD rules written out on PyTorch's autograd gradients."""
    net = TorchNetwork(X.shape[1], 3)
    optimizer = torch.optim.SGD(net.parameters, lr=RATE, momentum=0.0)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
                 if cosine else None)
    X_tensor, y_tensor = torch.from_numpy(X), torch.from_numpy(y)
    clipped_any = False
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            optimizer.zero_grad()
            net.loss(X_tensor[rows], y_tensor[rows]).backward()
            if max_grad_norm is not None:
                norm = torch.nn.utils.clip_grad_norm_(net.parameters, max_grad_norm)
                clipped_any |= bool(norm > max_grad_norm)
            with torch.no_grad():
                lr = optimizer.param_groups[0]["lr"]
                for weight in net.weights:
                    weight.mul_(1.0 - lr * weight_decay)
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return net.arrays(), clipped_any


def _assert_same(clf, expected):
    for got, want in zip(clf.coefs_ + clf.intercepts_, expected):
        assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("batch_size, epochs", [(60, 1), (20, 3)],
                         ids=["one-full-batch-step", "three-epochs"])
def test_sgd_with_weight_decay(batch_size, epochs):
    X, y = _data()
    clf = _fit(X, y, batch_size, epochs, weight_decay=0.3)
    expected, _ = _torch_sgd(X, y, batch_size, epochs, weight_decay=0.3)
    _assert_same(clf, expected)
    undecayed, _ = _torch_sgd(X, y, batch_size, epochs)
    assert not np.allclose(clf.coefs_[0], undecayed[0], rtol=1e-4)


@pytest.mark.parametrize("max_grad_norm, clips", [(0.05, True), (1e3, False)],
                         ids=["active", "inactive"])
@pytest.mark.parametrize("batch_size, epochs", [(60, 1), (20, 3)],
                         ids=["one-full-batch-step", "three-epochs"])
def test_sgd_with_gradient_clipping(max_grad_norm, clips, batch_size, epochs):
    X, y = _data()
    clf = _fit(X, y, batch_size, epochs, max_grad_norm=max_grad_norm)
    expected, clipped = _torch_sgd(X, y, batch_size, epochs, max_grad_norm=max_grad_norm)
    assert clipped == clips
    _assert_same(clf, expected)


def test_three_epochs_of_the_cosine_schedule():
    X, y = _data()
    clf = _fit(X, y, 20, 3, learning_rate="cosine")
    expected, _ = _torch_sgd(X, y, 20, 3, cosine=True)
    _assert_same(clf, expected)
    # The rate of the last epoch, as the scheduler's closed form gives it.
    assert clf._optimizer.learning_rate == pytest.approx(
        RATE * 0.5 * (1 + math.cos(math.pi * 2 / 3)), rel=1e-15)


def test_every_rule_together():
    X, y = _data()
    clf = _fit(X, y, 20, 3, learning_rate="cosine", weight_decay=0.2, max_grad_norm=0.1)
    expected, clipped = _torch_sgd(X, y, 20, 3, cosine=True, weight_decay=0.2,
                                   max_grad_norm=0.1)
    assert clipped
    _assert_same(clf, expected)


def test_inverted_dropout_scaling_is_torchs():
    # torch.nn.functional.dropout in training: kept values times 1 / (1 - p).
    torch.manual_seed(0)
    ones = torch.ones(10000, dtype=torch.float64)
    for p in (0.2, 0.5):
        dropped = functional.dropout(ones, p=p, training=True)
        kept = dropped[dropped != 0]
        assert torch.all(kept == 1.0 / (1.0 - p))


@pytest.mark.parametrize("rates", [(0.3, 0.3), (0.5, 0.0)], ids=["both", "first-only"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_one_full_batch_sgd_step_with_dropout(rates, activation):
    # The masks of the estimator's first batch: those the kernel's generator
    # gives for batch 0 under the fit's key (mlpfast._training._dropout).
    X, y = _data()
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, activation=activation, solver="sgd",
                        momentum=0.0, learning_rate_init=RATE, alpha=ALPHA, batch_size=60,
                        max_iter=1, shuffle=False, random_state=0, dropout=list(rates))
    # The key is a digest of the random state after initialisation and of
    # the samples seen before (none): take it the same way from a twin
    # initialised alike.
    twin = MLPClassifier(**{**clf.get_params(), "max_iter": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    twin._random_state = np.random.RandomState(0)
    layout = NetworkLayout((X.shape[1], *HIDDEN, 3))
    glorot_uniform_params(layout, activation, twin._random_state, np.float64)
    twin._layout = layout
    twin.t_ = 0
    dropout = _training._dropout(twin)
    masks = [torch.from_numpy(_kernels.dropout_mask(dropout, layer + 1, 0, len(X),
                                                    HIDDEN[layer]).astype(np.float64))
             for layer in range(2)]

    net = TorchNetwork(X.shape[1], 3, activation)
    net.loss(torch.from_numpy(X), torch.from_numpy(y), masks, rates).backward()
    with torch.no_grad():
        for parameter in net.parameters:
            parameter -= RATE * parameter.grad
    _assert_same(clf, net.arrays())
    plain = _fit(X, y, 60, 1, activation=activation)
    assert not np.allclose(clf.coefs_[1], plain.coefs_[1], rtol=1e-6)
