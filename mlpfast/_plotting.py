"""Training-curve plot for fitted multilayer perceptrons.

``TrainingCurveDisplay`` follows scikit-learn's Display conventions: the
constructor takes the data to draw, ``from_estimator`` reads it from a fitted
estimator and draws it, and ``plot`` returns the display with the matplotlib
objects it drew as attributes ending in ``_``.

matplotlib is an optional dependency (the ``plot`` extra); it is imported only
when something is drawn.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# The label marks the twin axes this module creates, so that a second display
# drawn into the same axes finds it again instead of stacking another y axis.
_VALIDATION_AXES_LABEL = "mlpfast validation scores"


def _import_pyplot(caller: str):
    """Import ``matplotlib.pyplot``, naming the extra that provides it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, from the 'plot' extra: "
            "pip install 'mlpfast[plot]'"
        ) from exc
    return plt


def _as_curve(values: Any, what: str) -> np.ndarray:
    """Return ``values`` as a non-empty 1-D float array, or raise naming ``what``."""
    try:
        curve = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a sequence of numbers, got {values!r}") from exc
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError(
            f"{what} must be a non-empty 1-D sequence of per-epoch values, "
            f"got shape {curve.shape}"
        )
    return curve


def _validation_curve(values: Any, what: str, loss_curve: np.ndarray) -> np.ndarray | None:
    """Return a per-epoch validation record as a curve, None for None.

    Raises naming ``what`` unless it is a curve of at most one value per
    epoch of ``loss_curve``.
    """
    if values is None:
        return None
    curve = _as_curve(values, what)
    if curve.size > loss_curve.size:
        raise ValueError(
            f"{what} has {curve.size} values but loss_curve only {loss_curve.size}: "
            "there is at most one validation value per training epoch"
        )
    return curve


def _line_kwargs(defaults: dict, user_kwargs: dict | None) -> dict:
    """Merge user line keywords over ``defaults``.

    Both are normalised to matplotlib's full property names first, so that a
    user's ``c`` or ``ls`` replaces the default ``color`` or ``linestyle``
    instead of clashing with it.
    """
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    return {
        **normalize_kwargs(defaults, Line2D),
        **normalize_kwargs(user_kwargs or {}, Line2D),
    }


def _find_validation_axes(ax):
    """Return the validation twin of ``ax`` made by an earlier display, or None."""
    for sibling in ax.get_shared_x_axes().get_siblings(ax):
        if sibling is not ax and sibling.get_label() == _VALIDATION_AXES_LABEL:
            return sibling
    return None


def _draw_legend(loss_ax, validation_ax, legend_kw: dict | None) -> None:
    """Draw one legend for the lines of both y axes.

    It goes on the axes drawn last (the twin, when there is one) so that no
    line is drawn over it. There matplotlib's ``loc="best"`` would only avoid
    the twin's lines, so the default is the right edge's middle: a falling
    loss and a rising score usually leave it empty.
    """
    handles, labels = loss_ax.get_legend_handles_labels()
    if validation_ax is None:
        loss_ax.legend(handles, labels, **(legend_kw or {}))
        return
    twin_handles, twin_labels = validation_ax.get_legend_handles_labels()
    if loss_ax.get_legend() is not None:
        loss_ax.get_legend().remove()
    validation_ax.legend(handles + twin_handles, labels + twin_labels,
                         **{"loc": "center right", **(legend_kw or {})})


class TrainingCurveDisplay:
    """Training loss per epoch, and validation loss and score per epoch when recorded.

    The training loss (``loss_curve_`` of an MLP fitted with the ``'sgd'`` or
    ``'adam'`` solver) is drawn against the epoch number on the left y axis.
    With ``early_stopping=True`` mlpfast's estimators record the validation
    loss, measured as the training loss is (``validation_loss_curve_``):
    it is drawn on the same axis, a second line. The validation scores
    (``validation_scores_``) are drawn on a second y axis on the right, with
    the best epoch marked: its weights are the ones the estimator keeps.

    Use :meth:`from_estimator` to build and draw the display from a fitted
    ``MLPClassifier`` or ``MLPRegressor`` (mlpfast's or scikit-learn's). All
    parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss at the end of each epoch; value ``i`` is drawn at
        epoch ``i + 1``.
    validation_scores : array-like of shape (n_validation_epochs,), default=None
        Validation score after each epoch, drawn at epochs
        ``1..n_validation_epochs``; at most as many values as ``loss_curve``.
        None draws no validation score.
    validation_loss_curve : array-like of shape (n_validation_epochs,), default=None
        Validation loss after each epoch, drawn on the training loss's axis
        at epochs ``1..n_validation_epochs``; at most as many values as
        ``loss_curve``. None draws no validation loss.
    score_name : str, default=None
        Name of the validation score, used in the axis label and legend.
        None means ``"score"``.
    name : str, default=None
        Name of the model, prefixed to the legend entries. None adds no prefix.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes holding the training loss.
    validation_ax_ : matplotlib Axes or None
        Twin axes (shared x, y axis on the right) holding the validation
        scores; None when there are no validation scores.
    figure_ : matplotlib Figure
        Figure containing the axes.
    loss_line_ : matplotlib Line2D
        The training-loss line.
    validation_loss_line_ : matplotlib Line2D or None
        The validation-loss line, on ``ax_``; None without a validation loss.
    validation_line_ : matplotlib Line2D or None
        The validation-score line; None without validation scores.
    best_epoch_marker_ : matplotlib Line2D or None
        Single-point marker at the best validation score (see
        :attr:`best_epoch`); None when there is no best epoch.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from mlpfast import MLPClassifier, TrainingCurveDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(early_stopping=True, random_state=0).fit(X / 16, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf)
    >>> display.figure_.savefig("training_curve.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        loss_curve: Any,
        *,
        validation_scores: Any = None,
        validation_loss_curve: Any = None,
        score_name: str | None = None,
        name: str | None = None,
    ) -> None:
        self.loss_curve = _as_curve(loss_curve, "loss_curve")
        self.validation_scores = _validation_curve(validation_scores, "validation_scores",
                                                   self.loss_curve)
        self.validation_loss_curve = _validation_curve(
            validation_loss_curve, "validation_loss_curve", self.loss_curve)
        self.score_name = score_name
        self.name = name

    @property
    def best_epoch(self) -> int | None:
        """1-based epoch of the highest validation score, or None.

        Ties go to the earliest epoch and NaN scores are skipped, as in the
        estimators' early stopping, which keeps the weights of the first epoch
        that reached the best score.
        """
        if self.validation_scores is None or np.isnan(self.validation_scores).all():
            return None
        return int(np.nanargmax(self.validation_scores)) + 1

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        *,
        name: str | None = None,
        ax: Axes | None = None,
        loss_kw: dict | None = None,
        validation_loss_kw: dict | None = None,
        validation_kw: dict | None = None,
        best_epoch_kw: dict | None = None,
        legend_kw: dict | None = None,
    ) -> TrainingCurveDisplay:
        """Draw the training curve of a fitted MLP.

        Parameters
        ----------
        estimator : MLPClassifier or MLPRegressor
            Fitted with ``solver='sgd'`` or ``solver='adam'``; mlpfast's or
            scikit-learn's estimators. With ``early_stopping=True`` the
            validation scores are drawn too, and the validation loss of
            mlpfast's estimators (scikit-learn's do not record it).
        name : str, default=None
            Name prefixed to the legend entries. None uses the estimator's
            class name.
        ax : matplotlib Axes, default=None
            Axes to draw into; None creates a new figure.
        loss_kw, validation_loss_kw, validation_kw, best_epoch_kw : dict, default=None
            Keywords passed to matplotlib's ``plot`` for the training-loss
            line, the validation-loss line, the validation-score line and the
            best-epoch marker.
        legend_kw : dict, default=None
            Keywords passed to matplotlib's ``legend``, e.g. ``loc``.

        Returns
        -------
        display : TrainingCurveDisplay
            The display, with the drawn objects as attributes.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If the estimator's solver is ``'lbfgs'``, which records no
            per-epoch loss.
        TypeError
            If the estimator is not an MLP.
        """
        _import_pyplot(f"{cls.__name__}.from_estimator")
        estimator_name = type(estimator).__name__
        if not hasattr(estimator, "hidden_layer_sizes"):
            raise TypeError(
                f"{cls.__name__}.from_estimator needs an MLPClassifier or "
                f"MLPRegressor, got a {estimator_name}"
            )
        check_is_fitted(estimator)
        # Checked through the parameter, not the attribute: a refit with lbfgs
        # leaves the loss_curve_ of an earlier sgd/adam fit in place.
        if estimator.solver == "lbfgs":
            raise ValueError(
                f"{cls.__name__} cannot plot this {estimator_name}: it uses "
                "solver='lbfgs', which optimises the whole training set at once "
                "and records no per-epoch loss (loss_curve_ is set only by the "
                "'sgd' and 'adam' solvers). Refit with solver='adam' or 'sgd' to "
                "get a training curve."
            )
        display = cls(
            estimator.loss_curve_,
            validation_scores=estimator.validation_scores_,
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            score_name="accuracy" if is_classifier(estimator) else "R²",
            name=estimator_name if name is None else name,
        )
        return display.plot(
            ax=ax,
            loss_kw=loss_kw,
            validation_loss_kw=validation_loss_kw,
            validation_kw=validation_kw,
            best_epoch_kw=best_epoch_kw,
            legend_kw=legend_kw,
        )

    def plot(
        self,
        *,
        ax: Axes | None = None,
        name: str | None = None,
        loss_kw: dict | None = None,
        validation_loss_kw: dict | None = None,
        validation_kw: dict | None = None,
        best_epoch_kw: dict | None = None,
        legend_kw: dict | None = None,
    ) -> TrainingCurveDisplay:
        """Draw the curves.

        Several displays may draw into the same ``ax``: their validation
        scores share one right-hand y axis and one legend lists every line.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw into; None creates a new figure.
        name : str, default=None
            Name prefixed to the legend entries. None uses ``self.name``.
        loss_kw : dict, default=None
            Keywords passed to matplotlib's ``plot`` for the training-loss line.
        validation_loss_kw : dict, default=None
            Keywords for the validation-loss line. By default it takes the
            loss line's colour, dotted.
        validation_kw : dict, default=None
            Keywords for the validation-score line. By default it takes the
            loss line's colour, dashed.
        best_epoch_kw : dict, default=None
            Keywords for the best-epoch marker. By default a star in the
            loss line's colour.
        legend_kw : dict, default=None
            Keywords passed to matplotlib's ``legend``, e.g. ``loc``. The legend
            lists the lines of every display drawn into ``ax``; the last
            ``plot`` call's ``legend_kw`` places it. Its default place is
            matplotlib's ``"best"``, or ``"center right"`` with validation
            scores (``"best"`` would ignore the training-loss lines then).

        Returns
        -------
        display : TrainingCurveDisplay
            ``self``, with the drawn objects as attributes.
        """
        plt = _import_pyplot(f"{type(self).__name__}.plot")
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots()
        name = self.name if name is None else name
        prefix = "" if name is None else f"{name}: "
        score_name = "score" if self.score_name is None else self.score_name

        epochs = np.arange(1, self.loss_curve.size + 1)
        (self.loss_line_,) = ax.plot(
            epochs,
            self.loss_curve,
            **_line_kwargs({"label": f"{prefix}training loss"}, loss_kw),
        )
        if self.validation_loss_curve is None:
            self.validation_loss_line_ = None
        else:
            (self.validation_loss_line_,) = ax.plot(
                np.arange(1, self.validation_loss_curve.size + 1),
                self.validation_loss_curve,
                **_line_kwargs(
                    {"color": self.loss_line_.get_color(), "linestyle": ":",
                     "label": f"{prefix}validation loss"},
                    validation_loss_kw,
                ),
            )
        ax.set_xlabel("Epoch")
        # Once a display drew a validation loss, the axis holds more than
        # the training loss, whatever displays share it later.
        if self.validation_loss_curve is not None or ax.get_ylabel() == "Loss":
            ax.set_ylabel("Loss")
        else:
            ax.set_ylabel("Training loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

        validation_ax = _find_validation_axes(ax)
        if self.validation_scores is None:
            self.validation_ax_ = None
            self.validation_line_ = None
            self.best_epoch_marker_ = None
        else:
            if validation_ax is None:
                validation_ax = ax.twinx()
                validation_ax.set_label(_VALIDATION_AXES_LABEL)
            self._plot_validation(
                validation_ax, prefix, score_name, validation_kw, best_epoch_kw
            )
        _draw_legend(ax, validation_ax, legend_kw)

        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _plot_validation(self, validation_ax, prefix, score_name, validation_kw,
                         best_epoch_kw) -> None:
        """Draw the validation line and the best-epoch marker on the twin axes."""
        # The twin axes has its own colour cycle; taking the loss line's colour
        # keeps each model's lines alike when several share the axes.
        color = self.loss_line_.get_color()
        epochs = np.arange(1, self.validation_scores.size + 1)
        (self.validation_line_,) = validation_ax.plot(
            epochs,
            self.validation_scores,
            **_line_kwargs(
                {"color": color, "linestyle": "--",
                 "label": f"{prefix}validation {score_name}"},
                validation_kw,
            ),
        )
        best_epoch = self.best_epoch
        if best_epoch is None:
            self.best_epoch_marker_ = None
        else:
            best_score = self.validation_scores[best_epoch - 1]
            (self.best_epoch_marker_,) = validation_ax.plot(
                [best_epoch],
                [best_score],
                **_line_kwargs(
                    {"color": color, "linestyle": "none", "marker": "*",
                     "markersize": 12,
                     "label": f"{prefix}best epoch {best_epoch} "
                              f"({score_name} {best_score:.3f})"},
                    best_epoch_kw,
                ),
            )
        validation_ax.set_ylabel(f"Validation {score_name}")
        self.validation_ax_ = validation_ax
