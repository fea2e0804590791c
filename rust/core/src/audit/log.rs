//! File operations on an audit log: appending entries after the current
//! tail, tree heads and proofs from the stored hashes, and truncating a torn
//! final line.
//!
//! Writers are serialized across processes and threads by an exclusive
//! `flock(2)` on the log file itself, held from reading the tail to the end
//! of the write (and of the `fdatasync`, when asked). `flock` costs ~2 µs;
//! the Python `filelock` package, tried first, ~190 µs per acquire/release,
//! which alone would cap appends near 5k entries/s.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{flock, FlockOperation};

use serde_json::Value;

use super::entry::{
    check_line, format_line, stored_hash, Fields, Hash32, GENESIS, MAX_LINE_BYTES, MAX_SEQ, RESULTS,
};
use super::lines::{io_err, split_lines, Chunk, Chunker};
use super::merkle::{consistency_ranges, inclusion_ranges, Accumulator, RangeHasher};
use super::verify::TreeHead;
use crate::{Error, Result};

/// Holds an exclusive `flock` on a file until dropped.
struct Locked<'a>(&'a File);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let _ = flock(self.0, FlockOperation::Unlock);
    }
}

/// Take an exclusive `flock` on `file`, polling (so that the caller's
/// timeout holds) with a back-off from 20 µs to 5 ms.
fn lock<'a>(file: &'a File, path: &Path, timeout: Duration) -> Result<Locked<'a>> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(20);
    loop {
        match flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Locked(file)),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {}
            Err(e) => return Err(io_err(path, e.into())),
        }
        if start.elapsed() >= timeout {
            return Err(io_err(
                path,
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("could not lock the log within {timeout:?}"),
                ),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(5));
    }
}

/// Where the next entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// File length in bytes (every byte belongs to a complete line).
    pub len: u64,
    /// Seq of the next entry (= number of entries).
    pub next_seq: u64,
    /// `entry_hash` of the last entry, or genesis.
    pub last_hash: Hash32,
}

/// Number of complete lines of a file (for error messages on a bad tail).
fn count_lines(path: &Path) -> Result<u64> {
    let mut chunker = Chunker::open(path)?;
    let mut n = 0u64;
    loop {
        match chunker.next_chunk()? {
            Chunk::Lines { bytes, .. } => n += memchr::memchr_iter(b'\n', bytes).count() as u64,
            Chunk::End | Chunk::TooLong { .. } | Chunk::Unterminated { .. } => return Ok(n),
        }
    }
}

/// Offset of the start of the line that ends at `end` (exclusive of its
/// newline), reading backwards from `end` in blocks. With `limit`, gives up
/// once more than `limit` bytes were searched and returns where it stopped.
fn line_start(mut file: &File, path: &Path, end: u64, limit: Option<u64>) -> Result<u64> {
    let mut pos = end;
    let mut block = vec![0u8; 64 << 10];
    while pos > 0 {
        let n = block.len().min(usize::try_from(pos).unwrap_or(usize::MAX));
        pos -= n as u64;
        file.seek(SeekFrom::Start(pos))
            .map_err(|e| io_err(path, e))?;
        file.read_exact(&mut block[..n])
            .map_err(|e| io_err(path, e))?;
        if let Some(i) = memchr::memrchr(b'\n', &block[..n]) {
            return Ok(pos + i as u64 + 1);
        }
        if limit.is_some_and(|limit| end - pos > limit) {
            return Ok(pos);
        }
    }
    Ok(0)
}

/// Read the tail of the log: the seq and hash the next entry chains onto.
///
/// Refuses (`ChainBroken`) a file that ends in a torn line (repair it first)
/// or whose last entry is malformed or does not match its own hash, so that
/// nothing is ever appended after a damaged tail.
pub fn read_tail(path: &Path) -> Result<Tail> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Tail {
                len: 0,
                next_seq: 0,
                last_hash: GENESIS,
            })
        }
        Err(e) => return Err(io_err(path, e)),
    };
    tail_of(&file, path)
}

fn tail_of(mut file: &File, path: &Path) -> Result<Tail> {
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    if len == 0 {
        return Ok(Tail {
            len: 0,
            next_seq: 0,
            last_hash: GENESIS,
        });
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))
        .map_err(|e| io_err(path, e))?;
    file.read_exact(&mut last).map_err(|e| io_err(path, e))?;
    if last[0] != b'\n' {
        return Err(Error::ChainBroken {
            seq: count_lines(path)?,
            reason: "the log ends in a torn line (an interrupted write); run \
                     `evospikenet audit repair` before appending"
                .to_owned(),
        });
    }
    let start = line_start(file, path, len - 1, Some(MAX_LINE_BYTES as u64 + 1))?;
    let line_len = usize::try_from(len - 1 - start).unwrap_or(usize::MAX);
    let bad = |reason: String| -> Result<Tail> {
        Err(Error::ChainBroken {
            seq: count_lines(path)?.saturating_sub(1),
            reason: format!("the last entry is damaged ({reason}); verify the log"),
        })
    };
    if line_len > MAX_LINE_BYTES {
        return bad(format!("line longer than {MAX_LINE_BYTES} bytes"));
    }
    let mut line = vec![0u8; line_len];
    file.seek(SeekFrom::Start(start))
        .map_err(|e| io_err(path, e))?;
    file.read_exact(&mut line).map_err(|e| io_err(path, e))?;
    match check_line(&line) {
        Ok(c) if c.hash_ok => Ok(Tail {
            len,
            next_seq: c.seq + 1,
            last_hash: c.computed,
        }),
        Ok(_) => bad("entry_hash does not match the content".to_owned()),
        Err(reason) => bad(reason),
    }
}

/// A new entry, before seq, timestamp and hashes are assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Who acted.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub resource: String,
    /// `success`, `failure` or `error`.
    pub result: String,
    /// Free-form JSON detail.
    pub detail: Value,
}

/// An appended entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub entry_hash: Hash32,
    /// Its timestamp.
    pub timestamp: String,
}

/// Whether every integer in `value` is exact as an IEEE double (|i| <= 2^53).
fn integers_exact(value: &Value) -> bool {
    const EXACT: u64 = 1 << 53;
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(|u| u <= EXACT)
            .or_else(|| n.as_i64().map(|i| i.unsigned_abs() <= EXACT))
            .unwrap_or(true),
        Value::Array(items) => items.iter().all(integers_exact),
        Value::Object(map) => map.values().all(integers_exact),
        _ => true,
    }
}

fn validate(entry: &NewEntry) -> Result<()> {
    if !integers_exact(&entry.detail) {
        return Err(Error::invalid(
            "detail",
            "an integer beyond 2^53",
            "RFC 8785 numbers are IEEE doubles, which would round it; store it as a string",
        ));
    }
    if entry.action.is_empty() {
        return Err(Error::invalid("action", "''", "must not be empty"));
    }
    if !RESULTS.contains(&entry.result.as_str()) {
        return Err(Error::invalid(
            "result",
            &entry.result,
            "must be one of success, failure, error",
        ));
    }
    Ok(())
}

/// Appends entries to one log file, keeping the tail it last wrote so that
/// the next append need not re-read it (the cache is checked against the
/// file's identity and length, so writes by other processes are seen).
pub struct Appender {
    path: PathBuf,
    /// The open log and its identity (inode, device) when opened.
    file: Option<(File, u64)>,
    cached: Option<(u64, Tail)>,
    timeout: Duration,
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino() ^ meta.dev().rotate_left(32)
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> u64 {
    0
}

impl Appender {
    /// An appender for the log at `path` (created on first append) that
    /// waits up to 60 s for the lock.
    pub fn new(path: &Path) -> Self {
        Self::with_timeout(path, Duration::from_secs(60))
    }

    /// An appender that waits up to `timeout` for the log's lock.
    pub fn with_timeout(path: &Path, timeout: Duration) -> Self {
        Self {
            path: path.to_path_buf(),
            file: None,
            cached: None,
            timeout,
        }
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&mut self) -> Result<()> {
        let on_disk = match std::fs::metadata(&self.path) {
            Ok(m) => Some(identity(&m)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(&self.path, e)),
        };
        // The open file is still the one at `path` (not replaced or removed).
        let reuse = match (&self.file, on_disk) {
            (Some((_, opened)), Some(id)) => *opened == id,
            _ => false,
        };
        if !reuse {
            self.cached = None;
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&self.path)
                .map_err(|e| io_err(&self.path, e))?;
            let id = identity(&file.metadata().map_err(|e| io_err(&self.path, e))?);
            self.file = Some((file, id));
        }
        Ok(())
    }

    /// Append `entries` in one write, chained onto the current tail; with
    /// `sync`, `fdatasync` before returning. All entries are validated
    /// before anything is written.
    pub fn append(&mut self, entries: &[NewEntry], sync: bool) -> Result<Vec<Appended>> {
        for entry in entries {
            validate(entry)?;
        }
        let path = self.path.clone();
        let cached = self.cached;
        let timeout = self.timeout;
        self.open()?;
        let mut file = &self.file.as_ref().expect("opened above").0;
        let _locked = lock(file, &path, timeout)?;
        let meta = file.metadata().map_err(|e| io_err(&path, e))?;
        let (id, len) = (identity(&meta), meta.len());
        let mut tail = match cached {
            Some((cached_id, t)) if cached_id == id && t.len == len => t,
            _ => tail_of(file, &path)?,
        };
        if tail.next_seq + entries.len() as u64 > MAX_SEQ {
            return Err(Error::invalid(
                "seq",
                tail.next_seq,
                "the log is full (2^53 entries)",
            ));
        }
        let timestamp = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        let mut out = Vec::with_capacity(entries.len() * 320);
        let mut appended = Vec::with_capacity(entries.len());
        for entry in entries {
            let fields = Fields {
                seq: tail.next_seq,
                timestamp: &timestamp,
                actor: &entry.actor,
                action: &entry.action,
                resource: &entry.resource,
                result: &entry.result,
                detail: &entry.detail,
                prev_hash: &tail.last_hash,
            };
            let (line, hash) = format_line(&fields);
            if line.len() > MAX_LINE_BYTES {
                return Err(Error::invalid(
                    "detail",
                    format!("{} bytes", line.len()),
                    format!("the entry's line must stay under {MAX_LINE_BYTES} bytes"),
                ));
            }
            out.extend_from_slice(&line);
            out.push(b'\n');
            appended.push(Appended {
                seq: tail.next_seq,
                entry_hash: hash,
                timestamp: timestamp.clone(),
            });
            tail.next_seq += 1;
            tail.last_hash = hash;
        }
        file.write_all(&out).map_err(|e| io_err(&path, e))?;
        if sync {
            file.sync_data().map_err(|e| io_err(&path, e))?;
        }
        tail.len = len + out.len() as u64;
        self.cached = Some((id, tail));
        Ok(appended)
    }

    /// `fdatasync` the log (the end of a group commit).
    pub fn sync(&mut self) -> Result<()> {
        if let Some((file, _)) = &self.file {
            file.sync_data().map_err(|e| io_err(&self.path, e))?;
        }
        Ok(())
    }
}

/// Stream the stored entry hashes of the first `size` entries, each with its line.
fn stored_hashes(
    path: &Path,
    size: u64,
    mut each: impl FnMut(Hash32, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut chunker = Chunker::open(path)?;
    let mut seen = 0u64;
    while seen < size {
        match chunker.next_chunk()? {
            Chunk::Lines { bytes, offset } => {
                for (_, line) in split_lines(bytes, offset) {
                    if seen == size {
                        break;
                    }
                    let hash = stored_hash(line)
                        .map_err(|reason| Error::ChainBroken { seq: seen, reason })?;
                    each(hash, line)?;
                    seen += 1;
                }
            }
            Chunk::End | Chunk::TooLong { .. } | Chunk::Unterminated { .. } => {
                return Err(Error::IndexOutOfRange {
                    kind: "tree size".to_owned(),
                    index: usize::try_from(size).unwrap_or(usize::MAX),
                    len: usize::try_from(seen).unwrap_or(usize::MAX),
                });
            }
        }
    }
    Ok(())
}

/// Tree head over the stored hashes of the first `size` entries (not
/// recomputed: verify the log to trust them).
pub fn tree_head(path: &Path, size: u64) -> Result<TreeHead> {
    let mut acc = Accumulator::new();
    stored_hashes(path, size, |h, _| {
        acc.push(&h);
        Ok(())
    })?;
    Ok(TreeHead {
        size,
        root: acc.root(),
    })
}

fn roots_for(path: &Path, size: u64, ranges: &[std::ops::Range<u64>]) -> Result<Vec<Hash32>> {
    let mut hasher = RangeHasher::new(ranges);
    stored_hashes(path, size, |h, _| {
        hasher.push(&h);
        Ok(())
    })?;
    Ok(hasher.finish().expect("ranges lie within the size read"))
}

/// An inclusion proof: the entry's stored hash and the audit path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Leaf index (= seq).
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// The entry's stored hash.
    pub entry_hash: Hash32,
    /// RFC 9162 inclusion path, leaf to root.
    pub path: Vec<Hash32>,
}

/// Inclusion proof of entry `index` in the tree of the first `size` entries.
///
/// The leaves are the stored hashes; the proven entry itself is checked
/// (canonical line, content hashing to its stored `entry_hash`), and an
/// altered entry gets [`Error::ChainBroken`] instead of a proof.
pub fn inclusion_proof(path: &Path, index: u64, size: u64) -> Result<InclusionProof> {
    if index >= size {
        return Err(Error::IndexOutOfRange {
            kind: "entry".to_owned(),
            index: usize::try_from(index).unwrap_or(usize::MAX),
            len: usize::try_from(size).unwrap_or(usize::MAX),
        });
    }
    let mut hasher = RangeHasher::new(&inclusion_ranges(index, size));
    let mut entry_hash = GENESIS;
    let mut seen = 0u64;
    stored_hashes(path, size, |h, line| {
        if seen == index {
            // The proof vouches for this entry's content: it must be the
            // canonical line whose content hashes to the leaf.
            let checked =
                check_line(line).map_err(|reason| Error::ChainBroken { seq: index, reason })?;
            if !checked.hash_ok {
                return Err(Error::ChainBroken {
                    seq: index,
                    reason: "the entry's content does not hash to its entry_hash: no proof \
                             is given for altered content"
                        .to_owned(),
                });
            }
            entry_hash = h;
        }
        hasher.push(&h);
        seen += 1;
        Ok(())
    })?;
    let roots = hasher.finish().expect("ranges lie within the size read");
    Ok(InclusionProof {
        index,
        size,
        entry_hash,
        path: roots,
    })
}

/// Consistency proof between the trees of the first `old` and `new` entries.
pub fn consistency_proof(path: &Path, old: u64, new: u64) -> Result<Vec<Hash32>> {
    if old > new {
        return Err(Error::invalid(
            "old_size",
            old,
            format!("must not exceed the new size {new}"),
        ));
    }
    roots_for(path, new, &consistency_ranges(old, new))
}

/// Offset where a torn final line starts, if the file ends in one.
pub fn torn_tail(path: &Path) -> Result<Option<u64>> {
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))
        .map_err(|e| io_err(path, e))?;
    file.read_exact(&mut last).map_err(|e| io_err(path, e))?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    // The torn bytes may be longer than one line's limit; search back fully.
    Ok(Some(line_start(&file, path, len, None)?))
}

/// Cut the torn final line that starts at `offset`, and nothing else: the
/// file must still end in an unterminated line starting exactly there.
/// `fsync`s the file afterwards.
pub fn truncate_torn_tail(path: &Path, offset: u64) -> Result<u64> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    let _locked = lock(&file, path, Duration::from_secs(60))?;
    match torn_tail(path)? {
        Some(start) if start == offset => {}
        other => {
            return Err(Error::invalid(
                "offset",
                offset,
                format!("the file's torn tail is {other:?} now; nothing was truncated"),
            ))
        }
    }
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    file.set_len(offset).map_err(|e| io_err(path, e))?;
    file.sync_all().map_err(|e| io_err(path, e))?;
    Ok(len - offset)
}
