"""Runs one scenario function in a process that has libzmtls preloaded.

    python3 _scenario.py MODULE_FILE FUNCTION RESULT_FILE TIMEOUT_S < kwargs.json

Imports MODULE_FILE, calls FUNCTION(**kwargs) and writes its return value
as JSON to RESULT_FILE. Refuses to run when libzmtls is not interposed (so
a scenario can never silently test plain libzmq). A hang dumps every
thread's stack and exits before the parent's timeout; a crash prints the
Python stack (faulthandler).
"""

import faulthandler
import importlib.util
import json
import os
import sys


def main():
    module_file, func, result_file, timeout_s = sys.argv[1:5]
    faulthandler.enable()
    faulthandler.dump_traceback_later(float(timeout_s), exit=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import zmtls
    if not zmtls.is_active():
        sys.exit("libzmtls is not interposed (LD_PRELOAD=%r)"
                 % os.environ.get("LD_PRELOAD"))
    kwargs = json.load(sys.stdin)
    name = "scenario_" + os.path.splitext(os.path.basename(module_file))[0]
    spec = importlib.util.spec_from_file_location(name, module_file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = getattr(mod, func)(**kwargs)
    with open(result_file, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
