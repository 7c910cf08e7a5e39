"""Type hints of the public API, as typing and type checkers read them.

``typing.get_type_hints`` must resolve every annotation of the public
estimators' methods and of ``save``/``load`` at run time (a string that
names something the module lacks fails there, not at import). When mypy is
installed (it is not a dependency), a small user script is type-checked
against the installed package: the hints must reach mypy through the
scikit-learn decorators, and a wrong argument must be reported.
"""
import inspect
import os
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest
from numpy.typing import ArrayLike
from sklearn.base import clone

from conftest import engine_only

pytestmark = engine_only  # mlpfast's own annotations

import mlpfast  # noqa: E402
from mlpfast import MLPClassifier, MLPRegressor  # noqa: E402

PUBLIC_METHODS = {
    MLPClassifier: ["__init__", "fit", "partial_fit", "predict", "predict_proba",
                    "predict_log_proba", "score"],
    MLPRegressor: ["__init__", "fit", "partial_fit", "predict", "score"],
}


def _annotated_parameters(function):
    return [name for name in inspect.signature(function).parameters if name != "self"]


@pytest.mark.parametrize("cls", list(PUBLIC_METHODS))
def test_every_public_method_has_resolvable_hints(cls):
    for method_name in PUBLIC_METHODS[cls]:
        method = getattr(cls, method_name)
        hints = typing.get_type_hints(method)
        assert set(_annotated_parameters(method)) <= set(hints), method_name
        assert "return" in hints, method_name


def test_hints_say_what_the_methods_take_and_give():
    fit_hints = typing.get_type_hints(MLPClassifier.fit)
    assert fit_hints["y"] == ArrayLike
    assert fit_hints["sample_weight"] == ArrayLike | None
    # X also takes scipy's sparse matrices.
    import scipy.sparse
    assert set(typing.get_args(fit_hints["X"])) >= {scipy.sparse.spmatrix, scipy.sparse.sparray}
    assert typing.get_type_hints(MLPClassifier.score)["return"] is float
    assert typing.get_type_hints(MLPRegressor.score)["return"] is float
    init_hints = typing.get_type_hints(MLPRegressor.__init__)
    assert set(typing.get_args(init_hints["loss"])) == {"squared_error", "poisson", "huber"}
    assert init_hints["huber_delta"] is float
    assert set(typing.get_args(init_hints["solver"])) == {"lbfgs", "sgd", "adam"}
    # Each Literal names exactly the values scikit-learn's validation accepts.
    for name in ("activation", "solver", "learning_rate"):
        constraint = MLPClassifier._parameter_constraints[name][0]
        assert set(typing.get_args(init_hints[name])) == constraint.options, name


@pytest.mark.parametrize("function", [mlpfast.save, mlpfast.load])
def test_save_and_load_have_resolvable_hints(function):
    hints = typing.get_type_hints(function)
    assert set(_annotated_parameters(function)) | {"return"} == set(hints)
    estimator_types = set(typing.get_args(hints["return" if function is mlpfast.load
                                                 else "estimator"]))
    assert estimator_types == {MLPClassifier, MLPRegressor}


@pytest.mark.parametrize("cls", list(PUBLIC_METHODS))
def test_annotations_leave_get_params_and_clone_alone(cls):
    est = cls(hidden_layer_sizes=(7, 3), alpha=0.5, random_state=3)
    params = est.get_params()
    assert params["hidden_layer_sizes"] == (7, 3) and params["alpha"] == 0.5
    assert clone(est).get_params() == params
    defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()}
    assert cls().get_params() == defaults


def test_py_typed_ships_with_the_package():
    assert (Path(mlpfast.__file__).parent / "py.typed").is_file()


USER_SCRIPT = textwrap.dedent("""
    import numpy as np
    import mlpfast
    from mlpfast import MLPClassifier, MLPRegressor

    X = np.zeros((4, 2))
    y = np.array([0, 1, 0, 1])
    clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs").fit(X, y)
    reveal_type(clf)
    reveal_type(MLPRegressor().partial_fit(X, [0.5, 1.0, 1.5, 2.0]))
    reveal_type(clf.predict_proba(X))
    reveal_type(clf.score(X, y))
    reveal_type(mlpfast.load("model.mlpfast"))
    MLPClassifier(activation="sigmoid")
""")


def test_mypy_sees_the_hints(tmp_path):
    pytest.importorskip("mypy")
    script = tmp_path / "user_script.py"
    script.write_text(USER_SCRIPT)
    env = dict(os.environ)
    package_parent = Path(mlpfast.__file__).resolve().parent.parent
    if package_parent.name not in ("site-packages", "dist-packages"):
        # An editable install imports through a hook mypy cannot follow.
        env["MYPYPATH"] = str(package_parent)
    # Errors of the imported modules are the package's concern, not the user's.
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent",
               "--cache-dir", str(tmp_path / "mypy_cache"), str(script)]
    result = subprocess.run(command, capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300, check=False)
    revealed = [line.split("Revealed type is ")[1].strip('"')
                for line in result.stdout.splitlines() if "Revealed type is" in line]
    assert len(revealed) == 5, result.stdout + result.stderr
    assert revealed[0] == "mlpfast._estimators.MLPClassifier"
    assert revealed[1] == "mlpfast._estimators.MLPRegressor"
    # numpy's own spelling of the array type varies between versions.
    assert revealed[2].startswith("numpy.ndarray[") and "numpy.floating" in revealed[2]
    assert revealed[3] == "float"
    assert revealed[4] == "mlpfast._estimators.MLPClassifier | mlpfast._estimators.MLPRegressor"
    wrong_line = USER_SCRIPT.splitlines().index('MLPClassifier(activation="sigmoid")') + 1
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stdout
    assert f":{wrong_line}: " in errors[0] and '"activation"' in errors[0]
