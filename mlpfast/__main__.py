"""Side-by-side demo: scikit-learn's MLPClassifier against mlpfast's.

Run with ``python -m mlpfast`` (add ``--quick`` for a shorter run). The demo
trains both classifiers with identical parameters on scikit-learn's bundled
handwritten-digits data set, then prints test accuracy, median fit time, the
speed-up, and whether the learned weights and predictions agree.

The process exits with status 1 when the weights differ beyond
``rtol=1e-9, atol=1e-12``, so a parity regression fails CI.
"""

import argparse
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from mlpfast import MLPClassifier as MlpfastMLPClassifier

WEIGHT_RTOL = 1e-9
# Pause before each timed fit: after its last call, OpenBLAS keeps its idle
# threads spinning for about 0.1 s, and a fit started in that window shares a
# core with them (whichever library it is).
SETTLE_SECONDS = 0.2
WEIGHT_ATOL = 1e-12


def parse_arguments(argv):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str or None
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    argparse.Namespace
        Has the boolean attribute ``quick``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m mlpfast",
        description="Compare scikit-learn's MLPClassifier with mlpfast's on "
        "the digits data set.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="train for 10 epochs and time a single fit instead of 3",
    )
    return parser.parse_args(argv)


def load_digits_split():
    """Load the digits data, scale pixels to [0, 1] and split it.

    Returns
    -------
    X_train, X_test : ndarray of shape (n_samples, 64), float64
        Pixel intensities divided by 16.
    y_train, y_test : ndarray of shape (n_samples,)
        Digit labels 0-9.
    """
    digits = load_digits()
    X = digits.data / 16.0
    return train_test_split(
        X, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )


def fit_with_median_time(estimator, X, y, n_repeats):
    """Fit fresh clones of an estimator and time each fit, each after SETTLE_SECONDS.

    Parameters
    ----------
    estimator : estimator instance
        Unfitted template; it is cloned before every fit.
    X : ndarray of shape (n_samples, n_features)
        Training inputs.
    y : ndarray of shape (n_samples,)
        Training labels.
    n_repeats : int
        Number of timed fits.

    Returns
    -------
    fitted_estimator : estimator instance
        The clone fitted last.
    median_seconds : float
        Median wall-clock time of one fit, from ``time.perf_counter``.
    """
    fit_seconds = []
    fitted_estimator = None
    for _ in range(n_repeats):
        fitted_estimator = clone(estimator)
        time.sleep(SETTLE_SECONDS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            start = time.perf_counter()
            fitted_estimator.fit(X, y)
            fit_seconds.append(time.perf_counter() - start)
    return fitted_estimator, statistics.median(fit_seconds)


def max_relative_difference(candidate_arrays, reference_arrays):
    """Largest element-wise ``|candidate - reference| / |reference|``.

    Elements that are equal count as zero difference, also where the
    reference is zero; a non-zero difference against a zero reference
    counts as infinite.

    Parameters
    ----------
    candidate_arrays, reference_arrays : list of ndarray
        Paired arrays; pairs must have equal shapes.

    Returns
    -------
    float
        The maximum over all elements of all pairs (0.0 for empty input).
    """
    largest = 0.0
    for candidate, reference in zip(candidate_arrays, reference_arrays):
        candidate = np.asarray(candidate, dtype=np.float64)
        reference = np.asarray(reference, dtype=np.float64)
        absolute_difference = np.abs(candidate - reference)
        relative_difference = np.divide(
            absolute_difference,
            np.abs(reference),
            out=np.where(absolute_difference > 0, np.inf, 0.0),
            where=reference != 0,
        )
        if relative_difference.size:
            largest = max(largest, float(relative_difference.max()))
    return largest


def compare_weights(candidate_model, reference_model):
    """Check whether two fitted MLPs have the same weights.

    Parameters
    ----------
    candidate_model, reference_model : fitted MLP classifier
        Models exposing ``coefs_`` and ``intercepts_``.

    Returns
    -------
    weights_agree : bool
        True when every layer's shapes match and ``np.allclose`` holds with
        ``rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL``.
    largest_relative_difference : float
        See :func:`max_relative_difference`; ``inf`` if any shape differs.
    """
    candidate_arrays = list(candidate_model.coefs_) + list(candidate_model.intercepts_)
    reference_arrays = list(reference_model.coefs_) + list(reference_model.intercepts_)
    shapes_match = len(candidate_arrays) == len(reference_arrays) and all(
        np.shape(candidate) == np.shape(reference)
        for candidate, reference in zip(candidate_arrays, reference_arrays)
    )
    if not shapes_match:
        return False, float("inf")
    weights_agree = all(
        np.allclose(candidate, reference, rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
        for candidate, reference in zip(candidate_arrays, reference_arrays)
    )
    return weights_agree, max_relative_difference(candidate_arrays, reference_arrays)


def format_table(rows):
    """Lay out (label, scikit-learn, mlpfast) rows as aligned text.

    Parameters
    ----------
    rows : list of tuple of str
        The first row is the header.

    Returns
    -------
    str
        The table, one line per row, with a rule under the header.
    """
    column_widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = []
    for row_index, row in enumerate(rows):
        label, sklearn_cell, mlpfast_cell = row
        lines.append(
            f"{label:<{column_widths[0]}}  "
            f"{sklearn_cell:>{column_widths[1]}}  "
            f"{mlpfast_cell:>{column_widths[2]}}"
        )
        if row_index == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def main(argv=None):
    """Run the comparison and print the results.

    Parameters
    ----------
    argv : list of str or None
        Command-line arguments without the program name.

    Returns
    -------
    int
        0 when the weights agree, 1 when they do not.
    """
    arguments = parse_arguments(argv)
    max_iter = 10 if arguments.quick else 50
    n_repeats = 1 if arguments.quick else 3
    shared_parameters = dict(
        hidden_layer_sizes=(100,),
        solver="adam",
        max_iter=max_iter,
        random_state=0,
    )

    X_train, X_test, y_train, y_test = load_digits_split()
    print(
        f"Digits: {X_train.shape[0]} training and {X_test.shape[0]} test samples, "
        f"{X_train.shape[1]} features, {np.unique(y_train).size} classes."
    )
    print(
        "Both models: "
        + ", ".join(f"{name}={value!r}" for name, value in shared_parameters.items())
        + f"; fit time is the median of {n_repeats} run(s).\n"
    )

    sklearn_model, sklearn_seconds = fit_with_median_time(
        SklearnMLPClassifier(**shared_parameters), X_train, y_train, n_repeats
    )
    mlpfast_model, mlpfast_seconds = fit_with_median_time(
        MlpfastMLPClassifier(**shared_parameters), X_train, y_train, n_repeats
    )

    sklearn_predictions = sklearn_model.predict(X_test)
    mlpfast_predictions = mlpfast_model.predict(X_test)
    sklearn_accuracy = float(np.mean(sklearn_predictions == y_test))
    mlpfast_accuracy = float(np.mean(mlpfast_predictions == y_test))
    weights_agree, largest_relative_difference = compare_weights(
        mlpfast_model, sklearn_model
    )
    predictions_identical = bool(np.array_equal(mlpfast_predictions, sklearn_predictions))
    speed_up = sklearn_seconds / mlpfast_seconds if mlpfast_seconds > 0 else float("inf")

    print(
        format_table(
            [
                ("", "scikit-learn", "mlpfast"),
                ("test accuracy", f"{sklearn_accuracy:.4f}", f"{mlpfast_accuracy:.4f}"),
                ("fit time (s)", f"{sklearn_seconds:.4f}", f"{mlpfast_seconds:.4f}"),
                ("epochs run", str(sklearn_model.n_iter_), str(mlpfast_model.n_iter_)),
            ]
        )
    )
    print()
    print(f"speed-up (scikit-learn time / mlpfast time): {speed_up:.1f}x")
    print(
        f"weights: max relative difference {largest_relative_difference:.3g}, "
        + ("agree" if weights_agree else "DO NOT AGREE")
        + f" (rtol={WEIGHT_RTOL:g}, atol={WEIGHT_ATOL:g})"
    )
    print(f"predict outputs identical: {'yes' if predictions_identical else 'no'}")

    if not weights_agree:
        sys.stdout.flush()
        print(
            "\nERROR: mlpfast's weights differ from scikit-learn's beyond "
            f"rtol={WEIGHT_RTOL:g}, atol={WEIGHT_ATOL:g}: parity regression.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
