"""Training progress reported to scikit-learn's callbacks (``sklearn.callback``).

Each ``fit`` or ``partial_fit`` call is one task tree:

- the root task, named after the method; inside a meta-estimator that
  propagates callbacks (``Pipeline``, ``GridSearchCV``, ...) it is merged
  into the meta-estimator's task for this fit, as scikit-learn's own
  estimators do;
- below it, one task per epoch for 'sgd' and 'adam' (a ``partial_fit`` call
  is exactly one epoch), or one task per L-BFGS iteration for 'lbfgs'.

Tasks below the root exist only when the estimator has callbacks of its
own (set directly or propagated to it): without any, training does no
per-epoch work for callbacks at all.

A callback asking for ``fitted_estimator`` gets a copy of the estimator
whose parameters are copied at that moment, so it predicts as the model
stood at that task even while training goes on. The copy is made only for
callbacks whose hooks take ``fitted_estimator``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Lazily built fitted attributes of the model at a task (see module docstring).
FittedState = Callable[[], dict]


class FitTasks:
    """The callback tasks of one ``fit`` or ``partial_fit`` call.

    Creating it opens the root task (``on_fit_task_begin``); the training
    loop then opens and closes the subtasks, and ``end`` closes the root.

    Parameters
    ----------
    estimator : mlpfast estimator
        The estimator being fitted; its ``fit``/``partial_fit`` must run
        under ``sklearn.callback.with_callbacks`` so that the callbacks are
        torn down however the fit ends.
    task_name : str
        Name of the root task.
    max_subtasks : int
        Most subtasks the root can have: ``max_iter`` for ``fit``, 1 for
        ``partial_fit``.
    X, y : array-like
        The data as passed to the fit method; callbacks such as
        ``ScoringMonitor`` score on them.
    sample_weight : ndarray of shape (n_samples,) or None
        Passed to the callbacks as ``metadata={"sample_weight": ...}``.

    Attributes
    ----------
    has_callbacks : bool
        Whether the estimator has callbacks of its own, so that subtasks
        are reported.
    """

    def __init__(self, estimator: Any, task_name: str, max_subtasks: int, X: Any, y: Any,
                 sample_weight: np.ndarray | None) -> None:
        self._estimator = estimator
        self._hook_data = {
            "X": X,
            "y": y,
            "metadata": None if sample_weight is None else {"sample_weight": sample_weight},
        }
        self._root = estimator._init_callback_context(
            task_name=task_name, max_subtasks=max_subtasks
        )
        self.has_callbacks = bool(getattr(estimator, "_skl_callbacks", None))
        self._root.call_on_fit_task_begin(estimator=estimator, **self._hook_data)

    def begin_subtask(self, task_name: str, fitted_state: FittedState) -> Any:
        """Open a subtask of the root; None when there are no callbacks.

        ``fitted_state`` gives the model as it stands before the subtask.
        """
        if not self.has_callbacks:
            return None
        task = self._root.subcontext(task_name=task_name)
        task.call_on_fit_task_begin(
            estimator=self._estimator, reconstruction_attributes=fitted_state,
            **self._hook_data,
        )
        return task

    def end_subtask(self, task: Any, fitted_state: FittedState) -> bool:
        """Close a subtask opened by ``begin_subtask``.

        Returns
        -------
        stop : bool
            Whether a callback asked to stop training after this subtask.
        """
        if task is None:
            return False
        return task.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes=fitted_state,
            **self._hook_data,
        )

    def end(self, fitted_state: FittedState) -> None:
        """Close the root task, once the fit has succeeded."""
        self._root.call_on_fit_task_end(
            estimator=self._estimator, reconstruction_attributes=fitted_state,
            **self._hook_data,
        )


class LbfgsIterationTasks:
    """``scipy.optimize.minimize`` callback giving each L-BFGS iteration a task.

    scipy calls back only once an iteration is over, so both hooks of an
    iteration's task run then, begin first; the begin hook sees the weights
    the iteration started from. This keeps the number of tasks equal to the
    number of iterations (``n_iter_``). A callback asking to stop ends the
    optimisation after the current iteration (scipy's ``StopIteration``
    protocol), keeping that iteration's weights.

    Parameters
    ----------
    tasks : FitTasks
    start_params : ndarray of shape (n_params,)
        The weights L-BFGS starts from.
    fitted_state : callable
        ``fitted_state(params, **fitted_scalars)`` gives the fitted
        attributes of the model with float64 parameters ``params`` (used as
        they are) and the given ``n_iter_`` and ``loss_``.

    Attributes
    ----------
    stop_requested : bool
        Whether a callback stopped the optimisation.
    """

    def __init__(self, tasks: FitTasks, start_params: np.ndarray,
                 fitted_state: Callable[..., dict]) -> None:
        self._tasks = tasks
        self._fitted_state = fitted_state
        # The fitted scalars are unknown before the first iteration.
        self._state: tuple[np.ndarray, dict[str, Any]] = (
            np.array(start_params, dtype=np.float64), {})
        self._n_iter = 0
        self.stop_requested = False

    def __call__(self, intermediate_result: Any) -> None:
        # scipy passes an OptimizeResult to a callback whose only parameter
        # has this name, and honours StopIteration raised from it.
        task = self._tasks.begin_subtask("lbfgs iteration", self._state_getter())
        self._n_iter += 1
        # A copy: scipy may reuse its buffer for the next iterate.
        params = np.array(intermediate_result.x, dtype=np.float64)
        self._state = (params, {"n_iter_": self._n_iter, "loss_": intermediate_result.fun})
        if self._tasks.end_subtask(task, self._state_getter()):
            self.stop_requested = True
            raise StopIteration

    def _state_getter(self) -> FittedState:
        params, fitted_scalars = self._state
        # Each fitted copy gets its own vector: a callback may keep it.
        return lambda: self._fitted_state(params.copy(), **fitted_scalars)
