"""Build script: declares the compiled extension; metadata is in pyproject.toml.

Environment variables read at build time:
  MLPFAST_NATIVE=1  add -march=native (faster on the build machine only;
                    the default flags are portable).
"""
import os

import numpy  # noqa: F401  (build requirement; fails early if missing)
from Cython.Build import cythonize
from setuptools import Extension, setup

# -ffp-contract=off: a fused multiply-add rounds differently from scikit-learn's
# separate numpy operations, which would break float64 parity.
compile_args = ["-O3", "-ffp-contract=off", "-fno-math-errno"]
if os.environ.get("MLPFAST_NATIVE") == "1":
    compile_args.append("-march=native")

extensions = [
    Extension(
        "mlpfast._kernels",
        sources=["mlpfast/_kernels.pyx", "src_c/elementwise.c"],
        include_dirs=["src_c"],
        extra_compile_args=compile_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": "3"},
    ),
)
