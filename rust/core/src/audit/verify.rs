//! Streaming verification of an audit log: constant memory in the log size,
//! entry hashes recomputed in parallel (rayon), the chain links checked in
//! order, the Merkle root (RFC 9162) accumulated on the way.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::entry::{check_line, format_hash, Checked, Hash32, GENESIS, MAX_LINE_BYTES};
use super::lines::{split_lines, Chunk, Chunker};
use super::merkle::{leaf_hash, perfect_root, Accumulator};
use crate::Result;

static PARALLEL: AtomicBool = AtomicBool::new(true);

/// Turn parallel hashing on or off for this process. The Python package
/// turns it off in a child after `fork()`, where rayon's global pool is unusable.
pub fn set_parallel(on: bool) {
    PARALLEL.store(on, Ordering::Relaxed);
}

/// What broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The stored `entry_hash` is not the hash of the entry's content.
    HashMismatch,
    /// `prev_hash` is not the previous entry's `entry_hash` (or the genesis value).
    PrevHashMismatch,
    /// `seq` is not the line's position: entries deleted, inserted or reordered.
    SeqMismatch,
    /// The line is not a well-formed entry (JSON, types, fields, UTF-8, length).
    MalformedLine,
    /// The file ends in an unterminated line: a write interrupted by a crash.
    TornFinalLine,
    /// The log does not match a tree head saved earlier (rewritten or truncated).
    HeadMismatch,
}

impl ErrorKind {
    /// The snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HashMismatch => "hash_mismatch",
            Self::PrevHashMismatch => "prev_hash_mismatch",
            Self::SeqMismatch => "seq_mismatch",
            Self::MalformedLine => "malformed_line",
            Self::TornFinalLine => "torn_final_line",
            Self::HeadMismatch => "head_mismatch",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    /// What broke.
    pub kind: ErrorKind,
    /// The seq the bad line should carry (its 0-based line index); `None`
    /// for a head mismatch, which says the log differs but not where.
    pub seq: Option<u64>,
    /// Byte offset of the bad line in the file.
    pub offset: u64,
    /// Human-readable explanation.
    pub reason: String,
}

/// A tree head: size and root of the Merkle tree over the first `size` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of entries covered.
    pub size: u64,
    /// RFC 9162 Merkle tree hash.
    pub root: Hash32,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// No error found (and the saved head, if any, matched).
    pub valid: bool,
    /// Entries verified good before the first error (all entries if valid).
    pub checked: u64,
    /// The first error, if any.
    pub error: Option<ChainError>,
    /// Tree head over the `checked` entries.
    pub head: TreeHead,
    /// `entry_hash` of the last good entry (genesis if none).
    pub last_hash: Hash32,
    /// Bytes of the file covered by the good entries.
    pub good_bytes: u64,
}

impl Report {
    /// Seq of the first bad entry, if known.
    pub fn first_bad_seq(&self) -> Option<u64> {
        self.error.as_ref().and_then(|e| e.seq)
    }
}

/// A checked line and its Merkle leaf hash, or why the line is malformed.
type Outcome = std::result::Result<(Checked, Hash32), String>;

/// Check one line and hash its Merkle leaf (both in the parallel part).
fn outcome(line: &[u8]) -> Outcome {
    check_line(line).map(|c| {
        let leaf = leaf_hash(&c.computed);
        (c, leaf)
    })
}

/// A verification in progress; [`Verifier::step`] reads one block.
pub struct Verifier {
    chunker: Chunker,
    total_bytes: u64,
    expected_seq: u64,
    prev: Hash32,
    tree: Accumulator,
    saved: Option<TreeHead>,
    saved_root_seen: Option<Hash32>,
    error: Option<ChainError>,
    finished: bool,
}

impl Verifier {
    /// Start verifying the log at `path`; with `saved`, also check that the
    /// log's first `saved.size` entries have Merkle root `saved.root`.
    pub fn open(path: &Path, saved: Option<TreeHead>) -> Result<Self> {
        let chunker = Chunker::open(path)?;
        let total_bytes = chunker.file_len()?;
        let saved_root_seen = match saved {
            Some(TreeHead { size: 0, .. }) => Some(super::merkle::empty_root()),
            _ => None,
        };
        Ok(Self {
            chunker,
            total_bytes,
            expected_seq: 0,
            prev: GENESIS,
            tree: Accumulator::new(),
            saved,
            saved_root_seen,
            error: None,
            finished: false,
        })
    }

    /// File size when verification started.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Bytes read so far.
    pub fn bytes_done(&self) -> u64 {
        self.chunker.position()
    }

    /// Whether the verification has finished.
    pub fn finished(&self) -> bool {
        self.finished
    }

    fn fail(&mut self, kind: ErrorKind, offset: u64, reason: String) {
        self.error = Some(ChainError {
            kind,
            seq: Some(self.expected_seq),
            offset,
            reason,
        });
        self.finished = true;
    }

    /// Add the leaves of entries found good to the tree: whole aligned
    /// perfect subtrees at once, hashed in parallel, cut where a saved head
    /// ends so that its root can be read there.
    fn push_leaves(&mut self, mut leaves: &[Hash32], parallel: bool) {
        let parallel_from = if parallel { 4096 } else { usize::MAX };
        while !leaves.is_empty() {
            let size = self.tree.size();
            let mut limit = leaves.len() as u64;
            if let Some(saved) = self.saved {
                if saved.size > size {
                    limit = limit.min(saved.size - size);
                }
            }
            // The largest subtree that starts at `size` (its alignment) and fits.
            let mut n = 1u64 << size.trailing_zeros().min(62);
            while n > limit {
                n /= 2;
            }
            let (head, rest) = leaves.split_at(n as usize);
            self.tree.push_subtree(n, perfect_root(head, parallel_from));
            leaves = rest;
            if let Some(saved) = self.saved {
                if self.tree.size() == saved.size {
                    self.saved_root_seen = Some(self.tree.root());
                }
            }
        }
    }

    /// Link checks of one parsed line, in order: seq, own hash, prev_hash.
    fn link(&mut self, offset: u64, outcome: Outcome, good: &mut Vec<Hash32>) -> bool {
        let (checked, leaf) = match outcome {
            Ok(c) => c,
            Err(reason) => {
                self.fail(ErrorKind::MalformedLine, offset, reason);
                return false;
            }
        };
        if checked.seq != self.expected_seq {
            let reason = format!(
                "expected seq {}, found {} (entries deleted, inserted or reordered)",
                self.expected_seq, checked.seq
            );
            self.fail(ErrorKind::SeqMismatch, offset, reason);
            return false;
        }
        if !checked.hash_ok {
            let reason = format!(
                "entry_hash does not match the content (recomputed {})",
                format_hash(&checked.computed)
            );
            self.fail(ErrorKind::HashMismatch, offset, reason);
            return false;
        }
        if checked.prev_hash != self.prev {
            let reason = format!(
                "prev_hash {} is not the previous entry's hash {}",
                format_hash(&checked.prev_hash),
                format_hash(&self.prev)
            );
            self.fail(ErrorKind::PrevHashMismatch, offset, reason);
            return false;
        }
        self.prev = checked.computed;
        self.expected_seq += 1;
        good.push(leaf);
        true
    }

    /// Read and check one block of lines. Returns `true` when finished.
    pub fn step(&mut self) -> Result<bool> {
        if self.finished {
            return Ok(true);
        }
        let parallel = PARALLEL.load(Ordering::Relaxed);
        let outcomes: Vec<(u64, Outcome)> = match self.chunker.next_chunk()? {
            Chunk::End => {
                self.finished = true;
                return Ok(true);
            }
            Chunk::TooLong { offset } => {
                let reason = format!("line longer than the limit of {MAX_LINE_BYTES} bytes");
                self.fail(ErrorKind::MalformedLine, offset, reason);
                return Ok(true);
            }
            Chunk::Unterminated { bytes, offset } => {
                let reason = format!(
                    "the file ends in {} bytes without a newline (an interrupted write)",
                    bytes.len()
                );
                self.fail(ErrorKind::TornFinalLine, offset, reason);
                return Ok(true);
            }
            Chunk::Lines { bytes, offset } => {
                let lines = split_lines(bytes, offset);
                if parallel {
                    lines
                        .into_par_iter()
                        .with_min_len(256)
                        .map(|(at, line)| (at, outcome(line)))
                        .collect()
                } else {
                    lines
                        .into_iter()
                        .map(|(at, line)| (at, outcome(line)))
                        .collect()
                }
            }
        };
        let mut good = Vec::with_capacity(outcomes.len());
        let mut broken = false;
        for (offset, outcome) in outcomes {
            if !self.link(offset, outcome, &mut good) {
                broken = true;
                break;
            }
        }
        self.push_leaves(&good, parallel);
        Ok(broken)
    }

    /// Run to the end and report.
    pub fn run(mut self) -> Result<Report> {
        while !self.step()? {}
        Ok(self.report())
    }

    /// The report (meaningful once [`Verifier::finished`]).
    pub fn report(&self) -> Report {
        let good_bytes = match &self.error {
            Some(e) => e.offset,
            None => self.chunker.position(),
        };
        let mut error = self.error.clone();
        if let Some(saved) = self.saved {
            let chain_error_after_head = error
                .as_ref()
                .is_none_or(|e| e.seq.is_some_and(|s| s >= saved.size));
            if chain_error_after_head {
                let mismatch = match self.saved_root_seen {
                    None => Some(format!(
                        "the saved head covers {} entries but the log has {}",
                        saved.size,
                        self.tree.size()
                    )),
                    Some(root) if root != saved.root => Some(format!(
                        "the first {} entries have Merkle root {}, the saved head says {}",
                        saved.size,
                        format_hash(&root),
                        format_hash(&saved.root)
                    )),
                    Some(_) => None,
                };
                if let Some(reason) = mismatch {
                    error = Some(ChainError {
                        kind: ErrorKind::HeadMismatch,
                        seq: None,
                        offset: 0,
                        reason,
                    });
                }
            }
        }
        Report {
            valid: error.is_none(),
            checked: self.expected_seq,
            error,
            head: TreeHead {
                size: self.tree.size(),
                root: self.tree.root(),
            },
            last_hash: self.prev,
            good_bytes,
        }
    }
}

/// Verify the whole log at `path` (see [`Verifier`]).
pub fn verify_file(path: &Path, saved: Option<TreeHead>) -> Result<Report> {
    Verifier::open(path, saved)?.run()
}
