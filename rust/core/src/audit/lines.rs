//! Reading a JSON Lines file in blocks of whole lines with bounded memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::entry::MAX_LINE_BYTES;
use crate::{Error, Result};

/// Bytes read from the file per block (a block is then cut at its last newline).
pub const BLOCK_BYTES: usize = 4 << 20;

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What the next read gives.
#[derive(Debug)]
pub enum Chunk<'a> {
    /// Whole lines, each ending in `\n`, starting at file offset `offset`.
    Lines { bytes: &'a [u8], offset: u64 },
    /// Bytes after the last newline at the end of the file (a torn final line).
    Unterminated { bytes: &'a [u8], offset: u64 },
    /// A line longer than [`MAX_LINE_BYTES`] starting at `offset`.
    TooLong { offset: u64 },
    /// End of file.
    End,
}

/// Streams a file as blocks of whole lines; memory stays below
/// `BLOCK_BYTES + MAX_LINE_BYTES` whatever the file size.
pub struct Chunker {
    file: File,
    path: std::path::PathBuf,
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    consumed: usize,
    /// File offset of `buf[0]`.
    offset: u64,
    eof: bool,
    done: bool,
}

impl Chunker {
    /// Open `path` for reading.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            buf: Vec::with_capacity(BLOCK_BYTES),
            consumed: 0,
            offset: 0,
            eof: false,
            done: false,
        })
    }

    /// File size in bytes at the time of the call.
    pub fn file_len(&self) -> Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| io_err(&self.path, e))
    }

    /// File offset of the first byte not yet handed out.
    pub fn position(&self) -> u64 {
        self.offset + self.consumed as u64
    }

    fn fill(&mut self) -> Result<()> {
        let want = self.buf.len() + BLOCK_BYTES;
        while self.buf.len() < want && !self.eof {
            let start = self.buf.len();
            self.buf.resize(want, 0);
            match self.file.read(&mut self.buf[start..]) {
                Ok(0) => {
                    self.buf.truncate(start);
                    self.eof = true;
                }
                Ok(n) => self.buf.truncate(start + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => self.buf.truncate(start),
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(io_err(&self.path, e));
                }
            }
        }
        Ok(())
    }

    /// The next block of whole lines, or what ends the file.
    pub fn next_chunk(&mut self) -> Result<Chunk<'_>> {
        if self.done {
            return Ok(Chunk::End);
        }
        self.buf.drain(..self.consumed);
        self.offset += self.consumed as u64;
        self.consumed = 0;
        loop {
            if let Some(last) = memchr::memrchr(b'\n', &self.buf) {
                self.consumed = last + 1;
                return Ok(Chunk::Lines {
                    bytes: &self.buf[..=last],
                    offset: self.offset,
                });
            }
            if self.buf.len() > MAX_LINE_BYTES {
                self.done = true;
                return Ok(Chunk::TooLong {
                    offset: self.offset,
                });
            }
            if self.eof {
                self.done = true;
                self.consumed = self.buf.len();
                if self.buf.is_empty() {
                    return Ok(Chunk::End);
                }
                return Ok(Chunk::Unterminated {
                    bytes: &self.buf,
                    offset: self.offset,
                });
            }
            self.fill()?;
        }
    }
}

/// Split a block of whole lines into `(file offset, line without '\n')`.
pub fn split_lines(bytes: &[u8], offset: u64) -> Vec<(u64, &[u8])> {
    let mut out = Vec::with_capacity(bytes.len() / 256 + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        out.push((offset + start as u64, &bytes[start..end]));
        start = end + 1;
    }
    out
}
