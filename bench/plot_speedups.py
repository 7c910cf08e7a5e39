"""Bar chart of a ``bench/compare.py`` results table: speed against scikit-learn.

Reads the Markdown table that ``python bench/compare.py --markdown`` prints,
as kept on the documentation's Benchmarks page (``docs/benchmarks.md``, the
default) or in the README, and draws for each workload the speed of mlpfast,
PyTorch and the GEMM floor relative to scikit-learn's: scikit-learn's time per
epoch divided by each one's. The documentation build runs it, so the chart is
always that of the table beside it::

    python bench/plot_speedups.py [--table docs/benchmarks.md] [--out speedups.png]

Needs matplotlib (the ``plot`` extra).
"""
import argparse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The columns of compare.py's table that the chart reads.
WORKLOAD, IMPLEMENTATION, SECONDS = "workload", "impl", "s/epoch"
REFERENCE = "sklearn"
# Drawn left to right in each group, with their legend labels.
BARS = {"mlpfast": "mlpfast", "torch": "PyTorch (CPU)", "gemm floor": "matrix products alone"}


def read_table(text):
    """Seconds per epoch by workload and implementation, from a Markdown table.

    Parameters
    ----------
    text : str
        Markdown holding a compare.py results table; other lines are ignored.

    Returns
    -------
    dict of str to dict of str to float
        ``{workload: {implementation: seconds}}`` in the table's order;
        implementations without a time (``n/a``) are left out.

    Raises
    ------
    ValueError
        If the text has no compare.py table.
    """
    columns = None
    times = {}
    for line in text.splitlines():
        if not line.startswith("|"):
            columns = None  # a table ends at its first line that is not a row
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if {WORKLOAD, IMPLEMENTATION, SECONDS} <= set(cells):
            columns = {name: index for index, name in enumerate(cells)}
            continue
        if columns is None or set("".join(cells)) <= set("-: "):
            continue  # another table, or the header's rule
        try:
            seconds = float(cells[columns[SECONDS]])
        except ValueError:
            continue
        times.setdefault(cells[columns[WORKLOAD]], {})[cells[columns[IMPLEMENTATION]]] = seconds
    if not times:
        raise ValueError(f"no table with the columns {WORKLOAD!r}, {IMPLEMENTATION!r} and "
                         f"{SECONDS!r} (bench/compare.py --markdown)")
    return times


def draw(times, path):
    """Save the grouped bar chart of ``times`` (from ``read_table``) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # a file only, whatever the session's backend
    import matplotlib.pyplot as plt

    workloads = [name for name, row in times.items() if REFERENCE in row]
    width = 0.8 / len(BARS)
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    for position, (implementation, label) in enumerate(BARS.items()):
        xs, speedups = [], []
        for index, workload in enumerate(workloads):
            row = times[workload]
            if implementation in row:
                xs.append(index + (position - (len(BARS) - 1) / 2) * width)
                speedups.append(row[REFERENCE] / row[implementation])
        bars = ax.bar(xs, speedups, width, label=label,
                      hatch="//" if implementation == "gemm floor" else None,
                      fill=implementation != "gemm floor")
        if implementation == "mlpfast":
            ax.bar_label(bars, fmt="%.1f×", fontsize=8)
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks(range(len(workloads)), workloads)
    ax.set_ylabel("speed relative to scikit-learn (×)")
    ax.set_title("Time per epoch: scikit-learn's divided by each one's (higher is faster)")
    # Below the axes: inside, it would cover the tallest bars.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=len(BARS))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md",
                        help="Markdown file holding a compare.py results table")
    parser.add_argument("--out", type=Path, default=Path("speedups.png"), help="PNG to write")
    args = parser.parse_args(argv)
    draw(read_table(args.table.read_text(encoding="utf-8")), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
