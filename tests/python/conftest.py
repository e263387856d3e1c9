"""pytest setup for the pyzmq-under-LD_PRELOAD tests.

LD_PRELOAD only takes effect when a process starts, and pyzmq binds to libzmq
when it is imported, so pytest itself cannot be interposed after the fact.
Each scenario therefore runs in a child interpreter started with
LD_PRELOAD=<libzmtls>: a test calls ``preloaded(scenario_fn, **kwargs)``,
which runs ``scenario_fn(certs=..., **kwargs)`` there (via _scenario.py) and
returns its JSON result; the test then asserts on it. This keeps pytest's
own process plain (a crash or hang in a scenario fails one test instead of
the session, every child has a hard timeout) and the command in
tests/CMakeLists.txt works unchanged.

Environment: ZMTLS_LIBRARY (else zmtls.library_path()), ZMTLS_TEST_CERTS
(else certificates are made in a temporary directory with
scripts/make-certs.sh).
"""

import inspect
import json
import os
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BINDINGS = os.path.join(REPO, "bindings", "python")

try:
    import zmtls  # noqa: F401
except ImportError:
    sys.path.insert(0, BINDINGS)
    import zmtls  # noqa: F401

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SCENARIO_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def library():
    path = zmtls.library_path()
    if not path or (os.sep in path and not os.path.isfile(path)):
        pytest.fail("libzmtls.so not found (ZMTLS_LIBRARY=%r)"
                    % os.environ.get("ZMTLS_LIBRARY"))
    return os.path.abspath(path) if os.sep in path else path


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    d = os.environ.get("ZMTLS_TEST_CERTS") or str(tmp_path_factory.mktemp("certs"))
    if not os.path.isfile(os.path.join(d, "wronghost-server.pem")):
        subprocess.run(["sh", os.path.join(REPO, "scripts", "make-certs.sh"), d],
                       check=True, timeout=120)
    return d


def child_env(library, extra=None):
    """The environment of a preloaded child: this one, with libzmtls in
    LD_PRELOAD, the package on PYTHONPATH and no ZMTLS_CERT/KEY/CA/CRL defaults
    (each scenario says which credentials it uses)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ZMTLS_CERT", "ZMTLS_KEY", "ZMTLS_CA", "ZMTLS_CRL", "ZMTLS_REEXECED",
                        "LD_PRELOAD")}
    env["LD_PRELOAD"] = library
    env["ZMTLS_LIBRARY"] = library
    env["PYTHONPATH"] = os.pathsep.join(
        [BINDINGS, HERE] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env.update(extra or {})
    return env


def _describe(rc):
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit status %d" % rc


@pytest.fixture
def preloaded(library, certs, tmp_path):
    """Run a scenario function of the calling test module under LD_PRELOAD.

    ``preloaded(fn, timeout=60, env=None, **kwargs)`` returns
    ``fn(certs=<dir>, **kwargs)`` (JSON round-tripped); fails the test with
    the child's output when it raises, crashes or times out.
    """
    counter = [0]

    def run(fn, timeout=SCENARIO_TIMEOUT_S, env=None, **kwargs):
        counter[0] += 1
        result_file = tmp_path / ("result-%d.json" % counter[0])
        kwargs = dict(kwargs, certs=certs)
        cmd = [PYTHON, os.path.join(HERE, "_scenario.py"), inspect.getfile(fn),
               fn.__name__, str(result_file), str(timeout - 5)]
        try:
            p = subprocess.run(cmd, input=json.dumps(kwargs), capture_output=True,
                               text=True, env=child_env(library, env),
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail("%s timed out after %d s\nstdout:\n%s\nstderr:\n%s" % (
                fn.__name__, timeout, e.stdout, e.stderr))
        if p.stdout:
            sys.stdout.write(p.stdout)
        if p.returncode != 0 or not result_file.exists():
            pytest.fail("%s failed (%s)\nstdout:\n%s\nstderr:\n%s" % (
                fn.__name__, _describe(p.returncode), p.stdout, p.stderr),
                pytrace=False)
        if p.stderr:
            sys.stderr.write(p.stderr)
        with open(result_file) as f:
            return json.load(f)

    return run
