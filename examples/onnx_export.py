"""
Export to ONNX and run with onnxruntime
=======================================

Export an mlpfast classifier to ONNX and run it with onnxruntime.

A classifier trained on scikit-learn's digits is exported with
``mlpfast.to_onnx``; onnxruntime then computes labels and probabilities for
the test set. The script prints how well they agree with ``predict`` and
``predict_proba``, and the time per row of both, for single rows and for the
whole test set at once. The model stays in memory: nothing is written.

Needs the 'onnx' extra: ``pip install mlpfast[onnx]``.
"""
# requires: onnx onnxruntime
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import mlpfast

try:
    import onnxruntime
except ImportError as error:
    raise SystemExit("this example needs the 'onnx' extra: pip install mlpfast[onnx]") from error

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

clf = mlpfast.MLPClassifier(hidden_layer_sizes=(64,), max_iter=600, random_state=0)
clf.fit(X_train, y_train)

model = mlpfast.to_onnx(clf)  # float32 input "X"; outputs "label", "probabilities"
session = onnxruntime.InferenceSession(model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
labels, probabilities = session.run(None, {"X": X_test})

print(f"ONNX graph: {len(model.graph.node)} nodes, opset {model.opset_import[0].version}, "
      f"{model.ByteSize() / 1024:.0f} KiB")
print(f"test accuracy: mlpfast {clf.score(X_test, y_test):.4f}, "
      f"onnxruntime {np.mean(labels == y_test):.4f}")
print(f"labels equal to predict: {np.sum(labels == clf.predict(X_test))} / {len(X_test)}")
print("largest |probability difference| to predict_proba: "
      f"{np.abs(probabilities - clf.predict_proba(X_test)).max():.2e}")


def seconds_per_row(predict, batch, repeats):
    """Best of three timings of ``repeats`` calls on ``batch``, per row."""
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            predict(batch)
        best = min(best, time.perf_counter() - start)
    return best / (repeats * len(batch))


def onnx_predict(batch):
    return session.run(["label"], {"X": batch})


print("time per row (best of 3):")
for description, batch, repeats in (("one row per call", X_test[:1], 2000),
                                    (f"{len(X_test)} rows per call", X_test, 50)):
    mlpfast_time = seconds_per_row(clf.predict, batch, repeats)
    onnx_time = seconds_per_row(onnx_predict, batch, repeats)
    print(f"  {description:>20}: mlpfast predict {mlpfast_time * 1e6:7.2f} us, "
          f"onnxruntime {onnx_time * 1e6:7.2f} us")
