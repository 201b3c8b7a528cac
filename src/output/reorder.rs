//! Rows in `first_time` order, written as soon as no connection still open
//! can come before them: the held rows wait in memory up to a budget, then
//! on disk ([`super::spill`]), so the order holds on any capture.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;

use crate::diagnose::Flow;
use crate::wire::Timestamp;

use super::spill::{Keyed, Spill};

/// Most rows [`Reorder`] holds in memory. A connection open for the whole
/// capture would otherwise hold back every row after it: past this many
/// (or [`SPILL_BYTES`] of them), rows that can wait on disk (CSV records)
/// go to a temporary file in order and come back in their turn; others
/// (JSON, Zeek, `--each`) go out early, and [`Reorder::released_early`]
/// counts them.
pub const REORDER_LIMIT: usize = 200_000;

/// Bytes of rows held in memory before they wait on disk instead.
pub const SPILL_BYTES: usize = 16 << 20;

/// A held row and its place in the order. The row is what the writer
/// needs later: a boxed [`Flow`], or for CSV the record already encoded
/// (a third of a `Flow` with its strings), so that with a connection open
/// for long the rows held stay small and the heap's sifts move a key and a
/// pointer.
type Held<T> = Keyed<T>;

/// A row [`Reorder`] may put aside on disk: one that is bytes already.
pub trait Spillable: Sized {
    /// The row's bytes, when it can wait on disk.
    fn bytes(&self) -> Option<&[u8]>;
    /// The row back from its bytes.
    fn from_bytes(bytes: Vec<u8>) -> Option<Self>;
}

impl Spillable for Box<Flow> {
    fn bytes(&self) -> Option<&[u8]> {
        None
    }
    fn from_bytes(_: Vec<u8>) -> Option<Self> {
        None
    }
}

/// Puts rows in `first_time` order (then the 4-tuple) without collecting
/// them: a row is held only until no connection still open can come before
/// it, i.e. until its first time is before the tracker's watermark (the
/// earliest first time among open connections).
pub struct Reorder<T> {
    held: BinaryHeap<Reverse<Held<T>>>,
    limit: usize,
    spill_bytes: usize,
    /// Bytes of the spillable rows in `held`.
    held_bytes: usize,
    /// Rows waiting on disk, once memory was not enough; `None` also when
    /// the temporary file could not be made (rows then go out early).
    spill: Option<Spill>,
    spill_failed: bool,
    arrived: u64,
    /// Rows written before their time because the buffer was full.
    pub released_early: u64,
}

impl<T: Spillable> Default for Reorder<T> {
    fn default() -> Self {
        Reorder::with_limits(REORDER_LIMIT, SPILL_BYTES)
    }
}

impl<T: Spillable> Reorder<T> {
    /// At most `limit` rows, and `spill_bytes` bytes of rows, in memory.
    pub fn with_limits(limit: usize, spill_bytes: usize) -> Self {
        Reorder {
            held: BinaryHeap::new(),
            limit: limit.max(1),
            spill_bytes,
            held_bytes: 0,
            spill: None,
            spill_failed: false,
            arrived: 0,
            released_early: 0,
        }
    }

    /// Holds `row`, the row of `flow`, in `flow`'s place in the order.
    pub fn push(&mut self, flow: &Flow, row: T) -> io::Result<()> {
        let key = (
            flow.first_time,
            flow.client.parse().ok(),
            flow.client_port,
            flow.server.parse().ok(),
            flow.server_port,
            self.arrived,
        );
        self.arrived += 1;
        let spillable = row.bytes().map(<[u8]>::len);
        self.held.push(Reverse(Held { key, value: row }));
        let Some(len) = spillable else {
            return Ok(());
        };
        self.held_bytes += len;
        if (self.held.len() > self.limit || self.held_bytes > self.spill_bytes)
            && !self.spill_failed
        {
            self.put_aside()?;
        }
        Ok(())
    }

    /// Every row held in memory, in order, as one run on disk (when every
    /// one of them is bytes).
    fn put_aside(&mut self) -> io::Result<()> {
        if self.held.iter().any(|Reverse(h)| h.value.bytes().is_none()) {
            return Ok(());
        }
        if self.spill.is_none() {
            match Spill::new() {
                Ok(s) => self.spill = Some(s),
                Err(_) => {
                    self.spill_failed = true;
                    return Ok(());
                }
            }
        }
        let Some(spill) = self.spill.as_mut() else {
            return Ok(());
        };
        let sorted = std::mem::take(&mut self.held).into_sorted_vec();
        // `into_sorted_vec` of `Reverse` is descending in key.
        spill
            .write_run(
                sorted
                    .iter()
                    .rev()
                    .map(|Reverse(h)| (&h.key, h.value.bytes().unwrap_or_default())),
            )
            .map_err(|e| {
                io::Error::new(e.kind(), format!("rows waiting in a temporary file: {e}"))
            })?;
        self.held_bytes = 0;
        Ok(())
    }

    /// The earliest row held, in memory or on disk: `true` when on disk.
    fn earliest(&self) -> Option<(Timestamp, bool)> {
        let mem = self.held.peek().map(|Reverse(h)| &h.key);
        let disk = self.spill.as_ref().and_then(|s| s.first_key());
        match (mem, disk) {
            (Some(m), Some(d)) if d < m => Some((d.0, true)),
            (Some(m), _) => Some((m.0, false)),
            (None, Some(d)) => Some((d.0, true)),
            (None, None) => None,
        }
    }

    fn take(&mut self, from_disk: bool) -> io::Result<Option<T>> {
        if from_disk {
            let Some(spill) = self.spill.as_mut() else {
                return Ok(None);
            };
            return match spill.pop()? {
                Some(bytes) => T::from_bytes(bytes)
                    .map(Some)
                    .ok_or_else(|| io::Error::other("a row put aside cannot be read back")),
                None => Ok(None),
            };
        }
        let row = self.held.pop().map(|Reverse(h)| h.value);
        if let Some(len) = row.as_ref().and_then(|r| r.bytes()).map(<[u8]>::len) {
            self.held_bytes = self.held_bytes.saturating_sub(len);
        }
        Ok(row)
    }

    /// The next row that may be written now: one before `watermark` (any
    /// row when no connection is open), or the earliest when the buffer is
    /// over its limit and the rows cannot wait on disk.
    pub fn pop_ready(&mut self, watermark: Option<Timestamp>) -> io::Result<Option<T>> {
        let Some((first, from_disk)) = self.earliest() else {
            return Ok(None);
        };
        let ready = watermark.is_none_or(|w| first < w);
        let full = self.held.len() > self.limit;
        if !ready && !full {
            return Ok(None);
        }
        if !ready {
            self.released_early += 1;
        }
        self.take(from_disk)
    }

    /// Everything left, in order (the end of the capture).
    pub fn pop_any(&mut self) -> io::Result<Option<T>> {
        match self.earliest() {
            Some((_, from_disk)) => self.take(from_disk),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::classify;
    use crate::track::testwire::{Wire, A, P, R};

    /// A row that is bytes, as a CSV record is.
    #[derive(Debug)]
    enum HeldRow {
        Csv(Box<[u8]>),
    }

    impl Spillable for HeldRow {
        fn bytes(&self) -> Option<&[u8]> {
            let HeldRow::Csv(b) = self;
            Some(b)
        }
        fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
            Some(HeldRow::Csv(bytes.into_boxed_slice()))
        }
    }

    /// A connection's row with its first time moved `ns` on.
    fn flow_at(ns: i64) -> Flow {
        let mut w = Wire::new();
        w.handshake().c(P | A, 1, 1, 87).s(R, 1, 0, 0);
        let mut f = classify(&w.one());
        f.first_time = Timestamp(f.first_time.0 + ns);
        f
    }

    #[test]
    fn reorder_holds_rows_until_the_watermark_passes_them() {
        let (early, late) = (flow_at(0), flow_at(1_000));
        let mut r = Reorder::with_limits(10, SPILL_BYTES);
        r.push(&late, Box::new(late.clone())).expect("push");
        // A connection that started at `early` is still open.
        assert!(r.pop_ready(Some(early.first_time)).expect("pop").is_none());
        r.push(&early, Box::new(early.clone())).expect("push");
        assert!(
            r.pop_ready(Some(early.first_time)).expect("pop").is_none(),
            "equal: held"
        );
        let next = Timestamp(late.first_time.0 + 1);
        assert_eq!(
            r.pop_ready(Some(next)).expect("pop").as_deref(),
            Some(&early)
        );
        assert_eq!(r.pop_ready(None).expect("pop").as_deref(), Some(&late));
        assert!(r.pop_any().expect("pop").is_none());
        assert_eq!(r.released_early, 0);

        // Over the limit, the earliest row goes out and is counted.
        let mut r = Reorder::with_limits(1, SPILL_BYTES);
        r.push(&late, Box::new(late.clone())).expect("push");
        r.push(&early, Box::new(early.clone())).expect("push");
        assert_eq!(
            r.pop_ready(Some(Timestamp(i64::MIN)))
                .expect("pop")
                .as_deref(),
            Some(&early)
        );
        assert!(r
            .pop_ready(Some(Timestamp(i64::MIN)))
            .expect("pop")
            .is_none());
        assert_eq!(r.released_early, 1);
    }

    /// Rows past the memory budget wait on disk and come back in order, as
    /// if they had all waited in memory: none goes out early.
    #[test]
    fn rows_over_the_budget_wait_on_disk_and_keep_their_order() {
        // First times out of order, several equal, over five runs of two.
        let offsets = [5i64, 3, 9, 3, 0, 7, 1, 8, 2, 6, 4];
        let mut r: Reorder<HeldRow> = Reorder::with_limits(2, 1 << 20);
        for (n, off) in offsets.iter().enumerate() {
            let mut f = flow_at(off * 1_000);
            f.client_port = n as u16;
            let row = format!("{off},{n}").into_bytes().into_boxed_slice();
            r.push(&f, HeldRow::Csv(row)).expect("push");
            // A connection open since before every row holds them all.
            let before_all = Timestamp(flow_at(0).first_time.0 - 1);
            assert!(r.pop_ready(Some(before_all)).expect("pop").is_none());
        }
        let mut out = Vec::new();
        while let Some(row) = r.pop_any().expect("pop") {
            let HeldRow::Csv(b) = row;
            out.push(String::from_utf8(b.into_vec()).expect("utf8"));
        }
        let mut want: Vec<(i64, usize)> = offsets.iter().copied().zip(0..).collect();
        want.sort();
        let want: Vec<String> = want.iter().map(|(o, n)| format!("{o},{n}")).collect();
        assert_eq!(out, want);
        assert_eq!(r.released_early, 0);
    }

    /// A watermark in the middle releases the rows before it, from memory
    /// and from disk alike, and holds the rest.
    #[test]
    fn the_watermark_releases_rows_from_disk_and_memory_in_one_order() {
        let t0 = flow_at(0).first_time.0;
        let mut r: Reorder<HeldRow> = Reorder::with_limits(3, 1 << 20);
        for (n, off) in [4i64, 0, 6, 2, 5, 1, 3].iter().enumerate() {
            let mut f = flow_at(*off);
            f.client_port = n as u16;
            r.push(&f, HeldRow::Csv(vec![*off as u8].into_boxed_slice()))
                .expect("push");
        }
        let mut ready = Vec::new();
        while let Some(HeldRow::Csv(b)) = r.pop_ready(Some(Timestamp(t0 + 4))).expect("pop") {
            ready.push(b[0]);
        }
        assert_eq!(ready, [0, 1, 2, 3]);
        let mut rest = Vec::new();
        while let Some(HeldRow::Csv(b)) = r.pop_any().expect("pop") {
            rest.push(b[0]);
        }
        assert_eq!(rest, [4, 5, 6]);
    }
}
