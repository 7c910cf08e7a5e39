"""Compare MLP training and prediction speed: mlpfast, scikit-learn and PyTorch.

Run from anywhere (the repository root is the usual place)::

    python bench/compare.py                 # full run
    python bench/compare.py --quick         # a few minutes
    python bench/compare.py --only digits,wide32 --markdown

For every workload of ``workloads.py`` it reports, per implementation:

* ``s/epoch``: median over repeats of fit time / epochs run (L-BFGS: per
  iteration). Repeats are interleaved (repeat r: mlpfast, sklearn, torch) in
  one process, so slow drifts of a shared machine hit all alike;
* ``x sklearn``, ``x torch``: that time's speed-up over scikit-learn's and
  PyTorch's (reference time / this time);
* ``GFLOP/s``: the epoch's GEMM work (:func:`workloads.training_flops_per_epoch`;
  L-BFGS: one function evaluation per iteration, a lower bound) per second;
* ``% peak``: that as a share of this machine's large square sgemm/dgemm rate;
* ``% floor``: GEMM-only floor time / epoch time, for every implementation
  and the floor row itself (100 %): the floor is the same GEMMs alone on
  this BLAS and thread count (``gemm_floor.py``), so 100 % means all of the
  epoch is BLAS products and the rest is time spent around them;
* ``fit MiB``: extra peak resident memory of a fit in a fresh process
  (``fit_memory.py``);
* ``predict 1 us``, ``predict 10k ms``: median time of ``predict`` on one row
  and on 10,000 rows.

The header names the CPU, its vector extensions, the SIMD path mlpfast's
element-wise kernels run on, each BLAS library (version, kernel
architecture, threads), the threads of each implementation and the cores
this process may use.

Implementations that cannot be imported (mlpfast before it is built, torch
when not installed) and fits that raise ``NotImplementedError`` show as n/a.
Results also go to a JSON file with machine and library information.
"""

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from functools import partial
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import numpy as np  # noqa: E402
from gemm_floor import epoch_gemms, gemm_peak_gflops  # noqa: E402
from runners import (  # noqa: E402
    IMPLEMENTATION_NAMES,
    import_mlpfast,
    load_implementations,
    usable_cores,
)
from threadpoolctl import threadpool_info  # noqa: E402
from workloads import (  # noqa: E402
    add_selection_arguments,
    effective_batch_size,
    layer_units,
    rows_for_prediction,
    select_workloads,
    training_flops_per_epoch,
)

SETTINGS = {
    "full": dict(repeats=5, peak_repeats=7, predict_budget_s=1.0),
    "quick": dict(repeats=3, peak_repeats=3, predict_budget_s=0.25),
}
PREDICT_ROWS = 10_000
BUSY_LOAD_AVERAGE = 1.0
FLOOR_BUDGET_S = 0.1
# Pause before each timed fit (see record_timed_fit).
SETTLE_SECONDS = 0.2
MEMORY_EPOCHS = 1
MEMORY_TIMEOUT_S = 900
ENV_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MLPFAST_NUM_THREADS",
    "MLPFAST_SIMD",
)
FLOOR_SHARE_MEANING = (
    "% floor = GEMM-only floor time / epoch time (the same GEMMs alone on this BLAS "
    "and thread count; 100 = all BLAS)"
)
# /proc/cpuinfo flag -> the name people know, in the order they came to
# be; the x86 "flags" line and the Arm "Features" line both list them.
VECTOR_EXTENSIONS = (
    ("sse4_2", "SSE4.2"),
    ("avx", "AVX"),
    ("avx2", "AVX2"),
    ("fma", "FMA"),
    ("avx512f", "AVX-512F"),
    ("avx512cd", "AVX-512CD"),
    ("avx512bw", "AVX-512BW"),
    ("avx512dq", "AVX-512DQ"),
    ("avx512vl", "AVX-512VL"),
    ("avx512_vnni", "AVX-512VNNI"),
    ("avx512_bf16", "AVX-512BF16"),
    ("avx512_fp16", "AVX-512FP16"),
    ("amx_tile", "AMX"),
    ("asimd", "NEON"),
    ("asimdhp", "NEON-FP16"),
    ("sve", "SVE"),
    ("sve2", "SVE2"),
)
COLUMNS = (
    ("workload", "<"),
    ("impl", "<"),
    ("s/epoch", ">"),
    ("x sklearn", ">"),
    ("x torch", ">"),
    ("GFLOP/s", ">"),
    ("% peak", ">"),
    ("% floor", ">"),
    ("fit MiB", ">"),
    ("predict 1 us", ">"),
    ("predict 10k ms", ">"),
)


def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str or None

    Returns
    -------
    argparse.Namespace
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_selection_arguments(parser, "fewer rows, epochs and repeats")
    parser.add_argument(
        "--json", type=Path, default=BENCH_DIR / "results.json", help="output JSON file"
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return parser.parse_args(argv)


def log(message):
    """Print a progress line to stderr."""
    print(message, file=sys.stderr, flush=True)


def cpu_model():
    """The CPU model name from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpuinfo_flags():
    """The CPU's feature flags from /proc/cpuinfo (Linux), or an empty set."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


def sysctl_flags():
    """The CPU's feature flags on macOS, lower case, or an empty set elsewhere."""
    if platform.system() != "Darwin":
        return set()
    try:
        features = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except OSError:
        return set()
    # sysctl spells them "AVX2", "AVX512F"; /proc/cpuinfo "avx2", "avx512f".
    return {flag.lower().replace(".", "_") for flag in features.split()}


def vector_extensions():
    """The CPU's vector instruction-set extensions, e.g. ``["SSE4.2", "AVX2"]``.

    Read from /proc/cpuinfo on Linux and from sysctl on Intel Macs; 64-bit
    Arm always has NEON. Elsewhere (Windows) the list is empty.

    Returns
    -------
    list of str
    """
    flags = cpuinfo_flags() or sysctl_flags()
    if platform.machine().lower() in ("arm64", "aarch64"):
        flags.add("asimd")
    return [name for flag, name in VECTOR_EXTENSIONS if flag in flags]


def mlpfast_simd_path():
    """The SIMD path mlpfast's kernels run on, or why it is unknown."""
    try:
        return import_mlpfast()._kernels.simd_path()
    except Exception as exc:  # unbuilt, or built before simd_path existed
        return f"unknown ({exc.__class__.__name__})"


def implementation_threads(implementations):
    """Threads each implementation trains with, as far as can be told here.

    mlpfast's is ``MLPFAST_NUM_THREADS`` when set, else its default (the
    usable cores); scikit-learn's are its BLAS threads; PyTorch's its intra-op
    threads.

    Returns
    -------
    dict of str to int or str
    """
    loaded = {impl.name for impl in implementations if impl.fit is not None}
    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    threads = {
        "mlpfast": os.environ.get("MLPFAST_NUM_THREADS") or f"default ({usable_cores()})",
        "sklearn": max(blas, default="?"),
    }
    if "torch" in loaded:
        import torch

        threads["torch"] = torch.get_num_threads()
    return {name: value for name, value in threads.items() if name in loaded}


def installed_version(distribution):
    """Installed version of a distribution, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def collect_machine_info(implementations):
    """Machine, library and BLAS information for the report.

    Call it after the implementations are loaded so that threadpoolctl sees
    every BLAS and OpenMP library in the process.

    Parameters
    ----------
    implementations : list of runners.Implementation

    Returns
    -------
    dict
    """
    distributions = ("numpy", "scipy", "scikit-learn", "torch", "threadpoolctl")
    return {
        "cpu_model": cpu_model(),
        "vector_extensions": vector_extensions(),
        "mlpfast_simd_path": mlpfast_simd_path(),
        "threads": implementation_threads(implementations),
        "nproc": os.cpu_count(),
        "usable_cores": usable_cores(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: installed_version(name) for name in distributions},
        "implementations": {
            impl.name: {
                "version": impl.version,
                "origin": impl.origin,
                "unavailable": impl.unavailable,
            }
            for impl in implementations
        },
        "environment": {name: os.environ.get(name) for name in ENV_VARIABLES},
        "load_average_at_start": os.getloadavg(),
        "threadpoolctl": threadpool_info(),
    }


def measure_gemm_peaks(repeats):
    """Large square sgemm and dgemm rates in GFLOP/s, keyed by dtype name."""
    return {
        name: gemm_peak_gflops(np.dtype(name), repeats=repeats) for name in ("float32", "float64")
    }


def seconds_of_call(function):
    """Wall time of one call of ``function()``."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def call_times_within(function, budget_s):
    """Times of repeated calls of ``function()`` for ``budget_s`` (one call at least)."""
    times = []
    deadline = time.perf_counter() + budget_s
    while not times or time.perf_counter() < deadline:
        times.append(seconds_of_call(function))
    return times


def new_result(implementation):
    """An empty result record: "ok" so far, or "n/a" when not importable."""
    if implementation.fit is None:
        return {"status": "n/a", "note": implementation.unavailable}
    return {"status": "ok", "note": "", "epoch_seconds": []}


def record_timed_fit(implementation, workload, X, y, epochs, result):
    """Fit once and append the seconds per epoch to ``result``.

    Returns
    -------
    fitted : object or None
        None after marking ``result`` "n/a" (``NotImplementedError``) or
        "error" (any other exception: a broken engine should not stop the
        benchmark of the others).
    """
    gc.collect()
    # Every library's fit starts on a quiet machine: after its last call,
    # OpenBLAS (or an OpenMP runtime) keeps idle threads spinning for a while,
    # and a fit started then shares a core with them.
    time.sleep(SETTLE_SECONDS)
    try:
        start = time.perf_counter()
        fitted = implementation.fit(workload, X, y, epochs)
        seconds = time.perf_counter() - start
    except NotImplementedError as exc:
        result.update(status="n/a", note=f"NotImplementedError: {exc}")
        return None
    except Exception as exc:
        result.update(status="error", note=repr(exc))
        return None
    result["epoch_seconds"].append(seconds / fitted.n_iter_)
    result.update(n_iter=int(fitted.n_iter_), final_loss=float(fitted.loss_))
    return fitted


def time_fits(implementations, workload, X, y, epochs, repeats, floor_epoch):
    """Interleaved timed fits: repeat r runs every implementation, then the floor.

    Parameters
    ----------
    implementations : list of runners.Implementation
    workload : workloads.Workload
    X, y : ndarray
    epochs, repeats : int
    floor_epoch : callable
        Runs the GEMMs alone of one epoch (:func:`gemm_floor.epoch_gemms`);
        each repeat times it for ``FLOOR_BUDGET_S`` (one call at least).

    Returns
    -------
    results : dict
        Per implementation name: a record with ``status`` ("ok", "n/a" or
        "error"), ``note`` and, when ok, ``epoch_seconds`` per repeat.
    fitted : dict
        The last fitted model of each implementation whose fits all succeeded.
    floor_s : float
        Median time of ``floor_epoch`` over all its calls.
    """
    results = {impl.name: new_result(impl) for impl in implementations}
    fitted, floor_times = {}, []
    floor_epoch()
    for repeat in range(1, repeats + 1):
        for impl in implementations:
            result = results[impl.name]
            if result["status"] != "ok":
                continue
            fitted[impl.name] = record_timed_fit(impl, workload, X, y, epochs, result)
            if result["status"] == "ok":
                log(
                    f"  [{workload.name}] repeat {repeat}/{repeats} {impl.name}: "
                    f"{result['epoch_seconds'][-1]:.4g} s/epoch"
                )
        floor_times += call_times_within(floor_epoch, FLOOR_BUDGET_S)
    fitted = {name: model for name, model in fitted.items() if results[name]["status"] == "ok"}
    return results, fitted, float(np.median(floor_times))


def interleaved_median_seconds(functions, budget_s, rounds=5):
    """Median call time of each function, calls interleaved in rounds.

    Each of ``rounds`` rounds gives every function ``budget_s / rounds`` of
    calls in turn, so a change of load on a shared machine hits all alike.

    Parameters
    ----------
    functions : dict of str to callable
    budget_s : float
        Time per function over all rounds (after one warm-up call).
    rounds : int

    Returns
    -------
    dict of str to float
    """
    times = {name: [] for name in functions}
    for function in functions.values():
        function()
    for _ in range(rounds):
        for name, function in functions.items():
            times[name] += call_times_within(function, budget_s / rounds)
    return {name: float(np.median(samples)) for name, samples in times.items()}


def time_predictions(models, X, budget_s):
    """Median predict time on one row (µs) and on 10,000 rows (ms) per model.

    Parameters
    ----------
    models : dict of str to fitted object with ``predict``
    X : ndarray
        Training data; rows are reused cyclically for the 10,000-row batch.
    budget_s : float
        Time per model and batch size.

    Returns
    -------
    dict of str to dict
        ``predict_1_row_us`` and ``predict_10k_rows_ms`` per model name.
    """
    batches = (
        ("predict_1_row_us", np.ascontiguousarray(X[:1]), 1e6),
        ("predict_10k_rows_ms", rows_for_prediction(X, PREDICT_ROWS), 1e3),
    )
    timings = {name: {} for name in models}
    for key, rows, scale in batches:
        calls = {name: partial(model.predict, rows) for name, model in models.items()}
        for name, seconds in interleaved_median_seconds(calls, budget_s).items():
            timings[name][key] = scale * seconds
    return timings


def measure_fit_memory(workload, implementation_name, n_rows):
    """Extra peak memory (MiB) of one fit, run in a fresh subprocess.

    Returns
    -------
    peak_mib : float or None
        None when the child failed.
    note : str
        The child's error output, or "".
    """
    command = [
        sys.executable,
        str(BENCH_DIR / "fit_memory.py"),
        workload.name,
        implementation_name,
        str(n_rows),
        str(MEMORY_EPOCHS),
    ]
    child = subprocess.run(command, capture_output=True, text=True, timeout=MEMORY_TIMEOUT_S)
    if child.returncode != 0:
        return None, (child.stderr.strip().splitlines() or ["no output"])[-1]
    return json.loads(child.stdout.strip().splitlines()[-1])["peak_mib"], ""


def speedup(reference, result):
    """``reference`` time over ``result`` time, or None when either is missing."""
    if reference.get("s_per_epoch") and result.get("s_per_epoch"):
        return reference["s_per_epoch"] / result["s_per_epoch"]
    return None


def add_derived_numbers(results, flops, floor_s, peak_gflops):
    """Fill in medians, speed-ups, GFLOP/s and shares of peak and floor.

    Parameters
    ----------
    results : dict
        Per implementation records from :func:`time_fits`, updated in place.
    flops : int
        GEMM work of one epoch.
    floor_s : float
        GEMM-only floor of one epoch.
    peak_gflops : float
        GEMM peak for the workload's dtype.
    """
    for result in results.values():
        if result["status"] == "ok":
            result["s_per_epoch"] = float(np.median(result["epoch_seconds"]))
            result["s_per_epoch_min"] = float(np.min(result["epoch_seconds"]))
    for result in results.values():
        if result["status"] != "ok":
            continue
        gflops = flops / result["s_per_epoch"] / 1e9
        result.update(
            speedup_vs_sklearn=speedup(results.get("sklearn", {}), result),
            speedup_vs_torch=speedup(results.get("torch", {}), result),
            gflops=gflops,
            pct_of_peak=100 * gflops / peak_gflops,
            pct_of_floor=100 * floor_s / result["s_per_epoch"],
        )


def benchmark_workload(workload, implementations, mode, peaks):
    """Run every measurement of one workload.

    Parameters
    ----------
    workload : workloads.Workload
    implementations : list of runners.Implementation
    mode : {"full", "quick"}
    peaks : dict
        GEMM peak GFLOP/s per dtype name.

    Returns
    -------
    dict
        The workload's JSON record.
    """
    settings = SETTINGS[mode]
    n_rows, epochs = workload.rows.pick(mode), workload.epochs.pick(mode)
    X, y = workload.make_data(n_rows)
    units = layer_units(workload, X, y)
    batch_size = effective_batch_size(workload, n_rows)
    flops = training_flops_per_epoch(units, n_rows)
    log(f"[{workload.name}] {workload.description}: {n_rows} rows, {epochs} epochs")

    floor_epoch = epoch_gemms(n_rows, batch_size, units, X.dtype)
    results, fitted, floor_s = time_fits(
        implementations, workload, X, y, epochs, settings["repeats"], floor_epoch
    )
    for name, timings in time_predictions(fitted, X, settings["predict_budget_s"]).items():
        results[name].update(timings)
    for name in fitted:
        results[name]["fit_peak_mib"], memory_note = measure_fit_memory(workload, name, n_rows)
        if memory_note:
            results[name]["note"] = f"memory child failed: {memory_note}"
    add_derived_numbers(results, flops, floor_s, peaks[X.dtype.name])
    return {
        "name": workload.name,
        "description": workload.description,
        "dtype": X.dtype.name,
        "n_rows": n_rows,
        "epochs": epochs,
        "batch_size": batch_size,
        "layer_units": units,
        "params": dict(workload.params),
        "flops_per_epoch": flops,
        "gemm_floor": {
            "s_per_epoch": floor_s,
            "gflops": flops / floor_s / 1e9,
            "pct_of_peak": 100 * flops / floor_s / 1e9 / peaks[X.dtype.name],
        },
        "results": results,
    }


def formatted(value, spec, suffix=""):
    """``value`` formatted with ``spec``, or "-" when it is None."""
    return "-" if value is None else f"{value:{spec}}{suffix}"


def implementation_row(workload_name, name, result):
    """Table cells of one implementation's results."""
    if result["status"] != "ok":
        return [workload_name, name, result["status"]] + ["-"] * (len(COLUMNS) - 3)
    return [
        workload_name,
        name,
        formatted(result["s_per_epoch"], ".4g"),
        formatted(result["speedup_vs_sklearn"], ".2f", "x"),
        formatted(result["speedup_vs_torch"], ".2f", "x"),
        formatted(result["gflops"], ".1f"),
        formatted(result["pct_of_peak"], ".1f"),
        formatted(result["pct_of_floor"], ".1f"),
        formatted(result.get("fit_peak_mib"), ".1f"),
        formatted(result.get("predict_1_row_us"), ".0f"),
        formatted(result.get("predict_10k_rows_ms"), ".2f"),
    ]


def floor_row(record):
    """Table cells of a workload's GEMM-only floor."""
    floor = record["gemm_floor"]
    return (
        [record["name"], "gemm floor", formatted(floor["s_per_epoch"], ".4g"), "-", "-"]
        + [formatted(floor["gflops"], ".1f"), formatted(floor["pct_of_peak"], ".1f"), "100.0"]
        + ["-"] * 3
    )


def table_rows(records):
    """All table rows: each workload's implementations, then its GEMM floor."""
    rows = []
    for record in records:
        for name, result in record["results"].items():
            rows.append(implementation_row(record["name"], name, result))
        rows.append(floor_row(record))
    return rows


def format_table(rows, markdown):
    """Aligned text table; with ``markdown``, a GitHub-flavoured Markdown table.

    Parameters
    ----------
    rows : list of list of str
    markdown : bool

    Returns
    -------
    str
    """
    headers = [title for title, _ in COLUMNS]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        aligned = [
            f"{cell:{align}{width}}" for cell, (_, align), width in zip(cells, COLUMNS, widths)
        ]
        return f"| {' | '.join(aligned)} |" if markdown else "  ".join(aligned)

    if markdown:
        rule = (
            "|"
            + "|".join(
                "-" * (width + 1) + (":" if align == ">" else "-")
                for (_, align), width in zip(COLUMNS, widths)
            )
            + "|"
        )
    else:
        rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def blas_summary(machine):
    """One line per BLAS library loaded: name, version, kernel and threads."""
    return [
        f"{lib['internal_api']} {lib.get('version')} kernel={lib.get('architecture')} "
        f"threads={lib['num_threads']} ({Path(lib['filepath']).name})"
        for lib in machine["threadpoolctl"]
        if lib["user_api"] == "blas"
    ]


def header_lines(machine, peaks, mode):
    """Lines describing the machine and run, printed above the table."""
    implementations = machine["implementations"]
    lines = [
        f"mode: {mode}; CPU: {machine['cpu_model']}, {machine['usable_cores']} usable cores "
        f"of {machine['nproc']}, load average at start {machine['load_average_at_start'][0]:.2f}",
        "vector extensions: " + (" ".join(machine["vector_extensions"]) or "unknown"),
        f"mlpfast SIMD path: {machine['mlpfast_simd_path']}",
        "threads: " + ", ".join(f"{name} {count}" for name, count in machine["threads"].items()),
        f"GEMM peak (2048^3): sgemm {peaks['float32']:.1f} GFLOP/s, "
        f"dgemm {peaks['float64']:.1f} GFLOP/s",
        "environment: "
        + (", ".join(f"{k}={v}" for k, v in machine["environment"].items() if v) or "none set"),
    ]
    if machine["load_average_at_start"][0] >= BUSY_LOAD_AVERAGE:
        lines.append("warning: other processes were using the cores at start: timings are noisy")
    lines += [f"BLAS: {summary}" for summary in blas_summary(machine)] or ["BLAS: none found"]
    lines.append(FLOOR_SHARE_MEANING)
    lines += [
        f"{name}: {info['version']} from {info['origin']}"
        if not info["unavailable"]
        else f"{name}: {info['unavailable']}"
        for name, info in implementations.items()
    ]
    return lines


def footnotes(records, machine):
    """Notes on n/a, failed or partial results, one per workload and implementation.

    An implementation that could not be imported is said once, in the header.
    """
    implementations = machine["implementations"]
    return [
        f"{record['name']} / {name}: {result['note']}"
        for record in records
        for name, result in record["results"].items()
        if result.get("note") and result["note"] != implementations[name]["unavailable"]
    ]


def print_report(machine, peaks, mode, records, markdown):
    """Print the header, the table and the footnotes to stdout."""
    bullet = "- " if markdown else ""
    for text in header_lines(machine, peaks, mode):
        print(bullet + text)
    print()
    print(format_table(table_rows(records), markdown))
    notes = footnotes(records, machine)
    if notes:
        print()
        for text in notes:
            print(bullet + text)


def main(argv=None):
    """Run the comparison and write the report and the JSON file."""
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    workloads = args.only or select_workloads()
    start = time.perf_counter()
    implementations = load_implementations(IMPLEMENTATION_NAMES)
    machine = collect_machine_info(implementations)
    log("measuring GEMM peaks")
    peaks = measure_gemm_peaks(SETTINGS[mode]["peak_repeats"])
    records = [benchmark_workload(workload, implementations, mode, peaks) for workload in workloads]
    elapsed = time.perf_counter() - start
    report = {
        "mode": mode,
        "settings": SETTINGS[mode],
        "elapsed_s": elapsed,
        "machine": machine,
        "gemm_peak_gflops": peaks,
        "floor_share_meaning": FLOOR_SHARE_MEANING,
        "workloads": records,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str))
    print_report(machine, peaks, mode, records, args.markdown)
    log(f"done in {elapsed:.0f} s; results written to {args.json}")


if __name__ == "__main__":
    main()
