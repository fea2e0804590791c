//! Writing `.npz` archives: a zip of uncompressed (stored) `.npy` members,
//! the layout `numpy.savez` writes and `numpy.load` reads.
//!
//! The caller gives each member's `.npy` header and its data bytes; the
//! writer computes the CRC-32 (`crc32fast`, SIMD) and writes the zip
//! structures around the bytes, borrowing them (no copy). Every entry carries
//! a Zip64 extra field and the archive a Zip64 end record (as `numpy.savez`
//! forces Zip64 for its members), so members and archives over 4 GiB need no
//! other path. The array data of each member starts at a multiple of 64
//! bytes in the file (padding in an alignment extra field of the local
//! header), so a reader can map the file and use the arrays in place.
//! Timestamps are fixed (1980-01-01 00:00), so equal arrays give equal files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::{Error, Result};

/// One member of an archive: `name` (without `.npy`), the `.npy` header
/// (magic, version, header length, header dict) and the array's bytes.
#[derive(Clone, Copy, Debug)]
pub struct Member<'a> {
    /// Member name without the `.npy` suffix.
    pub name: &'a str,
    /// The `.npy` header (everything before the array data).
    pub header: &'a [u8],
    /// The array data, C order.
    pub data: &'a [u8],
}

const VERSION: u16 = 45; // 4.5: Zip64
const MADE_BY: u16 = (3 << 8) | VERSION; // Unix
const DOS_DATE: u16 = (1 << 5) | 1; // 1980-01-01
const MAX32: u32 = u32::MAX;
/// Alignment of the array data in the file (numpy pads `.npy` headers to 64).
const ALIGN: u64 = 64;

struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Write `members` as an `.npz` archive at `path` (created or truncated).
/// Durability (fsync, atomic rename) is the caller's.
///
/// # Errors
/// [`Error::InvalidParameter`] for a name longer than 65,000 bytes or a
/// repeated name, [`Error::Io`] when the file cannot be written.
pub fn write_npz(path: &Path, members: &[Member<'_>]) -> Result<()> {
    for (i, m) in members.iter().enumerate() {
        if m.name.len() > 65_000 {
            return Err(Error::invalid("name", m.name, "member name too long"));
        }
        if members[..i].iter().any(|o| o.name == m.name) {
            return Err(Error::invalid("name", m.name, "repeated member name"));
        }
    }
    let err = io_err(path);
    let file = File::create(path).map_err(&err)?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let mut offset = 0u64;
    let mut entries = Vec::with_capacity(members.len());
    for m in members {
        let name = format!("{}.npy", m.name);
        let mut crc = crc32fast::Hasher::new();
        crc.update(m.header);
        crc.update(m.data);
        let crc = crc.finalize();
        let size = (m.header.len() + m.data.len()) as u64;
        // Pad the local header (an "alignment" extra field, as zipalign
        // writes) so that the array data starts at a multiple of 64 bytes:
        // a reader can then map the file and use the data in place.
        let unpadded = offset + 30 + name.len() as u64 + 20 + 6 + m.header.len() as u64;
        let pad = ((ALIGN - unpadded % ALIGN) % ALIGN) as usize;
        let extra = 20 + 6 + pad;
        let mut h = Vec::with_capacity(30 + name.len() + extra);
        put32(&mut h, 0x0403_4b50);
        put16(&mut h, VERSION);
        put16(&mut h, 0); // flags
        put16(&mut h, 0); // stored
        put16(&mut h, 0); // time
        put16(&mut h, DOS_DATE);
        put32(&mut h, crc);
        put32(&mut h, MAX32); // sizes in the Zip64 extra
        put32(&mut h, MAX32);
        put16(&mut h, name.len() as u16);
        put16(&mut h, extra as u16);
        h.extend_from_slice(name.as_bytes());
        put16(&mut h, 1); // Zip64 extra: uncompressed, compressed size
        put16(&mut h, 16);
        put64(&mut h, size);
        put64(&mut h, size);
        put16(&mut h, 0xa11e); // alignment extra: alignment, zero padding
        put16(&mut h, 2 + pad as u16);
        put16(&mut h, ALIGN as u16);
        h.resize(h.len() + pad, 0);
        w.write_all(&h).map_err(&err)?;
        w.write_all(m.header).map_err(&err)?;
        w.write_all(m.data).map_err(&err)?;
        entries.push(Entry {
            name,
            crc,
            size,
            offset,
        });
        offset += h.len() as u64 + size;
    }
    let cd_offset = offset;
    let mut cd = Vec::new();
    for e in &entries {
        put32(&mut cd, 0x0201_4b50);
        put16(&mut cd, MADE_BY);
        put16(&mut cd, VERSION);
        put16(&mut cd, 0); // flags
        put16(&mut cd, 0); // stored
        put16(&mut cd, 0); // time
        put16(&mut cd, DOS_DATE);
        put32(&mut cd, e.crc);
        put32(&mut cd, MAX32); // sizes and offset in the Zip64 extra
        put32(&mut cd, MAX32);
        put16(&mut cd, e.name.len() as u16);
        put16(&mut cd, 28);
        put16(&mut cd, 0); // comment
        put16(&mut cd, 0); // disk
        put16(&mut cd, 0); // internal attributes
        put32(&mut cd, 0o100_644 << 16); // regular file, rw-r--r--
        put32(&mut cd, MAX32);
        cd.extend_from_slice(e.name.as_bytes());
        put16(&mut cd, 1); // Zip64 extra: uncompressed, compressed size, offset
        put16(&mut cd, 24);
        put64(&mut cd, e.size);
        put64(&mut cd, e.size);
        put64(&mut cd, e.offset);
    }
    let cd_size = cd.len() as u64;
    let n = entries.len() as u64;
    let end64_offset = cd_offset + cd_size;
    // Zip64 end of central directory record and locator.
    put32(&mut cd, 0x0606_4b50);
    put64(&mut cd, 44);
    put16(&mut cd, MADE_BY);
    put16(&mut cd, VERSION);
    put32(&mut cd, 0);
    put32(&mut cd, 0);
    put64(&mut cd, n);
    put64(&mut cd, n);
    put64(&mut cd, cd_size);
    put64(&mut cd, cd_offset);
    put32(&mut cd, 0x0706_4b50);
    put32(&mut cd, 0);
    put64(&mut cd, end64_offset);
    put32(&mut cd, 1);
    // End of central directory record (saturated where Zip64 holds the value).
    put32(&mut cd, 0x0605_4b50);
    put16(&mut cd, 0);
    put16(&mut cd, 0);
    put16(&mut cd, n.min(0xFFFF) as u16);
    put16(&mut cd, n.min(0xFFFF) as u16);
    put32(&mut cd, cd_size.min(u64::from(MAX32)) as u32);
    put32(&mut cd, cd_offset.min(u64::from(MAX32)) as u32);
    put16(&mut cd, 0); // comment
    w.write_all(&cd).map_err(&err)?;
    w.flush().map_err(&err)?;
    Ok(())
}

/// The CRC-32 of zip archives (IEEE polynomial) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_zip_with_zip64_records() {
        let dir = std::env::temp_dir().join(format!("evospikenet-npz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npz");
        let members = [
            Member {
                name: "x",
                header: b"HDR",
                data: b"0123456789",
            },
            Member {
                name: "y",
                header: b"",
                data: b"",
            },
        ];
        write_npz(&path, &members).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        // The first member's header and data follow its local header, padded
        // so that the data starts at byte 64.
        assert_eq!(&bytes[61..74], b"HDR0123456789");
        assert_eq!(&bytes[28..30], &26u16.to_le_bytes()); // 20 + 6 + pad 0
        let crc = crc32fast::hash(b"HDR0123456789");
        assert_eq!(&bytes[14..18], &crc.to_le_bytes());
        // EOCD at the very end: two entries.
        let eocd = &bytes[bytes.len() - 22..];
        assert_eq!(&eocd[..4], b"PK\x05\x06");
        assert_eq!(&eocd[10..12], &2u16.to_le_bytes());
        let repeated = [members[0], members[0]];
        assert!(write_npz(&path, &repeated).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
