"""Build script: declares the compiled extension; metadata is in pyproject.toml.

Before cythonize it renders the Tempita templates mlpfast/*.tp into the
sources they generate (mlpfast/_elementwise.pxd), as scikit-learn makes its
_loss sources; edit the templates, not the generated files.

Environment variables read at build time:
  MLPFAST_NATIVE=1  add -march=native (faster on the build machine only;
                    the default flags are portable).
  MLPFAST_DEBUG=1   debug build: Cython boundscheck, wraparound and
                    initializedcheck on, and `-O1 -g -fsanitize=address
                    -fno-omit-frame-pointer` (AddressSanitizer, where the
                    compiler supports it). Generated C and objects go to
                    build/debug*, apart from the normal build's. Run Python
                    with LD_PRELOAD=$(gcc -print-file-name=libasan.so) and
                    ASAN_OPTIONS=detect_leaks=0 to import the result.
"""
import glob
import os
import subprocess
import sys
import sysconfig
import tempfile

import numpy
from Cython import Tempita
from Cython.Build import cythonize
from setuptools import Extension, setup

# -ffp-contract=off: a fused multiply-add rounds differently from scikit-learn's
# separate numpy operations, which would break float64 parity.
# -Werror=implicit-function-declaration: an activation or loss listed in
# src_c/mlpfast_tables.h without its kernels is then a build error.
compile_args = ["-O3", "-ffp-contract=off", "-fno-math-errno",
                "-Werror=implicit-function-declaration"]
if os.environ.get("MLPFAST_NATIVE") == "1":
    compile_args.append("-march=native")

DEBUG = os.environ.get("MLPFAST_DEBUG") == "1"
SANITIZE = ["-fsanitize=address", "-fno-omit-frame-pointer"]


def _compiler_accepts(flags):
    """True if the C compiler builds and links a shared object with these flags."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "probe.c")
        with open(source, "w") as probe:
            probe.write("int mlpfast_probe(int x) { return x + 1; }\n")
        try:
            result = subprocess.run(
                compiler + flags + ["-shared", "-fPIC", source, "-o",
                                    os.path.join(tmp, "probe.so")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        except OSError:
            return False
    return result.returncode == 0


def render_templates():
    """Render each mlpfast/*.tp (Tempita) into the file named without .tp.

    A file whose rendering has not changed is left alone, so that its
    timestamp does not make cythonize recompile what depends on it.
    """
    for template_path in glob.glob(os.path.join("mlpfast", "*.tp")):
        with open(template_path, encoding="utf-8") as template_file:
            template = Tempita.Template(template_file.read(), name=template_path)
        rendered = template.substitute()
        target_path = template_path[:-len(".tp")]
        if os.path.exists(target_path):
            with open(target_path, encoding="utf-8") as target_file:
                if target_file.read() == rendered:
                    continue
        with open(target_path, "w", encoding="utf-8") as target_file:
            target_file.write(rendered)


link_args = []
if DEBUG:
    compile_args = ["-O1", "-g", "-ffp-contract=off", "-fno-math-errno",
                    "-Werror=implicit-function-declaration"]
    if _compiler_accepts(SANITIZE):
        compile_args += SANITIZE
        link_args += ["-fsanitize=address"]
    else:
        print("MLPFAST_DEBUG: the compiler rejects -fsanitize=address; building "
              "with Cython checks only", file=sys.stderr)
# Checks inside the kernels: off for speed (every def function checks shapes
# before its nogil code), on in the debug build.
directives = {"language_level": "3", "boundscheck": DEBUG, "wraparound": DEBUG,
              "initializedcheck": DEBUG}
if DEBUG:
    from Cython.Compiler.Options import get_directive_defaults

    if "show_performance_hints" in get_directive_defaults():
        # Every checked access would print "Use boundscheck(False)".
        directives["show_performance_hints"] = False

extensions = [
    Extension(
        "mlpfast._kernels",
        sources=["mlpfast/_kernels.pyx", "src_c/elementwise.c", "src_c/vecmath.c",
                 "src_c/pair.c"],
        include_dirs=["src_c", numpy.get_include()],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

# Generated sources first (mlpfast/_elementwise.pxd), as cythonize reads them.
render_templates()
setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        # The debug build regenerates its C apart from the normal build's, so
        # neither build picks up the other's generated code or objects.
        **({"build_dir": "build/debug-cython", "force": True} if DEBUG else {}),
    ),
    options={"build": {"build_base": "build/debug"}} if DEBUG else {},
)
