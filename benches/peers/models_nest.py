#!/usr/bin/env python3
"""Single NEST 3.10 neurons for the side-by-side model tests (tests/test_nest_models.py).

Reads one JSON job (or a list of jobs) from stdin, prints one JSON object (or a
list) as the last line of stdout. NEST's parameter names
are those of evospikenet without the unit suffix (``c_m_pf`` -> ``C_m``).

Jobs:

- ``{"model": ..., "params": {...}, "dt_ms": h, "segments": [[duration_ms, I_e_pA], ...],
  "spikes": {"times_ms": [...], "weights_pa": [...], "delay_ms": d}}``
  -> ``{"v_mv": [...], "spike_times_ms": [...]}``: ``V_m`` after every step
  (a multimeter at interval ``h``; sample ``k`` is the membrane at ``(k + 1) h``), the
  spike times (NEST's stamps, the end of the step that fired). ``I_e`` is set
  to each segment's value before that segment is simulated.

Needs NEST in its own venv (``benches/setup_nest.sh``).
"""

import json
import os
import sys

NAMES = {
    "c_m_pf": "C_m", "tau_m_ms": "tau_m", "tau_syn_ex_ms": "tau_syn_ex",
    "tau_syn_in_ms": "tau_syn_in", "t_ref_ms": "t_ref", "e_l_mv": "E_L", "v_th_mv": "V_th",
    "v_reset_mv": "V_reset", "i_e_pa": "I_e", "g_l_ns": "g_L", "delta_t_mv": "Delta_T",
    "v_peak_mv": "V_peak", "a_ns": "a", "b_pa": "b", "tau_w_ms": "tau_w", "e_ex_mv": "E_ex",
    "e_in_mv": "E_in", "gsl_error_tol": "gsl_error_tol", "g_na_ns": "g_Na", "g_k_ns": "g_K",
    "e_na_mv": "E_Na", "e_k_mv": "E_K", "v_t_mv": "V_T",
}  # fmt: skip


def main():
    job = json.load(sys.stdin)
    os.environ["PYNEST_QUIET"] = "1"
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    jobs = job if isinstance(job, list) else [job]
    out = [run(nest, j) for j in jobs]
    print(json.dumps(out if isinstance(job, list) else out[0]))  # the last line of stdout


def run(nest, job):
    """Simulate one job in a fresh kernel; return its result."""
    nest.ResetKernel()
    if job.get("network") == "brunel_alpha":
        return brunel_alpha(nest, job)
    h = job["dt_ms"]
    nest.resolution = h
    params = {NAMES[k]: v for k, v in job["params"].items() if k in NAMES}
    neuron = nest.Create(job["model"], params=params)
    # NEST keeps V_m at the default E_L when E_L is set; start at rest, as evospikenet.
    neuron.V_m = neuron.E_L
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": h})
    nest.Connect(mm, neuron)
    sr = nest.Create("spike_recorder")
    nest.Connect(neuron, sr)
    spikes = job.get("spikes")
    if spikes:
        for t, w in zip(spikes["times_ms"], spikes["weights_pa"], strict=True):
            gen = nest.Create("spike_generator", params={"spike_times": [t]})
            nest.Connect(gen, neuron, syn_spec={"weight": w, "delay": spikes["delay_ms"]})
    for duration, i_e in job["segments"]:
        neuron.I_e = i_e
        nest.Simulate(duration)
    ev = mm.get("events")
    return {
        "t_ms": [float(x) for x in ev["times"]],
        "v_mv": [float(x) for x in ev["V_m"]],
        "spike_times_ms": [float(x) for x in sr.get("events")["times"]],
        "nest_version": nest.__version__,
    }


def brunel_alpha(nest, job):
    """NEST's examples/brunel_alpha_numpy.py at ``scale`` (in-degrees kept), its statistics.

    ``{"network": "brunel_alpha", "scale": s, "g": 5, "eta": 2, "seed": k, "dt_ms": 0.1,
    "duration_ms": T, "t0_ms": t0, "j_ex_pa": J_ex}`` -> mean rate (Hz) and mean CV ISI
    (neurons with >= 3 spikes) of all neurons over [t0, T).
    """
    import numpy as np

    nest.resolution = job["dt_ms"]
    nest.rng_seed = job["seed"]
    n_e, n_i = round(10000 * job["scale"]), round(2500 * job["scale"])
    c_e, c_i, tau_m, theta, j = 1000, 250, 20.0, 20.0, 0.1
    params = {
        "C_m": 250.0,
        "tau_m": tau_m,
        "tau_syn_ex": 0.5,
        "tau_syn_in": 0.5,
        "t_ref": 2.0,
        "E_L": 0.0,
        "V_reset": 0.0,
        "V_m": 0.0,
        "V_th": theta,
    }
    j_ex = job["j_ex_pa"]
    nu_ex = job["eta"] * theta / (j * c_e * tau_m)
    nodes = nest.Create("iaf_psc_alpha", n_e + n_i, params=params)
    noise = nest.Create("poisson_generator", params={"rate": 1000.0 * nu_ex * c_e})
    rec = nest.Create("spike_recorder", params={"start": job["t0_ms"]})
    syn_ex = {"weight": j_ex, "delay": 1.5}
    syn_in = {"weight": -job["g"] * j_ex, "delay": 1.5}
    nest.Connect(noise, nodes, syn_spec=syn_ex)
    nest.Connect(nodes[:n_e], nodes, {"rule": "fixed_indegree", "indegree": c_e}, syn_ex)
    nest.Connect(nodes[n_e:], nodes, {"rule": "fixed_indegree", "indegree": c_i}, syn_in)
    nest.Connect(nodes, rec)
    nest.Simulate(job["duration_ms"])
    ev = rec.get("events")
    senders, times = np.asarray(ev["senders"]), np.asarray(ev["times"])
    n = n_e + n_i
    window_s = (job["duration_ms"] - job["t0_ms"]) / 1000.0
    cvs = []
    order = np.lexsort((times, senders))
    senders, times = senders[order], times[order]
    for k in np.unique(senders):
        t = times[senders == k]
        if t.size >= 3:
            isi = np.diff(t)
            cvs.append(isi.std() / isi.mean())
    return {"mean_rate_hz": senders.size / n / window_s,
            "cv_isi_mean": float(np.mean(cvs)) if cvs else float("nan")}  # fmt: skip


if __name__ == "__main__":
    main()
