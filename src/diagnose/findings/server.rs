//! What the findings keep for every server, whatever its trouble: the key
//! (address and port as a value, not a heap string) and its tally, held in
//! 16 bytes while the server has had one connection. A port scan's
//! 200 000 targets are each seen once; a server that has a second
//! connection gets its tally out of line: in 88 bytes with 8-bit counts
//! (a [`Few`]: up to 255 connections of each outcome and class), and whole
//! beyond that.

use std::borrow::Cow;
use std::cmp::Reverse;

use crate::diagnose::Outcome;

use super::class::{Class, CLASSES};
use super::key::ServerKey;
use super::tally::{Burst, Bursts, Sources, Tally, NO_MS};
use super::ServerRow;

/// The tally of a server seen at most once, every field it can differ
/// from an empty tally in. Only ever made from a tally that it gives back
/// unchanged ([`One::of`] checks), so nothing is lost by the packing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct One {
    /// The trouble window's first and last ms (one connection: the same).
    ms: i32,
    last_served_ms: i32,
    outcome: Option<Outcome>,
    class: Option<Class>,
    /// The bit of the sources sketch it set, if any.
    source: Option<u8>,
    /// `served`, `lossy`, then one bit per `SuspectSign`.
    flags: u8,
    detail: u8,
}

const SERVED: u8 = 1;
const LOSSY: u8 = 2;
const SUSPECT: u8 = 4;

impl One {
    const EMPTY: One = One {
        ms: 0,
        last_served_ms: NO_MS,
        outcome: None,
        class: None,
        source: None,
        flags: 0,
        detail: 0,
    };

    fn tally(&self) -> Tally {
        let mut t = Tally::default();
        if let Some(o) = self.outcome {
            if let Some(i) = Outcome::ALL.iter().position(|x| *x == o) {
                t.outcomes[i] = 1;
            }
        }
        if let Some(c) = self.class {
            t.classes[c.idx()] = 1;
        }
        if let Some(b) = self.source {
            t.sources[usize::from(b) / 64] |= 1 << (b % 64);
        }
        t.served = u32::from(self.flags & SERVED != 0);
        t.lossy = u32::from(self.flags & LOSSY != 0);
        for (k, s) in t.suspect.iter_mut().enumerate() {
            *s = u32::from(self.flags & (SUSPECT << k) != 0);
        }
        t.first_ms = self.ms;
        t.last_ms = self.ms;
        t.last_served_ms = self.last_served_ms;
        t.detail = u32::from(self.detail);
        t
    }

    /// `t` packed, if it fits exactly.
    fn of(t: &Tally) -> Option<One> {
        let single = |counts: &[u32]| -> Option<Option<usize>> {
            match counts.iter().position(|&n| n > 0) {
                None => Some(None),
                Some(i) if counts[i] == 1 && counts[i + 1..].iter().all(|&n| n == 0) => {
                    Some(Some(i))
                }
                Some(_) => None,
            }
        };
        let outcome = single(&t.outcomes)?.map(|i| Outcome::ALL[i]);
        let class = single(&t.classes)?.map(|i| Class::ALL[i]);
        let bits: u32 = t.sources.iter().map(|w| w.count_ones()).sum();
        let source = match bits {
            0 => None,
            1 => {
                let (w, word) = t.sources.iter().enumerate().find(|(_, w)| **w != 0)?;
                Some(u8::try_from(w * 64 + word.trailing_zeros() as usize).ok()?)
            }
            _ => return None,
        };
        let mut flags = 0;
        if t.served == 1 {
            flags |= SERVED;
        }
        if t.lossy == 1 {
            flags |= LOSSY;
        }
        for (k, &s) in t.suspect.iter().enumerate() {
            if s == 1 {
                flags |= SUSPECT << k;
            }
        }
        let one = One {
            ms: t.first_ms,
            last_served_ms: t.last_served_ms,
            outcome,
            class,
            source,
            flags,
            detail: u8::try_from(t.detail).ok()?,
        };
        // Whatever the packing missed (a second connection, a burst of
        // endings) shows as a difference: such a tally stays whole.
        (one.tally() == *t).then_some(one)
    }
}

/// A listener burst of a [`Few`]: its count is the sum of its members by
/// kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FewBurst {
    start: i64,
    span: u32,
    by: [u8; 2],
}

impl FewBurst {
    fn burst(&self) -> Burst {
        Burst {
            start: self.start,
            span: self.span,
            count: u32::from(self.by[0]) + u32::from(self.by[1]),
            by: self.by.map(u32::from),
        }
    }

    fn of(b: &Burst) -> Option<FewBurst> {
        Some(FewBurst {
            start: b.start,
            span: b.span,
            by: [u8::try_from(b.by[0]).ok()?, u8::try_from(b.by[1]).ok()?],
        })
    }
}

/// The tally of a server whose counts all fit in 8 bits: most servers
/// with a few connections. Only ever made from a tally that it gives back
/// unchanged ([`Few::of`] checks), as [`One`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Few {
    outcomes: [u8; Outcome::ALL.len()],
    classes: [u8; CLASSES],
    served: u8,
    suspect: [u8; 2],
    lossy: u8,
    resent: u8,
    detail: u8,
    sources: Sources,
    first_ms: i32,
    last_ms: i32,
    last_served_ms: i32,
    /// The current listener burst and the largest one.
    listener: [FewBurst; 2],
}

impl Few {
    fn tally(&self) -> Tally {
        Tally {
            outcomes: self.outcomes.map(u32::from),
            classes: self.classes.map(u32::from),
            served: u32::from(self.served),
            sources: self.sources,
            suspect: self.suspect.map(u32::from),
            lossy: u32::from(self.lossy),
            resent: u32::from(self.resent),
            first_ms: self.first_ms,
            last_ms: self.last_ms,
            last_served_ms: self.last_served_ms,
            listener: Bursts {
                cur: self.listener[0].burst(),
                best: self.listener[1].burst(),
            },
            detail: u32::from(self.detail),
        }
    }

    /// `t` in 8-bit counts, if it fits exactly.
    fn of(t: &Tally) -> Option<Few> {
        fn small<const N: usize>(v: &[u32; N]) -> Option<[u8; N]> {
            let mut out = [0u8; N];
            for (o, &n) in out.iter_mut().zip(v) {
                *o = u8::try_from(n).ok()?;
            }
            Some(out)
        }
        let few = Few {
            outcomes: small(&t.outcomes)?,
            classes: small(&t.classes)?,
            served: u8::try_from(t.served).ok()?,
            suspect: small(&t.suspect)?,
            lossy: u8::try_from(t.lossy).ok()?,
            resent: u8::try_from(t.resent).ok()?,
            detail: u8::try_from(t.detail).ok()?,
            sources: t.sources,
            first_ms: t.first_ms,
            last_ms: t.last_ms,
            last_served_ms: t.last_served_ms,
            listener: [
                FewBurst::of(&t.listener.cur)?,
                FewBurst::of(&t.listener.best)?,
            ],
        };
        // A burst whose count is not the sum of its members (saturated)
        // shows as a difference: such a tally stays whole.
        (few.tally() == *t).then_some(few)
    }
}

/// A server's tally: packed while it fits, whole once it does not.
#[derive(Clone, Debug)]
pub enum Slot {
    One(One),
    Few(Box<Few>),
    Full(Box<Tally>),
}

impl Default for Slot {
    fn default() -> Self {
        Slot::One(One::EMPTY)
    }
}

impl Slot {
    /// The tally, unpacked if need be.
    pub fn tally(&self) -> Cow<'_, Tally> {
        match self {
            Slot::One(o) => Cow::Owned(o.tally()),
            Slot::Few(f) => Cow::Owned(f.tally()),
            Slot::Full(t) => Cow::Borrowed(t),
        }
    }

    /// Changes the tally with `f`, then packs it again, as small as it
    /// still fits.
    pub fn update<R>(&mut self, f: impl FnOnce(&mut Tally) -> R) -> R {
        let mut t = match self {
            Slot::Full(t) => return f(t),
            Slot::Few(few) => few.tally(),
            Slot::One(o) => o.tally(),
        };
        let r = f(&mut t);
        if let Some(o) = One::of(&t) {
            *self = Slot::One(o);
            return r;
        }
        match (Few::of(&t), &mut *self) {
            (Some(packed), Slot::Few(few)) => **few = packed,
            (Some(packed), _) => *self = Slot::Few(Box::new(packed)),
            (None, _) => *self = Slot::Full(Box::new(t)),
        }
        r
    }

    pub fn trouble(&self) -> u32 {
        match self {
            Slot::One(o) => u32::from(o.class.is_some()),
            Slot::Few(f) => f.classes.iter().map(|&n| u32::from(n)).sum(),
            Slot::Full(t) => t.trouble(),
        }
    }

    pub fn last_served_ms(&self) -> i32 {
        match self {
            Slot::One(o) => o.last_served_ms,
            Slot::Few(f) => f.last_served_ms,
            Slot::Full(t) => t.last_served_ms,
        }
    }

    pub fn lossy(&self) -> u32 {
        match self {
            Slot::One(o) => u32::from(o.flags & LOSSY != 0),
            Slot::Few(f) => u32::from(f.lossy),
            Slot::Full(t) => t.lossy,
        }
    }

    /// Index + 1 of the server's detail, 0 for none.
    pub fn detail(&self) -> u32 {
        match self {
            Slot::One(o) => u32::from(o.detail),
            Slot::Few(f) => u32::from(f.detail),
            Slot::Full(t) => t.detail,
        }
    }

    pub fn set_detail(&mut self, detail: u32) {
        self.update(|t| t.detail = detail);
    }
}

/// The servers table: every server's tally, most trouble first, then by
/// name. Its rows are made as they are read, so that the table costs what
/// the tallies cost (40 bytes for a port scan's target), not a row of
/// strings per server on top of them.
#[derive(Clone, Debug, Default)]
pub struct ServerTable {
    servers: Vec<(ServerKey, Slot)>,
}

impl ServerTable {
    /// The table of `servers`, given in the order of their names.
    pub(super) fn new(mut servers: Vec<(ServerKey, Slot)>) -> Self {
        // Stable: servers with as much trouble stay in name order.
        servers.sort_by_cached_key(|(_, s)| Reverse(row_trouble(&s.tally().outcomes)));
        ServerTable { servers }
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The rows, most trouble first.
    pub fn rows(&self) -> impl Iterator<Item = ServerRow> + '_ {
        self.servers.iter().map(|(k, s)| {
            let t = s.tally();
            let outcomes: Vec<(Outcome, u64)> = Outcome::ALL
                .iter()
                .zip(t.outcomes.iter())
                .filter(|(_, n)| **n > 0)
                .map(|(o, n)| (*o, u64::from(*n)))
                .collect();
            ServerRow {
                server: k.name(),
                connections: outcomes.iter().map(|(_, n)| n).sum(),
                trouble: row_trouble(&t.outcomes),
                outcomes,
            }
        })
    }
}

/// Connections whose outcome is trouble: all but clean and open ones.
fn row_trouble(outcomes: &[u32; Outcome::ALL.len()]) -> u64 {
    Outcome::ALL
        .iter()
        .zip(outcomes)
        .filter(|(o, _)| !matches!(o, Outcome::Clean | Outcome::Open))
        .map(|(_, &n)| u64::from(n))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_key_and_a_packed_tally_take_forty_bytes() {
        assert_eq!(std::mem::size_of::<One>(), 16);
        assert_eq!(std::mem::size_of::<Slot>(), 16);
        assert!(std::mem::size_of::<(ServerKey, Slot)>() <= 40);
    }

    #[test]
    fn a_few_connections_take_88_bytes_out_of_line() {
        // With the allocator's 8-byte header, a 96-byte chunk: 136 bytes a
        // server with its key and slot, against 248 for a whole tally.
        assert_eq!(std::mem::size_of::<Few>(), 88);
        assert_eq!(std::mem::size_of::<Tally>(), 208);
    }

    #[test]
    fn a_second_connection_packs_in_a_few_and_256_do_not() {
        let mut s = Slot::default();
        for _ in 0..2 {
            s.update(|t| {
                t.outcomes[2] += 1;
                t.classes[Class::Refused.idx()] += 1;
                t.listener.add(7, 0, 1_000);
                t.first_ms = 3;
                t.last_ms = 9;
            });
        }
        let Slot::Few(f) = &s else {
            panic!("two connections' tally is a Few: {s:?}")
        };
        assert_eq!(f.outcomes[2], 2);
        let t = s.tally().into_owned();
        assert_eq!(t.listener.cur.count, 2);
        assert_eq!(t.listener.cur.by, [2, 0]);
        assert_eq!((t.first_ms, t.last_ms), (3, 9));
        assert_eq!(s.trouble(), 2);
        for _ in 2..255 {
            s.update(|t| t.outcomes[2] += 1);
        }
        assert!(matches!(s, Slot::Few(_)), "255 fit in 8 bits: {s:?}");
        s.update(|t| t.outcomes[2] += 1);
        let Slot::Full(t) = &s else {
            panic!("256 connections' tally is whole: {s:?}")
        };
        assert_eq!(t.outcomes[2], 256);
        assert_eq!(t.listener.cur.count, 2);
    }

    #[test]
    fn a_burst_whose_count_is_not_its_members_stays_whole() {
        let mut s = Slot::default();
        s.update(|t| {
            t.outcomes[0] = 2;
            t.listener.cur = Burst {
                start: 1,
                span: 0,
                count: 3,
                by: [1, 1],
            };
        });
        assert!(matches!(s, Slot::Full(_)), "{s:?}");
    }

    #[test]
    fn one_connection_packs_and_a_second_unpacks() {
        let mut s = Slot::default();
        s.update(|t| {
            t.outcomes[1] = 1;
            t.classes[Class::Refused.idx()] = 1;
            t.sources[0] |= 1 << 63;
            t.suspect[1] = 1;
            t.first_ms = -5;
            t.last_ms = -5;
            t.detail = 3;
        });
        let Slot::One(o) = &s else {
            panic!("one connection's tally is packed: {s:?}")
        };
        assert_eq!(o.outcome, Some(Outcome::ALL[1]));
        assert_eq!(s.trouble(), 1);
        assert_eq!(s.detail(), 3);
        let before = s.tally().into_owned();
        assert_eq!(before.sources[0], 1 << 63);
        assert_eq!(before.suspect, [0, 1]);
        s.update(|t| t.outcomes[1] += 1);
        assert!(matches!(s, Slot::Few(_)), "two connections' tally: {s:?}");
        let t = s.tally();
        assert_eq!(t.outcomes[1], 2);
        assert_eq!(t.suspect, [0, 1]);
        assert_eq!(t.detail, 3);
        assert_eq!(t.classes, before.classes);
        assert_eq!(t.first_ms, -5);
    }

    #[test]
    fn a_window_wider_than_one_moment_stays_whole() {
        let mut s = Slot::default();
        s.update(|t| {
            t.outcomes[0] = 1;
            t.first_ms = 1;
            t.last_ms = 2;
        });
        assert!(!matches!(s, Slot::One(_)), "{s:?}");
        assert_eq!((s.tally().first_ms, s.tally().last_ms), (1, 2));
    }
}
