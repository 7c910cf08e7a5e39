"""
Tuning in a Pipeline with GridSearchCV
======================================

Tune an mlpfast classifier inside a scikit-learn Pipeline with GridSearchCV.

mlpfast's ``MLPClassifier`` is a scikit-learn estimator, so it fits in a
``Pipeline`` after a ``StandardScaler`` and ``GridSearchCV`` clones and tunes
it like any other. The script prints the best parameters, the test accuracy
of the refitted pipeline, and how long the same search takes with
scikit-learn's own ``MLPClassifier`` in the pipeline.
"""
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import mlpfast

PARAM_GRID = {
    "mlp__hidden_layer_sizes": [(32,), (64,)],
    "mlp__alpha": [1e-4, 1e-1],
}


def timed_search(classifier, X, y):
    """The fitted search over PARAM_GRID for a pipeline ending in ``classifier``, and its time."""
    pipeline = Pipeline([("scale", StandardScaler()), ("mlp", classifier)])
    search = GridSearchCV(pipeline, PARAM_GRID, cv=3)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # max_iter is kept short so that the example runs quickly.
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return search, time.perf_counter() - started


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    params = dict(max_iter=40, random_state=0)

    search, fast_seconds = timed_search(mlpfast.MLPClassifier(**params), X_train, y_train)
    print(f"best parameters: {search.best_params_}")
    print(f"cross-validated accuracy {search.best_score_:.4f}, "
          f"test accuracy {search.score(X_test, y_test):.4f}")

    reference, reference_seconds = timed_search(SklearnMLPClassifier(**params),
                                                X_train, y_train)
    print(f"scikit-learn's MLPClassifier picks {reference.best_params_}, "
          f"test accuracy {reference.score(X_test, y_test):.4f}")
    print(f"search time: mlpfast {fast_seconds:.2f} s, scikit-learn "
          f"{reference_seconds:.2f} s ({reference_seconds / fast_seconds:.1f}x)")


if __name__ == "__main__":
    main()
