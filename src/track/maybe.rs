//! Optional 64-bit facts in 8 bytes.
//!
//! A connection remembers a dozen optional times, positions and gaps;
//! `Option<i64>` spends 8 bytes of tag and padding on each, which made the
//! connection a fifth larger than its facts. `Maybe` keeps the value in one
//! `i64` with `i64::MIN` standing for "not seen".

use std::fmt;
use std::marker::PhantomData;

use crate::wire::Timestamp;

/// A value that fits in an `i64` other than `i64::MIN`.
pub(super) trait Packs: Copy {
    fn pack(self) -> i64;
    fn unpack(v: i64) -> Self;
}

/// `i64::MIN` is taken by "none"; the one value it would hide (292 years
/// before 1970 as a time, 2^63 bytes as a gap) is moved up by one.
fn not_none(v: i64) -> i64 {
    v.max(i64::MIN + 1)
}

impl Packs for i64 {
    fn pack(self) -> i64 {
        not_none(self)
    }
    fn unpack(v: i64) -> Self {
        v
    }
}

impl Packs for Timestamp {
    fn pack(self) -> i64 {
        not_none(self.0)
    }
    fn unpack(v: i64) -> Self {
        Timestamp(v)
    }
}

/// Positions and frame numbers: counts, far below 2^63.
impl Packs for u64 {
    fn pack(self) -> i64 {
        i64::try_from(self).unwrap_or(i64::MAX)
    }
    fn unpack(v: i64) -> Self {
        v as u64
    }
}

const NONE: i64 = i64::MIN;

/// An `Option<T>` in the 8 bytes of `T`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Maybe<T: Packs>(i64, PhantomData<T>);

impl<T: Packs> Maybe<T> {
    pub(super) const NONE: Self = Maybe(NONE, PhantomData);

    pub(super) fn some(v: T) -> Self {
        Maybe(v.pack(), PhantomData)
    }

    #[inline]
    pub(super) fn get(self) -> Option<T> {
        (self.0 != NONE).then(|| T::unpack(self.0))
    }

    #[inline]
    pub(super) fn is_some(self) -> bool {
        self.0 != NONE
    }

    #[inline]
    pub(super) fn is_none(self) -> bool {
        self.0 == NONE
    }
}

impl<T: Packs> Default for Maybe<T> {
    fn default() -> Self {
        Self::NONE
    }
}

impl<T: Packs> From<Option<T>> for Maybe<T> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::NONE, Self::some)
    }
}

impl<T: Packs + fmt::Debug> fmt::Debug for Maybe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_every_value_but_the_one_that_means_none() {
        assert_eq!(std::mem::size_of::<Maybe<Timestamp>>(), 8);
        assert_eq!(Maybe::<i64>::NONE.get(), None);
        assert_eq!(Maybe::<i64>::default().get(), None);
        for v in [0, -1, 1, i64::MAX, i64::MIN + 1, -5_000_000_000] {
            assert_eq!(Maybe::some(v).get(), Some(v));
        }
        assert_eq!(Maybe::some(i64::MIN).get(), Some(i64::MIN + 1));
        assert_eq!(Maybe::some(Timestamp(7)).get(), Some(Timestamp(7)));
        assert_eq!(Maybe::some(u64::MAX).get(), Some(i64::MAX as u64));
        assert_eq!(Maybe::from(Some(3u64)).get(), Some(3));
        assert_eq!(format!("{:?}", Maybe::some(3i64)), "Some(3)");
        assert_eq!(format!("{:?}", Maybe::<i64>::NONE), "None");
    }
}

/// An optional position of a segment within its connection in 4 bytes
/// instead of 8: the handshake keeps three, and the connection's size
/// class is what 100 000 open connections cost. Positions past
/// `u32::MAX - 1` (a connection of four billion segments) saturate, as
/// the timeline's do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct MaybeOrd(u32);

impl MaybeOrd {
    pub(super) const NONE: Self = MaybeOrd(u32::MAX);

    pub(super) fn some(ord: u64) -> Self {
        MaybeOrd(u32::try_from(ord).unwrap_or(u32::MAX).min(u32::MAX - 1))
    }

    #[inline]
    pub(super) fn get(self) -> Option<u64> {
        (self != Self::NONE).then_some(u64::from(self.0))
    }
}

impl Default for MaybeOrd {
    fn default() -> Self {
        Self::NONE
    }
}

impl fmt::Debug for MaybeOrd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}
