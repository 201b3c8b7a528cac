//! How a timeline stores a kept segment, in bytes.
//!
//! With 100 000 connections open the timelines are a third of the
//! tracker's memory, and most of their entries are in the head: the first
//! segments of a connection, written once and never moved. Those are
//! stored as variable-length records whose numbers are small once taken
//! relative to the head's first record (time and frame), or relative to the
//! connection's ISN already (sequence and ACK numbers): about 16 bytes
//! instead of 38. The tail ring and the key part, whose entries are
//! overwritten and moved, keep fixed 38-byte records. Both forms give back
//! exactly the [`Kept`] that went in.

use integer_encoding::VarInt;

use crate::wire::{Flags, Timestamp};

use super::side::Side;

/// A relative sequence number in 40 bits: the low 32 bits and the number of
/// times the sender's space wrapped since its origin (-128..=127), which
/// covers 500 GiB either way of the ISN before saturating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rel40 {
    pub(super) lo: u32,
    pub(super) hi: i8,
}

impl Rel40 {
    pub(super) fn new(v: i64) -> Self {
        let v = v.clamp(
            i64::from(i8::MIN) << 32,
            (i64::from(i8::MAX) << 32) | 0xffff_ffff,
        );
        Rel40 {
            lo: v as u32,
            hi: (v >> 32) as i8,
        }
    }
    pub(super) fn get(self) -> i64 {
        (i64::from(self.hi) << 32) | i64::from(self.lo)
    }
}

pub(super) const KEPT_SERVER: u8 = 1;
pub(super) const KEPT_KEY: u8 = 2;

/// One kept segment as the timeline knows it: the timeline's entry with
/// its sequence numbers in 40 bits and its position in 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Kept {
    pub(super) ts: Timestamp,
    pub(super) frame: u64,
    pub(super) seq: Rel40,
    /// Rel40 of 0 when the segment has no ACK flag.
    pub(super) ack: Rel40,
    /// Position in the connection, saturating at `u32::MAX`.
    pub(super) ord: u32,
    pub(super) len: u32,
    pub(super) window: u16,
    pub(super) flags: Flags,
    /// `KEPT_SERVER` | `KEPT_KEY`.
    pub(super) bits: u8,
}

impl Kept {
    pub(super) fn side(self) -> Side {
        side_of(self.bits)
    }
    pub(super) fn key(self) -> bool {
        self.bits & KEPT_KEY != 0
    }
}

/// The side a record's bits byte names.
pub(super) fn side_of(bits: u8) -> Side {
    if bits & KEPT_SERVER != 0 {
        Side::Server
    } else {
        Side::Client
    }
}

/// Bytes of a fixed record (tail ring and key part).
pub(super) const FIXED: usize = 38;

/// Where the bits byte is in a fixed record (in a head record it is the
/// first byte).
pub(super) const FIXED_BITS_AT: usize = FIXED - 1;

/// The fixed record of `k`.
pub(super) fn fixed(k: Kept) -> [u8; FIXED] {
    let mut r = [0u8; FIXED];
    r[0..8].copy_from_slice(&k.ts.0.to_le_bytes());
    r[8..16].copy_from_slice(&k.frame.to_le_bytes());
    r[16..20].copy_from_slice(&k.seq.lo.to_le_bytes());
    r[20..24].copy_from_slice(&k.ack.lo.to_le_bytes());
    r[24..28].copy_from_slice(&k.ord.to_le_bytes());
    r[28..32].copy_from_slice(&k.len.to_le_bytes());
    r[32..34].copy_from_slice(&k.window.to_le_bytes());
    r[34] = k.seq.hi as u8;
    r[35] = k.ack.hi as u8;
    r[36] = k.flags.0;
    r[FIXED_BITS_AT] = k.bits;
    r
}

fn le<const N: usize>(r: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&r[at..at + N]);
    b
}

/// The [`Kept`] of a fixed record (`r` at least [`FIXED`] bytes).
pub(super) fn from_fixed(r: &[u8]) -> Kept {
    Kept {
        ts: Timestamp(i64::from_le_bytes(le(r, 0))),
        frame: u64::from_le_bytes(le(r, 8)),
        seq: Rel40 {
            lo: u32::from_le_bytes(le(r, 16)),
            hi: r[34] as i8,
        },
        ack: Rel40 {
            lo: u32::from_le_bytes(le(r, 20)),
            hi: r[35] as i8,
        },
        ord: u32::from_le_bytes(le(r, 24)),
        len: u32::from_le_bytes(le(r, 28)),
        window: u16::from_le_bytes(le(r, 32)),
        flags: Flags(r[36]),
        bits: r[FIXED_BITS_AT],
    }
}

/// The longest head record: two bytes, then varints (seven bits a byte)
/// of 64-bit time, frame, sequence and ACK (ten bytes at most each),
/// 32-bit position and length (five) and the 16-bit window (three).
pub(super) const HEAD_MAX: usize = 2 + 4 * 10 + 2 * 5 + 3;

/// What head records are written relative to: the connection's first
/// time and frame, which it keeps anyway and never changes, so that a push
/// reads nothing of the buffer but where it writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct HeadBase {
    ts: i64,
    frame: u64,
}

impl HeadBase {
    pub(super) fn new(ts: Timestamp, frame: u64) -> Self {
        HeadBase { ts: ts.0, frame }
    }
}

/// Appends `v` as a varint (LEB128; zigzag for signed types).
fn put<V: VarInt>(out: &mut [u8; HEAD_MAX], n: &mut usize, v: V) {
    *n += v.encode_var(&mut out[*n..]);
}

/// Reads a varint at `*at`, moving `*at` past it. Records are only ever
/// written by [`head_record`], so a value is never cut short or too wide
/// for its type; if one were, it would read as the type's default and
/// leave `*at` where it is.
fn get<V: VarInt + Default>(buf: &[u8], at: &mut usize) -> V {
    let (v, n) = buf.get(*at..).and_then(V::decode_var).unwrap_or_default();
    *at += n;
    v
}

/// The head record of `k` relative to `base`: bits, flags, then time and
/// frame as differences from the base (wrapping, so any value
/// round-trips), the position, the sequence number, the ACK number when
/// the ACK flag is set, the length and the window.
pub(super) fn head_record(k: &Kept, base: HeadBase) -> ([u8; HEAD_MAX], usize) {
    let mut out = [0u8; HEAD_MAX];
    out[0] = k.bits;
    out[1] = k.flags.0;
    let mut n = 2;
    put(&mut out, &mut n, k.ts.0.wrapping_sub(base.ts));
    put(&mut out, &mut n, k.frame.wrapping_sub(base.frame) as i64);
    put(&mut out, &mut n, k.ord);
    put(&mut out, &mut n, k.seq.get());
    if k.flags.ack() {
        put(&mut out, &mut n, k.ack.get());
    }
    put(&mut out, &mut n, k.len);
    put(&mut out, &mut n, k.window);
    (out, n)
}

/// Reads the head record at `*at` written relative to `base`, moving `*at`
/// past it.
pub(super) fn read_head(buf: &[u8], at: &mut usize, base: HeadBase) -> Kept {
    let bits = buf[*at];
    let flags = Flags(buf[*at + 1]);
    *at += 2;
    let ts = base.ts.wrapping_add(get(buf, at));
    let frame = base.frame.wrapping_add(get::<i64>(buf, at) as u64);
    let ord = get(buf, at);
    let seq = Rel40::new(get(buf, at));
    let ack = Rel40::new(if flags.ack() { get(buf, at) } else { 0 });
    let len = get(buf, at);
    let window = get(buf, at);
    Kept {
        ts: Timestamp(ts),
        frame,
        seq,
        ack,
        ord,
        len,
        window,
        flags,
        bits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(ts: i64, frame: u64, ord: u32, seq: i64, ack: i64, flags: u8) -> Kept {
        Kept {
            ts: Timestamp(ts),
            frame,
            seq: Rel40::new(seq),
            ack: Rel40::new(if flags & Flags::ACK != 0 { ack } else { 0 }),
            ord,
            len: 1448,
            window: 502,
            flags: Flags(flags),
            bits: KEPT_SERVER | KEPT_KEY,
        }
    }

    /// Sequence numbers within 127 wraps of the ISN either way keep
    /// their value.
    #[test]
    fn rel40_keeps_numbers_within_its_range() {
        for v in [
            0i64,
            1,
            -1,
            1 << 32,
            (1 << 32) + 5,
            -(1 << 33) - 7,
            i64::from(u32::MAX),
        ] {
            assert_eq!(Rel40::new(v).get(), v);
        }
        assert_eq!(Rel40::new(i64::MAX).get(), (127 << 32) | 0xffff_ffff);
    }

    /// Extremes of every field come back as they went in, in both forms:
    /// a timeline never shows a number the capture did not have.
    #[test]
    fn records_give_back_what_went_in() {
        let base = HeadBase::new(Timestamp(1_700_000_000_123_456_789), 7);
        let cases = [
            kept(i64::MIN, 0, 0, i64::MIN, i64::MAX, Flags::ACK),
            kept(i64::MAX, u64::MAX, u32::MAX, i64::MAX, i64::MIN, 0xff),
            kept(-1, 1, 1, -1, -(1 << 33) - 7, Flags::ACK | Flags::FIN),
            kept(1_700_000_000_123_456_790, 8, 4, 1, 1, Flags::SYN),
            kept(0, 1 << 40, 1 << 31, (1 << 32) + 5, 1 << 32, Flags::RST),
        ];
        for k in cases {
            assert_eq!(from_fixed(&fixed(k)), k);
            let (r, n) = head_record(&k, base);
            let mut at = 0;
            assert_eq!(read_head(&r[..n], &mut at, base), k);
            assert_eq!(at, n, "read the whole record, no more");
        }
        let odd = Kept {
            len: u32::MAX,
            window: u16::MAX,
            bits: 0,
            ..cases[0]
        };
        let (r, n) = head_record(&odd, base);
        assert_eq!(read_head(&r[..n], &mut 0, base), odd);
    }

    /// A typical data segment a tenth of a second and a thousand frames
    /// after the connection's first takes 17 bytes in the head, not 38.
    #[test]
    fn head_records_of_a_typical_segment_are_small() {
        let base = HeadBase::new(Timestamp(1_700_000_000_000_000_000), 5_000_000);
        let data = kept(
            1_700_000_000_100_000_000,
            5_001_000,
            5,
            1 + 4 * 1448,
            518,
            Flags::ACK | Flags::PSH,
        );
        let (_, n) = head_record(&data, base);
        assert_eq!(n, 2 + 4 + 2 + 1 + 2 + 2 + 2 + 2);
    }
}
