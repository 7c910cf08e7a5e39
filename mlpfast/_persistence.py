"""Pickle-free model files: ``mlpfast.save(estimator, path)`` and ``mlpfast.load(path)``.

A model file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays) written and
read with ``allow_pickle=False``: loading one never runs code, unlike a pickle.

Format (``format`` = "mlpfast-model", ``format_version`` = 4)
-------------------------------------------------------------
Members, each an ``.npy`` array with a plain (non-object) dtype:

``header``
    uint8, the UTF-8 bytes of a JSON object:

    - ``format``, ``format_version``, ``mlpfast_version``;
    - ``estimator``: "MLPClassifier" or "MLPRegressor";
    - ``params``: the ``get_params()`` values that JSON can hold; tuples are
      written ``{"__tuple__": [...]}``, numpy arrays ``{"__array__": [...]}``,
      non-finite floats ``{"__float__": "inf"|"-inf"|"nan"}``, dicts (a
      ``class_weight`` keyed by labels) ``{"__dict__": [[key, value], ...]}``;
      ``skipped_params`` names the others (e.g. a RandomState instance),
      which load at their defaults;
    - ``layer_units``: every layer width, input first; ``dtype``: "float32"
      or "float64", the dtype of the weights;
    - ``fitted``: the fitted scalars (``n_features_in_``, ``n_outputs_``,
      ``n_layers_``, ``out_activation_``, ``n_iter_``, ``t_``, ``loss_``,
      ``best_loss_``, ``best_validation_score_``, ``_no_improvement_count``;
      those a solver does not set are absent);
    - ``classes``: null for a regressor; else ``y_type`` (scikit-learn's
      LabelBinarizer target type) and ``restore_object`` (the labels were an
      object array of str, int, float or bool, stored as a plain array and
      turned back into an object array on load);
    - ``optimizer``: null, or the stochastic solver's ``name`` and scalar
      state (``learning_rate``, Adam's step ``t``), so that ``partial_fit``
      continues exactly as on the saved model;
    - ``arrays``: for every other member, its ``shape``, ``dtype`` (numpy
      ``dtype.str``) and the ``sha256`` of its bytes.

``params``
    The flat parameter vector: every weight matrix (row-major,
    ``(fan_in, fan_out)``), layer after layer, then every bias vector
    (see ``mlpfast._network.NetworkLayout``).
``best_params``
    The early-stopping snapshot of the weights, when it is a separate copy.
    Absent when it is the weights themselves, as after any early-stopping fit
    (scikit-learn's ``_best_coefs`` is then its ``coefs_`` list); the loaded
    model's snapshot is then its parameter vector again.
``loss_curve``, ``validation_scores``, ``validation_loss_curve``
    float64, when the solver records them.
``classes``, ``binarizer_classes``
    Classifiers: ``classes_`` and the label binarizer's classes (numbers,
    bools, unicode or bytes strings, or dates).
``feature_names_in``
    Unicode, when the model was fitted on named columns.
``optimizer.<name>``
    The solver's moment vectors (``moment_1``, Adam's ``moment_2``).

Loading checks every field, shape and dtype against the header and against
each other (layer widths against the parameter count, the classes against
the outputs, each member's ``.npy`` header before its data is read, each
array's digest) and raises ValueError for truncated, corrupt, tampered or
foreign files; the rebuilt estimator predicts exactly as the saved one.

Versions: 2 added the parameter ``class_weight`` (classifier) and the
``validation_loss_curve`` member; 3 the regressor's ``huber_delta`` (and
its ``loss='huber'``); 4 the parameters ``dropout``, ``weight_decay`` and
``max_grad_norm`` (and ``learning_rate='cosine'``). Older files still load: their models get the newer
parameters at their defaults, and, where they recorded validation scores,
a validation loss curve of NaN for those epochs (as a model converted from
scikit-learn gets when it trains on).
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import tempfile
import warnings
import zipfile
from typing import BinaryIO

import numpy as np
from sklearn.utils.validation import check_is_fitted

from mlpfast import _training
from mlpfast._estimators import MLPClassifier, MLPRegressor
from mlpfast._network import aligned_copy

# Where a model file is written or read: a path, or an open binary file.
ModelFile = str | os.PathLike[str] | BinaryIO

FORMAT_NAME = "mlpfast-model"
FORMAT_VERSION = 4
# Parameters added after format version 1, with the version that added
# them: older files lack them, and their models get the defaults.
_PARAMETER_SINCE = {"class_weight": 2, "huber_delta": 3, "dropout": 4, "weight_decay": 4,
                    "max_grad_norm": 4}
MAX_HEADER_BYTES = 1 << 20

_FITTED_SCALARS = {
    # name: (allowed Python types, may be None)
    "n_features_in_": ((int,), False),
    "n_outputs_": ((int,), False),
    "n_layers_": ((int,), False),
    "out_activation_": ((str,), False),
    "n_iter_": ((int,), False),
    "t_": ((int,), False),
    "loss_": ((float, int), True),
    "best_loss_": ((float, int), True),
    "best_validation_score_": ((float, int), True),
    "_no_improvement_count": ((int,), False),
}
_REQUIRED_FITTED = ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_")
_LIST_ARRAYS = {"loss_curve_": "loss_curve", "validation_scores_": "validation_scores",
                "validation_loss_curve_": "validation_loss_curve"}
_HEADER_KEYS = {"format", "format_version", "mlpfast_version", "estimator", "params",
                "skipped_params", "layer_units", "dtype", "fitted", "classes", "optimizer",
                "arrays"}
_LABEL_KINDS = "biufUSmM"
_MISSING = object()


class _Invalid(ValueError):
    pass


def _fail(message):
    raise _Invalid(message)


# ---------------------------------------------------------------------------
# JSON values
# ---------------------------------------------------------------------------


def _encode_float(value):
    value = float(value)
    if math.isfinite(value):
        return value
    return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _encode_value(value):
    """A JSON-representable form of a parameter value; TypeError if there is none."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return _encode_float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_value(item) for item in value]}
    if isinstance(value, list):
        return [_encode_value(item) for item in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf" and value.ndim == 1:
        return {"__array__": [_encode_value(item) for item in value.tolist()]}
    if isinstance(value, dict):
        return {"__dict__": [[_encode_value(key), _encode_value(item)]
                             for key, item in value.items()]}
    raise TypeError(f"{type(value).__name__} is not representable in JSON")


def _decode_value(value, where):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode_value(item, where) for item in value]
    if isinstance(value, dict) and len(value) == 1:
        (tag, payload), = value.items()
        if tag == "__float__" and payload in ("nan", "inf", "-inf"):
            return float(payload)
        if tag == "__tuple__" and isinstance(payload, list):
            return tuple(_decode_value(item, where) for item in payload)
        if tag == "__array__" and isinstance(payload, list):
            items = [_decode_value(item, where) for item in payload]
            if all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items):
                return np.array(items)
        if tag == "__dict__" and isinstance(payload, list) and all(
                isinstance(pair, list) and len(pair) == 2 for pair in payload):
            items = [(_decode_value(key, where), _decode_value(item, where))
                     for key, item in payload]
            if all(isinstance(key, (bool, int, float, str)) for key, _ in items):
                return dict(items)
    _fail(f"{where} holds an unexpected value {value!r}")


def _decode_float(value, where, allow_none=False):
    if value is None and allow_none:
        return None
    decoded = _decode_value(value, where)
    if isinstance(decoded, bool) or not isinstance(decoded, (int, float)):
        _fail(f"{where} must be a number, got {value!r}")
    return float(decoded)


# ---------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------


def _encode_labels(labels, name):
    """(plain array, restore_object) for class labels; ValueError if impossible."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"cannot save {name}: expected a 1-D array, got shape {labels.shape}")
    if labels.dtype.kind in _LABEL_KINDS:
        return np.ascontiguousarray(labels, dtype=labels.dtype.newbyteorder("=")), False
    if labels.dtype.kind == "O":
        items = labels.tolist()
        for kinds, dtype in (((str,), str), ((bool, np.bool_), bool),
                             ((numbers.Integral,), np.int64), ((numbers.Real,), np.float64)):
            if items and all(isinstance(i, kinds) for i in items) and not (
                    dtype is not bool and any(isinstance(i, (bool, np.bool_)) for i in items)):
                converted = np.array(items, dtype=dtype)
                if converted.tolist() == items:
                    return converted, True
        kinds = sorted({type(i).__name__ for i in items})
        raise ValueError(
            f"cannot save {name} of type(s) {', '.join(kinds)} without pickle: only "
            "numbers, bools, strings, bytes and dates can be stored"
        )
    raise ValueError(f"cannot save {name} of dtype {labels.dtype} without pickle")


def _decode_labels(array, restore_object):
    if restore_object:
        return np.array(array.tolist(), dtype=object)
    return array


# ---------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------


def _gather(estimator):
    """The header and the arrays describing a fitted estimator."""
    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        raise TypeError(
            f"mlpfast.save takes an mlpfast MLPClassifier or MLPRegressor, got "
            f"{type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    estimator._sync_params_vector()
    layout = estimator._layout
    params = np.ascontiguousarray(estimator._params)
    dtype = params.dtype.newbyteorder("=")
    arrays = {"params": params.astype(dtype, copy=False)}
    best = getattr(estimator, "_best_params", None)
    if best is not None and best is not estimator._params and np.shape(best) == params.shape:
        # Its own dtype: after L-BFGS (float64 weights) it may still be float32.
        best = np.asarray(best)
        arrays["best_params"] = np.ascontiguousarray(best, dtype=best.dtype.newbyteorder("="))

    stored_params, skipped = {}, []
    for name, value in estimator.get_params(deep=False).items():
        try:
            stored_params[name] = _encode_value(value)
        except TypeError:
            skipped.append(name)
    if skipped:
        warnings.warn(
            f"mlpfast.save: parameter(s) {', '.join(skipped)} cannot be stored without "
            "pickle and will load at their default values",
            UserWarning, stacklevel=3,
        )

    fitted = {}
    for name, (types, may_be_none) in _FITTED_SCALARS.items():
        if not hasattr(estimator, name):
            continue
        value = getattr(estimator, name)
        if value is None:
            fitted[name] = None
        elif isinstance(value, (numbers.Integral, np.integer)) and int in types:
            fitted[name] = int(value)
        elif isinstance(value, numbers.Real):
            fitted[name] = _encode_float(value)
        else:
            fitted[name] = str(value)
    for attribute, member in _LIST_ARRAYS.items():
        value = getattr(estimator, attribute, None)
        if value is not None:
            arrays[member] = np.asarray(value, dtype=np.float64).reshape(-1)

    classes = None
    if hasattr(estimator, "classes_"):
        binarizer = estimator._label_binarizer
        arrays["classes"], restore = _encode_labels(estimator.classes_, "classes_")
        arrays["binarizer_classes"], restore_binarizer = _encode_labels(
            binarizer.classes_, "classes_")
        classes = {"y_type": str(binarizer.y_type_), "restore_object": restore,
                   "binarizer_restore_object": restore_binarizer}
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        arrays["feature_names_in"] = np.array([str(n) for n in names], dtype=str)

    optimizer = None
    state = getattr(estimator, "_optimizer", None)
    if state is not None and hasattr(state, "name"):
        optimizer = {"name": state.name}
        for name, value in vars(state).items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer.{name}"] = np.ascontiguousarray(value, dtype=dtype)
            elif isinstance(value, (bool, str, numbers.Real)) or value is None:
                optimizer[name] = _encode_value(value)

    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "mlpfast_version": _mlpfast_version(),
        "estimator": type(estimator).__name__,
        "params": stored_params,
        "skipped_params": skipped,
        "layer_units": [int(u) for u in layout.layer_units],
        "dtype": dtype.name,
        "fitted": fitted,
        "classes": classes,
        "optimizer": optimizer,
        "arrays": {
            name: {"shape": list(array.shape), "dtype": array.dtype.str,
                   "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()}
            for name, array in arrays.items()
        },
    }
    return header, arrays


def _mlpfast_version():
    import mlpfast

    return str(getattr(mlpfast, "__version__", "unknown"))


def _write(file, header, arrays):
    text = json.dumps(header, allow_nan=False, sort_keys=True).encode("utf-8")
    members = {"header": np.frombuffer(text, dtype=np.uint8)}
    members.update(arrays)
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in members.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array),
                                          allow_pickle=False)


def save(estimator: MLPClassifier | MLPRegressor, path: ModelFile) -> None:
    """Save a fitted mlpfast estimator to a pickle-free model file.

    Parameters
    ----------
    estimator : fitted mlpfast.MLPClassifier or mlpfast.MLPRegressor
        The model to save, with its optimizer state.
    path : str, os.PathLike or writable binary file object
        Written as given (no extension is added); a path is replaced
        atomically, so a failed save never leaves half a file behind.

    Raises
    ------
    NotFittedError
        If the estimator is not fitted.
    ValueError
        If its class labels are objects that cannot be stored without
        pickle.

    Examples
    --------
    A file object works as a path does (``mlpfast.save(clf, "model.mlpfast")``):

    >>> import io
    >>> from sklearn.datasets import load_iris
    >>> import mlpfast
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = mlpfast.MLPClassifier(learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> buffer = io.BytesIO()
    >>> mlpfast.save(clf, buffer)
    >>> _ = buffer.seek(0)
    >>> bool((mlpfast.load(buffer).predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    header, arrays = _gather(estimator)
    if hasattr(path, "write"):
        _write(path, header, arrays)
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".mlpfast-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            _write(file, header, arrays)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------


def _read_member_header(npz, name):
    """(shape, dtype) from a member's .npy header, read before its data."""
    with npz.zip.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            _fail(f"member {name!r} has an unsupported .npy version {version}")
    if fortran_order or dtype.hasobject or dtype.fields is not None:
        _fail(f"member {name!r} is not a plain C-ordered array")
    return tuple(shape), dtype


def _check_array_table(header, npz):
    table = header["arrays"]
    if not isinstance(table, dict):
        _fail("'arrays' must be an object")
    names = [n[:-4] if n.endswith(".npy") else n for n in npz.zip.namelist()]
    if len(names) != len(set(names)):
        _fail("the archive holds duplicate members")
    if set(names) != set(table) | {"header"}:
        extra = sorted(set(names) - set(table) - {"header"})
        missing = sorted(set(table) - set(names))
        _fail(f"the archive's members do not match its header (unexpected: {extra}, "
              f"missing: {missing})")
    allowed = {"params", "best_params", "classes", "binarizer_classes", "feature_names_in",
               *_LIST_ARRAYS.values()}
    for name, entry in table.items():
        if name not in allowed and not name.startswith("optimizer."):
            _fail(f"unknown member {name!r}")
        if not (isinstance(entry, dict) and set(entry) == {"shape", "dtype", "sha256"}
                and isinstance(entry["shape"], list)
                and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                        for s in entry["shape"])
                and isinstance(entry["dtype"], str) and isinstance(entry["sha256"], str)):
            _fail(f"the header's entry for {name!r} is malformed")
        try:
            expected_dtype = np.dtype(entry["dtype"])
        except TypeError:
            _fail(f"member {name!r} has an invalid dtype {entry['dtype']!r}")
        shape, dtype = _read_member_header(npz, name)
        if shape != tuple(entry["shape"]) or dtype != expected_dtype:
            _fail(f"member {name!r} is {dtype.str} {shape}, the header says "
                  f"{entry['dtype']} {tuple(entry['shape'])}")
        info = npz.zip.getinfo(f"{name}.npy")
        if info.file_size > dtype.itemsize * math.prod(shape) + 65536:
            _fail(f"member {name!r} is larger than its header says")


def _load_array(npz, header, name):
    array = npz[name]
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    if digest != header["arrays"][name]["sha256"]:
        _fail(f"member {name!r} does not match its checksum (the file was modified)")
    if array.dtype.byteorder not in ("=", "|"):
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _expect_shape(array, shape, name, dtype=None):
    if array.shape != shape:
        _fail(f"{name} has shape {array.shape}, expected {shape}")
    if dtype is not None and array.dtype != dtype:
        _fail(f"{name} has dtype {array.dtype}, expected {dtype}")


def _read_header(npz):
    if "header" not in npz.files:
        _fail("it has no header")
    shape, dtype = _read_member_header(npz, "header")
    if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_HEADER_BYTES:
        _fail("its header is not a UTF-8 JSON byte string")
    try:
        header = json.loads(npz["header"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"its header is not valid JSON ({exc})")
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        _fail(f"its header does not name the format {FORMAT_NAME!r}")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _fail(f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        _fail(f"it was written in format version {version} by mlpfast "
              f"{header.get('mlpfast_version')!r}; this mlpfast reads version "
              f"{FORMAT_VERSION}: upgrade mlpfast")
    if set(header) != _HEADER_KEYS:
        _fail(f"its header has fields {sorted(header)}, expected {sorted(_HEADER_KEYS)}")
    if not isinstance(header["mlpfast_version"], str):
        _fail("mlpfast_version must be a string")
    return header


def _build_estimator(header):
    from mlpfast import _checks

    classes_by_name = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    if header["estimator"] not in classes_by_name:
        _fail(f"unknown estimator {header['estimator']!r}")
    cls = classes_by_name[header["estimator"]]
    estimator = cls()
    valid = estimator.get_params(deep=False)
    params = header["params"]
    skipped = header["skipped_params"]
    if not isinstance(params, dict) or not isinstance(skipped, list):
        _fail("'params' must be an object and 'skipped_params' a list")
    # Parameters newer than the file's format load at their defaults.
    version = header["format_version"]
    valid = {name: value for name, value in valid.items()
             if _PARAMETER_SINCE.get(name, 1) <= version}
    if set(params) | set(skipped) != set(valid) or set(params) & set(skipped):
        _fail(f"the stored parameters {sorted(set(params) | set(skipped))} are not "
              f"{cls.__name__}'s {sorted(valid)}")
    estimator.set_params(**{name: _decode_value(value, f"parameter {name!r}")
                            for name, value in params.items()})
    try:
        estimator._validate_params()
        hidden = _checks.hidden_layer_sizes_list(estimator.hidden_layer_sizes)
    except (TypeError, ValueError) as exc:
        _fail(f"invalid parameters: {exc}")
    return estimator, hidden


def _check_fitted_scalars(fitted, layer_units):
    if not isinstance(fitted, dict) or not set(fitted) <= set(_FITTED_SCALARS):
        _fail(f"'fitted' must be an object with fields among {sorted(_FITTED_SCALARS)}")
    for name in _REQUIRED_FITTED:
        if name not in fitted:
            _fail(f"'fitted' lacks {name}")
    values = {}
    for name, raw in fitted.items():
        types, may_be_none = _FITTED_SCALARS[name]
        if raw is None:
            if not may_be_none:
                _fail(f"{name} must not be null")
            values[name] = None
        elif types == (int,):
            if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
                _fail(f"{name} must be a non-negative integer, got {raw!r}")
            values[name] = raw
        elif types == (str,):
            if not isinstance(raw, str):
                _fail(f"{name} must be a string, got {raw!r}")
            values[name] = raw
        else:
            values[name] = _decode_float(raw, name)
    if values["n_features_in_"] != layer_units[0]:
        _fail(f"n_features_in_ = {values['n_features_in_']} but the first layer has "
              f"{layer_units[0]} units")
    if values["n_outputs_"] != layer_units[-1]:
        _fail(f"n_outputs_ = {values['n_outputs_']} but the last layer has "
              f"{layer_units[-1]} units")
    if values["n_layers_"] != len(layer_units):
        _fail(f"n_layers_ = {values['n_layers_']} but there are {len(layer_units)} layers")
    return values


def _restore_classes(estimator, header, npz, n_outputs, out_activation):
    from sklearn.preprocessing import LabelBinarizer

    info = header["classes"]
    is_classifier = header["estimator"] == "MLPClassifier"
    present = {"classes", "binarizer_classes"} & set(header["arrays"])
    if not is_classifier:
        if info is not None or present:
            _fail("a regressor has no classes")
        return
    if not (isinstance(info, dict) and set(info) == {"y_type", "restore_object",
                                                     "binarizer_restore_object"}
            and isinstance(info["restore_object"], bool)
            and isinstance(info["binarizer_restore_object"], bool)):
        _fail("'classes' is malformed")
    if present != {"classes", "binarizer_classes"}:
        _fail("a classifier needs its classes")
    y_type = info["y_type"]
    expected_output = {"multiclass": "softmax", "binary": "logistic",
                       "multilabel-indicator": "logistic"}
    if y_type not in expected_output:
        _fail(f"unknown target type {y_type!r}")
    if out_activation != expected_output[y_type]:
        _fail(f"out_activation_ {out_activation!r} does not fit a {y_type} target")
    arrays = {}
    for name in ("classes", "binarizer_classes"):
        array = _load_array(npz, header, name)
        if array.ndim != 1 or array.dtype.kind not in _LABEL_KINDS:
            _fail(f"{name} must be a 1-D array of labels")
        arrays[name] = array
    n_classes = len(arrays["binarizer_classes"])
    expected_outputs = 1 if y_type == "binary" else n_classes
    if (y_type == "binary" and n_classes not in (1, 2)) or n_outputs != expected_outputs or (
            y_type == "multiclass" and n_classes < 3):
        _fail(f"{n_classes} {y_type} classes do not fit {n_outputs} outputs")
    binarizer = LabelBinarizer()
    binarizer.classes_ = _decode_labels(arrays["binarizer_classes"],
                                        info["binarizer_restore_object"])
    binarizer.y_type_ = y_type
    binarizer.sparse_input_ = False
    estimator._label_binarizer = binarizer
    estimator.classes_ = _decode_labels(arrays["classes"], info["restore_object"])


def _restore_optimizer(estimator, header, npz, n_params, dtype):
    from sklearn.base import clone

    from mlpfast._solvers import make_optimizer

    info = header["optimizer"]
    members = [n for n in header["arrays"] if n.startswith("optimizer.")]
    if info is None:
        if members:
            _fail("optimizer arrays without an optimizer")
        return
    if not isinstance(info, dict) or info.get("name") not in ("sgd", "adam"):
        _fail("'optimizer' is malformed")
    # The optimizer the model was trained with (solver may have been changed
    # with set_params since), in its initial state; the stored state goes on top.
    fresh = make_optimizer(clone(estimator).set_params(solver=info["name"]), n_params, dtype)
    fresh_state = vars(fresh)
    expected_members = {f"optimizer.{n}" for n, v in fresh_state.items()
                        if isinstance(v, np.ndarray)}
    if set(members) != expected_members:
        _fail(f"optimizer arrays {sorted(members)}, expected {sorted(expected_members)}")
    for name, raw in info.items():
        if name == "name":
            continue
        current = fresh_state.get(name, _MISSING)
        if current is _MISSING or isinstance(current, np.ndarray):
            _fail(f"unknown optimizer field {name!r}")
        value = _decode_value(raw, f"optimizer field {name!r}")
        if isinstance(current, (bool, np.bool_)) or isinstance(current, str) or current is None:
            if type(value) is not type(current if not isinstance(current, np.bool_) else True):
                _fail(f"optimizer field {name!r} has the wrong type")
        elif isinstance(current, numbers.Real):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value)):
                _fail(f"optimizer field {name!r} must be a finite number")
            if isinstance(current, numbers.Integral) and not isinstance(value, int):
                _fail(f"optimizer field {name!r} must be an integer")
        else:
            _fail(f"optimizer field {name!r} cannot be restored")
        setattr(fresh, name, value)
    for member in sorted(expected_members):
        array = _load_array(npz, header, member)
        _expect_shape(array, (n_params,), member, dtype)
        if not np.isfinite(array).all():
            _fail(f"{member} holds non-finite values")
        setattr(fresh, member[len("optimizer."):], np.array(array))
    estimator._optimizer = fresh


def _load_npz(npz):
    from mlpfast._network import NetworkLayout

    header = _read_header(npz)
    _check_array_table(header, npz)
    estimator, hidden = _build_estimator(header)

    units = header["layer_units"]
    if not (isinstance(units, list) and len(units) >= 2
            and all(isinstance(u, int) and not isinstance(u, bool) and u >= 1 for u in units)):
        _fail(f"layer_units must be a list of at least two positive integers, got {units!r}")
    if units[1:-1] != hidden:
        _fail(f"layer_units {units} do not match hidden_layer_sizes {hidden}")
    if header["dtype"] not in ("float32", "float64"):
        _fail(f"dtype must be 'float32' or 'float64', got {header['dtype']!r}")
    dtype = np.dtype(header["dtype"])
    layout = NetworkLayout(units)
    n_params = layout.n_params
    if "params" not in header["arrays"]:
        _fail("it holds no parameters")
    entry = header["arrays"]["params"]
    if entry["shape"] != [n_params] or np.dtype(entry["dtype"]).newbyteorder("=") != dtype:
        _fail(f"params are {entry['dtype']} {entry['shape']}, layers {units} need "
              f"{dtype.name} [{n_params}]")
    fitted = _check_fitted_scalars(header["fitted"], units)

    params = aligned_copy(_load_array(npz, header, "params"), dtype)
    if not np.isfinite(params).all():
        _fail("params hold non-finite values")
    best = None
    if "best_params" in header["arrays"]:
        best = np.array(_load_array(npz, header, "best_params"))
        if best.dtype not in (np.float32, np.float64):
            _fail(f"best_params must be float32 or float64, got {best.dtype}")
        _expect_shape(best, (n_params,), "best_params")
    lists = {}
    for attribute, member in _LIST_ARRAYS.items():
        if member in header["arrays"]:
            array = _load_array(npz, header, member)
            if array.ndim != 1 or array.dtype != np.float64:
                _fail(f"{member} must be a 1-D float64 array")
            lists[attribute] = [float(v) for v in array]
    names = None
    if "feature_names_in" in header["arrays"]:
        names = _load_array(npz, header, "feature_names_in")
        if names.dtype.kind != "U":
            _fail("feature_names_in must hold strings")
        _expect_shape(names, (fitted["n_features_in_"],), "feature_names_in")

    # The compiled network must accept the activations (unknown ones fail here).
    from mlpfast import _kernels
    try:
        _kernels.Network(layout, estimator.activation, fitted["out_activation_"],
                         float(estimator.alpha))
    except (KeyError, ValueError, TypeError) as exc:
        _fail(f"the network cannot be built: {exc!r}")
    _restore_classes(estimator, header, npz, fitted["n_outputs_"], fitted["out_activation_"])
    if header["estimator"] == "MLPRegressor" and fitted["out_activation_"] == "softmax":
        _fail("a regressor has no softmax output")

    for name, value in fitted.items():
        setattr(estimator, name, value)
    for name, value in lists.items():
        setattr(estimator, name, value)
    if "loss_curve_" in lists and "validation_scores_" not in lists and (
            "best_validation_score_" in fitted):
        estimator.validation_scores_ = None
    if "loss_curve_" in lists:
        # None without validation; NaN for the epochs of a version 1 file.
        _training.continue_validation_loss_curve(estimator)
    if names is not None:
        estimator.feature_names_in_ = np.array(names.tolist(), dtype=object)
    estimator._set_params_vector(layout, params)
    # No stored snapshot: it was the weight vector itself (see the format above).
    estimator._best_params = best if best is not None else estimator._params
    _restore_optimizer(estimator, header, npz, n_params, dtype)
    return estimator


def load(path: ModelFile) -> MLPClassifier | MLPRegressor:
    """Load an estimator saved by :func:`mlpfast.save`.

    Parameters
    ----------
    path : str, os.PathLike or readable, seekable binary file object
        The file written by :func:`mlpfast.save`.

    Returns
    -------
    estimator : mlpfast.MLPClassifier or mlpfast.MLPRegressor
        Fitted; predicts exactly as the saved estimator, and ``partial_fit``
        continues as it would have.

    Raises
    ------
    ValueError
        If the file is not an mlpfast model file, or is truncated, corrupt,
        modified or inconsistent. Loading never executes code from the file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> import mlpfast
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = mlpfast.MLPClassifier(learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "iris.mlpfast")
    ...     mlpfast.save(clf, path)
    ...     loaded = mlpfast.load(path)
    >>> type(loaded).__name__, loaded.get_params() == clf.get_params()
    ('MLPClassifier', True)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    if hasattr(path, "read"):
        return _load_file(path)
    with open(os.fspath(path), "rb") as file:
        return _load_file(file)


def _load_file(file):
    start = file.tell()
    magic = file.read(4)
    file.seek(start)
    if magic != b"PK\x03\x04":
        raise ValueError("not an mlpfast model file: it is not an .npz (zip) archive")
    try:
        with np.load(file, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise _Invalid("it is not an .npz archive")
            return _load_npz(npz)
    except _Invalid as exc:
        raise ValueError(f"not a valid mlpfast model file: {exc}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError,
            ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise ValueError(
            f"not a valid mlpfast model file: it is truncated or corrupt ({exc})"
        ) from exc
