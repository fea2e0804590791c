//! The lockstep loop of one shard, the same protocol as the Python loop of
//! `evospikenet.brain.lockstep`: every interval the shard advances its part,
//! sends the spikes of its exported populations to every peer (an empty
//! interval still sends a packet), waits for every peer's packet of that
//! interval and delivers them in the order of the peers' names.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::packet::{Packet, PopulationSpikes, KIND_SPIKES};
use crate::transport::{Event, ShardSession, TransportError};

/// Dropped-packet reasons kept for the report (the count goes on).
const KEPT_REASONS: usize = 16;

/// The simulated side of a shard.
pub trait Part {
    /// An error that stops the run (an interrupt, an engine error).
    type Error;

    /// Advance `n` steps; return the spikes of the exported populations.
    fn advance(&mut self, n: u32) -> Result<Vec<PopulationSpikes>, Self::Error>;

    /// Take a peer's populations into the ports of the same names (names
    /// this part does not import are ignored). An error means the peer sent
    /// spikes this part cannot take.
    fn deliver(&mut self, populations: &[PopulationSpikes]) -> Result<(), String>;

    /// Called after every interval with the steps done.
    fn poll(&mut self, done: u64, total: u64) -> Result<(), Self::Error>;
}

/// Timing and counts of a run (complete or not).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Intervals completed.
    pub intervals: u64,
    /// Wall time spent waiting for peers' packets.
    pub wait: Duration,
    /// Packets dropped (malformed, foreign, stale).
    pub dropped: u64,
    /// Why, for the first few.
    pub reasons: Vec<String>,
}

impl Report {
    fn drop_one(&mut self, reason: String) {
        self.dropped += 1;
        if self.reasons.len() < KEPT_REASONS {
            self.reasons.push(reason);
        }
    }
}

/// Why a run stopped early.
#[derive(Debug)]
pub enum Failure<E> {
    /// No packet of `culprit` for steps `[step, step + n)`: its liveliness
    /// token went (`gone`) or it was silent for the timeout.
    Lost {
        /// The node waited for.
        culprit: String,
        /// Its token went (otherwise: silent).
        gone: bool,
        /// First step of the interval.
        step: u64,
        /// Steps of the interval (already simulated here).
        n: u32,
    },
    /// `src` sent spikes this part cannot take.
    Rejected {
        /// The sender.
        src: String,
        /// Why ([`Part::deliver`]'s error).
        reason: String,
        /// Steps simulated here.
        last_step: u64,
    },
    /// The part stopped the run.
    Part(E),
    /// Zenoh failed.
    Transport(TransportError),
}

/// Parameters of [`run`].
#[derive(Debug, Clone)]
pub struct Schedule {
    /// This node.
    pub me: String,
    /// The other nodes.
    pub peers: Vec<String>,
    /// Steps per interval (the latency in steps).
    pub chunk: u32,
    /// Steps to simulate.
    pub total: u64,
    /// Longest wait for one interval's packets.
    pub timeout: Duration,
    /// After a peer's token went, how long its packet may still arrive.
    pub lost_grace: Duration,
}

fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Run the lockstep loop of `schedule` over `session` with `part`.
///
/// `report` is filled as the run goes, so it holds the counts of a failed
/// run too.
pub fn run<P: Part>(
    session: &mut ShardSession,
    part: &mut P,
    schedule: &Schedule,
    report: &mut Report,
) -> Result<(), Failure<P::Error>> {
    let Schedule {
        me,
        peers,
        chunk,
        total,
        timeout,
        lost_grace,
    } = schedule;
    let mut early: BTreeMap<u64, HashMap<String, Packet>> = BTreeMap::new();
    let mut lost: HashMap<String, Instant> = HashMap::new();
    let mut step = 0u64;
    while step < *total {
        let n = u64::from(*chunk).min(total - step) as u32;
        let populations = part.advance(n).map_err(Failure::Part)?;
        let packet = Packet {
            kind: KIND_SPIKES,
            sender: me.clone(),
            modality: "spikes".into(),
            step_start: step,
            n_steps: n,
            timestamp_ns: wall_ns(),
            zenoh_time_ns: session.timestamp_ns(),
            extra: Vec::new(),
            populations,
        };
        for peer in peers {
            session.send(peer, &packet).map_err(Failure::Transport)?;
        }
        let mut got = early.remove(&step).unwrap_or_default();
        let t0 = Instant::now();
        let deadline = t0 + *timeout;
        while got.len() < peers.len() {
            let now = Instant::now();
            let limit = lost
                .iter()
                .filter(|(p, _)| !got.contains_key(*p))
                .map(|(_, t)| *t + *lost_grace)
                .fold(deadline, Instant::min);
            if now >= limit {
                report.wait += now - t0;
                let mut missing: Vec<&String> =
                    peers.iter().filter(|p| !got.contains_key(*p)).collect();
                missing.sort();
                let gone: Vec<&String> = missing
                    .iter()
                    .copied()
                    .filter(|p| lost.contains_key(*p))
                    .collect();
                let culprit = gone
                    .first()
                    .or(missing.first())
                    .map_or(String::new(), |s| (*s).clone());
                return Err(Failure::Lost {
                    culprit,
                    gone: !gone.is_empty(),
                    step,
                    n,
                });
            }
            match session.next_event(limit - now) {
                None => {}
                Some(Event::Lost(src)) => {
                    lost.entry(src).or_insert_with(Instant::now);
                }
                Some(Event::Dropped(reason)) => report.drop_one(reason),
                Some(Event::Packet(src, p)) => {
                    if p.step_start == step && p.n_steps == n {
                        got.insert(src, p);
                    } else if p.step_start > step {
                        early.entry(p.step_start).or_default().insert(src, p);
                    } else {
                        report.drop_one(format!(
                            "a stale packet from {src} for step {} (at {step})",
                            p.step_start
                        ));
                    }
                }
            }
        }
        report.wait += t0.elapsed();
        let mut senders: Vec<&String> = got.keys().collect();
        senders.sort();
        for src in senders {
            part.deliver(&got[src].populations)
                .map_err(|reason| Failure::Rejected {
                    src: src.clone(),
                    reason,
                    last_step: step + u64::from(n),
                })?;
        }
        step += u64::from(n);
        report.intervals += 1;
        part.poll(step, *total).map_err(Failure::Part)?;
    }
    Ok(())
}
