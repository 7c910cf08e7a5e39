"""Checks that the PyTorch reference of ``compare.py`` does scikit-learn's work.

Same initial weights, same shuffled mini-batches, same loss and L2 term: with
SGD (identical update rule) the weights match scikit-learn's to rounding;
with Adam (``eps`` enters slightly differently) the epoch losses agree
closely. Skipped when PyTorch is not installed.
"""

import numpy as np
import pytest

pytest.importorskip("torch")

from runners import load_implementations  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

SKLEARN, TORCH = load_implementations(("sklearn", "torch"))


def fit_both(workload_name):
    """Fit scikit-learn and the PyTorch reference on a workload's small size."""
    workload = WORKLOADS[workload_name]
    X, y = workload.make_data(workload.rows.small)
    epochs = workload.epochs.small
    return SKLEARN.fit(workload, X, y, epochs), TORCH.fit(workload, X, y, epochs)


def torch_coefs(model):
    """Weight matrices of a TorchMLP in scikit-learn's (fan_in, fan_out) layout."""
    return [layer.weight.detach().numpy().T for layer in model.model if hasattr(layer, "weight")]


def test_sgd_matches_sklearn_weights():
    sklearn_model, torch_model = fit_both("tiny_sgd")
    for sklearn_coef, torch_coef in zip(sklearn_model.coefs_, torch_coefs(torch_model)):
        np.testing.assert_allclose(torch_coef, sklearn_coef, rtol=0, atol=1e-12)
    assert torch_model.loss_ == pytest.approx(sklearn_model.loss_, rel=1e-12)


@pytest.mark.parametrize(
    "workload_name", ["digits", "medium32", "medium64", "wide32", "regression"]
)
def test_adam_matches_sklearn_loss(workload_name):
    sklearn_model, torch_model = fit_both(workload_name)
    assert torch_model.n_iter_ == sklearn_model.n_iter_
    assert torch_model.loss_ == pytest.approx(sklearn_model.loss_, rel=1e-3)
