//! The spike packet of the lockstep exchange, binary layout version 1.
//!
//! The same bytes as `evospikenet.brain.packet` (Python) writes and reads;
//! the layout is documented there and in `docs/architecture.md` ("Wire
//! formats"). Little-endian, no padding:
//!
//! ```text
//! offset size  field
//! 0      4     magic b"ESNP"
//! 4      1     version (1)
//! 5      1     kind (1 spikes, 2 hello)
//! 6      2     n_populations (u16)
//! 8      8     step_start (u64)
//! 16     4     n_steps (u32)
//! 20     4     n_spikes (u32, all populations)
//! 24     8     timestamp_ns (u64)
//! 32     8     zenoh_time_ns (u64)
//! 40     1     sender length S
//! 41     1     modality length M
//! 42     2     extra length E (u16)
//! 44     S+M+E sender, modality, extra
//! then per population: name length (u8), name, count (u32)
//! then offsets u32[n_spikes] (emission step - step_start), then neurons u32[n_spikes]
//! ```
//!
//! [`decode`] trusts no size from the wire: every length is checked against
//! the bytes present and the limits before anything is allocated.

use std::fmt;

/// First four bytes of every packet.
pub const MAGIC: &[u8; 4] = b"ESNP";
/// Layout version written and read.
pub const VERSION: u8 = 1;
/// A packet of spikes.
pub const KIND_SPIKES: u8 = 1;
/// A handshake packet.
pub const KIND_HELLO: u8 = 2;
/// Populations a decoder accepts.
pub const MAX_POPULATIONS: usize = 4096;
/// Spikes a decoder accepts.
pub const MAX_SPIKES: usize = 1 << 28;
/// Bytes of the fixed header.
pub const HEADER_BYTES: usize = 44;

/// A malformed packet: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid packet field {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for PacketError {}

fn err<T>(field: &'static str, reason: impl Into<String>) -> Result<T, PacketError> {
    Err(PacketError {
        field,
        reason: reason.into(),
    })
}

/// Spikes of one population in one interval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PopulationSpikes {
    /// Population name (at most 255 bytes of UTF-8).
    pub name: String,
    /// Absolute emission steps, in `[step_start, step_start + n_steps)`.
    pub steps: Vec<u64>,
    /// Population-local neuron indices, as many as `steps`.
    pub neurons: Vec<u32>,
}

/// One packet (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Packet {
    /// [`KIND_SPIKES`] or [`KIND_HELLO`].
    pub kind: u8,
    /// Node id of the sender.
    pub sender: String,
    /// What the spikes stand for.
    pub modality: String,
    /// First step of the interval.
    pub step_start: u64,
    /// Steps of the interval.
    pub n_steps: u32,
    /// Sender wall clock (ns since the epoch).
    pub timestamp_ns: u64,
    /// Sender's Zenoh HLC time (ns since the epoch; 0: none).
    pub zenoh_time_ns: u64,
    /// Free bytes (the handshake's JSON).
    pub extra: Vec<u8>,
    /// Per population, in table order.
    pub populations: Vec<PopulationSpikes>,
}

fn short<'a>(field: &'static str, s: &'a str) -> Result<&'a [u8], PacketError> {
    if s.len() > 255 {
        return err(field, "longer than 255 bytes (UTF-8)");
    }
    Ok(s.as_bytes())
}

/// Encode `packet` in the version-1 layout.
///
/// # Errors
/// A string over 255 bytes, `extra` over 65535 bytes, too many populations
/// or spikes, arrays of different lengths, a spike outside the step range.
pub fn encode(packet: &Packet) -> Result<Vec<u8>, PacketError> {
    let sender = short("sender", &packet.sender)?;
    let modality = short("modality", &packet.modality)?;
    if packet.extra.len() > 0xFFFF {
        return err(
            "extra",
            format!("{} bytes, above 65535", packet.extra.len()),
        );
    }
    if packet.populations.len() > MAX_POPULATIONS {
        return err("n_populations", format!("above {MAX_POPULATIONS}"));
    }
    let mut total = 0usize;
    let end = packet.step_start.saturating_add(u64::from(packet.n_steps));
    for p in &packet.populations {
        short("population", &p.name)?;
        if p.steps.len() != p.neurons.len() {
            return err(
                "population",
                format!("{}: steps and neurons differ", p.name),
            );
        }
        if p.steps.iter().any(|&s| s < packet.step_start || s >= end) {
            return err(
                "population",
                format!("{}: a spike outside the step range", p.name),
            );
        }
        total += p.steps.len();
    }
    if total > MAX_SPIKES {
        return err("n_spikes", format!("{total}, above {MAX_SPIKES}"));
    }
    let names: usize = packet.populations.iter().map(|p| 5 + p.name.len()).sum();
    let mut out = Vec::with_capacity(
        HEADER_BYTES + sender.len() + modality.len() + packet.extra.len() + names + 8 * total,
    );
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(packet.kind);
    out.extend_from_slice(&(packet.populations.len() as u16).to_le_bytes());
    out.extend_from_slice(&packet.step_start.to_le_bytes());
    out.extend_from_slice(&packet.n_steps.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&packet.timestamp_ns.to_le_bytes());
    out.extend_from_slice(&packet.zenoh_time_ns.to_le_bytes());
    out.push(sender.len() as u8);
    out.push(modality.len() as u8);
    out.extend_from_slice(&(packet.extra.len() as u16).to_le_bytes());
    out.extend_from_slice(sender);
    out.extend_from_slice(modality);
    out.extend_from_slice(&packet.extra);
    for p in &packet.populations {
        out.push(p.name.len() as u8);
        out.extend_from_slice(p.name.as_bytes());
        out.extend_from_slice(&(p.steps.len() as u32).to_le_bytes());
    }
    for p in &packet.populations {
        for &s in &p.steps {
            out.extend_from_slice(&((s - packet.step_start) as u32).to_le_bytes());
        }
    }
    for p in &packet.populations {
        for &n in &p.neurons {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
    Ok(out)
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], PacketError> {
        if n > self.data.len() - self.pos {
            return err(
                field,
                format!(
                    "needs {n} bytes at offset {}, {} in the packet",
                    self.pos,
                    self.data.len()
                ),
            );
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn text(&mut self, n: usize, field: &'static str) -> Result<String, PacketError> {
        let raw = self.take(n, field)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => err(field, "not UTF-8"),
        }
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, PacketError> {
        Ok(self.take(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, PacketError> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, PacketError> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, PacketError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// Decode a version-1 packet, checking every size against the bytes present.
///
/// # Errors
/// Truncated or oversized data, wrong magic, unknown version or kind, counts
/// above the limits or not summing up, offsets outside the step range,
/// invalid UTF-8, a population listed twice.
pub fn decode(data: &[u8]) -> Result<Packet, PacketError> {
    if data.len() < HEADER_BYTES {
        return err(
            "header",
            format!("{} bytes, truncated: {HEADER_BYTES} needed", data.len()),
        );
    }
    let mut r = Reader { data, pos: 0 };
    if r.take(4, "magic")? != MAGIC {
        return err("magic", "not an evospikenet packet");
    }
    let version = r.u8("version")?;
    if version != VERSION {
        return err(
            "version",
            format!("{version} unsupported (this reader knows {VERSION})"),
        );
    }
    let kind = r.u8("kind")?;
    if kind != KIND_SPIKES && kind != KIND_HELLO {
        return err("kind", format!("{kind}: unknown packet kind"));
    }
    let n_pops = usize::from(r.u16("n_populations")?);
    if n_pops > MAX_POPULATIONS {
        return err(
            "n_populations",
            format!("{n_pops}, above {MAX_POPULATIONS}"),
        );
    }
    let step_start = r.u64("step_start")?;
    let n_steps = r.u32("n_steps")?;
    let n_spikes = r.u32("n_spikes")? as usize;
    if n_spikes > MAX_SPIKES {
        return err("n_spikes", format!("{n_spikes}, above {MAX_SPIKES}"));
    }
    let timestamp_ns = r.u64("timestamp_ns")?;
    let zenoh_time_ns = r.u64("zenoh_time_ns")?;
    let s_len = usize::from(r.u8("sender")?);
    let m_len = usize::from(r.u8("modality")?);
    let e_len = usize::from(r.u16("extra")?);
    let sender = r.text(s_len, "sender")?;
    let modality = r.text(m_len, "modality")?;
    let extra = r.take(e_len, "extra")?.to_vec();
    let mut table: Vec<(String, usize)> = Vec::with_capacity(n_pops);
    let mut counted = 0usize;
    for _ in 0..n_pops {
        let len = usize::from(r.u8("population")?);
        let name = r.text(len, "population")?;
        if table.iter().any(|(n, _)| *n == name) {
            return err("population", format!("{name}: a population listed twice"));
        }
        let count = r.u32("count")? as usize;
        counted += count;
        table.push((name, count));
    }
    if counted != n_spikes {
        return err(
            "n_spikes",
            format!("{n_spikes}, the table counts {counted}"),
        );
    }
    if data.len() - r.pos != 8 * n_spikes {
        return err(
            "n_spikes",
            format!(
                "{n_spikes}: {} array bytes expected, {} present",
                8 * n_spikes,
                data.len() - r.pos
            ),
        );
    }
    let offsets = r.take(4 * n_spikes, "offsets")?;
    let neurons = r.take(4 * n_spikes, "neurons")?;
    let word = |b: &[u8], i: usize| {
        u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    };
    let mut populations = Vec::with_capacity(n_pops);
    let mut at = 0usize;
    for (name, count) in table {
        let mut steps = Vec::with_capacity(count);
        let mut ids = Vec::with_capacity(count);
        for i in at..at + count {
            let off = word(offsets, i);
            if off >= n_steps {
                return err("offsets", format!("{off} outside the {n_steps} steps"));
            }
            steps.push(step_start + u64::from(off));
            ids.push(word(neurons, i));
        }
        at += count;
        populations.push(PopulationSpikes {
            name,
            steps,
            neurons: ids,
        });
    }
    Ok(Packet {
        kind,
        sender,
        modality,
        step_start,
        n_steps,
        timestamp_ns,
        zenoh_time_ns,
        extra,
        populations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Packet {
        Packet {
            kind: KIND_SPIKES,
            sender: "n0".into(),
            modality: "spikes".into(),
            step_start: 40,
            n_steps: 15,
            timestamp_ns: 7,
            zenoh_time_ns: 9,
            extra: vec![],
            populations: vec![
                PopulationSpikes {
                    name: "E".into(),
                    steps: vec![40, 41, 54],
                    neurons: vec![3, 0, 2],
                },
                PopulationSpikes {
                    name: "I".into(),
                    steps: vec![],
                    neurons: vec![],
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let bytes = encode(&p).unwrap();
        assert_eq!(bytes.len(), HEADER_BYTES + 2 + 6 + 2 * 6 + 3 * 8);
        assert_eq!(decode(&bytes).unwrap(), p);
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = encode(&sample()).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "{n} bytes decoded");
        }
    }

    #[test]
    fn out_of_range_spike_is_not_encoded() {
        let mut p = sample();
        p.populations[0].steps[0] = 55;
        assert_eq!(encode(&p).unwrap_err().field, "population");
    }
}
