"""The generated C API: current with trainopt.h, every kernel reachable, the library as the package expects."""
import os
import subprocess
import sys
import unittest

import trainopt
from trainopt import _api, _lib
import trainopt.np as tnp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class GeneratedApi(unittest.TestCase):
    def test_api_is_current(self):
        """python/trainopt/_api.py is what tools/gen_python_api.py makes from trainopt.h now."""
        run = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_python_api.py"), "--check"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        self.assertEqual(run.returncode, 0, run.stdout)

    def test_every_kernel_has_a_python_face(self):
        """Each row of TRAINOPT_KERNELS is in trainopt.np.COVERAGE (a function, or why there is none)."""
        missing = ["trainopt_" + name for _, name in _api.KERNELS if name not in tnp.COVERAGE]
        self.assertEqual(missing, [], "kernels with no trainopt.np function: add one or a reason to COVERAGE")
        for kernel, where in tnp.COVERAGE.items():
            if not where.startswith(("not exposed", "trainopt.")):
                self.assertTrue(hasattr(tnp, where), "COVERAGE[%r] names %r, which trainopt.np lacks" % (kernel, where))

    def test_every_optimizer_kernel_is_a_numpy_function(self):
        """Every optim-family kernel of the list is a function of trainopt.np (made from the list for the
        optimizer, tensor-list, mixed-precision and 8-bit shapes), or a class's method (schedule-free
        AdamW), or has its reason in COVERAGE ("not exposed ...")."""
        for family, name in _api.KERNELS:
            if family == "optim" and not tnp.COVERAGE.get(name, "").startswith("not exposed"):
                self.assertTrue(callable(getattr(tnp, tnp.COVERAGE.get(name, name), None)),
                                "trainopt.np.%s missing" % name)

    def test_library_exports_every_kernel(self):
        for _, name in _api.KERNELS:
            self.assertTrue(hasattr(_lib.lib, "trainopt_" + name), name)

    def test_defaults_match_the_header(self):
        """The generated DEFAULTS are the C initializers: spot checks of PyTorch's defaults."""
        self.assertEqual(_api.DEFAULTS["adamw"], [1e-3, 0.9, 0.999, 1e-8, 1e-2, 0, 0])
        self.assertEqual(_api.DEFAULTS["bn"], [1e-5, 0.1, 0])
        self.assertEqual(_api.DEFAULTS["step_opts"], [1.0, None, None])

    def test_backend_and_version(self):
        self.assertIn(trainopt.backend(), ("avx512", "avx2", "neon", "scalar"))
        self.assertEqual(trainopt.__version__, _api.VERSION)

    def test_library_search_order(self):
        """Next to the package, the source tree's build, the loader's search, then two prefixes."""
        places = _lib.candidates() if "TRAINOPT_LIBRARY" not in os.environ else []
        if places:
            here = os.path.dirname(_lib.__file__)
            self.assertEqual(places[:2], [os.path.join(here, _lib.SONAME), os.path.join(here, "libtrainopt.so")])
            self.assertEqual(os.path.normpath(places[2]), os.path.join(ROOT, "build", "lib", _lib.SONAME))
            self.assertEqual(places[3:], [_lib.SONAME, "/usr/local/lib/" + _lib.SONAME, "/usr/lib/" + _lib.SONAME])

    def test_found_next_to_the_package_and_through_the_loader(self):
        """A copy of the package away from the source tree finds a library beside it, else the
        loader's (LD_LIBRARY_PATH standing in for make install's directory and ldconfig)."""
        import shutil
        import tempfile
        built = os.path.join(ROOT, "build", "lib", _lib.SONAME)
        with tempfile.TemporaryDirectory() as top:
            shutil.copytree(os.path.dirname(_lib.__file__), os.path.join(top, "trainopt"),
                            ignore=shutil.ignore_patterns("__pycache__", "libtrainopt.so*"))
            env = {k: v for k, v in os.environ.items() if k not in ("TRAINOPT_LIBRARY", "LD_LIBRARY_PATH")}
            env["PYTHONPATH"] = top
            code = "import trainopt; print(trainopt.library_path)"
            run = lambda: subprocess.run([sys.executable, "-c", code], env=env, cwd=top, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, universal_newlines=True)
            env["LD_LIBRARY_PATH"] = os.path.dirname(built)
            found = run()
            self.assertEqual((found.returncode, found.stdout.strip()), (0, _lib.SONAME), found.stdout)
            shutil.copy(built, os.path.join(top, "trainopt", _lib.SONAME))
            found = run()
            self.assertEqual((found.returncode, found.stdout.strip()),
                             (0, os.path.join(os.path.realpath(top), "trainopt", _lib.SONAME)), found.stdout)

    def test_trainopt_library_is_the_only_place_when_set(self):
        """A wrong $TRAINOPT_LIBRARY is an ImportError naming it, not a silent fallback."""
        env = dict(os.environ, TRAINOPT_LIBRARY="/nonexistent/libtrainopt.so.0",
                   PYTHONPATH=os.path.join(ROOT, "python"))
        run = subprocess.run([sys.executable, "-c", "import trainopt"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("ImportError: trainopt: libtrainopt not found; tried:\n  /nonexistent/libtrainopt.so.0", run.stdout)

if __name__ == "__main__":
    unittest.main()
