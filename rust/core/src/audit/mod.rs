//! Tamper-evident audit log: a SHA-256 hash chain over JSON Lines entries,
//! with a Merkle tree (RFC 9162) over the entry hashes.
//!
//! # Format
//!
//! One entry per line, each with `seq`, `timestamp` (RFC 3339 UTC), `actor`,
//! `action`, `resource`, `result`, `detail`, `prev_hash` and `entry_hash`
//! (`sha256:<64 lowercase hex>`). Lines are written in RFC 8785 canonical
//! form. `entry_hash` is SHA-256 (FIPS 180-4) of the RFC 8785 canonical JSON
//! of the entry without `entry_hash`; `prev_hash` is the previous entry's
//! `entry_hash`, and for entry 0 the genesis value [`GENESIS_PREV_HASH`]
//! (`sha256:` and 64 zeros). `seq` counts from 0 and equals the line index.
//!
//! The same functions ([`entry::format_line`], [`entry::check_line`]) compute
//! the hash on write and on verify.
//!
//! # Why a Merkle tree as well
//!
//! Whoever holds the file can rewrite a hash chain end to end. A tree head
//! (size, root) kept elsewhere cannot be matched by a rewritten log; an
//! inclusion proof shows an entry is in the log a head describes, and a
//! consistency proof shows a later head extends an earlier one
//! (RFC 9162, sections 2.1.3 and 2.1.4).

pub mod canonical;
pub mod entry;
pub mod lines;
pub mod log;
pub mod merkle;
pub mod scan;
pub mod verify;

pub use entry::{
    format_hash, parse_hash, Hash32, GENESIS, GENESIS_PREV_HASH, MAX_LINE_BYTES, MAX_SEQ,
};
pub use log::{
    consistency_proof, inclusion_proof, read_tail, torn_tail, tree_head, truncate_torn_tail,
    Appended, Appender, InclusionProof, NewEntry, Tail,
};
pub use merkle::{verify_consistency, verify_inclusion};
pub use verify::{set_parallel, verify_file, ChainError, ErrorKind, Report, TreeHead, Verifier};
