"""PyTorch reference: the idiomatic PyTorch equivalent of a scikit-learn MLP fit.

The network is an ``nn.Sequential`` of ``nn.Linear`` layers and activations,
trained with ``torch.optim`` on the same work scikit-learn does:

* the same initial weights: Glorot-uniform values drawn with
  ``numpy.random.RandomState(random_state)`` in scikit-learn's call order
  (per layer: the weight matrix, then the bias vector) and copied into the
  ``nn.Linear`` layers;
* the same mini-batches: the same ``RandomState`` then shuffles the sample
  order each epoch exactly as scikit-learn does, and batches are consecutive
  slices of it (the last one may be shorter);
* the same loss: mean cross-entropy of the softmax output (regression: half
  the mean squared error) plus the L2 term ``0.5 * alpha * sum(W**2) /
  batch_rows`` over the weight matrices only (biases are not penalised). The
  L2 term is written explicitly in the loss rather than as ``weight_decay``,
  which would apply to biases and could not follow a shorter last batch;
* the same optimizer hyper-parameters: ``torch.optim.Adam`` (``lr``,
  ``betas``, ``eps``; PyTorch adds ``eps`` to the bias-corrected root of the
  second moment, scikit-learn to the uncorrected one, which changes the
  steps of weights whose gradients are near ``eps``, such as those of
  always-zero inputs, but not the work done),
  ``torch.optim.SGD`` with Nesterov momentum (identical updates for a constant
  learning rate), or ``torch.optim.LBFGS`` with history 10 and a strong-Wolfe
  line search (a different L-BFGS implementation than scipy's: iterations are
  comparable, function evaluations per iteration may differ).

Only what the benchmark workloads use is supported: multi-class
classification or single-target regression, and a constant learning rate.
Fits run exactly ``max_iter`` epochs: the benchmark disables early stopping.
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from workloads import resolve_batch_size

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "identity": nn.Identity}


class TorchMLP:
    """A fitted PyTorch network with the prediction interface of the benchmark.

    Parameters
    ----------
    model : torch.nn.Sequential
    classes : ndarray or None
        Class labels in output order; None for regression.
    n_iter : int
        Epochs (L-BFGS: iterations) run.
    loss : float
        Training loss of the last epoch (L-BFGS: at the final weights).
    """

    def __init__(self, model, classes, n_iter, loss):
        self.model = model
        self.classes_ = classes
        self.n_iter_ = n_iter
        self.loss_ = loss

    def predict(self, X):
        """Predict class labels (or targets) for ``X`` of the training dtype.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        with torch.inference_mode():
            output = self.model(torch.from_numpy(X))
        if self.classes_ is None:
            return output.numpy().ravel()
        return self.classes_[output.argmax(dim=1).numpy()]


def glorot_uniform_init(units, activation, dtype, rng):
    """Initial weights and biases, drawn as scikit-learn's MLP draws them.

    Parameters
    ----------
    units : list of int
        Units per layer, input and output included.
    activation : str
        Hidden activation; ``"logistic"`` uses a narrower bound.
    dtype : numpy dtype
    rng : numpy.random.RandomState
        Advanced by the draws, as scikit-learn's own generator is.

    Returns
    -------
    coefs : list of ndarray of shape (fan_in, fan_out)
    intercepts : list of ndarray of shape (fan_out,)
    """
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


def build_sequential(coefs, intercepts, activation):
    """An ``nn.Sequential`` of Linear layers holding copies of the given weights.

    Parameters
    ----------
    coefs : list of ndarray of shape (fan_in, fan_out)
    intercepts : list of ndarray of shape (fan_out,)
    activation : str
        Activation after every hidden layer; the output layer has none.

    Returns
    -------
    torch.nn.Sequential
    """
    layers = []
    for coef, intercept in zip(coefs, intercepts):
        linear = nn.Linear(*coef.shape, dtype=torch.from_numpy(coef).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(coef.T))
            linear.bias.copy_(torch.from_numpy(intercept))
        layers += [linear, ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


def encode_targets(task, y, dtype):
    """Class indices (classification) or a column of targets (regression).

    Parameters
    ----------
    task : {"classification", "regression"}
    y : ndarray of shape (n_rows,)
    dtype : numpy dtype
        Regression targets take the dtype of ``X``.

    Returns
    -------
    classes : ndarray or None
    target : ndarray of shape (n_rows,) int64 or (n_rows, 1) ``dtype``
    """
    if task == "regression":
        return None, np.ascontiguousarray(y, dtype=dtype).reshape(-1, 1)
    classes, indices = np.unique(y, return_inverse=True)
    return classes, indices.astype(np.int64)


def regularised_loss(task, alpha, weights):
    """The batch loss function, scikit-learn's definition.

    Parameters
    ----------
    task : {"classification", "regression"}
    alpha : float
        L2 strength.
    weights : list of torch.Tensor
        Weight matrices to penalise (not the biases).

    Returns
    -------
    callable
        ``loss(output, target) -> torch.Tensor``.
    """
    data_loss = functional.cross_entropy if task == "classification" else half_mse

    def loss(output, target):
        penalty = sum(weight.pow(2).sum() for weight in weights)
        return data_loss(output, target) + 0.5 * alpha * penalty / output.shape[0]

    return loss


def half_mse(output, target):
    """Half the mean squared error, scikit-learn's regression loss."""
    return 0.5 * functional.mse_loss(output, target)


def make_stochastic_optimizer(model, params):
    """``torch.optim.Adam`` or ``SGD`` with scikit-learn's hyper-parameters.

    Parameters
    ----------
    model : torch.nn.Module
    params : dict
        scikit-learn ``get_params()`` of the equivalent estimator.

    Returns
    -------
    torch.optim.Optimizer
    """
    lr = params["learning_rate_init"]
    if params["solver"] == "adam":
        betas = (params["beta_1"], params["beta_2"])
        return torch.optim.Adam(model.parameters(), lr=lr, betas=betas, eps=params["epsilon"])
    if params["learning_rate"] != "constant":
        raise NotImplementedError("only learning_rate='constant' is mirrored in PyTorch")
    momentum = params["momentum"]
    nesterov = params["nesterovs_momentum"] and momentum > 0
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov)


def train_stochastic(model, loss_fn, X, target, params, rng):
    """Run ``max_iter`` epochs of mini-batch Adam/SGD.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
    X : torch.Tensor of shape (n_rows, n_features)
    target : torch.Tensor
    params : dict
        scikit-learn ``get_params()`` of the equivalent estimator.
    rng : numpy.random.RandomState
        Generator already advanced by the initialisation.

    Returns
    -------
    n_iter : int
    loss : float
        Mean batch loss of the last epoch, weighted by batch rows.
    """
    optimizer = make_stochastic_optimizer(model, params)
    n_rows = X.shape[0]
    batch_size = resolve_batch_size(params["batch_size"], n_rows)
    order = np.arange(n_rows)
    epoch_loss = float("nan")
    for _ in range(params["max_iter"]):
        if params["shuffle"]:
            permutation = np.arange(n_rows)
            rng.shuffle(permutation)
            order = order[permutation]
        batches = torch.from_numpy(order).split(batch_size)
        total = 0.0
        for rows in batches:
            optimizer.zero_grad()
            loss = loss_fn(model(X[rows]), target[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * rows.shape[0]
        epoch_loss = total / n_rows
    return params["max_iter"], epoch_loss


def train_lbfgs(model, loss_fn, X, target, params):
    """Run full-batch ``torch.optim.LBFGS`` for up to ``max_iter`` iterations.

    Parameters
    ----------
    model : torch.nn.Module
    loss_fn : callable
    X : torch.Tensor of shape (n_rows, n_features)
    target : torch.Tensor
    params : dict
        scikit-learn ``get_params()`` of the equivalent estimator.

    Returns
    -------
    n_iter : int
    loss : float
        Loss at the final weights.
    """
    optimizer = torch.optim.LBFGS(
        model.parameters(),
        max_iter=params["max_iter"],
        max_eval=params["max_fun"],
        tolerance_grad=params["tol"],
        history_size=10,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(X), target)
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        final_loss = loss_fn(model(X), target).item()
    first_parameter = next(iter(model.parameters()))
    return optimizer.state[first_parameter]["n_iter"], final_loss


def fit_torch(params, task, X, y):
    """Fit the PyTorch equivalent of a scikit-learn MLP.

    Parameters
    ----------
    params : dict
        ``get_params()`` of the equivalent scikit-learn estimator.
    task : {"classification", "regression"}
    X : ndarray of shape (n_rows, n_features), float32 or float64, C-contiguous
    y : ndarray of shape (n_rows,)

    Returns
    -------
    TorchMLP
    """
    rng = np.random.RandomState(params["random_state"])
    classes, target = encode_targets(task, y, X.dtype)
    n_outputs = 1 if classes is None else len(classes)
    units = [X.shape[1], *params["hidden_layer_sizes"], n_outputs]
    coefs, intercepts = glorot_uniform_init(units, params["activation"], X.dtype, rng)
    model = build_sequential(coefs, intercepts, params["activation"])
    weights = [layer.weight for layer in model if isinstance(layer, nn.Linear)]
    loss_fn = regularised_loss(task, params["alpha"], weights)
    X_t, target_t = torch.from_numpy(X), torch.from_numpy(target)
    if params["solver"] == "lbfgs":
        n_iter, loss = train_lbfgs(model, loss_fn, X_t, target_t, params)
    else:
        n_iter, loss = train_stochastic(model, loss_fn, X_t, target_t, params, rng)
    return TorchMLP(model, classes, n_iter, loss)
