//! `evospikenet._core.Engine`: the simulation engine as a Python class.
//!
//! Holds a core [`Network`]; every method converts arguments, calls the
//! core, converts results. Arrays come in as C-contiguous numpy arrays of the
//! exact dtype (the Python layer converts), and go out as new numpy arrays.

use evospikenet_core::connect::{Dist, Rule};
use evospikenet_core::csr;
use evospikenet_core::engine::{ConnectSpec, Network, Population, Receptor, Var, Window};
use evospikenet_core::neuron::izhikevich::IzhParams;
use evospikenet_core::neuron::lif::{LifParams, LifSynapse};
use evospikenet_core::plasticity::{
    DerivativeStdpParams, RateParams, RateRule, RstdpParams, Rule as PlasticityRule, StdpParams,
    Traces, WeightDependence,
};
use evospikenet_core::Error;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::{detached, interruptible, to_py_err};

type SpikeVecs = (Vec<u64>, Vec<u32>);
type SpikeArrays<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>);
type SampleArrays<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray2<f64>>);
type SynapseArrays<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f32>>,
    Bound<'py, PyArray1<u16>>,
);

fn slice<'a, T: numpy::Element>(name: &str, arr: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    arr.as_slice().map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!("{name} must be a C-contiguous 1-d array"))
    })
}

/// `items[index]`, or an `IndexOutOfRangeError` naming `kind`.
fn get<'a, T>(py: Python<'_>, items: &'a [T], kind: &str, index: usize) -> PyResult<&'a T> {
    items.get(index).ok_or_else(|| {
        to_py_err(
            py,
            Error::IndexOutOfRange {
                kind: kind.into(),
                index,
                len: items.len(),
            },
        )
    })
}

/// Parse a name with the core's `FromStr` (errors mapped).
fn parse<T: std::str::FromStr<Err = Error>>(py: Python<'_>, name: &str) -> PyResult<T> {
    name.parse().map_err(|e| to_py_err(py, e))
}

/// A distribution from its tuple form: ("constant", v), ("uniform", low,
/// high), ("normal", mean, std, low, high).
fn dist(py: Python<'_>, name: &str, spec: &(String, Vec<f64>)) -> PyResult<Dist> {
    Dist::from_parts(name, &spec.0, &spec.1).map_err(|e| to_py_err(py, e))
}

/// What `connect` and `connect_window` parse alike: the owned parts of a
/// `ConnectSpec`.
struct Connection {
    receptor: Receptor,
    rule: Rule,
    weight: Dist,
    delay_ms: Dist,
}

impl Connection {
    fn parse(
        py: Python<'_>,
        receptor_name: &str,
        rule: &str,
        value: f64,
        weight: &(String, Vec<f64>),
        delay_ms: &(String, Vec<f64>),
    ) -> PyResult<Self> {
        Ok(Self {
            receptor: parse(py, receptor_name)?,
            rule: Rule::from_name(rule, value).map_err(|e| to_py_err(py, e))?,
            weight: dist(py, "weight", weight)?,
            delay_ms: dist(py, "delay_ms", delay_ms)?,
        })
    }

    fn spec(&self, pre: usize, post: usize, allow_autapses: bool) -> ConnectSpec<'_> {
        ConnectSpec {
            pre,
            post,
            receptor: self.receptor,
            rule: &self.rule,
            allow_autapses,
            weight: &self.weight,
            delay_ms: &self.delay_ms,
        }
    }
}

/// The simulation engine (see `evospikenet.Network` for the public API).
#[pyclass(module = "evospikenet._core")]
pub struct Engine {
    pub(crate) net: Network,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (dt_ms, seed, threads=1))]
    fn new(py: Python<'_>, dt_ms: f64, seed: u64, threads: usize) -> PyResult<Self> {
        Ok(Self {
            net: Network::new(dt_ms, seed, threads).map_err(|e| to_py_err(py, e))?,
        })
    }

    #[getter]
    fn dt_ms(&self) -> f64 {
        self.net.dt_ms()
    }

    #[getter]
    fn step(&self) -> u64 {
        self.net.step()
    }

    #[getter]
    fn threads(&self) -> usize {
        self.net.threads()
    }

    #[pyo3(signature = (name, n, c_m_pf, tau_m_ms, e_l_mv, v_th_mv, v_reset_mv, t_ref_ms, synapse, tau_syn_ex_ms=0.0, tau_syn_in_ms=0.0, e_ex_mv=0.0, e_in_mv=0.0))]
    fn add_lif(
        &mut self,
        py: Python<'_>,
        name: &str,
        n: u32,
        c_m_pf: f64,
        tau_m_ms: f64,
        e_l_mv: f64,
        v_th_mv: f64,
        v_reset_mv: f64,
        t_ref_ms: f64,
        synapse: &str,
        tau_syn_ex_ms: f64,
        tau_syn_in_ms: f64,
        e_ex_mv: f64,
        e_in_mv: f64,
    ) -> PyResult<usize> {
        let synapse =
            LifSynapse::from_name(synapse, tau_syn_ex_ms, tau_syn_in_ms, e_ex_mv, e_in_mv)
                .map_err(|e| to_py_err(py, e))?;
        let params = LifParams {
            c_m_pf,
            tau_m_ms,
            e_l_mv,
            v_th_mv,
            v_reset_mv,
            t_ref_ms,
            synapse,
        };
        let net = &mut self.net;
        detached(py, || net.add_lif(name, n, params))
    }

    /// Add `n` neurons of NEST point-neuron model `model` with parameters
    /// `params` (every parameter of the model, NEST names with unit suffixes).
    fn add_point(
        &mut self,
        py: Python<'_>,
        name: &str,
        n: u32,
        model: &str,
        params: Vec<(String, f64)>,
    ) -> PyResult<usize> {
        let net = &mut self.net;
        detached(py, || net.add_point(name, n, model, &params))
    }

    fn add_izhikevich(
        &mut self,
        py: Python<'_>,
        name: &str,
        a: PyReadonlyArray1<'_, f64>,
        b: PyReadonlyArray1<'_, f64>,
        c: PyReadonlyArray1<'_, f64>,
        d: PyReadonlyArray1<'_, f64>,
        tau_syn_ms: f64,
    ) -> PyResult<usize> {
        let (a, b, c, d) = (
            slice("a", &a)?.to_vec(),
            slice("b", &b)?.to_vec(),
            slice("c", &c)?.to_vec(),
            slice("d", &d)?.to_vec(),
        );
        let net = &mut self.net;
        detached(py, || {
            net.add_izhikevich(name, IzhParams { tau_syn_ms }, a, b, c, d)
        })
    }

    fn add_spike_source(
        &mut self,
        py: Python<'_>,
        name: &str,
        n: u32,
        times_ms: PyReadonlyArray1<'_, f64>,
        neurons: PyReadonlyArray1<'_, u32>,
    ) -> PyResult<usize> {
        let (t, i) = (slice("times_ms", &times_ms)?, slice("neurons", &neurons)?);
        let net = &mut self.net;
        detached(py, || net.add_spike_source(name, n, t, i))
    }

    /// Add a Poisson group: independent Poisson spike trains of rates
    /// `rate_hz` (Hz, one per neuron); at most one spike per neuron and
    /// step, with probability `1 - exp(-rate dt)`.
    fn add_poisson_group(
        &mut self,
        py: Python<'_>,
        name: &str,
        rate_hz: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<usize> {
        let rates = slice("rate_hz", &rate_hz)?;
        let net = &mut self.net;
        detached(py, || net.add_poisson_group(name, rates))
    }

    /// Replace the rates (Hz) of Poisson group `pop`.
    fn set_poisson_group_rates(
        &mut self,
        py: Python<'_>,
        pop: usize,
        rate_hz: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let rates = slice("rate_hz", &rate_hz)?;
        let net = &mut self.net;
        detached(py, || net.set_poisson_group_rates(pop, rates))
    }

    /// Add an input port of `n` neurons with latency `latency_steps`.
    fn add_input_port(
        &mut self,
        py: Python<'_>,
        name: &str,
        n: u32,
        latency_steps: u64,
    ) -> PyResult<usize> {
        let net = &mut self.net;
        detached(py, || net.add_input_port(name, n, latency_steps))
    }

    /// Push spikes into input port `pop`: `neurons` with either remote
    /// emission `steps` or times `t_ms` (exactly one given).
    #[pyo3(signature = (pop, neurons, steps=None, t_ms=None))]
    fn push_port_spikes(
        &mut self,
        py: Python<'_>,
        pop: usize,
        neurons: PyReadonlyArray1<'_, u32>,
        steps: Option<PyReadonlyArray1<'_, u64>>,
        t_ms: Option<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<()> {
        let i = slice("neurons", &neurons)?;
        let net = &mut self.net;
        match (&steps, &t_ms) {
            (Some(s), None) => {
                let s = slice("steps", s)?;
                detached(py, || net.push_port_spikes(pop, s, i))
            }
            (None, Some(t)) => {
                let t = slice("t_ms", t)?;
                detached(py, || net.push_port_spikes_ms(pop, t, i))
            }
            _ => Err(to_py_err(
                py,
                Error::invalid("steps", "steps and t_ms", "give exactly one of steps, t_ms"),
            )),
        }
    }

    /// Set the rng key and global neuron ids of population `pop`.
    #[pyo3(signature = (pop, rng_key=None, neuron_ids=None))]
    fn set_identity(
        &mut self,
        py: Python<'_>,
        pop: usize,
        rng_key: Option<u64>,
        neuron_ids: Option<PyReadonlyArray1<'_, u64>>,
    ) -> PyResult<()> {
        let ids = match &neuron_ids {
            Some(arr) => Some(slice("neuron_ids", arr)?.to_vec()),
            None => None,
        };
        let net = &mut self.net;
        detached(py, || net.set_identity(pop, rng_key, ids))
    }

    /// The rng key of population `pop`.
    fn rng_key(&self, py: Python<'_>, pop: usize) -> PyResult<u64> {
        get(py, self.net.populations(), "population", pop).map(Population::rng_key)
    }

    fn set_state(
        &mut self,
        py: Python<'_>,
        pop: usize,
        variable: &str,
        values: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let v: Var = parse(py, variable)?;
        let arg0 = slice("values", &values)?;
        let net = &mut self.net;
        detached(py, || net.set_state(pop, v, arg0))
    }

    fn init_state(
        &mut self,
        py: Python<'_>,
        pop: usize,
        variable: &str,
        distribution: (String, Vec<f64>),
    ) -> PyResult<()> {
        let v: Var = parse(py, variable)?;
        let d = dist(py, variable, &distribution)?;
        let net = &mut self.net;
        detached(py, || net.init_state(pop, v, &d))
    }

    fn set_bias(
        &mut self,
        py: Python<'_>,
        pop: usize,
        i_e_pa: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let arg0 = slice("i_e_pa", &i_e_pa)?;
        let net = &mut self.net;
        detached(py, || net.set_bias(pop, arg0))
    }

    #[pyo3(signature = (pre, post, receptor_name, rule, value, allow_autapses, weight, delay_ms))]
    fn connect(
        &mut self,
        py: Python<'_>,
        pre: usize,
        post: usize,
        receptor_name: &str,
        rule: &str,
        value: f64,
        allow_autapses: bool,
        weight: (String, Vec<f64>),
        delay_ms: (String, Vec<f64>),
    ) -> PyResult<usize> {
        let connection = Connection::parse(py, receptor_name, rule, value, &weight, &delay_ms)?;
        let spec = connection.spec(pre, post, allow_autapses);
        let net = &mut self.net;
        interruptible(py, |hook| net.connect_with(&spec, hook))
    }

    /// This part's synapses of a projection between populations split over
    /// parts (`Network::connect_window` of the core); returns the indices of
    /// the projections made, one per presynaptic object of `pieces`.
    #[allow(clippy::too_many_arguments)]
    fn connect_window(
        &mut self,
        py: Python<'_>,
        pre: usize,
        post: usize,
        receptor_name: &str,
        rule: &str,
        value: f64,
        allow_autapses: bool,
        weight: (String, Vec<f64>),
        delay_ms: (String, Vec<f64>),
        pre_ids: PyReadonlyArray1<'_, u64>,
        post_ids: PyReadonlyArray1<'_, u64>,
        post_from: u32,
        same_population: bool,
        pieces: Vec<(usize, u32, u32, u32)>,
    ) -> PyResult<Vec<usize>> {
        let connection = Connection::parse(py, receptor_name, rule, value, &weight, &delay_ms)?;
        let spec = connection.spec(pre, post, allow_autapses);
        let window = Window {
            pre_ids: slice("pre_ids", &pre_ids)?,
            post_ids: slice("post_ids", &post_ids)?,
            post_from,
            same_population,
            pieces: &pieces,
        };
        let net = &mut self.net;
        interruptible(py, |hook| net.connect_window(&spec, &window, hook))
    }

    fn connect_arrays(
        &mut self,
        py: Python<'_>,
        pre: usize,
        post: usize,
        receptor_name: &str,
        pre_idx: PyReadonlyArray1<'_, u32>,
        post_idx: PyReadonlyArray1<'_, u32>,
        weight: PyReadonlyArray1<'_, f64>,
        delay_ms: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<usize> {
        let rec: Receptor = parse(py, receptor_name)?;
        let (pi, po, w, d) = (
            slice("pre", &pre_idx)?,
            slice("post", &post_idx)?,
            slice("weight", &weight)?,
            slice("delay_ms", &delay_ms)?,
        );
        let net = &mut self.net;
        let arrays = csr::SynapseArrays {
            pre: pi,
            post: po,
            weight: w,
            delay_ms: d,
        };
        detached(py, || net.connect_arrays(pre, post, rec, &arrays))
    }

    fn add_gap_junctions(
        &mut self,
        py: Python<'_>,
        pre: usize,
        post: usize,
        pre_idx: PyReadonlyArray1<'_, u32>,
        post_idx: PyReadonlyArray1<'_, u32>,
        g_ns: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<usize> {
        let (pi, po, g) = (
            slice("pre_index", &pre_idx)?,
            slice("post_index", &post_idx)?,
            slice("g_ns", &g_ns)?,
        );
        let net = &mut self.net;
        detached(py, || net.add_gap_junctions(pre, post, pi, po, g))
    }

    fn add_poisson(
        &mut self,
        py: Python<'_>,
        target: usize,
        receptor_name: &str,
        rate_hz: PyReadonlyArray1<'_, f64>,
        weight: f64,
    ) -> PyResult<usize> {
        let rec: Receptor = parse(py, receptor_name)?;
        let rates = slice("rate_hz", &rate_hz)?;
        let net = &mut self.net;
        detached(py, || net.add_poisson(target, rec, rates, weight))
    }

    /// Replace the per-neuron rates (Hz) of Poisson input `input`.
    fn set_poisson_rates(
        &mut self,
        py: Python<'_>,
        input: usize,
        rate_hz: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let rates = slice("rate_hz", &rate_hz)?;
        let net = &mut self.net;
        detached(py, || net.set_poisson_rates(input, rates))
    }

    /// Schedule piecewise-constant per-neuron rates (Hz) of Poisson input
    /// `input`: row `k` of `rates_hz` (flattened) from `steps[k]` on.
    fn set_poisson_schedule(
        &mut self,
        py: Python<'_>,
        input: usize,
        steps: PyReadonlyArray1<'_, u64>,
        rates_hz: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let steps = slice("steps", &steps)?;
        let rates = slice("rates_hz", &rates_hz)?;
        let net = &mut self.net;
        detached(py, || net.set_poisson_schedule(input, steps, rates))
    }

    /// Add a per-neuron constant current (pA); return its index.
    fn add_current_input(
        &mut self,
        py: Python<'_>,
        target: usize,
        amplitudes_pa: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<usize> {
        let arg0 = slice("amplitudes_pa", &amplitudes_pa)?;
        let net = &mut self.net;
        detached(py, || net.add_current_input(target, arg0))
    }

    /// Replace the amplitudes (pA) of current input `input`.
    fn set_current_amplitudes(
        &mut self,
        py: Python<'_>,
        input: usize,
        amplitudes_pa: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let arg0 = slice("amplitudes_pa", &amplitudes_pa)?;
        let net = &mut self.net;
        detached(py, || net.set_current_amplitudes(input, arg0))
    }

    /// Restore the state of the first step and drop everything in flight
    /// (`Network::reset` of the core).
    fn reset(&mut self, py: Python<'_>) -> PyResult<()> {
        let net = &mut self.net;
        detached(py, || {
            net.reset();
            Ok(())
        })
    }

    fn add_noise(
        &mut self,
        py: Python<'_>,
        target: usize,
        mean_pa: f64,
        std_pa: f64,
    ) -> PyResult<usize> {
        let net = &mut self.net;
        detached(py, || net.add_noise(target, mean_pa, std_pa))
    }

    fn add_step_current(
        &mut self,
        py: Python<'_>,
        target: usize,
        neurons: Option<PyReadonlyArray1<'_, u32>>,
        times_ms: PyReadonlyArray1<'_, f64>,
        amplitudes_pa: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<usize> {
        let neurons = match &neurons {
            Some(arr) => Some(slice("neurons", arr)?.to_vec()),
            None => None,
        };
        let arg0 = slice("times_ms", &times_ms)?;
        let arg1 = slice("amplitudes_pa", &amplitudes_pa)?;
        let net = &mut self.net;
        detached(py, || net.add_step_current(target, neurons, arg0, arg1))
    }

    fn add_spike_monitor(
        &mut self,
        py: Python<'_>,
        pop: usize,
        neurons: Option<PyReadonlyArray1<'_, u32>>,
    ) -> PyResult<usize> {
        let list = match &neurons {
            Some(arr) => Some(slice("neurons", arr)?),
            None => None,
        };
        let net = &mut self.net;
        detached(py, || net.add_spike_monitor(pop, list))
    }

    fn add_state_monitor(
        &mut self,
        py: Python<'_>,
        pop: usize,
        variable: &str,
        neurons: PyReadonlyArray1<'_, u32>,
        every_steps: u64,
    ) -> PyResult<usize> {
        let v: Var = parse(py, variable)?;
        let list = slice("neurons", &neurons)?.to_vec();
        let net = &mut self.net;
        detached(py, || net.add_state_monitor(pop, v, list, every_steps))
    }

    /// Run `n_steps`, in chunks of `chunk_steps` with the interpreter
    /// released; Ctrl-C is honoured within ~50 ms of wall time (checked
    /// between steps); between chunks `callback(steps_done, n_steps)` is
    /// called if given.
    #[pyo3(signature = (n_steps, chunk_steps=1000, callback=None))]
    fn run(
        &mut self,
        py: Python<'_>,
        n_steps: u64,
        chunk_steps: u64,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        let chunk = chunk_steps.max(1);
        let mut done = 0;
        while done < n_steps {
            let todo = chunk.min(n_steps - done);
            let net = &mut self.net;
            interruptible(py, |hook| net.run_with(todo, hook))?;
            done += todo;
            py.check_signals()?;
            if let Some(cb) = &callback {
                cb.call1(py, (done, n_steps))?;
            }
        }
        Ok(())
    }

    /// Run `n_steps` like `run`, recording the spikes of `pops` only; return
    /// them per population as `(steps uint64, neurons uint32)`.
    #[pyo3(signature = (n_steps, pops, chunk_steps=1000, callback=None))]
    fn run_chunk<'py>(
        &mut self,
        py: Python<'py>,
        n_steps: u64,
        pops: Vec<usize>,
        chunk_steps: u64,
        callback: Option<Py<PyAny>>,
    ) -> PyResult<Vec<SpikeArrays<'py>>> {
        self.net.record_chunk(&pops).map_err(|e| to_py_err(py, e))?;
        let ran = self.run(py, n_steps, chunk_steps, callback);
        let mut out: Vec<SpikeVecs> = Vec::with_capacity(pops.len());
        for &p in &pops {
            out.push(self.net.take_chunk(p).map_err(|e| to_py_err(py, e))?);
        }
        ran?;
        Ok(out
            .into_iter()
            .map(|(s, n)| (s.into_pyarray(py), n.into_pyarray(py)))
            .collect())
    }

    /// Recorded spikes of spike monitor `monitor`: `(steps uint64, neurons uint32)`.
    fn spikes<'py>(&self, py: Python<'py>, monitor: usize) -> PyResult<SpikeArrays<'py>> {
        let m = get(py, self.net.spike_monitors(), "spike monitor", monitor)?;
        let (steps, neurons) = py.detach(|| (m.steps.clone(), m.neurons.clone()));
        Ok((steps.into_pyarray(py), neurons.into_pyarray(py)))
    }

    /// Spikes of spike monitor `monitor` with `start_step <= step < stop_step`:
    /// `(steps uint64, neurons uint32)`. The recorded steps ascend, so two
    /// binary searches find the range and only it is copied.
    fn spikes_window<'py>(
        &self,
        py: Python<'py>,
        monitor: usize,
        start_step: u64,
        stop_step: u64,
    ) -> PyResult<SpikeArrays<'py>> {
        let m = get(py, self.net.spike_monitors(), "spike monitor", monitor)?;
        let lo = m.steps.partition_point(|&s| s < start_step);
        let hi = lo.max(m.steps.partition_point(|&s| s < stop_step));
        let (steps, neurons) = py.detach(|| (m.steps[lo..hi].to_vec(), m.neurons[lo..hi].to_vec()));
        Ok((steps.into_pyarray(py), neurons.into_pyarray(py)))
    }

    /// Number of spikes recorded by spike monitor `monitor`.
    fn spike_monitor_len(&self, py: Python<'_>, monitor: usize) -> PyResult<usize> {
        get(py, self.net.spike_monitors(), "spike monitor", monitor).map(|m| m.steps.len())
    }

    /// Samples of state monitor `monitor`: `(steps uint64 (n_samples,), values float64 (n_samples, n_neurons))`.
    fn samples<'py>(&self, py: Python<'py>, monitor: usize) -> PyResult<SampleArrays<'py>> {
        let m = get(py, self.net.state_monitors(), "state monitor", monitor)?;
        let (steps, values) = py.detach(|| (m.steps.clone(), m.values.clone()));
        let values = Array2::from_shape_vec((m.steps.len(), m.neurons.len()), values)
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        Ok((steps.into_pyarray(py), values.into_pyarray(py)))
    }

    /// Current values of `variable` for every neuron of `pop` (a copy).
    fn state<'py>(
        &self,
        py: Python<'py>,
        pop: usize,
        variable: &str,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let v: Var = parse(py, variable)?;
        let p = get(py, self.net.populations(), "population", pop)?;
        Ok(p.state(v)
            .map_err(|e| to_py_err(py, e))?
            .to_vec()
            .into_pyarray(py))
    }

    /// Total spikes emitted by population `pop` so far.
    fn spike_count(&self, py: Python<'_>, pop: usize) -> PyResult<u64> {
        get(py, self.net.populations(), "population", pop).map(|p| p.spike_count)
    }

    /// Number of synapses of projection `proj`.
    fn projection_size(&self, py: Python<'_>, proj: usize) -> PyResult<usize> {
        get(py, self.net.projections(), "projection", proj).map(|p| p.csr.len())
    }

    /// Synapses of projection `proj` in CSR order:
    /// `(pre uint32, post uint32, weight float32, delay_steps uint16)`.
    fn projection_arrays<'py>(&self, py: Python<'py>, proj: usize) -> PyResult<SynapseArrays<'py>> {
        let p = get(py, self.net.projections(), "projection", proj)?;
        let csr = &p.csr;
        let (pre, post, w, d) = py.detach(|| csr.to_coo());
        Ok((
            pre.into_pyarray(py),
            post.into_pyarray(py),
            w.into_pyarray(py),
            d.into_pyarray(py),
        ))
    }

    // ---- plasticity (evospikenet.plasticity) ----------------------------

    /// Attach pair-based STDP to projection `proj`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (proj, a_plus, a_minus, tau_plus_ms, tau_minus_ms, w_max, weight_dependence, traces, allow_inhibitory=false))]
    fn add_stdp(
        &mut self,
        py: Python<'_>,
        proj: usize,
        a_plus: f64,
        a_minus: f64,
        tau_plus_ms: f64,
        tau_minus_ms: f64,
        w_max: f64,
        weight_dependence: &str,
        traces: &str,
        allow_inhibitory: bool,
    ) -> PyResult<()> {
        let weight_dependence: WeightDependence = parse(py, weight_dependence)?;
        let traces: Traces = parse(py, traces)?;
        let rule = PlasticityRule::Stdp(StdpParams {
            a_plus,
            a_minus,
            tau_plus_ms,
            tau_minus_ms,
            w_max,
            weight_dependence,
            traces,
        });
        let net = &mut self.net;
        detached(py, || net.add_plasticity(proj, rule, allow_inhibitory))
    }

    /// Attach reward-modulated STDP (Izhikevich 2007) to projection `proj`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (proj, a_plus, a_minus, tau_plus_ms, tau_minus_ms, tau_c_ms, tau_d_ms, w_max, allow_inhibitory=false))]
    fn add_rstdp(
        &mut self,
        py: Python<'_>,
        proj: usize,
        a_plus: f64,
        a_minus: f64,
        tau_plus_ms: f64,
        tau_minus_ms: f64,
        tau_c_ms: f64,
        tau_d_ms: f64,
        w_max: f64,
        allow_inhibitory: bool,
    ) -> PyResult<()> {
        let rule = PlasticityRule::Rstdp(RstdpParams {
            a_plus,
            a_minus,
            tau_plus_ms,
            tau_minus_ms,
            tau_c_ms,
            tau_d_ms,
            w_max,
        });
        let net = &mut self.net;
        detached(py, || net.add_plasticity(proj, rule, allow_inhibitory))
    }

    /// Attach a rate rule (`"bcm"` or `"oja"`) to projection `proj`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (proj, rule, learning_rate, tau_rate_ms, tau_theta_ms, rate_ref_hz, interval_ms, w_max, allow_inhibitory=false))]
    fn add_rate_rule(
        &mut self,
        py: Python<'_>,
        proj: usize,
        rule: &str,
        learning_rate: f64,
        tau_rate_ms: f64,
        tau_theta_ms: f64,
        rate_ref_hz: f64,
        interval_ms: f64,
        w_max: f64,
        allow_inhibitory: bool,
    ) -> PyResult<()> {
        let rule: RateRule = parse(py, rule)?;
        let rule = PlasticityRule::Rate(RateParams {
            rule,
            learning_rate,
            tau_rate_ms,
            tau_theta_ms,
            rate_ref_hz,
            interval_ms,
            w_max,
        });
        let net = &mut self.net;
        detached(py, || net.add_plasticity(proj, rule, allow_inhibitory))
    }

    /// Attach Izhikevich (2006) STDP with a weight derivative to projection `proj`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (proj, a_plus, a_minus, tau_plus_ms, tau_minus_ms, w_max, interval_ms, drift, sd_decay, allow_inhibitory=false))]
    fn add_derivative_stdp(
        &mut self,
        py: Python<'_>,
        proj: usize,
        a_plus: f64,
        a_minus: f64,
        tau_plus_ms: f64,
        tau_minus_ms: f64,
        w_max: f64,
        interval_ms: f64,
        drift: f64,
        sd_decay: f64,
        allow_inhibitory: bool,
    ) -> PyResult<()> {
        let rule = PlasticityRule::DerivativeStdp(DerivativeStdpParams {
            a_plus,
            a_minus,
            tau_plus_ms,
            tau_minus_ms,
            w_max,
            interval_ms,
            drift,
            sd_decay,
        });
        let net = &mut self.net;
        detached(py, || net.add_plasticity(proj, rule, allow_inhibitory))
    }

    /// Multiply every later weight change of projection `proj` by `scale`.
    fn set_plasticity_scale(&mut self, py: Python<'_>, proj: usize, scale: f64) -> PyResult<()> {
        let net = &mut self.net;
        detached(py, || net.set_plasticity_scale(proj, scale))
    }

    /// Add `amount` to the dopamine seen by every reward-modulated projection.
    fn add_dopamine(&mut self, py: Python<'_>, amount: f64) -> PyResult<()> {
        self.net.add_dopamine(amount).map_err(|e| to_py_err(py, e))
    }

    /// Current weights of projection `proj` in CSR order (float64).
    fn projection_weights<'py>(
        &self,
        py: Python<'py>,
        proj: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        Ok(self
            .net
            .weights(proj)
            .map_err(|e| to_py_err(py, e))?
            .into_pyarray(py))
    }

    /// Replace the weights of projection `proj` (CSR order).
    fn set_projection_weights(
        &mut self,
        py: Python<'_>,
        proj: usize,
        values: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<()> {
        let v = slice("values", &values)?;
        let net = &mut self.net;
        detached(py, || net.set_weights(proj, v))
    }

    /// BCM thresholds of projection `proj` per postsynaptic neuron
    /// (normalised rate squared; empty for other rules).
    fn plasticity_theta<'py>(
        &self,
        py: Python<'py>,
        proj: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let p = get(py, self.net.projections(), "projection", proj)?;
        Ok(p.plasticity
            .as_ref()
            .map(|s| s.theta().to_vec())
            .unwrap_or_default()
            .into_pyarray(py))
    }
}

/// Register the engine class on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()
}
