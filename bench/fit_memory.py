"""Peak memory of one fit, measured in a fresh process.

Run by ``compare.py`` as ``python bench/fit_memory.py WORKLOAD IMPL ROWS EPOCHS``;
prints one JSON object. The libraries are imported and the data generated
first; then the kernel's resident-set high-water mark is reset to the current
resident set (``/proc/self/clear_refs``, where the kernel allows it, so peaks
of data generation do not hide the fit's) and the peak is the high-water mark
after the fit minus the one before it.

On Linux the high-water mark is read as ``VmHWM`` from ``/proc/self/status``
rather than ``ru_maxrss``: a process started by ``subprocess`` reports, in
``ru_maxrss``, at least the resident set its parent had when it forked (the
kernel carries it through ``exec``), which hides the fit of a small workload
and cannot be reset. Elsewhere ``ru_maxrss`` is used.
"""

import gc
import json
import resource
import sys

from runners import load_implementations
from workloads import WORKLOADS


def high_water_mark_mib():
    """This process's resident-set high-water mark in MiB.

    ``VmHWM`` from ``/proc/self/status`` where it exists, else ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_rss_high_water_mark():
    """Reset the high-water mark to the current resident set.

    Returns
    -------
    bool
        False where the kernel does not allow it (the delta then includes
        nothing of the fit below the earlier peak).
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def fit_peak_mib(workload_name, implementation_name, n_rows, epochs):
    """Extra peak resident memory of one fit.

    Parameters
    ----------
    workload_name, implementation_name : str
    n_rows, epochs : int

    Returns
    -------
    dict
        ``peak_mib`` (the delta), ``baseline_mib`` and ``reset`` (whether the
        high-water mark could be reset).
    """
    (implementation,) = load_implementations([implementation_name])
    workload = WORKLOADS[workload_name]
    X, y = workload.make_data(n_rows)
    gc.collect()
    reset = reset_rss_high_water_mark()
    baseline = high_water_mark_mib()
    implementation.fit(workload, X, y, epochs)
    return {"peak_mib": high_water_mark_mib() - baseline, "baseline_mib": baseline, "reset": reset}


if __name__ == "__main__":
    workload_arg, implementation_arg, rows_arg, epochs_arg = sys.argv[1:]
    result = fit_peak_mib(workload_arg, implementation_arg, int(rows_arg), int(epochs_arg))
    print(json.dumps(result))
