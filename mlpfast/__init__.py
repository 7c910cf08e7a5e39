"""mlpfast: scikit-learn's multilayer perceptron, trained by compiled kernels.

``MLPClassifier`` and ``MLPRegressor`` take the same parameters and give the
same fitted model as their scikit-learn namesakes.
"""
from mlpfast._estimators import MLPClassifier, MLPRegressor
from mlpfast._persistence import load, save

__version__ = "0.1.0"

__all__ = ["MLPClassifier", "MLPRegressor", "__version__", "load", "save"]
