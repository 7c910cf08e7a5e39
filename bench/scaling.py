"""Speed against cores: mlpfast, scikit-learn and PyTorch on 1, 2, 4, ... cores.

Run from anywhere (the repository root is the usual place)::

    python bench/scaling.py --quick --only digits
    python bench/scaling.py --max-cores 16 --json scaling.json

For every core count k (1, 2, 4, ... up to the cores this process may use,
and that count itself when it is not a power of two) a child process trains
the workloads of ``workloads.py`` pinned to k cores (``taskset -c``; where
taskset is missing, the child pins itself with ``os.sched_setaffinity``),
with every thread pool set to k: ``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``MLPFAST_NUM_THREADS`` (mlpfast's
k-part training; code without it ignores it) and ``torch.set_num_threads``.

The table gives, per workload and implementation, the seconds per epoch at
each k (the median of all repeats) with the speed-up over k = 1 in
brackets, and the same for the workload's GEMM-only floor (``gemm_floor.py``:
the epoch's products alone, on BLAS with k threads). Repeats are interleaved
twice over: each round runs, workload by workload, the child of every k in
turn, and each child runs its repeats as ``compare.py`` does (repeat r:
every implementation, then the floor), after one untimed warm-up fit each
(thread pools start, mlpfast times its thread choices).

Linux only in full: elsewhere a process cannot be pinned to cores, so the
children run with k threads on all cores, and the report says so.
"""

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import numpy as np  # noqa: E402
from compare import (  # noqa: E402
    blas_summary,
    cpu_model,
    log,
    mlpfast_simd_path,
    time_fits,
    vector_extensions,
)
from gemm_floor import epoch_gemms  # noqa: E402
from runners import IMPLEMENTATION_NAMES, load_implementations  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402
from workloads import (  # noqa: E402
    add_selection_arguments,
    effective_batch_size,
    layer_units,
    select_workloads,
)

# Several short rounds rather than one long one: on a shared machine the
# load changes within minutes, and a change between a workload's 1-core and
# 2-core children showed as speed-ups of 0.1x and 3.6x in one quick run
# with a single round.
SETTINGS = {
    "full": dict(rounds=4, repeats=2),
    "quick": dict(rounds=2, repeats=2),
}
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "MLPFAST_NUM_THREADS")
CHILD_TIMEOUT_S = 3600


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
    add_selection_arguments(parser, "fewer rows, epochs and rounds")
    parser.add_argument("--max-cores", type=int, help="largest core count to run (default: all)")
    parser.add_argument(
        "--json", type=Path, default=BENCH_DIR / "scaling.json", help="output JSON file"
    )
    # The child's side: one core count, its cores, and what to run.
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cpus", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def available_cpus():
    """The CPU ids this process may run on, in order (all, where unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def core_counts(n_cores):
    """1, 2, 4, ... up to ``n_cores``, and ``n_cores`` itself.

    Parameters
    ----------
    n_cores : int

    Returns
    -------
    list of int
    """
    counts = [1]
    while counts[-1] * 2 <= n_cores:
        counts.append(counts[-1] * 2)
    if counts[-1] != n_cores:
        counts.append(n_cores)
    return counts


def pinning_method():
    """How children are pinned: "taskset", "sched_setaffinity" or None (cannot)."""
    if shutil.which("taskset"):
        return "taskset"
    if hasattr(os, "sched_setaffinity"):
        return "sched_setaffinity"
    return None


def child_environment(threads):
    """This process's environment with every thread pool set to ``threads``."""
    return dict(os.environ, **{name: str(threads) for name in THREAD_VARIABLES})


def run_child(threads, cpus, workloads, mode, repeats):
    """Time the workloads in a child pinned to ``cpus`` with ``threads`` threads.

    Parameters
    ----------
    threads : int
    cpus : list of int
        The first ``threads`` usable CPU ids.
    workloads : list of workloads.Workload
    mode : {"full", "quick"}
    repeats : int

    Returns
    -------
    dict
        The child's report (see :func:`child_main`).
    """
    cpu_list = ",".join(map(str, cpus))
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(threads),
               "--cpus", cpu_list, "--repeats", str(repeats),
               "--only", ",".join(workload.name for workload in workloads)]
    if mode == "quick":
        command.append("--quick")
    if pinning_method() == "taskset":
        command = ["taskset", "-c", cpu_list] + command
    child = subprocess.run(command, env=child_environment(threads), stdout=subprocess.PIPE,
                           text=True, timeout=CHILD_TIMEOUT_S)
    if child.returncode != 0:
        raise RuntimeError(f"the child for {threads} cores failed (exit {child.returncode})")
    return json.loads(child.stdout.strip().splitlines()[-1])


def pin_this_process(cpus):
    """Pin to ``cpus`` unless already there (taskset did it); False if impossible."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    if set(os.sched_getaffinity(0)) != set(cpus):
        os.sched_setaffinity(0, cpus)
    return True


def child_main(args):
    """Child process: time each workload at ``args.child`` threads; JSON on stdout.

    The report holds the BLAS libraries as the child sees them and
    mlpfast's SIMD path, and per workload, each implementation's status,
    note and seconds per epoch of every repeat, and the GEMM floor's median.
    """
    threads = args.child
    pinned = pin_this_process([int(cpu) for cpu in args.cpus.split(",")])
    mode = "quick" if args.quick else "full"
    implementations = load_implementations(IMPLEMENTATION_NAMES)
    if any(impl.name == "torch" and impl.fit for impl in implementations):
        import torch

        torch.set_num_threads(threads)
    report = {
        "threads": threads,
        "pinned": pinned,
        "blas": blas_summary({"threadpoolctl": threadpool_info()}),
        "simd_path": mlpfast_simd_path(),
        "workloads": {},
    }
    for workload in args.only:
        n_rows, epochs = workload.rows.pick(mode), workload.epochs.pick(mode)
        X, y = workload.make_data(n_rows)
        floor_epoch = epoch_gemms(
            n_rows, effective_batch_size(workload, n_rows), layer_units(workload, X, y), X.dtype
        )
        # Untimed: thread pools start and mlpfast times its thread choices.
        for impl in implementations:
            if impl.fit is not None:
                try:
                    impl.fit(workload, X, y, max(1, epochs // 3))
                except Exception:  # time_fits records the failure of the timed fits
                    pass
        log(f"[{threads} cores] {workload.name}: {n_rows} rows, {epochs} epochs")
        results, _, floor_s = time_fits(
            implementations, workload, X, y, epochs, args.repeats, floor_epoch
        )
        report["workloads"][workload.name] = {
            "results": {
                name: {key: result.get(key) for key in ("status", "note", "epoch_seconds")}
                for name, result in results.items()
            },
            "floor_s": floor_s,
        }
    print(json.dumps(report))


def measure(workloads, mode, counts, cpus, rounds, repeats):
    """Seconds per epoch of every implementation and the floor at each core count.

    Parameters
    ----------
    workloads : list of workloads.Workload
    mode : {"full", "quick"}
    counts : list of int
        Core counts; count k runs on ``cpus[:k]``.
    cpus : list of int
    rounds, repeats : int
        Each round runs one child per workload and count, each child
        ``repeats`` repeats.

    Returns
    -------
    timings : dict
        ``{workload: {implementation or "gemm floor": {k: record}}}``; a record
        holds ``s_per_epoch`` (median over all repeats and rounds),
        ``s_per_epoch_min`` (the fastest), ``status`` and ``note``.
    libraries : dict
        The last child's ``blas`` and ``simd_path`` (see :func:`child_main`).
    """
    samples = {workload.name: {} for workload in workloads}
    for round_index in range(1, rounds + 1):
        for workload, threads in itertools.product(workloads, counts):
            log(f"round {round_index}/{rounds}: {workload.name} on {threads} cores")
            report = run_child(threads, cpus[:threads], [workload], mode, repeats)
            libraries = {key: report[key] for key in ("blas", "simd_path")}
            for name, record in report["workloads"].items():
                for impl, result in record["results"].items():
                    entry = samples[name].setdefault(impl, {}).setdefault(
                        threads, {"status": "ok", "note": "", "times": []})
                    if result["status"] != "ok":
                        entry.update(status=result["status"], note=result["note"])
                    entry["times"] += result["epoch_seconds"] or []
                floor = samples[name].setdefault("gemm floor", {}).setdefault(
                    threads, {"status": "ok", "note": "", "times": []})
                floor["times"].append(record["floor_s"])
    timings = {
        name: {
            impl: {
                threads: {
                    "status": entry["status"],
                    "note": entry["note"],
                    **summary_seconds(entry),
                }
                for threads, entry in by_count.items()
            }
            for impl, by_count in by_impl.items()
        }
        for name, by_impl in samples.items()
    }
    return timings, libraries


def summary_seconds(entry):
    """Median and fastest of an entry's times; None for both when not all ok."""
    if entry["status"] != "ok" or not entry["times"]:
        return {"s_per_epoch": None, "s_per_epoch_min": None}
    return {
        "s_per_epoch": float(np.median(entry["times"])),
        "s_per_epoch_min": float(np.min(entry["times"])),
    }


def table_cell(record, one_core):
    """``"s/epoch (speed-up)"``, or the status when there is no time."""
    seconds = record["s_per_epoch"]
    if seconds is None:
        return record["status"]
    base = one_core["s_per_epoch"]
    return f"{seconds:.4g} ({base / seconds:.2f}x)" if base else f"{seconds:.4g}"


def format_table(timings, counts):
    """Aligned text table: a row per workload and implementation, a column per k.

    Parameters
    ----------
    timings : dict
        What :func:`measure` returns.
    counts : list of int

    Returns
    -------
    str
    """
    headers = ["workload", "impl"] + [f"k={k}: s/epoch (x k=1)" for k in counts]
    rows = [
        [name, impl] + [table_cell(by_count[k], by_count[counts[0]]) for k in counts]
        for name, by_impl in timings.items()
        for impl, by_count in by_impl.items()
    ]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return "  ".join(
            f"{cell:<{width}}" if index < 2 else f"{cell:>{width}}"
            for index, (cell, width) in enumerate(zip(cells, widths))
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def header_lines(mode, counts, n_cpus, method, libraries):
    """Lines describing the machine and run, printed above the table."""
    lines = [
        f"mode: {mode}; CPU: {cpu_model()}, {n_cpus} usable cores; core counts run: "
        + ", ".join(map(str, counts)),
        "vector extensions: " + (" ".join(vector_extensions()) or "unknown"),
        f"mlpfast SIMD path: {libraries['simd_path']}",
        *(f"BLAS (at k={counts[-1]}): {summary}" for summary in libraries["blas"]),
        "pinning: " + (method or f"none: {platform.system()} cannot pin a process to cores, "
                       "so each count k ran k threads on all cores"),
        "threads per count k: " + ", ".join(THREAD_VARIABLES) + " = k, torch.set_num_threads(k)",
        "cells: median s/epoch over all repeats (speed-up over 1 core); 'gemm floor': the "
        "epoch's GEMMs alone on BLAS with k threads",
    ]
    if os.environ.get("MLPFAST_NUM_THREADS"):
        lines.append("note: MLPFAST_NUM_THREADS in this environment is replaced by k")
    return lines


def main(argv=None):
    """Run every core count, print the table and write the JSON file."""
    args = parse_args(argv)
    if args.child is not None:
        child_main(args)
        return
    mode = "quick" if args.quick else "full"
    workloads = args.only or select_workloads()
    cpus = available_cpus()
    if args.max_cores:
        cpus = cpus[: args.max_cores]
    counts = core_counts(len(cpus))
    method = pinning_method()
    start = time.perf_counter()
    timings, libraries = measure(workloads, mode, counts, cpus, SETTINGS[mode]["rounds"],
                                 args.repeats or SETTINGS[mode]["repeats"])
    lines = header_lines(mode, counts, len(cpus), method, libraries)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(
        {"mode": mode, "header": lines, "counts": counts, "timings": timings,
         "elapsed_s": time.perf_counter() - start}, indent=2))
    print("\n".join(lines))
    print()
    print(format_table(timings, counts))
    notes = [f"{name} / {impl} at {k} cores: {record['note']}"
             for name, by_impl in timings.items() for impl, by_count in by_impl.items()
             for k, record in by_count.items() if record["note"]]
    if notes:
        print()
        print("\n".join(notes))
    log(f"done in {time.perf_counter() - start:.0f} s; results written to {args.json}")


if __name__ == "__main__":
    main()
