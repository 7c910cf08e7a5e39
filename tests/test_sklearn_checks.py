"""scikit-learn's estimator API checks (``parametrize_with_checks``).

scikit-learn runs its own MLPs through these checks with ``max_iter=100``
(``sklearn/utils/_test_common/instance_generator.py``) and the default
100-unit hidden layer.  Here the networks are smaller, so the learning rate of
the stochastic solvers is raised to keep the training-score checks
(``check_classifiers_train`` / ``check_regressors_train``) above their
thresholds; every solver and every regression loss are covered.
ConvergenceWarning is expected with these short runs and silenced. The
classifiers run again with ``class_weight='balanced'``, and both estimators
with each training rule of mlpfast's own.
"""

import pytest
from conftest import AGAINST_SKLEARN, FastClassifier, FastRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

COMMON = dict(hidden_layer_sizes=(10,), max_iter=100, random_state=0)

ESTIMATORS = [
    FastClassifier(learning_rate_init=0.01, **COMMON),
    FastRegressor(learning_rate_init=0.01, **COMMON),
    FastClassifier(solver="lbfgs", **COMMON),
    FastRegressor(solver="lbfgs", **COMMON),
    FastClassifier(solver="sgd", learning_rate_init=0.05, **COMMON),
    FastRegressor(solver="sgd", learning_rate_init=0.01, **COMMON),
    FastRegressor(loss="poisson", learning_rate_init=0.01, **COMMON),
]
if not AGAINST_SKLEARN:
    # mlpfast's own: class_weight switched on for every solver, the Huber loss,
    # two of the new activations.
    ESTIMATORS += [
        FastClassifier(class_weight="balanced", learning_rate_init=0.01, **COMMON),
        FastClassifier(class_weight="balanced", solver="lbfgs", **COMMON),
        FastClassifier(class_weight="balanced", solver="sgd", learning_rate_init=0.05,
                       **COMMON),
        FastRegressor(loss="huber", learning_rate_init=0.01, **COMMON),
        FastRegressor(loss="huber", huber_delta=0.1, solver="lbfgs", **COMMON),
        FastClassifier(activation="gelu", learning_rate_init=0.01, **COMMON),
        FastRegressor(activation="softplus", solver="lbfgs", **COMMON),
        # The training rules, each on (tests/test_training_rules.py).
        FastClassifier(dropout=0.2, learning_rate_init=0.01, **COMMON),
        FastRegressor(dropout=[0.1], solver="sgd", learning_rate_init=0.01, **COMMON),
        FastClassifier(weight_decay=0.01, learning_rate_init=0.01, **COMMON),
        FastRegressor(weight_decay=0.01, learning_rate_init=0.01, **COMMON),
        FastClassifier(max_grad_norm=1.0, solver="sgd", learning_rate_init=0.05, **COMMON),
        FastRegressor(max_grad_norm=1.0, learning_rate_init=0.01, **COMMON),
        FastClassifier(learning_rate="cosine", learning_rate_init=0.01, **COMMON),
        FastRegressor(learning_rate="cosine", solver="sgd", learning_rate_init=0.01,
                      **COMMON),
    ]

POISSON_REASON = (
    "check_regressors_train fits standardised targets (half of them negative) and "
    "requires R^2 > 0.5; the Poisson loss models non-negative counts through an exp "
    "output, and scikit-learn's own MLPRegressor(loss='poisson') fails this check "
    "identically (its tags do not declare target_tags.positive_only, which would "
    "make the check shift y to positive values)"
)


BALANCED_PARTIAL_FIT_REASON = (
    "the check calls partial_fit, which rejects class_weight='balanced' as scikit-learn's "
    "SGDClassifier.partial_fit does (tests/test_class_weight.py)"
)


DROPOUT_WEIGHT_REASON = (
    "with dropout, a row of weight 2 trains under one mask per step and its two copies "
    "under two independent masks, so the fits differ: dropout is a random objective "
    "that sample weights cannot reproduce (without dropout the check passes)"
)


def _expected_failed_checks(estimator):
    if getattr(estimator, "dropout", 0.0) not in (0.0, [0.0]):
        return {f"check_sample_weight_equivalence_on_{kind}_data": DROPOUT_WEIGHT_REASON
                for kind in ("dense", "sparse")}
    if getattr(estimator, "loss", None) == "poisson":
        return {"check_regressors_train": POISSON_REASON}
    if getattr(estimator, "class_weight", None) == "balanced" and estimator.solver != "lbfgs":
        return {check: BALANCED_PARTIAL_FIT_REASON for check in (
            "check_fit_score_takes_y", "check_n_features_in_after_fitting",
            "check_estimators_partial_fit_n_features")}
    return {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
