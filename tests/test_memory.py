"""The extension leaks no memory: RSS stays flat over 1,000 fit/predict cycles.

Runs in a fresh subprocess so that nothing else the test session does moves
the numbers.  Resident memory (/proc/self/statm) is read after cycle 200 and
after cycle 1,000, each time after gc.collect(); the first 200 cycles let
the allocators, numpy's and scikit-learn's caches and the BLAS buffers reach
their steady state.

Why 1 MiB of allowed growth over the last 800 cycles: a healthy process
still grows a little (pymalloc arenas and glibc's heap settling, page-granular
RSS): 150-170 KiB over those 800 cycles, measured on this machine.  Every
buffer a cycle allocates is large (the flat parameter vector is 12 KiB, the
training workspace about 200 KiB, each prediction 5-20 KiB), and a leak of
one such buffer per cycle grows RSS by about 800 * 12 KiB = 9.6 MiB
(measured: 9.9 MiB); the 1 MiB line catches any leak of more than about
1.3 KiB per cycle and leaves six times the measured noise as margin.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import AGAINST_SKLEARN

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="needs /proc/self/statm (Linux)")

CYCLES = 1000
WARMUP = 200
ALLOWED_GROWTH = 1024 * 1024

SCRIPT = textwrap.dedent("""
    import gc, json, os, sys, warnings
    import numpy as np
    import scipy.sparse as sp
    against_sklearn = sys.argv[1] == "1"
    if against_sklearn:
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    else:
        from mlpfast import MLPClassifier, MLPRegressor
    warnings.simplefilter("ignore")
    page = os.sysconf("SC_PAGE_SIZE")

    def rss():
        gc.collect()
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 20))
    y = np.argmax(X[:, :3], axis=1)
    y_reg = X[:, 0] - X[:, 1]
    X32 = X.astype(np.float32)
    X_sparse = sp.csr_matrix(np.where(np.abs(X) > 1, X, 0.0))

    def supported(call):
        try:
            call()
            return True
        except NotImplementedError:
            return False

    extras = {
        "lbfgs": supported(lambda: MLPRegressor(solver="lbfgs", hidden_layer_sizes=(4,),
                                                max_iter=2).fit(X, y_reg)),
        "sparse": supported(lambda: MLPClassifier(hidden_layer_sizes=(4,), max_iter=1)
                            .fit(X_sparse, y)),
        "sample_weight": supported(lambda: MLPClassifier(hidden_layer_sizes=(4,), max_iter=1)
                                   .fit(X, y, sample_weight=np.ones(len(y)))),
    }

    def cycle(i):
        clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=3, random_state=i,
                            solver=("adam", "sgd")[i % 2]).fit(X, y)
        clf.predict(X)
        clf.predict_proba(X[:50])
        clf.score(X, y)
        clf.partial_fit(X, y)
        reg = MLPRegressor(hidden_layer_sizes=(32, 8), max_iter=2, random_state=i,
                           early_stopping=bool(i % 3 == 0)).fit(X32, y_reg)
        reg.predict(X32)
        if extras["lbfgs"] and i % 4 == 0:
            MLPRegressor(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=5,
                         random_state=i).fit(X, y_reg).predict(X)
        if extras["sparse"] and i % 4 == 1:
            MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=i).fit(
                X_sparse, y).predict_proba(X_sparse)
        if extras["sample_weight"] and i % 4 == 2:
            MLPClassifier(hidden_layer_sizes=(16,), max_iter=2, random_state=i).fit(
                X, y, sample_weight=np.linspace(0.5, 2.0, len(y)))

    cycles, warmup = int(sys.argv[2]), int(sys.argv[3])
    for i in range(warmup):
        cycle(i)
    after_warmup = rss()
    for i in range(warmup, cycles):
        cycle(i)
    after_all = rss()
    print(json.dumps(dict(after_warmup=after_warmup, after_all=after_all, extras=extras)))
""")


def test_rss_flat_over_1000_fit_predict_cycles(tmp_path):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, "1" if AGAINST_SKLEARN else "0", str(CYCLES),
         str(WARMUP)],
        capture_output=True, text=True, timeout=300, env=env,
        cwd=tmp_path,  # not the repository root: import the installed mlpfast
    )
    assert result.returncode == 0, result.stderr[-3000:]
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    growth = numbers["after_all"] - numbers["after_warmup"]
    assert growth < ALLOWED_GROWTH, (
        f"RSS grew by {growth / 1024:.0f} KiB between cycle {WARMUP} and {CYCLES} "
        f"({numbers}): a leak of about {growth / (CYCLES - WARMUP):.0f} bytes per cycle")
