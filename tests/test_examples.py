"""Every script in ``examples/`` runs to completion.

Each ``examples/*.py`` is run as ``python examples/NAME.py`` (with
``sys.executable``) in a subprocess whose working directory is a fresh
temporary directory, with ``MPLBACKEND=Agg`` so that nothing opens a window.
The test asserts exit status 0 and that the working directory is left empty
(examples write files only into temporary directories of their own).

Optional dependencies: an example that imports more than numpy, scipy,
scikit-learn and mlpfast declares it in a line of its own that starts with
``# requires:``, followed by the importable module names separated by
spaces, conventionally right after the module docstring::

    # requires: dask distributed dask_ml

Several such lines may appear; their names add up. The example is skipped
when any of the named modules cannot be found. Examples without the marker
always run.
"""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))
REQUIRES_MARKER = "# requires:"
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")

# Examples must finish in under a minute on 2 cores; twice that is a hang.
TIMEOUT_SECONDS = 120


def required_modules(script: Path) -> list[str]:
    """The module names an example's ``# requires:`` lines declare.

    Raises
    ------
    ValueError
        For an entry that is not a module name (a pip requirement such as
        ``dask[array]`` or ``dask-ml``, or a comma), which would otherwise
        skip the example for good.
    """
    names = []
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith(REQUIRES_MARKER):
            names.extend(line[len(REQUIRES_MARKER):].split())
    invalid = [name for name in names if not MODULE_NAME.fullmatch(name)]
    if invalid:
        raise ValueError(
            f"{script.name}: '{REQUIRES_MARKER}' takes importable module names separated "
            f"by spaces (dask_ml, not dask-ml or dask[array]), got {invalid}"
        )
    return names


def is_importable(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:  # the parent package of a dotted name is missing
        return False


@pytest.mark.parametrize("script", EXAMPLES, ids=[script.name for script in EXAMPLES])
def test_example_runs(script, tmp_path):
    missing = [name for name in required_modules(script) if not is_importable(name)]
    if missing:
        pytest.skip(f"{script.name} requires {', '.join(missing)}")
    environment = dict(os.environ, MPLBACKEND="Agg")

    completed = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=environment,
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
    )

    assert completed.returncode == 0, (
        f"{script.name} exited with status {completed.returncode}\n"
        f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    )
    assert not list(tmp_path.iterdir()), f"{script.name} wrote into its working directory"


def test_requires_marker_is_read(tmp_path):
    script = tmp_path / "example.py"
    script.write_text('"""Doc."""\n# requires: dask distributed\n# requires: dask_ml\n'
                      "import os  # requires: not_a_marker\n", encoding="utf-8")

    assert required_modules(script) == ["dask", "distributed", "dask_ml"]
    script.write_text("# requires: dask[array], dask-ml\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"module names.*'dask\[array\],', 'dask-ml'"):
        required_modules(script)
    assert is_importable("numpy") and is_importable("numpy.linalg")
    assert not is_importable("no_such_module_mlpfast") and not is_importable(
        "no_such_module_mlpfast.sub")
