"""mlpfast: scikit-learn's multilayer perceptron, trained by compiled kernels.

``MLPClassifier`` and ``MLPRegressor`` take the same parameters and give the
same fitted model as their scikit-learn namesakes. Beside them: ``save`` and
``load`` (pickle-free model files), ``to_sklearn`` and ``from_sklearn``
(conversion to and from scikit-learn's MLPs), ``to_onnx`` and
``register_skl2onnx`` (ONNX export), ``partial_fit_blocks`` (block-wise
training on dask arrays) and ``TrainingCurveDisplay`` (training-curve plot).
"""
from mlpfast._dask import partial_fit_blocks
from mlpfast._estimators import MLPClassifier, MLPRegressor
from mlpfast._interop import from_sklearn, to_sklearn
from mlpfast._onnx import to_onnx
from mlpfast._persistence import load, save
from mlpfast._plotting import TrainingCurveDisplay
from mlpfast._skl2onnx import register_skl2onnx

__version__ = "0.1.0"

__all__ = [
    "from_sklearn",
    "load",
    "MLPClassifier",
    "MLPRegressor",
    "partial_fit_blocks",
    "register_skl2onnx",
    "save",
    "to_onnx",
    "to_sklearn",
    "TrainingCurveDisplay",
    "__version__",
]
