"""scikit-learn's own MLP test module, run against mlpfast's estimators.

The module installed with scikit-learn
(``sklearn/neural_network/tests/test_mlp.py``) is read at run time, its one
import of the estimators is pointed at mlpfast, and its tests are collected
here.  Only tests that call private methods of scikit-learn's implementation
are left out, each with the reason below.
"""
import pathlib

import pytest
import sklearn

SOURCE = pathlib.Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
SKLEARN_IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

# Tests that reach into scikit-learn's private implementation.
PRIVATE_API_TESTS = {
    "test_gradient": "calls MLPClassifier._loss_grad_lbfgs and lists of per-layer "
                     "activations/gradients, which mlpfast keeps in compiled buffers "
                     "(its gradient is checked by finite differences in test_kernels.py)",
}


def _load_suite():
    source = SOURCE.read_text()
    if source.count(SKLEARN_IMPORT) != 1:
        raise RuntimeError(f"{SOURCE} no longer imports the estimators as expected")
    source = source.replace(SKLEARN_IMPORT, "from mlpfast import MLPClassifier, MLPRegressor")
    namespace = {"__name__": "sklearn_test_mlp_on_mlpfast", "__file__": str(SOURCE)}
    exec(compile(source, str(SOURCE), "exec"), namespace)
    return namespace


for _name, _value in _load_suite().items():
    if _name.startswith("test_") and callable(_value):
        if _name in PRIVATE_API_TESTS:
            _value = pytest.mark.skip(reason=PRIVATE_API_TESTS[_name])(_value)
        globals()[_name] = _value
