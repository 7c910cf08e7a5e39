"""
Training curves with early stopping
===================================

Training curves of two MLPs on scikit-learn's digits, with early stopping.

Two classifiers differing only in their learning rate are fitted with
``early_stopping=True``; ``TrainingCurveDisplay`` draws both training-loss
curves (left axis) and validation accuracies (right axis, best epoch starred)
on one set of axes.

The figure is saved as a PNG in a new temporary directory and its path
printed; under an interactive backend it is also shown in a window.
"""
# requires: matplotlib
import tempfile
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from mlpfast import MLPClassifier, TrainingCurveDisplay

FILE_ONLY_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)

fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
for learning_rate in (1e-3, 1e-2):
    clf = MLPClassifier(
        hidden_layer_sizes=(64,),
        learning_rate_init=learning_rate,
        early_stopping=True,
        max_iter=300,
        random_state=0,
    ).fit(X_train, y_train)
    # Below the axes: inside, the six entries would hide the curves.
    display = TrainingCurveDisplay.from_estimator(
        clf,
        ax=ax,
        name=f"learning rate {learning_rate:g}",
        legend_kw={"loc": "upper center", "bbox_to_anchor": (0.5, -0.12), "ncols": 2},
    )
    print(
        f"learning_rate_init={learning_rate:g}: {clf.n_iter_} epochs, "
        f"final training loss {clf.loss_curve_[-1]:.4f}, best validation accuracy "
        f"{clf.best_validation_score_:.4f} at epoch {display.best_epoch}, "
        f"test accuracy {clf.score(X_test, y_test):.4f}"
    )
ax.set_title("mlpfast MLPClassifier on digits: training loss and validation accuracy")

png_path = Path(tempfile.mkdtemp(prefix="mlpfast-plot-")) / "training_curve.png"
fig.savefig(png_path, dpi=100)
print(f"figure saved to {png_path}")
# plt.show() only warns under file-only backends such as Agg (MPLBACKEND=Agg in CI).
if matplotlib.get_backend().lower() not in FILE_ONLY_BACKENDS:
    plt.show()
