"""Build script: declares the compiled extension; metadata is in pyproject.toml.

Before cythonize it renders the Tempita templates mlpfast/*.tp into the
sources they generate (mlpfast/_elementwise.pxd), as scikit-learn makes its
_loss sources; edit the templates, not the generated files.

The C kernels in src_c are compiled by BuildExt below, with flags chosen for
the compiler setuptools runs (GCC, Clang and MinGW alike; MSVC its own), once
per SIMD path the compiler can target (src_c/mlpfast_simd.h: the baseline,
and AVX2 and AVX-512 on x86-64), and linked into the one extension.

Environment variables read at build time:
  CC                the C compiler (setuptools' own variable), e.g. CC=clang.
  MLPFAST_NATIVE=1  add -march=native (faster on the build machine only;
                    the default flags are portable); builds the baseline
                    SIMD path alone, since it is already this machine's.
  MLPFAST_DEBUG=1   debug build: Cython boundscheck, wraparound and
                    initializedcheck on, and `-O1 -g -fsanitize=address
                    -fno-omit-frame-pointer` (AddressSanitizer, where the
                    compiler supports it). Generated C and objects go to
                    build/debug*, apart from the normal build's. Run Python
                    with LD_PRELOAD=$(gcc -print-file-name=libasan.so) and
                    ASAN_OPTIONS=detect_leaks=0 to import the result.
"""
import glob
import json
import os
import sys
import tempfile

import numpy
from Cython import Tempita
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from setuptools.errors import CompileError, LinkError
except ImportError:  # setuptools < 65
    from distutils.errors import CompileError, LinkError

DEBUG = os.environ.get("MLPFAST_DEBUG") == "1"
NATIVE = os.environ.get("MLPFAST_NATIVE") == "1"

# Compiler flags by compiler family: "gcc" is GCC, Clang and MinGW (same
# spelling), "msvc" is Microsoft's cl.
# GCC/Clang: -ffp-contract=off, because a fused multiply-add rounds
# differently from scikit-learn's separate numpy operations, which would
# break float64 parity and make results depend on the CPU; GCC contracts
# across statements by default and Clang within expressions, so both need
# it. -Werror=implicit-function-declaration: an activation or loss listed in
# src_c/mlpfast_tables.h without its kernels is then a build error.
# MSVC: /fp:precise never contracts (Visual Studio 2022 moved contraction to
# /fp:contract) and keeps errno out of its intrinsic math; /we4013 is the
# implicit declaration made an error.
C_FLAGS = {
    "gcc": ["-O3", "-ffp-contract=off", "-fno-math-errno",
            "-Werror=implicit-function-declaration"],
    "msvc": ["/O2", "/fp:precise", "/we4013"],
}
DEBUG_C_FLAGS = {
    "gcc": ["-O1", "-g", "-ffp-contract=off", "-fno-math-errno",
            "-Werror=implicit-function-declaration"],
    "msvc": ["/Od", "/Zi", "/fp:precise", "/we4013"],
}
# src_c's own C (not Cython's) is C11 (_Static_assert, atomics); MSVC
# needs asking for it.
C11_FLAGS = {"gcc": [], "msvc": ["/std:c11"]}
SANITIZE = ["-fsanitize=address", "-fno-omit-frame-pointer"]

# The SIMD paths of src_c/mlpfast_simd.h: name, MLPF_SIMD_COPY, and the flags
# of its instruction set per compiler family (None: the family cannot
# target it).  The baseline is the target's default: SSE2 on x86-64.
SIMD_PATHS = [
    ("baseline", 0, {"gcc": [], "msvc": []}),
    ("avx2", 1, {"gcc": ["-mavx2"], "msvc": ["/arch:AVX2"]}),
    ("avx512", 2, {"gcc": ["-mavx512f"], "msvc": ["/arch:AVX512"]}),
]
# Compiled once per SIMD path, and once in all.
SIMD_SOURCES = ["src_c/elementwise.c", "src_c/vecmath.c", "src_c/simd_table.c"]
SHARED_SOURCES = ["src_c/simd.c", "src_c/team.c"]
X86_PROBE = """#if !(defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86))
#error "not an x86 target"
#endif
int mlpfast_probe(int x) { return x + 1; }
"""


def _outdated(target, sources):
    """True if target is missing or older than any of sources."""
    if not os.path.exists(target):
        return True
    built = os.path.getmtime(target)
    return any(os.path.getmtime(source) > built for source in sources)


def _read_text(path):
    """The text of a file, or None if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as text_file:
            return text_file.read()
    except OSError:
        return None


class BuildExt(build_ext):
    """build_ext with flags chosen for the compiler it runs, and src_c compiled
    per SIMD path (see src_c/mlpfast_simd.h) into the extension's objects."""

    def _family(self):
        return "msvc" if self.compiler.compiler_type == "msvc" else "gcc"

    def _accepts(self, flags, source="int mlpfast_probe(int x) { return x + 1; }\n",
                 link=False):
        """True if the compiler builds source with these flags (and links it
        into a shared object, when link is set)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "probe.c")
            with open(path, "w") as probe:
                probe.write(source)
            try:
                objects = self.compiler.compile([path], output_dir=tmp,
                                                extra_postargs=flags)
                if link:
                    self.compiler.link_shared_object(
                        objects, os.path.join(tmp, "probe" + self.compiler.shared_lib_extension),
                        extra_postargs=flags)
            except (CompileError, LinkError):
                return False
        return True

    def _c_flags(self):
        """Flags for every C file, and the extension's link flags."""
        family = self._family()
        compile_args = list((DEBUG_C_FLAGS if DEBUG else C_FLAGS)[family])
        link_args = []
        if NATIVE and family == "gcc":
            compile_args.append("-march=native")
        if DEBUG and family == "gcc":
            if self._accepts(SANITIZE, link=True):
                compile_args += SANITIZE
                link_args.append("-fsanitize=address")
            else:
                print("MLPFAST_DEBUG: the compiler rejects -fsanitize=address; building "
                      "with Cython checks only", file=sys.stderr)
        return compile_args, link_args

    def _simd_paths(self, compile_args):
        """The SIMD paths this compiler builds: (name, copy, flags).  With
        MLPFAST_NATIVE=1 the baseline alone, built for this machine."""
        family = self._family()
        paths = []
        for name, copy, flags in SIMD_PATHS:
            isa_flags = flags[family]
            if copy != 0 and (NATIVE or not self._accepts(compile_args + isa_flags, X86_PROBE)):
                continue
            paths.append((name, copy, isa_flags))
        return paths

    def build_extension(self, ext):
        compile_args, link_args = self._c_flags()
        ext.extra_compile_args = compile_args
        ext.extra_link_args = link_args
        target = self.get_ext_fullpath(ext.name)
        # Objects of another compiler or other flags (CC=clang after a GCC
        # build in the same tree) are out of date whatever their times.
        stamp = os.path.join(self.build_temp, "mlpfast-compiler.json")
        signature = json.dumps([self.compiler.compiler_so, compile_args, link_args])
        if _read_text(stamp) != signature:
            self.force = True
        if not (self.force or _outdated(target, ext.sources + ext.depends)):
            return super().build_extension(ext)  # reports it up to date
        c_args = compile_args + C11_FLAGS[self._family()]
        objects = []
        have = []
        paths = self._simd_paths(compile_args)
        print("mlpfast SIMD paths: " + ", ".join(name for name, _, _ in paths))
        for name, copy, isa_flags in paths:
            objects += self.compiler.compile(
                SIMD_SOURCES, output_dir=os.path.join(self.build_temp, "simd_" + name),
                macros=[("MLPF_SIMD_COPY", str(copy))], include_dirs=["src_c"],
                extra_postargs=c_args + isa_flags, debug=self.debug)
            if copy != 0:
                have.append(("MLPF_SIMD_HAVE_" + name.upper(), "1"))
        objects += self.compiler.compile(
            SHARED_SOURCES, output_dir=self.build_temp, macros=have, include_dirs=["src_c"],
            extra_postargs=c_args, debug=self.debug)
        ext.extra_objects = objects
        super().build_extension(ext)
        with open(stamp, "w", encoding="utf-8") as stamp_file:
            stamp_file.write(signature)


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
        # src_c's C is compiled by BuildExt, per SIMD path.
        sources=["mlpfast/_kernels.pyx"],
        depends=sorted(glob.glob("src_c/*.c") + glob.glob("src_c/*.h")),
        include_dirs=["src_c", numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

# Generated sources first (mlpfast/_elementwise.pxd), as cythonize reads them.
render_templates()
setup(
    cmdclass={"build_ext": BuildExt},
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        # The debug build regenerates its C apart from the normal build's, so
        # neither build picks up the other's generated code or objects.
        **({"build_dir": "build/debug-cython", "force": True} if DEBUG else {}),
    ),
    options={"build": {"build_base": "build/debug"}} if DEBUG else {},
)
