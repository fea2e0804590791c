"""Shared by the Brian2 runners: build and run a cpp_standalone project, timed."""

import time


def build_timed(device, directory):
    """Generate, compile and run the project in ``directory``; return its timings.

    ``device`` is ``brian2.get_device()`` after ``net.run`` (with
    ``build_on_run=False``). Returns wall-clock seconds as a dict:
    ``wall_s_codegen`` (the build call minus compiling, cleaning and running),
    ``wall_s_compile`` (make) and ``wall_s_binary`` (the simulation binary),
    from Brian2's own ``device.timers``.
    """
    t0 = time.perf_counter()
    device.build(directory=directory, compile=True, run=True, debug=False, clean=True)
    t_build_call = time.perf_counter() - t0
    t_compile = device.timers["compile"]["make"] or 0.0
    t_clean = device.timers["compile"]["clean"] or 0.0
    t_binary = device.timers["run_binary"] or 0.0
    return {
        "wall_s_codegen": round(t_build_call - t_compile - t_clean - t_binary, 4),
        "wall_s_compile": round(t_compile, 4),
        "wall_s_binary": round(t_binary, 4),
    }
