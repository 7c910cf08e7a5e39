"""TrainingCurveDisplay: what it draws, checked against the estimators' own
fitted attributes and matplotlib's artists, for mlpfast's and scikit-learn's
MLPs.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from mlpfast import MLPClassifier, MLPRegressor, TrainingCurveDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

CLASSIFIERS = [MLPClassifier, SkMLPClassifier]
REGRESSORS = [MLPRegressor, SkMLPRegressor]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    return X, y / np.std(y)


def _fit(estimator, X, y):
    # Short fits stop at max_iter on purpose: a few epochs are enough to draw.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _classifier(cls, digits, **params):
    params = {"hidden_layer_sizes": (16,), "max_iter": 15, "random_state": 0, **params}
    return _fit(cls(**params), *digits)


def _legend_texts(display):
    legend_ax = display.validation_ax_ or display.ax_
    return [text.get_text() for text in legend_ax.get_legend().get_texts()]


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_loss_line_is_the_loss_curve_per_epoch(cls, digits):
    clf = _classifier(cls, digits)
    display = TrainingCurveDisplay.from_estimator(clf)

    x, y = display.loss_line_.get_data()
    assert_array_equal(x, np.arange(1, clf.n_iter_ + 1))
    assert_array_equal(y, clf.loss_curve_)
    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_ylabel() == "Training loss"
    assert display.figure_ is display.ax_.figure
    # Without early stopping there is nothing for a second y axis.
    assert display.validation_ax_ is None
    assert display.validation_line_ is None
    assert display.validation_loss_line_ is None
    assert display.best_epoch_marker_ is None
    assert display.best_epoch is None
    assert len(display.figure_.axes) == 1
    assert _legend_texts(display) == [f"{cls.__name__}: training loss"]


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_early_stopping_draws_validation_accuracy_and_best_epoch(cls, digits):
    clf = _classifier(cls, digits, early_stopping=True, n_iter_no_change=5,
                      max_iter=40, learning_rate_init=0.01)
    display = TrainingCurveDisplay.from_estimator(clf, name="net")

    val_x, val_y = display.validation_line_.get_data()
    assert_array_equal(val_x, np.arange(1, clf.n_iter_ + 1))
    assert_array_equal(val_y, clf.validation_scores_)
    # The validation line sits on a twin of the loss axes (shared x, own y).
    assert display.validation_line_.axes is display.validation_ax_
    assert display.validation_ax_ is not display.ax_
    assert display.validation_ax_ in display.ax_.get_shared_x_axes().get_siblings(display.ax_)
    assert display.validation_ax_.get_ylabel() == "Validation accuracy"

    best_epoch = int(np.argmax(clf.validation_scores_)) + 1
    marker_x, marker_y = display.best_epoch_marker_.get_data()
    assert_array_equal(marker_x, [best_epoch])
    assert_array_equal(marker_y, [clf.best_validation_score_])
    assert display.best_epoch == best_epoch
    # mlpfast's estimators also record the validation loss, drawn with the training loss.
    loss_entries = ["net: training loss"]
    if cls is MLPClassifier:
        loss_entries.append("net: validation loss")
    assert _legend_texts(display) == [
        *loss_entries,
        "net: validation accuracy",
        f"net: best epoch {best_epoch} (accuracy {clf.best_validation_score_:.3f})",
    ]


@pytest.mark.parametrize("cls", REGRESSORS)
def test_regressor_validation_score_is_r2(cls, regression_data):
    reg = _fit(cls(hidden_layer_sizes=(16,), early_stopping=True, max_iter=20,
                   random_state=0), *regression_data)
    display = TrainingCurveDisplay.from_estimator(reg)

    assert_array_equal(display.loss_line_.get_ydata(), reg.loss_curve_)
    assert_array_equal(display.validation_line_.get_ydata(), reg.validation_scores_)
    assert display.validation_ax_.get_ylabel() == "Validation R²"
    assert f"{cls.__name__}: validation R²" in _legend_texts(display)


@pytest.mark.parametrize("cls, data, validation_set", [
    (MLPClassifier, "digits", False),
    (MLPClassifier, "digits", True),
    (MLPRegressor, "regression_data", False),
])
def test_validation_loss_is_a_second_line_on_the_loss_axes(cls, data, validation_set,
                                                           request):
    X, y = request.getfixturevalue(data)
    est = cls(hidden_layer_sizes=(16,), early_stopping=True, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if validation_set:
            est.fit(X[:500], y[:500], X_val=X[500:], y_val=y[500:])
        else:
            est.fit(X, y)
    display = TrainingCurveDisplay.from_estimator(est)

    line = display.validation_loss_line_
    assert line.axes is display.ax_
    assert_array_equal(line.get_xdata(), np.arange(1, est.n_iter_ + 1))
    assert_array_equal(line.get_ydata(), est.validation_loss_curve_)
    assert line.get_color() == display.loss_line_.get_color()
    assert line.get_linestyle() == ":"
    assert display.ax_.get_ylabel() == "Loss"
    assert _legend_texts(display)[:2] == [f"{cls.__name__}: training loss",
                                          f"{cls.__name__}: validation loss"]


def test_constructor_draws_a_validation_loss_with_its_keywords():
    display = TrainingCurveDisplay([2.0, 1.0, 0.8], validation_loss_curve=[2.2, 1.3],
                                   name="m")
    display.plot(validation_loss_kw={"c": "green", "ls": "-."})

    assert_array_equal(display.validation_loss_line_.get_data(), [[1, 2], [2.2, 1.3]])
    assert display.validation_loss_line_.get_color() == "green"
    assert display.validation_loss_line_.get_linestyle() == "-."
    # Without validation scores there is no second y axis.
    assert display.validation_ax_ is None
    assert len(display.figure_.axes) == 1
    assert _legend_texts(display) == ["m: training loss", "m: validation loss"]


def test_constructor_rejects_a_longer_validation_loss_curve():
    with pytest.raises(ValueError, match="validation_loss_curve has 3 values but loss_curve "
                                         "only 2"):
        TrainingCurveDisplay([1.0, 0.5], validation_loss_curve=[1.0, 0.9, 0.8])


def test_plot_draws_into_the_given_axes(digits):
    clf = _classifier(MLPClassifier, digits, early_stopping=True)
    fig, ax = plt.subplots()

    display = TrainingCurveDisplay.from_estimator(clf, ax=ax)

    assert display.ax_ is ax
    assert display.figure_ is fig
    assert display.loss_line_ in ax.get_lines()
    assert display.validation_ax_ in fig.axes
    assert len(fig.axes) == 2
    assert len(plt.get_fignums()) == 1


def test_two_estimators_share_the_axes_and_one_twin(digits):
    first = _classifier(MLPClassifier, digits, early_stopping=True, max_iter=10)
    second = _classifier(SkMLPClassifier, digits, early_stopping=True, max_iter=20,
                         learning_rate_init=0.01)
    fig, ax = plt.subplots()

    display_a = TrainingCurveDisplay.from_estimator(first, ax=ax, name="a")
    display_b = TrainingCurveDisplay.from_estimator(second, ax=ax, name="b")

    # mlpfast's model adds its validation loss to the loss axes.
    assert ax.get_lines() == [display_a.loss_line_, display_a.validation_loss_line_,
                              display_b.loss_line_]
    assert display_b.validation_loss_line_ is None
    assert_array_equal(ax.get_lines()[0].get_ydata(), first.loss_curve_)
    assert_array_equal(ax.get_lines()[1].get_ydata(), first.validation_loss_curve_)
    assert_array_equal(ax.get_lines()[2].get_ydata(), second.loss_curve_)
    # Both validation lines go to the same right-hand axis, not one each.
    assert display_b.validation_ax_ is display_a.validation_ax_
    assert len(fig.axes) == 2
    assert len(display_a.validation_ax_.get_lines()) == 4
    # Each model keeps one colour for all its lines, and the models differ.
    for display in (display_a, display_b):
        color = display.loss_line_.get_color()
        assert display.validation_line_.get_color() == color
        assert display.best_epoch_marker_.get_color() == color
    assert display_a.validation_loss_line_.get_color() == display_a.loss_line_.get_color()
    assert display_a.loss_line_.get_color() != display_b.loss_line_.get_color()
    # One legend, on the top axes, lists every line of both models.
    assert ax.get_legend() is None
    texts = _legend_texts(display_b)
    assert len(texts) == 7
    assert {"a: training loss", "a: validation loss", "b: training loss",
            "a: validation accuracy", "b: validation accuracy"} <= set(texts)
    # The loss axis holds a validation loss, though the last display drew none.
    assert ax.get_ylabel() == "Loss"


def test_constructor_and_plot_with_style_keywords():
    loss = [2.0, 1.0, 0.7, 0.6]
    scores = [0.5, 0.9, 0.9, 0.8]
    display = TrainingCurveDisplay(loss, validation_scores=scores, score_name="F1")

    display.plot(loss_kw={"c": "red", "lw": 3}, validation_kw={"ls": ":"},
                 best_epoch_kw={"marker": "o"}, name="custom")

    assert display.loss_line_.get_color() == "red"
    assert display.loss_line_.get_linewidth() == 3
    assert display.validation_line_.get_linestyle() == ":"
    # Unless overridden, the validation line and marker take the loss colour.
    assert display.validation_line_.get_color() == "red"
    assert display.best_epoch_marker_.get_color() == "red"
    assert display.best_epoch_marker_.get_marker() == "o"
    # A tie goes to the earliest epoch, whose weights early stopping keeps.
    assert_array_equal(display.best_epoch_marker_.get_data(), [[2], [0.9]])
    assert display.validation_ax_.get_ylabel() == "Validation F1"
    assert _legend_texts(display)[:2] == ["custom: training loss", "custom: validation F1"]


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_warm_start_epochs_continue_across_fits(cls, digits):
    clf = _classifier(cls, digits, early_stopping=True, warm_start=True, max_iter=6)
    _fit(clf, *digits)
    display = TrainingCurveDisplay.from_estimator(clf)

    # n_iter_ counts the last fit only; the curves hold every fit's epochs.
    n_epochs = len(clf.loss_curve_)
    assert n_epochs > clf.n_iter_
    assert_array_equal(display.loss_line_.get_xdata(), np.arange(1, n_epochs + 1))
    assert_array_equal(display.validation_line_.get_xdata(), np.arange(1, n_epochs + 1))
    assert_array_equal(display.validation_line_.get_ydata(), clf.validation_scores_)


def test_validation_shorter_than_loss_is_drawn_on_the_first_epochs():
    display = TrainingCurveDisplay([3.0, 2.0, 1.5, 1.2], validation_scores=[0.4, 0.6])
    display.plot()

    assert_array_equal(display.loss_line_.get_xdata(), [1, 2, 3, 4])
    assert_array_equal(display.validation_line_.get_data(), [[1, 2], [0.4, 0.6]])
    assert display.validation_ax_.get_ylabel() == "Validation score"
    assert _legend_texts(display) == ["training loss", "validation score",
                                      "best epoch 2 (score 0.600)"]


def _legend_and_axes_boxes(display):
    display.figure_.canvas.draw()
    legend = (display.validation_ax_ or display.ax_).get_legend()
    return legend.get_window_extent(), display.ax_.get_window_extent()


def test_legend_placement_default_and_legend_kw():
    data = {"loss_curve": [2.0, 1.0, 0.5], "validation_scores": [0.2, 0.6, 0.7]}
    default = TrainingCurveDisplay(**data).plot()
    legend_box, axes_box = _legend_and_axes_boxes(default)
    # Middle of the right edge: the free area of a falling loss and rising score.
    assert legend_box.x1 > axes_box.x1 - 0.1 * axes_box.width
    assert legend_box.y0 < (axes_box.y0 + axes_box.y1) / 2 < legend_box.y1

    moved = TrainingCurveDisplay(**data).plot(legend_kw={"loc": "upper left"})
    legend_box, axes_box = _legend_and_axes_boxes(moved)
    assert legend_box.x0 < axes_box.x0 + 0.1 * axes_box.width
    assert legend_box.y1 > axes_box.y1 - 0.1 * axes_box.height


def test_rendered_png_is_a_non_blank_image(digits, tmp_path):
    clf = _classifier(MLPClassifier, digits, early_stopping=True)
    display = TrainingCurveDisplay.from_estimator(clf)
    path = tmp_path / "curve.png"

    display.figure_.savefig(path, dpi=50)

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    width, height = display.figure_.get_size_inches() * 50
    assert pixels.shape[:2] == (round(height), round(width))
    assert pixels[..., :3].var() > 0


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_unfitted_estimator_raises_not_fitted(cls):
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(cls())


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_lbfgs_has_no_training_curve(cls, digits):
    clf = _classifier(cls, digits, solver="lbfgs")
    # scikit-learn itself records no per-epoch loss for lbfgs.
    if cls is SkMLPClassifier:
        assert not hasattr(clf, "loss_curve_")
    with pytest.raises(ValueError, match="solver='lbfgs'.*no per-epoch loss"):
        TrainingCurveDisplay.from_estimator(clf)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_lbfgs_refit_does_not_plot_the_stale_curve(cls, digits):
    clf = _classifier(cls, digits)
    _fit(clf.set_params(solver="lbfgs"), *digits)
    # The adam fit's curve outlives the lbfgs refit in both libraries.
    assert hasattr(clf, "loss_curve_")
    with pytest.raises(ValueError, match="lbfgs"):
        TrainingCurveDisplay.from_estimator(clf)


def test_non_mlp_estimator_is_rejected():
    # LogisticRegression also has solver='lbfgs': the type must be checked first.
    with pytest.raises(TypeError, match="needs an MLPClassifier or MLPRegressor, "
                                        "got a LogisticRegression"):
        TrainingCurveDisplay.from_estimator(LogisticRegression())


@pytest.mark.parametrize(
    "loss_curve, validation_scores, error, message",
    [
        ([], None, ValueError, "non-empty 1-D"),
        ([[1.0, 2.0]], None, ValueError, "non-empty 1-D"),
        (["a", "b"], None, TypeError, "loss_curve must be a sequence of numbers"),
        ([1.0, 0.5], [0.1, 0.2, 0.3], ValueError, "at most one validation value"),
        ([1.0, 0.5], [], ValueError, "validation_scores must be a non-empty"),
    ],
)
def test_constructor_rejects_bad_curves(loss_curve, validation_scores, error, message):
    with pytest.raises(error, match=message):
        TrainingCurveDisplay(loss_curve, validation_scores=validation_scores)


def test_missing_matplotlib_names_the_plot_extra(monkeypatch):
    display = TrainingCurveDisplay([1.0, 0.5])
    # A None entry in sys.modules makes the import fail as if not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"'plot' extra: pip install 'mlpfast\[plot\]'"):
        display.plot()


def test_mlpfast_imports_without_matplotlib(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        "import mlpfast; "
        "print(mlpfast.TrainingCurveDisplay([1.0, 0.5]).best_epoch)"
    )
    # Run outside the checkout: from its root, -c would import the source folder.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True,
                            text=True, check=True, timeout=120, cwd=tmp_path)
    assert result.stdout.strip() == "None"
