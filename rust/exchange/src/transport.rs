//! One shard's Zenoh session: the keys and entities of the lockstep exchange.
//!
//! Keys, all under the namespace, as the Python transport
//! (`evospikenet.brain.zenoh_comm`, `evospikenet.brain.lockstep`) uses them:
//! `spikes/{src}/{dst}` (packets), `alive/{node}` (liveliness tokens),
//! `hello/{node}` (the handshake queryable). Shards of both transports can
//! run together: the bytes on the wire are the same.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use zenoh::liveliness::LivelinessToken;
use zenoh::pubsub::{Publisher, Subscriber};
use zenoh::qos::CongestionControl;
use zenoh::query::Queryable;
use zenoh::sample::{Sample, SampleKind};
use zenoh::{Session, Wait};

use crate::packet::{decode, encode, Packet};

/// How to open the session (the fields of the Python `ZenohConfig`).
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `"peer"`, `"client"` or `"router"`.
    pub mode: String,
    /// Endpoints to connect to.
    pub connect: Vec<String>,
    /// Endpoints to listen on.
    pub listen: Vec<String>,
    /// Key prefix.
    pub namespace: String,
    /// Multicast scouting.
    pub multicast_scouting: bool,
    /// Stamp samples with the sender's HLC time.
    pub timestamping: bool,
}

/// Something the Zenoh threads hand to the loop.
#[derive(Debug)]
pub enum Event {
    /// A well-formed packet from a peer (the key's source).
    Packet(String, Packet),
    /// A peer's liveliness token went away.
    Lost(String),
    /// A packet was dropped: why.
    Dropped(String),
}

/// A transport failure, as text (Zenoh's message).
#[derive(Debug, Clone)]
pub struct TransportError(pub String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

fn zerr(what: &str, e: impl std::fmt::Display) -> TransportError {
    TransportError(format!("{what}: {e}"))
}

/// The open session of one shard, subscribed to its packets and to the
/// peers' liveliness, answering its hello and holding its token.
pub struct ShardSession {
    session: Session,
    namespace: String,
    me: String,
    publishers: HashMap<String, Publisher<'static>>,
    _spikes: Subscriber<()>,
    _alive: Subscriber<()>,
    _hello: Queryable<()>,
    _token: LivelinessToken,
    queried: Arc<AtomicBool>,
    queried_by: Arc<Mutex<HashSet<String>>>,
    events: Receiver<Event>,
}

impl ShardSession {
    /// Open the session for node `me` with peers `peers`: subscribe to
    /// `spikes/*/{me}` and `alive/*` before anything else (no packet of a fast
    /// peer can be missed), answer `hello/{me}` with `hello` (noting the
    /// querier a `from` parameter names, once answered), declare `alive/{me}`.
    pub fn open(
        config: &SessionConfig,
        me: &str,
        peers: &[String],
        hello: Vec<u8>,
    ) -> Result<Self, TransportError> {
        let mut conf = zenoh::Config::default();
        for (key, value) in [
            ("mode", serde_json::json!(config.mode)),
            ("connect/endpoints", serde_json::json!(config.connect)),
            ("listen/endpoints", serde_json::json!(config.listen)),
            (
                "scouting/multicast/enabled",
                serde_json::json!(config.multicast_scouting),
            ),
            (
                "timestamping/enabled",
                serde_json::json!(config.timestamping),
            ),
        ] {
            conf.insert_json5(key, &value.to_string())
                .map_err(|e| zerr(&format!("config {key}"), e))?;
        }
        let session = zenoh::open(conf).wait().map_err(|e| {
            zerr(
                &format!(
                    "cannot open a Zenoh {} session (listen {:?}, connect {:?})",
                    config.mode, config.listen, config.connect
                ),
                e,
            )
        })?;
        let ns = config.namespace.clone();
        let (tx, events) = channel();
        let spikes = subscribe_spikes(&session, &ns, me, peers, tx.clone())?;
        let alive = subscribe_alive(&session, &ns, peers, tx)?;
        let queried = Arc::new(AtomicBool::new(false));
        let queried_by = Arc::new(Mutex::new(HashSet::new()));
        let (flag, by) = (Arc::clone(&queried), Arc::clone(&queried_by));
        let hello = session
            .declare_queryable(format!("{ns}/hello/{me}"))
            .callback(move |query| {
                flag.store(true, Ordering::SeqCst);
                // A failed reply is the querier's problem (it retries).
                if query
                    .reply(query.key_expr().clone(), hello.clone())
                    .wait()
                    .is_ok()
                {
                    if let Some(peer) = query.parameters().get("from") {
                        by.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(peer.to_owned());
                    }
                }
            })
            .wait()
            .map_err(|e| zerr("hello queryable", e))?;
        let token = session
            .liveliness()
            .declare_token(format!("{ns}/alive/{me}"))
            .wait()
            .map_err(|e| zerr("liveliness token", e))?;
        Ok(Self {
            session,
            namespace: ns,
            me: me.to_owned(),
            publishers: HashMap::new(),
            _spikes: spikes,
            _alive: alive,
            _hello: hello,
            _token: token,
            queried,
            queried_by,
            events,
        })
    }

    /// Whether a peer has read this node's hello.
    pub fn was_queried(&self) -> bool {
        self.queried.load(Ordering::SeqCst)
    }

    /// The peers that have been answered this node's hello (those whose query
    /// named them with `?from=`).
    pub fn queried_by(&self) -> Vec<String> {
        let by = self
            .queried_by
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<String> = by.iter().cloned().collect();
        out.sort();
        out
    }

    /// Query `{namespace}/{key}`; the payloads of the ok replies.
    pub fn request(&self, key: &str, timeout: Duration) -> Result<Vec<Vec<u8>>, TransportError> {
        let replies = self
            .session
            .get(format!("{}/{key}", self.namespace))
            .timeout(timeout)
            .wait()
            .map_err(|e| zerr("query", e))?;
        let mut out = Vec::new();
        while let Ok(reply) = replies.recv() {
            if let Ok(sample) = reply.result() {
                out.push(sample.payload().to_bytes().into_owned());
            }
        }
        Ok(out)
    }

    /// The session's HLC time now (ns since the epoch).
    pub fn timestamp_ns(&self) -> u64 {
        self.session.new_timestamp().get_time().as_nanos()
    }

    /// Send `packet` to `dst` on `spikes/{me}/{dst}` (congestion control
    /// BLOCK: a full queue waits, no packet is dropped).
    pub fn send(&mut self, dst: &str, packet: &Packet) -> Result<usize, TransportError> {
        let data = encode(packet).map_err(|e| zerr("encode", e))?;
        let n = data.len();
        if !self.publishers.contains_key(dst) {
            let publisher = self
                .session
                .declare_publisher(format!("{}/spikes/{}/{dst}", self.namespace, self.me))
                .congestion_control(CongestionControl::Block)
                .wait()
                .map_err(|e| zerr("publisher", e))?;
            self.publishers.insert(dst.to_owned(), publisher);
        }
        self.publishers[dst]
            .put(data)
            .wait()
            .map_err(|e| zerr(&format!("put to {dst}"), e))?;
        Ok(n)
    }

    /// The next event, waiting at most `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Undeclare everything and close the session, waiting at most `wait`: a
    /// stopped peer can hold a graceful close for its whole lease, so the
    /// close goes on in a thread of its own past that.
    pub fn close(self, wait: Duration) {
        let (done, finished) = channel();
        std::thread::spawn(move || {
            let Self { session, .. } = self;
            let _ = session.close().wait();
            let _ = done.send(());
        });
        let _ = finished.recv_timeout(wait);
    }
}

fn subscribe_spikes(
    session: &Session,
    ns: &str,
    me: &str,
    peers: &[String],
    tx: Sender<Event>,
) -> Result<Subscriber<()>, TransportError> {
    let peers: Vec<String> = peers.to_vec();
    session
        .declare_subscriber(format!("{ns}/spikes/*/{me}"))
        .callback(move |sample: Sample| {
            let key = sample.key_expr().as_str().to_owned();
            let event = match decode(&sample.payload().to_bytes()) {
                Err(e) => Event::Dropped(format!("a packet on {key}: {e}")),
                Ok(packet) => {
                    let src = key.rsplit('/').nth(1).unwrap_or_default().to_owned();
                    if packet.sender != src || !peers.contains(&src) {
                        Event::Dropped(format!(
                            "a foreign packet on {key} (sender {:?})",
                            packet.sender
                        ))
                    } else {
                        Event::Packet(src, packet)
                    }
                }
            };
            let _ = tx.send(event);
        })
        .wait()
        .map_err(|e| zerr("spike subscriber", e))
}

fn subscribe_alive(
    session: &Session,
    ns: &str,
    peers: &[String],
    tx: Sender<Event>,
) -> Result<Subscriber<()>, TransportError> {
    let prefix = format!("{ns}/alive/");
    let peers: Vec<String> = peers.to_vec();
    session
        .liveliness()
        .declare_subscriber(format!("{ns}/alive/*"))
        .callback(move |sample: Sample| {
            if sample.kind() != SampleKind::Delete {
                return;
            }
            let key = sample.key_expr().as_str();
            let node = key.strip_prefix(prefix.as_str()).unwrap_or(key);
            if peers.iter().any(|p| p == node) {
                let _ = tx.send(Event::Lost(node.to_owned()));
            }
        })
        .wait()
        .map_err(|e| zerr("liveliness subscriber", e))
}
