//! The one error type of the core. The binding maps each variant onto a Python
//! exception class in `evospikenet.errors` with an exhaustive `match`.

use thiserror::Error;

/// Everything that can go wrong inside `evospikenet-core`.
#[derive(Debug, Error)]
pub enum Error {
    /// A parameter has a value outside its domain (NaN, negative time constant, ...).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// The public name of the parameter, with its unit suffix.
        name: String,
        /// The offending value, as text.
        value: String,
        /// Why the value is rejected.
        reason: String,
    },
    /// Arrays that must agree in length or shape do not.
    #[error("shape mismatch for {name}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// The argument whose shape is wrong.
        name: String,
        /// The expected shape, as text.
        expected: String,
        /// The shape that was passed.
        got: String,
    },
    /// An index (population, projection, neuron) that does not exist.
    #[error("{kind} index {index} out of range (have {len})")]
    IndexOutOfRange {
        /// What kind of object was indexed.
        kind: String,
        /// The index that was asked for.
        index: usize,
        /// How many there are.
        len: usize,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file that was being read or written.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A long call was stopped by its interrupt hook (Ctrl-C); the network
    /// is left consistent at a step (or build) boundary.
    #[error("interrupted")]
    Interrupted,
    /// The audit chain is broken at entry `seq`.
    #[error("audit chain broken at seq {seq}: {reason}")]
    ChainBroken {
        /// Sequence number of the first bad entry.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Shorthand for results of the core.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Build an [`Error::InvalidParameter`].
    pub fn invalid(
        name: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
