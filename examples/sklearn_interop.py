"""
Converting to and from scikit-learn
===================================

Move a fitted model between mlpfast and scikit-learn.

A classifier trained with mlpfast on scikit-learn's digits becomes a genuine
``sklearn.neural_network.MLPClassifier`` with ``mlpfast.to_sklearn``, for code
that expects scikit-learn's own class. Both copies then train for three more
epochs with ``partial_fit``, each in its own library, and end on the same
weights: the conversion carries the optimizer state along. Finally
``mlpfast.from_sklearn`` brings the scikit-learn model back.
"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

import mlpfast


def largest_weight_difference(model_a, model_b):
    return max(np.abs(a - b).max() for a, b in zip(model_a.coefs_ + model_a.intercepts_,
                                                    model_b.coefs_ + model_b.intercepts_))


def main():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

    fast = mlpfast.MLPClassifier(hidden_layer_sizes=(64,), random_state=0)
    for _ in range(10):
        fast.partial_fit(X_train, y_train, classes=np.unique(y))
    print(f"mlpfast after 10 epochs of partial_fit: test accuracy {fast.score(X_test, y_test):.4f}")

    reference = mlpfast.to_sklearn(fast)
    same_labels = np.array_equal(reference.predict(X_test), fast.predict(X_test))
    probability_gap = np.abs(reference.predict_proba(X_test) - fast.predict_proba(X_test)).max()
    print(f"to_sklearn gives a {type(reference).__module__}.{type(reference).__name__}")
    print(f"  is scikit-learn's class: {isinstance(reference, SklearnMLPClassifier)}")
    print(f"  same predicted labels: {same_labels}; "
          f"largest probability difference {probability_gap:.1e} (rounding)")

    for _ in range(3):
        fast.partial_fit(X_train, y_train)
        reference.partial_fit(X_train, y_train)
    print("3 more epochs of partial_fit, each model in its own library:")
    print(f"  mlpfast test accuracy {fast.score(X_test, y_test):.4f}, "
          f"scikit-learn test accuracy {reference.score(X_test, y_test):.4f}")
    print(f"  largest weight difference {largest_weight_difference(fast, reference):.1e}")

    back = mlpfast.from_sklearn(reference)
    identical = np.array_equal(mlpfast.to_sklearn(back).predict_proba(X_test),
                               reference.predict_proba(X_test))
    print(f"from_sklearn gives a {type(back).__module__.split('.')[0]}.{type(back).__name__}; "
          f"converted back, it predicts bit for bit as before: {identical}")


if __name__ == "__main__":
    main()
