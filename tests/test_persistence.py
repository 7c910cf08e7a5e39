"""mlpfast.save / mlpfast.load: pickle-free model files.

Round trips must give identical predictions, attributes and partial_fit
continuations; every damaged, modified or foreign file must be rejected with
a ValueError, without executing anything from the file.
"""
import hashlib
import io
import json
import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from conftest import engine_only

pytestmark = engine_only  # mlpfast's own API

import mlpfast  # noqa: E402
from mlpfast import MLPClassifier, MLPRegressor, load, save  # noqa: E402


def _supported(fit):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit()
        return True
    except NotImplementedError:
        return False


_X = np.random.default_rng(0).standard_normal((12, 3))
HAS_LBFGS = _supported(lambda: MLPRegressor(solver="lbfgs", max_iter=2).fit(_X, _X[:, 0]))
HAS_POISSON = _supported(lambda: MLPRegressor(loss="poisson", max_iter=2).fit(_X, np.abs(_X[:, 0])))

N_ROWS = 60


def _data(task, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_ROWS, 5))
    if task == "binary":
        y = (X[:, 0] > 0).astype(int)
    elif task == "multiclass":
        y = np.argmax(X[:, :3], axis=1)
    elif task == "multilabel":
        y = (X[:, :3] > 0).astype(int)
    elif task == "reg1":
        y = X[:, 0] - X[:, 1]
    elif task == "reg2":
        y = np.c_[X[:, 0], X[:, 1] * 2]
    elif task == "poisson":
        y = np.exp(0.3 * X[:, 0]).round()
    elif task == "string_labels":
        y = np.array(["cat", "dog", "emu"])[np.argmax(X[:, :3], axis=1)]
    elif task == "bool_labels":
        y = X[:, 0] > 0
    elif task == "float_labels":
        y = np.array([-1.0, 0.0, 2.0])[np.argmax(X[:, :3], axis=1)]
    elif task == "one_class":
        y = np.full(N_ROWS, 7)
    else:  # pragma: no cover
        raise ValueError(task)
    return X, y


REGRESSION = ("reg1", "reg2", "poisson")


def _fit(task, dtype=np.float64, **params):
    X, y = _data(task)
    cls = MLPRegressor if task in REGRESSION else MLPClassifier
    if task == "poisson":
        params["loss"] = "poisson"
    params = dict(dict(hidden_layer_sizes=(6, 4), max_iter=4, random_state=0), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**params).fit(X.astype(dtype), y), X.astype(dtype), y


def _public_state(est):
    """Fitted attributes (name ending in _) and the private training state."""
    # Per-process shortcuts, not saved: the compiled network, the
    # parameters last validated, the generator reseeded for an int seed.
    skip = {"_random_state", "_network_cache", "_views", "_validated_parameters",
            "_seeded_random_state"}
    return {k: v for k, v in vars(est).items() if k not in skip}


def _assert_same_value(a, b, name):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), name
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert_array_equal(a, b, err_msg=name)
    elif isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        assert len(a) == len(b), name
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_same_value(u, v, f"{name}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and np.isnan(a):
        assert np.isnan(b), name
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        assert type(a) is type(b), name
        for key in vars(a):
            assert key in vars(b), f"{name}.{key} missing"
            _assert_same_value(vars(a)[key], vars(b)[key], f"{name}.{key}")
    else:
        assert a == b, f"{name}: {a!r} != {b!r}"
        assert type(a) is type(b) or (a is None and b is None), (
            f"{name}: {type(a).__name__} != {type(b).__name__}")


def _assert_same_model(original, loaded, X, y):
    assert type(loaded) is type(original)
    params_a, params_b = original.get_params(), loaded.get_params()
    assert set(params_a) == set(params_b)
    for name in params_a:
        _assert_same_value(params_a[name], params_b[name], f"parameter {name}")
    state_a, state_b = _public_state(original), _public_state(loaded)
    assert set(state_a) == set(state_b), (
        f"attributes differ: only saved {set(state_a) - set(state_b)}, "
        f"only loaded {set(state_b) - set(state_a)}")
    for name in state_a:
        if name == "_layout":
            assert state_a[name].layer_units == state_b[name].layer_units
            continue
        _assert_same_value(state_a[name], state_b[name], name)
    assert_array_equal(loaded.predict(X), original.predict(X))
    if hasattr(original, "predict_proba"):
        assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))
    assert loaded.score(X, y) == original.score(X, y)
    # The loaded weights are views into the flat vector, as after a fit.
    assert loaded.coefs_[0].base is loaded._params or np.shares_memory(
        loaded.coefs_[0], loaded._params)


ROUND_TRIPS = [
    ("binary", np.float64, {}),
    ("multiclass", np.float64, {}),
    ("multiclass", np.float32, {"solver": "sgd", "learning_rate": "invscaling"}),
    ("multilabel", np.float64, {"solver": "sgd", "early_stopping": True}),
    ("reg1", np.float64, {"early_stopping": True}),
    ("reg1", np.float32, {}),
    ("reg2", np.float64, {"solver": "sgd", "momentum": 0.5, "nesterovs_momentum": False}),
    ("string_labels", np.float64, {}),
    ("bool_labels", np.float32, {"solver": "sgd"}),
    ("float_labels", np.float64, {}),
    ("one_class", np.float64, {}),
    ("multiclass", np.float64, {"hidden_layer_sizes": ()}),
    ("reg1", np.float64, {"hidden_layer_sizes": [1, 1], "activation": "tanh"}),
    ("binary", np.float64, {"hidden_layer_sizes": np.array([3, 2]), "activation": "logistic"}),
    ("multiclass", np.float64, {"class_weight": "balanced", "early_stopping": True}),
    ("string_labels", np.float64, {"class_weight": {"cat": 2.0, "dog": 0.5, "emu": 1.0}}),
    ("multilabel", np.float64, {"class_weight": [{0: 1.0, 1: 3.0}] * 3}),
    ("reg2", np.float64, {"loss": "huber", "huber_delta": 0.25}),
]
if HAS_LBFGS:
    ROUND_TRIPS += [("multiclass", np.float64, {"solver": "lbfgs"}),
                    ("reg2", np.float32, {"solver": "lbfgs"})]
if HAS_POISSON:
    ROUND_TRIPS += [("poisson", np.float64, {})]


@pytest.mark.parametrize("task,dtype,params", ROUND_TRIPS,
                         ids=[f"{t}-{np.dtype(d).name}-{p}" for t, d, p in ROUND_TRIPS])
def test_round_trip_is_exact(task, dtype, params, tmp_path):
    est, X, y = _fit(task, dtype, **params)
    path = tmp_path / "model.mlpfast"
    save(est, path)
    assert sorted(os.listdir(tmp_path)) == ["model.mlpfast"]  # no extension added, no temp
    loaded = load(path)
    _assert_same_model(est, loaded, X, y)
    # Training goes on exactly as on the saved model (optimizer state included).
    if est.solver != "lbfgs" and not est.early_stopping:
        kwargs = {"classes": est.classes_} if hasattr(est, "classes_") and (
            task not in ("multilabel",)) else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.partial_fit(X, y, **kwargs)
            loaded.partial_fit(X, y, **kwargs)
        _assert_same_model(est, loaded, X, y)


def test_pickle_and_file_agree(tmp_path):
    est, X, y = _fit("multiclass")
    path = tmp_path / "m.npz"
    save(est, path)
    from_file = load(path)
    from_pickle = pickle.loads(pickle.dumps(est))
    assert_array_equal(from_file.predict_proba(X), from_pickle.predict_proba(X))


def test_file_objects_and_path_types(tmp_path):
    est, X, _ = _fit("reg2")
    buffer = io.BytesIO()
    save(est, buffer)
    buffer.seek(0)
    assert_array_equal(load(buffer).predict(X), est.predict(X))
    save(est, str(tmp_path / "as_str"))
    assert_array_equal(load(str(tmp_path / "as_str")).predict(X), est.predict(X))


def test_file_holds_no_pickles_and_plain_dtypes(tmp_path):
    est, _, _ = _fit("string_labels")
    path = tmp_path / "m"
    save(est, path)
    with np.load(path, allow_pickle=False) as npz:
        for name in npz.files:
            assert not npz[name].dtype.hasobject, name
        header = json.loads(npz["header"].tobytes())
    assert header["format"] == "mlpfast-model" and header["format_version"] == 4
    assert header["mlpfast_version"] == mlpfast.__version__
    assert header["estimator"] == "MLPClassifier"
    assert header["layer_units"] == [5, 6, 4, 3]
    assert header["dtype"] == "float64"
    assert header["params"]["hidden_layer_sizes"] == {"__tuple__": [6, 4]}
    assert zipfile.ZipFile(path).testzip() is None


def test_object_labels(tmp_path):
    est, X, _ = _fit("string_labels")
    est.classes_ = np.array(list(est.classes_), dtype=object)
    save(est, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.classes_.dtype == object and list(loaded.classes_) == list(est.classes_)
    est.classes_ = np.array([("a",), ("b",), ("c",)] + [None], dtype=object)[:3]
    with pytest.raises(ValueError, match="cannot save classes_ of type.*tuple"):
        save(est, tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_feature_names_round_trip(tmp_path):
    est, X, _ = _fit("reg1")
    est.feature_names_in_ = np.array(["a", "b", "c", "d", "é"], dtype=object)
    save(est, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.feature_names_in_.dtype == object
    assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)


def test_unstorable_parameter_warns_and_loads_default(tmp_path):
    est, X, _ = _fit("binary", random_state=np.random.RandomState(3))
    with pytest.warns(UserWarning, match="random_state"):
        save(est, tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.random_state is None
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_unfitted_and_foreign_estimators_are_refused(tmp_path):
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    with pytest.raises(NotFittedError):
        save(MLPClassifier(), tmp_path / "m")
    with pytest.raises(TypeError, match="mlpfast"):
        save(SkMLPClassifier(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------------------
# damaged, modified and foreign files
# ---------------------------------------------------------------------------


def _members(path):
    """The members of a model file: (header dict, {name: array})."""
    with np.load(path, allow_pickle=False) as npz:
        header = json.loads(npz["header"].tobytes())
        arrays = {name: npz[name] for name in npz.files if name != "header"}
    return header, arrays


def _rewrite(path, out, header, arrays, consistent=True):
    """Write a model file; ``consistent`` updates the header's array table."""
    header = json.loads(json.dumps(header))
    if consistent:
        header["arrays"] = {
            name: {"shape": list(np.shape(array)), "dtype": np.asarray(array).dtype.str,
                   "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()}
            for name, array in arrays.items()
        }
    text = json.dumps(header).encode()
    with zipfile.ZipFile(out, "w") as zf:
        members = {"header": np.frombuffer(text, dtype=np.uint8), **arrays}
        for name, array in members.items():
            with zf.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return out


def _tamper_header(edit):
    def make(path, out):
        header, arrays = _members(path)
        edit(header, arrays)
        return _rewrite(path, out, header, arrays, consistent=False)
    return make


def _tamper_arrays(edit, consistent=False):
    """Change arrays; ``consistent`` rewrites the header's table to match them."""
    def make(path, out):
        header, arrays = _members(path)
        edit(arrays)
        return _rewrite(path, out, header, arrays, consistent)
    return make


def _bytes(transform):
    def make(path, out):
        out.write_bytes(transform(path.read_bytes()))
        return out
    return make


def _set(section, key, value):
    def edit(header, arrays):
        if section is None:
            header[key] = value
        else:
            header[section][key] = value
    return edit


def _delete(key):
    def edit(header, arrays):
        del header[key]
    return edit


def _flip_byte_in_params(data):
    data = bytearray(data)
    position = data.index(b"params.npy") + 200  # inside the first member's data
    data[position] ^= 0x40
    return bytes(data)


def _pickled_member(path, out):
    """An extra member holding a pickle that would create a file when unpickled."""
    header, arrays = _members(path)
    marker = out.parent / "PWNED"
    payload = io.BytesIO()
    evil = np.empty(1, dtype=object)
    evil[0] = _Exploit(str(marker))
    np.lib.format.write_array(payload, evil, allow_pickle=True)
    header["arrays"]["params"]["dtype"] = "|O"
    return _rewrite_replacing(path, out, header, arrays, "params", payload.getvalue())


def _rewrite_replacing(path, out, header, arrays, name, payload):
    text = json.dumps(header).encode()
    with zipfile.ZipFile(out, "w") as zf:
        with zf.open("header.npy", "w") as member:
            np.lib.format.write_array(member, np.frombuffer(text, dtype=np.uint8))
        for other, array in arrays.items():
            if other == name:
                zf.writestr(f"{name}.npy", payload)
            else:
                with zf.open(f"{other}.npy", "w") as member:
                    np.lib.format.write_array(member, array)
    return out


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _pickle_file(path, out):
    out.write_bytes(pickle.dumps(load(path)))
    return out


def _foreign_npz(path, out):
    with open(out, "wb") as file:
        np.savez(file, params=np.zeros(10), header=np.zeros(3, dtype=np.uint8))
    return out


def _npy_file(path, out):
    with open(out, "wb") as file:
        np.save(file, np.zeros(5))
    return out


def _zip_without_header(path, out):
    header, arrays = _members(path)
    with zipfile.ZipFile(out, "w") as zf:
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array)
    return out


CORRUPTIONS = {
    # foreign or damaged files
    "empty": (_bytes(lambda d: b""), "not an .npz"),
    "text": (_bytes(lambda d: b"hello, world\n" * 10), "not an .npz"),
    "pickle_of_the_model": (_pickle_file, "not an .npz"),
    "npy_file": (_npy_file, "not an .npz"),
    "foreign_npz": (_foreign_npz, "header"),
    "zip_without_header": (_zip_without_header, "no header"),
    "truncated_to_10_bytes": (_bytes(lambda d: d[:10]), "truncated or corrupt"),
    "truncated_to_half": (_bytes(lambda d: d[: len(d) // 2]), "truncated or corrupt"),
    "truncated_by_1_byte": (_bytes(lambda d: d[:-1]), "truncated or corrupt"),
    "byte_flipped_in_data": (_bytes(_flip_byte_in_params), "truncated or corrupt|CRC"),
    # a pickle smuggled in as a member: refused before anything is unpickled
    "pickled_member": (_pickled_member, "not a plain|object"),
    # header fields
    "format_name": (_tamper_header(_set(None, "format", "other-format")), "format"),
    "format_version_5": (_tamper_header(_set(None, "format_version", 5)), "upgrade mlpfast"),
    "format_version_0": (_tamper_header(_set(None, "format_version", 0)), "format_version"),
    "format_version_str": (_tamper_header(_set(None, "format_version", "1")),
                           "format_version"),
    "unknown_estimator": (_tamper_header(_set(None, "estimator", "os.system")),
                          "unknown estimator"),
    "missing_field": (_tamper_header(_delete("fitted")), "fields"),
    "extra_field": (_tamper_header(_set(None, "code", "import os")), "fields"),
    "unknown_param": (_tamper_header(_set("params", "evil", 1)), "parameters"),
    "invalid_param": (_tamper_header(_set("params", "alpha", -1.0)), "invalid parameters"),
    "invalid_activation": (_tamper_header(_set("params", "activation", "softmax")),
                           "invalid parameters"),
    "hidden_sizes_changed": (_tamper_header(_set("params", "hidden_layer_sizes",
                                                 {"__tuple__": [7, 4]})), "hidden_layer_sizes"),
    "hidden_sizes_float": (_tamper_header(_set("params", "hidden_layer_sizes",
                                               {"__tuple__": [6.5, 4]})), "invalid parameters"),
    "bad_tag": (_tamper_header(_set("params", "alpha", {"__eval__": "1"})), "unexpected value"),
    "layer_units_changed": (_tamper_header(_set(None, "layer_units", [5, 6, 4, 4])),
                            "n_outputs_|params"),
    "layer_units_negative": (_tamper_header(_set(None, "layer_units", [5, -6, 4, 3])),
                             "positive integers"),
    "layer_units_huge": (_tamper_header(_set(None, "layer_units", [5, 10**12, 4, 3])),
                         "hidden_layer_sizes|params"),
    "dtype_changed": (_tamper_header(_set(None, "dtype", "float32")), "params"),
    "dtype_object": (_tamper_header(_set(None, "dtype", "object")), "dtype"),
    "n_features_changed": (_tamper_header(_set("fitted", "n_features_in_", 4)),
                           "n_features_in_"),
    "n_outputs_changed": (_tamper_header(_set("fitted", "n_outputs_", 2)), "n_outputs_"),
    "n_layers_changed": (_tamper_header(_set("fitted", "n_layers_", 3)), "n_layers_"),
    "n_iter_negative": (_tamper_header(_set("fitted", "n_iter_", -1)), "n_iter_"),
    "unknown_fitted": (_tamper_header(_set("fitted", "__class__", "x")), "fitted"),
    "out_activation_relu": (_tamper_header(_set("fitted", "out_activation_", "relu")),
                            "network cannot be built|out_activation_"),
    "out_activation_logistic": (_tamper_header(_set("fitted", "out_activation_", "logistic")),
                                "does not fit"),
    "y_type_changed": (_tamper_header(_set("classes", "y_type", "binary")), "classes|fit"),
    "y_type_unknown": (_tamper_header(_set("classes", "y_type", "continuous")),
                       "unknown target type"),
    "classes_dropped": (_tamper_header(_set(None, "classes", None)), "regressor|classes"),
    "optimizer_renamed": (_tamper_header(_set("optimizer", "name", "lbfgs")), "malformed"),
    "optimizer_unknown_field": (_tamper_header(_set("optimizer", "__dict__", 1)),
                                "unknown optimizer field"),
    "optimizer_t_float": (_tamper_header(_set("optimizer", "t", 1.5)), "integer"),
    "optimizer_rate_nan": (_tamper_header(_set("optimizer", "learning_rate",
                                               {"__float__": "nan"})), "finite"),
    # arrays
    "params_changed_digest_kept": (_tamper_arrays(lambda a: a["params"].__iadd__(1.0)),
                                   "checksum"),
    "params_too_short": (_tamper_arrays(lambda a: a.__setitem__("params", a["params"][:-1])),
                         "member 'params'"),
    "params_nan": (_tamper_arrays(lambda a: a["params"].__setitem__(0, np.nan), True),
                   "non-finite"),
    # consistent header tables: the checks between fields catch these
    "consistent_params_too_short": (
        _tamper_arrays(lambda a: a.__setitem__("params", a["params"][:-1]), True),
        r"params are <f8 \[78\], layers .* need float64 \[79\]"),
    "consistent_params_float32": (
        _tamper_arrays(lambda a: a.__setitem__("params", a["params"].astype(np.float32)), True),
        "need float64"),
    "consistent_params_int": (
        _tamper_arrays(lambda a: a.__setitem__("params", a["params"].astype(np.int64)), True),
        "need float64"),
    "consistent_best_params_short": (
        _tamper_arrays(lambda a: a.__setitem__("best_params", a["best_params"][:5]), True),
        "best_params has shape"),
    "consistent_moment_short": (
        _tamper_arrays(lambda a: a.__setitem__("optimizer.moment_2", np.zeros(3)), True),
        "optimizer.moment_2 has shape"),
    "consistent_moment_inf": (
        _tamper_arrays(lambda a: a["optimizer.moment_1"].__setitem__(0, np.inf), True),
        "non-finite"),
    "consistent_classes_2": (
        _tamper_arrays(lambda a: a.__setitem__("binarizer_classes", np.array([0, 1])), True),
        "classes do not fit|does not fit"),
    "consistent_classes_void": (
        _tamper_arrays(lambda a: a.__setitem__("classes", np.zeros(3, dtype="V4")), True),
        "labels|plain"),
    "consistent_loss_curve_2d": (
        _tamper_arrays(lambda a: a.__setitem__("loss_curve", a["loss_curve"][None]), True),
        "loss_curve must be"),
    "consistent_optimizer_member_extra": (
        _tamper_arrays(lambda a: a.__setitem__("optimizer.velocity", np.zeros(79)), True),
        "optimizer arrays"),
    "params_float32": (_tamper_arrays(lambda a: a.__setitem__("params",
                                                              a["params"].astype(np.float32))),
                       "member 'params'"),
    "params_2d": (_tamper_arrays(lambda a: a.__setitem__("params", a["params"][None])),
                  "member 'params'"),
    "classes_2d": (_tamper_arrays(lambda a: a.__setitem__("classes", a["classes"][None])),
                   "member 'classes'"),
    "moment_wrong_length": (_tamper_arrays(lambda a: a.__setitem__(
        "optimizer.moment_1", np.zeros(3))), "member 'optimizer.moment_1'"),
    "member_missing": (_tamper_arrays(lambda a: a.pop("best_params")), "members"),
    "member_extra": (_tamper_arrays(lambda a: a.__setitem__("extra", np.zeros(2))), "members"),
}


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    est, X, y = _fit("multiclass")
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    save(est, path)
    return path, est


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_damaged_or_modified_files_are_rejected(name, saved_classifier, tmp_path):
    path, _ = saved_classifier
    make, match = CORRUPTIONS[name]
    bad = make(path, tmp_path / "bad.npz")
    with pytest.raises(ValueError, match=match) as info:
        load(bad)
    assert "mlpfast model file" in str(info.value)
    assert not (tmp_path / "PWNED").exists()


def test_the_untouched_rewrite_loads(saved_classifier, tmp_path):
    # The tampering helpers themselves produce loadable files when they change
    # nothing, so every rejection above is due to its one change.
    path, est = saved_classifier
    header, arrays = _members(path)
    loaded = load(_rewrite(path, tmp_path / "same.npz", header, arrays))
    X, _ = _data("multiclass")
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_format_version_1_files_still_load():
    """Files written by mlpfast 0.1.0 in format 1 (before class_weight and
    validation_loss_curve_): same predictions as when they were saved, the
    new parameter at its default, and an early-stopping model trains on."""
    from sklearn.datasets import load_iris, make_regression

    expected = np.load(os.path.join(DATA, "expected_v1.npz"))
    X, y = load_iris(return_X_y=True)
    classifier = load(os.path.join(DATA, "classifier_v1.npz"))
    assert_array_equal(classifier.predict_proba(X), expected["proba"])
    assert classifier.class_weight is None
    assert (classifier.dropout, classifier.weight_decay, classifier.max_grad_norm) == (
        0.0, 0.0, None)
    n_epochs = len(classifier.validation_scores_)
    assert n_epochs > 0 and len(classifier.validation_loss_curve_) == n_epochs
    assert np.isnan(classifier.validation_loss_curve_).all()
    classifier.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert len(classifier.validation_loss_curve_) == n_epochs + classifier.n_iter_ > n_epochs
    assert np.isfinite(classifier.validation_loss_curve_[n_epochs:]).all()

    X_reg, y_reg = make_regression(n_samples=60, n_features=3, random_state=0)
    regressor = load(os.path.join(DATA, "regressor_v1.npz"))
    assert_array_equal(regressor.predict(X_reg), expected["reg"])
    assert regressor.validation_loss_curve_ is None
