//! Rows that wait on disk for their turn.
//!
//! A connection open for the whole capture (a database session, an SSH
//! login) holds back every row that starts after it, so time-ordered rows
//! of a long capture can all be waiting at once. Past a memory budget the
//! waiting rows go, in order, into a run of an unlinked temporary file; the
//! runs are merged back by key when their turn comes (an external merge
//! sort), so the order is the same as if every row had waited in memory.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::net::IpAddr;

use crate::wire::Timestamp;

/// The order rows are written in: first time, then the 4-tuple, then the
/// order they finished in.
pub type RowKey = (Timestamp, Option<IpAddr>, u16, Option<IpAddr>, u16, u64);

/// Bytes each run reads ahead: runs are many only on very long captures,
/// and each keeps one buffer.
const READ_AHEAD: usize = 16 * 1024;

/// The rows waiting on disk, and the next row of each run.
pub struct Spill {
    file: File,
    /// End of what was written.
    end: u64,
    heads: BinaryHeap<Reverse<Head>>,
}

/// A value ordered by its key alone: a row held in memory, or the next
/// row of a run on disk.
pub struct Keyed<T> {
    pub key: RowKey,
    pub value: T,
}

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// The next row of one run, and the rest of the run.
type Head = Keyed<(Vec<u8>, Run)>;

/// What is left of one run: `[pos, end)` of the file, the part of it
/// already read into `buf` from `at`.
struct Run {
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    at: usize,
}

fn put_ip(out: &mut Vec<u8>, ip: Option<IpAddr>) {
    match ip {
        None => out.extend_from_slice(&[0; 17]),
        Some(IpAddr::V4(a)) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
            out.extend_from_slice(&[0; 12]);
        }
        Some(IpAddr::V6(a)) => {
            out.push(6);
            out.extend_from_slice(&a.octets());
        }
    }
}

fn get_ip(b: &[u8]) -> Option<IpAddr> {
    match b[0] {
        4 => Some(IpAddr::from([b[1], b[2], b[3], b[4]])),
        6 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[1..17]);
            Some(IpAddr::from(o))
        }
        _ => None,
    }
}

/// Key, then the row's length, then the row.
const KEY_LEN: usize = 8 + 17 + 2 + 17 + 2 + 8;

fn encode(out: &mut Vec<u8>, key: &RowKey, row: &[u8]) {
    out.extend_from_slice(&key.0 .0.to_le_bytes());
    put_ip(out, key.1);
    out.extend_from_slice(&key.2.to_le_bytes());
    put_ip(out, key.3);
    out.extend_from_slice(&key.4.to_le_bytes());
    out.extend_from_slice(&key.5.to_le_bytes());
    out.extend_from_slice(&(row.len() as u64).to_le_bytes());
    out.extend_from_slice(row);
}

fn decode_key(b: &[u8]) -> RowKey {
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    (
        Timestamp(u64_at(0) as i64),
        get_ip(&b[8..25]),
        u16_at(25),
        get_ip(&b[27..44]),
        u16_at(44),
        u64_at(46),
    )
}

fn broken() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a row put aside in the temporary file came back cut short",
    )
}

impl Run {
    /// At least `n` bytes from `at` in `buf`, reading from `file`.
    fn fill(&mut self, file: &mut File, n: usize) -> io::Result<()> {
        if self.buf.len() - self.at >= n {
            return Ok(());
        }
        self.buf.drain(..self.at);
        self.at = 0;
        let want = (n - self.buf.len()).max(READ_AHEAD) as u64;
        let take = want.min(self.end - self.pos) as usize;
        if self.buf.len() + take < n {
            return Err(broken());
        }
        let old = self.buf.len();
        self.buf.resize(old + take, 0);
        file.seek(SeekFrom::Start(self.pos))?;
        file.read_exact(&mut self.buf[old..])?;
        self.pos += take as u64;
        Ok(())
    }

    /// The run's next row, or `None` at its end.
    fn next(&mut self, file: &mut File) -> io::Result<Option<(RowKey, Vec<u8>)>> {
        if self.at == self.buf.len() && self.pos == self.end {
            return Ok(None);
        }
        self.fill(file, KEY_LEN + 8)?;
        let key = decode_key(&self.buf[self.at..]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&self.buf[self.at + KEY_LEN..self.at + KEY_LEN + 8]);
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| broken())?;
        self.at += KEY_LEN + 8;
        self.fill(file, len)?;
        let row = self.buf[self.at..self.at + len].to_vec();
        self.at += len;
        Ok(Some((key, row)))
    }
}

impl Spill {
    /// An unlinked temporary file: nothing is left behind, however the
    /// program ends.
    pub fn new() -> io::Result<Spill> {
        Ok(Spill {
            file: tempfile::tempfile()?,
            end: 0,
            heads: BinaryHeap::new(),
        })
    }

    /// Writes rows, given in key order, as one run.
    pub fn write_run<'a>(
        &mut self,
        rows: impl Iterator<Item = (&'a RowKey, &'a [u8])>,
    ) -> io::Result<()> {
        let start = self.end;
        self.file.seek(SeekFrom::Start(start))?;
        let mut out = BufWriter::with_capacity(256 * 1024, &mut self.file);
        let mut record = Vec::new();
        for (key, row) in rows {
            record.clear();
            encode(&mut record, key, row);
            out.write_all(&record)?;
            self.end += record.len() as u64;
        }
        out.flush()?;
        drop(out);
        let mut run = Run {
            pos: start,
            end: self.end,
            buf: Vec::new(),
            at: 0,
        };
        if let Some((key, row)) = run.next(&mut self.file)? {
            self.heads.push(Reverse(Keyed {
                key,
                value: (row, run),
            }));
        }
        Ok(())
    }

    /// The key of the earliest row on disk.
    pub fn first_key(&self) -> Option<&RowKey> {
        self.heads.peek().map(|Reverse(h)| &h.key)
    }

    /// The earliest row on disk, taken out.
    pub fn pop(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(Reverse(mut head)) = self.heads.pop() else {
            return Ok(None);
        };
        let row = std::mem::take(&mut head.value.0);
        if let Some((key, next)) = head.value.1.next(&mut self.file)? {
            head.key = key;
            head.value.0 = next;
            self.heads.push(Reverse(head));
        }
        Ok(Some(row))
    }
}
