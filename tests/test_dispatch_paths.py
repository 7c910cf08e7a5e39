"""Every SIMD path of the element-wise kernels trains to the same bits.

The kernels exist once per instruction set (src_c/mlpfast_simd.h: baseline,
i.e. SSE2 on x86-64, AVX2 and AVX-512), and src_c/simd.c runs the best one
this CPU has unless the environment variable ``MLPFAST_SIMD`` names a lower
one.  It is read once per process, at the first kernel call, so each path
runs in a subprocess here.  The build forbids contraction into fused
multiply-adds and every other operation rounds alike on every instruction
set, so results must be identical, bit for bit: no tolerance.

The path a process runs is read through ctypes from the extension's own
symbols (``mlpf_simd_active``), which ELF and Mach-O builds export.
"""
import ctypes
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mlpfast._kernels

PATHS = ("baseline", "avx2", "avx512")

# Prints the active path, then fits one model per configuration and saves
# every fitted weight and bias, and each model's output for one row.  Odd widths leave vector remainders; each
# hidden activation runs once in each precision (tanh, logistic, elu, gelu,
# silu and softplus go through the vector math of src_c/vecmath.c); both
# stochastic solvers and every loss take steps.
FIT_SCRIPT = textwrap.dedent(
    """
    import ctypes, json, sys, warnings
    import numpy as np
    import mlpfast._kernels
    from mlpfast import MLPClassifier, MLPRegressor

    lib = ctypes.CDLL(mlpfast._kernels.__file__)
    lib.mlpf_simd_name.restype = ctypes.c_char_p
    print(json.dumps({"active": lib.mlpf_simd_name(lib.mlpf_simd_active()).decode()}))

    rng = np.random.default_rng(0)
    X = rng.standard_normal((301, 13))
    y_class = np.argmax(X[:, :3] + 0.5 * rng.standard_normal((301, 3)), axis=1)
    y_reg = np.column_stack([X[:, 0] - X[:, 1], np.abs(X[:, 2])]) + 1.0
    models = []
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        for activation in ("relu", "tanh", "logistic", "leaky_relu", "elu", "gelu",
                           "silu", "softplus"):
            models.append(MLPClassifier(hidden_layer_sizes=(33, 17), activation=activation,
                                        max_iter=3, batch_size=50, random_state=0)
                          .fit(Xd, y_class))
        models.append(MLPClassifier(hidden_layer_sizes=(21,), solver="sgd", momentum=0.9,
                                    nesterovs_momentum=True, alpha=1e-3, max_iter=3,
                                    batch_size=64, random_state=1).fit(Xd, y_class % 2))
        for loss in ("squared_error", "poisson", "huber"):
            models.append(MLPRegressor(hidden_layer_sizes=(19,), loss=loss, max_iter=3,
                                       batch_size=40, random_state=2).fit(Xd, y_reg))
        # 300 x 440 weights: split in halves in a one-row pass in both dtypes.
        X_wide = rng.standard_normal((40, 300)).astype(dtype)
        models.append(MLPRegressor(hidden_layer_sizes=(440,), max_iter=2, random_state=3)
                      .fit(X_wide, X_wide[:, :2].sum(axis=1)))
    arrays = {f"{i}_{j}": array for i, model in enumerate(models)
              for j, array in enumerate(model.coefs_ + model.intercepts_)}
    # One-row passes (row_times_matrix, no BLAS), each model on its input's
    # first row.
    for i, model in enumerate(models):
        row = np.ascontiguousarray(
            rng.standard_normal((1, model.n_features_in_)).astype(model.coefs_[0].dtype))
        arrays[f"row_{i}"] = (model.predict_proba(row) if hasattr(model, "predict_proba")
                              else model.predict(row))
    np.savez(sys.argv[1], **arrays)
    """
)


def _library():
    lib = ctypes.CDLL(mlpfast._kernels.__file__)
    lib.mlpf_simd_name.restype = ctypes.c_char_p
    lib.mlpf_simd_choose.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_char_p,
                                     ctypes.c_size_t]
    return lib


@pytest.fixture(scope="module")
def lib():
    try:
        library = _library()
        library.mlpf_simd_active
    except (OSError, AttributeError):
        pytest.skip("the extension's C symbols are not visible to ctypes on this platform")
    return library


def available_paths(lib):
    mask = lib.mlpf_simd_available()
    return [name for index, name in enumerate(PATHS) if mask & (1 << index)]


def run_fit(tmp_path, simd):
    """Fit FIT_SCRIPT's models in a subprocess with MLPFAST_SIMD=simd (None:
    unset); returns the active path, the weights and the stderr text."""
    env = dict(os.environ)
    env.pop("MLPFAST_SIMD", None)
    if simd is not None:
        env["MLPFAST_SIMD"] = simd
    out = tmp_path / f"weights_{simd}.npz"
    # From tmp_path: `python -c` puts the current directory first on sys.path,
    # and from the repository root it would import the unbuilt source folder.
    result = subprocess.run([sys.executable, "-c", FIT_SCRIPT, str(out)], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    active = json.loads(result.stdout.splitlines()[0])["active"]
    with np.load(out) as weights:
        return active, dict(weights), result.stderr


def assert_same_bits(weights, reference, path):
    assert weights.keys() == reference.keys()
    for key, array in reference.items():
        assert weights[key].dtype == array.dtype
        # Bits, not values: identical is the promise (see the module docstring).
        np.testing.assert_array_equal(weights[key].view(np.uint8), array.view(np.uint8),
                                      err_msg=f"{path} path, array {key}")


def test_every_available_path_trains_to_the_same_bits(lib, tmp_path):
    paths = available_paths(lib)
    assert paths[0] == "baseline"
    active, reference, stderr = run_fit(tmp_path, "baseline")
    assert active == "baseline"
    assert "mlpfast:" not in stderr
    for path in paths[1:]:
        active, weights, stderr = run_fit(tmp_path, path)
        assert active == path, f"MLPFAST_SIMD={path} ran the {active} path"
        assert "mlpfast:" not in stderr
        assert_same_bits(weights, reference, path)
    # Unset, the best path runs.
    active, weights, _ = run_fit(tmp_path, None)
    assert active == paths[-1]
    assert_same_bits(weights, reference, "default")


def test_unknown_name_falls_back_to_the_best_path_with_a_note(lib, tmp_path):
    active, _, stderr = run_fit(tmp_path, "avx1024")
    assert active == available_paths(lib)[-1]
    assert "MLPFAST_SIMD=avx1024 is not one of baseline, avx2, avx512" in stderr


def test_unavailable_path_falls_back_below_it_with_a_note(lib, tmp_path):
    missing = [path for path in PATHS if path not in available_paths(lib)]
    if not missing:
        pytest.skip("this CPU and build run every path (the choice itself: "
                    "test_choose_falls_back_below_an_unavailable_path)")
    active, _, stderr = run_fit(tmp_path, missing[-1])
    assert active == available_paths(lib)[-1]
    assert f"has no {missing[-1]} path; the kernels run on the {active} path" in stderr


def choose(lib, request, available):
    note = ctypes.create_string_buffer(200)
    path = lib.mlpf_simd_choose(None if request is None else request.encode(), available,
                                note, len(note))
    return PATHS[path], note.value.decode()


ALL = 0b111
NO_AVX512 = 0b011
BASELINE_ONLY = 0b001


@pytest.mark.parametrize("request_, available, expected", [
    (None, ALL, "avx512"),
    ("", NO_AVX512, "avx2"),
    ("baseline", ALL, "baseline"),
    ("avx2", ALL, "avx2"),
    ("avx512", ALL, "avx512"),
    (None, BASELINE_ONLY, "baseline"),
])
def test_choose_honours_an_available_request(lib, request_, available, expected):
    assert choose(lib, request_, available) == (expected, "")


@pytest.mark.parametrize("request_, available, expected", [
    ("avx512", NO_AVX512, "avx2"),
    ("avx512", BASELINE_ONLY, "baseline"),
    ("avx2", BASELINE_ONLY, "baseline"),
    # A hole (no AVX2 copy, an AVX-512 one) still goes down, never up.
    ("avx2", 0b101, "baseline"),
])
def test_choose_falls_back_below_an_unavailable_path(lib, request_, available, expected):
    path, note = choose(lib, request_, available)
    assert path == expected
    assert note == (f"mlpfast: MLPFAST_SIMD={request_}: this CPU or this build has no "
                    f"{request_} path; the kernels run on the {expected} path")


@pytest.mark.parametrize("request_", ["AVX2", "sse2", "avx-512", "x" * 300])
def test_choose_takes_only_the_exact_names(lib, request_):
    path, note = choose(lib, request_, NO_AVX512)
    assert path == "avx2"
    assert "is not one of baseline, avx2, avx512" in note
    assert len(note) < 200


def test_this_process_runs_the_requested_or_best_path(lib):
    # Under CI's forced-path runs this names the forced path; unset, the best.
    requested = os.environ.get("MLPFAST_SIMD")
    active = PATHS[lib.mlpf_simd_active()]
    if requested in available_paths(lib):
        assert active == requested
    elif not requested:
        assert active == available_paths(lib)[-1]


def test_simd_path_names_the_path_the_kernels_run_on(lib, tmp_path):
    # The Python name agrees with the C choice in this process, and a forced
    # lower path shows in a fresh process (the choice is made once per process).
    assert mlpfast._kernels.simd_path() == PATHS[lib.mlpf_simd_active()]
    env = dict(os.environ, MLPFAST_SIMD="baseline")
    result = subprocess.run(
        [sys.executable, "-c", "import mlpfast._kernels as k; print(k.simd_path())"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "baseline"
