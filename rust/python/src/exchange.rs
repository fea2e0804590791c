//! Binding of `evospikenet-exchange`: a shard's Zenoh session and its
//! lockstep loop over an [`Engine`], run with the interpreter detached.
//! `evospikenet.brain.lockstep` drives it (`exchange="rust"`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use evospikenet_core::engine::Network;
use evospikenet_core::Error;
use evospikenet_exchange::lockstep::{run, Failure, Part, Report, Schedule};
use evospikenet_exchange::packet::PopulationSpikes;
use evospikenet_exchange::transport::{SessionConfig, ShardSession};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::engine::Engine;
use crate::to_py_err;

/// Wall time between two looks at Ctrl-C and the progress callback.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

fn transport_error(py: Python<'_>, message: String) -> PyErr {
    match py
        .import("evospikenet.errors")
        .and_then(|m| m.getattr("TransportError"))
        .and_then(|cls| cls.call1((message,)))
    {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}

/// One shard's Zenoh session (see `evospikenet.brain.lockstep`).
#[pyclass(module = "evospikenet._core", name = "ShardSession")]
pub struct PyShardSession {
    inner: Mutex<Option<ShardSession>>,
}

/// The engine side of the loop: advance with Ctrl-C checks, deliver into
/// ports, poll signals and progress.
struct EnginePart<'a> {
    net: &'a mut Network,
    /// `(population name, engine index, first neuron)`: spikes are sent
    /// with the neuron's index in the whole population (a population split
    /// over parts holds neurons `first..`).
    exports: &'a [(String, usize, u32)],
    imports: HashMap<&'a str, usize>,
    progress: Option<&'a Py<PyAny>>,
    last_poll: Instant,
    pending: Option<PyErr>,
}

impl EnginePart<'_> {
    fn look(&mut self, done: u64, total: u64, force: bool) -> Result<(), Error> {
        if !force && self.last_poll.elapsed() < POLL_INTERVAL {
            return Ok(());
        }
        self.last_poll = Instant::now();
        let progress = self.progress;
        Python::attach(|py| -> PyResult<()> {
            py.check_signals()?;
            if let Some(cb) = progress {
                cb.call1(py, (done, total))?;
            }
            Ok(())
        })
        .map_err(|e| {
            self.pending = Some(e);
            Error::Interrupted
        })
    }
}

impl Part for EnginePart<'_> {
    type Error = Error;

    fn advance(&mut self, n: u32) -> Result<Vec<PopulationSpikes>, Error> {
        let pops: Vec<usize> = self.exports.iter().map(|(_, p, _)| *p).collect();
        self.net.record_chunk(&pops)?;
        let mut last = Instant::now();
        let mut pending = None;
        let ran = self.net.run_with(u64::from(n), &mut || {
            if last.elapsed() < POLL_INTERVAL {
                return Ok(());
            }
            last = Instant::now();
            #[allow(clippy::redundant_closure_for_method_calls)] // lifetimes: a closure is needed
            Python::attach(|py| py.check_signals()).map_err(|e| {
                pending = Some(e);
                Error::Interrupted
            })
        });
        if let Err(e) = ran {
            self.pending = pending.or(self.pending.take());
            return Err(e);
        }
        let mut out = Vec::with_capacity(self.exports.len());
        for (name, pop, first) in self.exports {
            let (steps, mut neurons) = self.net.take_chunk(*pop)?;
            if *first > 0 {
                for i in &mut neurons {
                    *i += first;
                }
            }
            out.push(PopulationSpikes {
                name: name.clone(),
                steps,
                neurons,
            });
        }
        Ok(out)
    }

    fn deliver(&mut self, populations: &[PopulationSpikes]) -> Result<(), String> {
        let mut order: Vec<&PopulationSpikes> = populations.iter().collect();
        order.sort_by(|a, b| a.name.cmp(&b.name));
        for p in order {
            if let Some(&pop) = self.imports.get(p.name.as_str()) {
                self.net
                    .push_port_spikes(pop, &p.steps, &p.neurons)
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    fn poll(&mut self, done: u64, total: u64) -> Result<(), Error> {
        self.look(done, total, done == total)
    }
}

fn report_dict<'py>(py: Python<'py>, report: &Report) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("intervals", report.intervals)?;
    d.set_item("wait_s", report.wait.as_secs_f64())?;
    d.set_item("dropped", report.dropped)?;
    d.set_item("reasons", report.reasons.clone())?;
    Ok(d)
}

#[pymethods]
impl PyShardSession {
    /// Open the session of node `me` (subscriptions first, then the hello
    /// queryable answering `hello`, then the liveliness token).
    #[new]
    #[pyo3(signature = (mode, connect, listen, namespace, multicast_scouting, timestamping, me, peers, hello))]
    fn new(
        py: Python<'_>,
        mode: String,
        connect: Vec<String>,
        listen: Vec<String>,
        namespace: String,
        multicast_scouting: bool,
        timestamping: bool,
        me: String,
        peers: Vec<String>,
        hello: Vec<u8>,
    ) -> PyResult<Self> {
        let config = SessionConfig {
            mode,
            connect,
            listen,
            namespace,
            multicast_scouting,
            timestamping,
        };
        let session = py
            .detach(|| ShardSession::open(&config, &me, &peers, hello))
            .map_err(|e| transport_error(py, e.0))?;
        Ok(Self {
            inner: Mutex::new(Some(session)),
        })
    }

    /// Payloads of the ok replies to a query on `{namespace}/{key}`.
    fn request<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        timeout: f64,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| transport_error(py, "session poisoned".into()))?;
        // &mut: the session holds a channel receiver, which may move between threads
        // but not be shared.
        let session = guard
            .as_mut()
            .ok_or_else(|| transport_error(py, "session closed".into()))?;
        let wait = Duration::from_secs_f64(timeout.max(0.0));
        let replies = py
            .detach(move || session.request(key, wait))
            .map_err(|e| transport_error(py, e.0))?;
        Ok(replies.iter().map(|r| PyBytes::new(py, r)).collect())
    }

    /// Whether a peer has read this node's hello.
    fn was_queried(&self) -> bool {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(ShardSession::was_queried))
            .unwrap_or(false)
    }

    /// The peers that have been answered this node's hello, sorted.
    fn queried_by(&self) -> Vec<String> {
        self.inner
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(ShardSession::queried_by))
            .unwrap_or_default()
    }

    /// Run the lockstep loop over `engine` (module docs of
    /// `evospikenet_exchange::lockstep`). `exports` and `imports` pair
    /// population names with engine indices (`exports` also with the index
    /// of the object's first neuron in the whole population). Returns a dict: `intervals`,
    /// `wait_s`, `dropped`, `reasons`, and `failure` (None, or a dict with
    /// `kind` "lost" (`culprit`, `gone`, `step`, `n`) or "rejected" (`src`,
    /// `reason`, `last_step`)). Ctrl-C and engine errors are raised.
    #[pyo3(signature = (engine, me, peers, exports, imports, chunk, total, timeout_s, lost_grace_s, progress=None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        engine: &Bound<'py, Engine>,
        me: String,
        peers: Vec<String>,
        exports: Vec<(String, usize, u32)>,
        imports: Vec<(String, usize)>,
        chunk: u32,
        total: u64,
        timeout_s: f64,
        lost_grace_s: f64,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| transport_error(py, "session poisoned".into()))?;
        let session = guard
            .as_mut()
            .ok_or_else(|| transport_error(py, "session closed".into()))?;
        let mut engine = engine.borrow_mut();
        let schedule = Schedule {
            me,
            peers,
            chunk: chunk.max(1),
            total,
            timeout: Duration::from_secs_f64(timeout_s.max(0.0)),
            lost_grace: Duration::from_secs_f64(lost_grace_s.max(0.0)),
        };
        let mut part = EnginePart {
            net: &mut engine.net,
            exports: &exports,
            imports: imports.iter().map(|(n, p)| (n.as_str(), *p)).collect(),
            progress: progress.as_ref(),
            last_poll: Instant::now(),
            pending: None,
        };
        let mut report = Report::default();
        let outcome = py.detach(|| run(session, &mut part, &schedule, &mut report));
        let d = report_dict(py, &report)?;
        match outcome {
            Ok(()) => d.set_item("failure", py.None())?,
            Err(Failure::Lost {
                culprit,
                gone,
                step,
                n,
            }) => {
                let f = PyDict::new(py);
                f.set_item("kind", "lost")?;
                f.set_item("culprit", culprit)?;
                f.set_item("gone", gone)?;
                f.set_item("step", step)?;
                f.set_item("n", n)?;
                d.set_item("failure", f)?;
            }
            Err(Failure::Rejected {
                src,
                reason,
                last_step,
            }) => {
                let f = PyDict::new(py);
                f.set_item("kind", "rejected")?;
                f.set_item("src", src)?;
                f.set_item("reason", reason)?;
                f.set_item("last_step", last_step)?;
                d.set_item("failure", f)?;
            }
            Err(Failure::Transport(e)) => return Err(transport_error(py, e.0)),
            Err(Failure::Part(e)) => {
                return Err(match (e, part.pending.take()) {
                    (Error::Interrupted, Some(raised)) => raised,
                    (e, _) => to_py_err(py, e),
                })
            }
        }
        Ok(d)
    }

    /// Close the session (idempotent; waits at most 1 s).
    fn close(&self, py: Python<'_>) {
        let taken = self.inner.lock().ok().and_then(|mut g| g.take());
        if let Some(session) = taken {
            py.detach(|| session.close(Duration::from_secs(1)));
        }
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyShardSession>()?;
    Ok(())
}
