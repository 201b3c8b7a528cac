//! Counts over the capture's time axis in buckets that double in size, so
//! a capture of unknown length ends up spanning 60 to 120 of them.

/// Most buckets the capture may span before they double.
pub const MAX_BUCKETS: i64 = 120;

/// The first bucket size: 10 us, so a capture of a few milliseconds still
/// spans dozens of buckets.
const FIRST_BUCKET_NS: i64 = 10_000;

/// The shared time axis: where bucket 0 starts and how wide buckets are.
#[derive(Clone, Debug)]
pub struct Grid {
    origin: Option<i64>,
    pub size_ns: i64,
    lo: i64,
    hi: i64,
}

impl Default for Grid {
    fn default() -> Self {
        Grid {
            origin: None,
            size_ns: FIRST_BUCKET_NS,
            lo: 0,
            hi: 0,
        }
    }
}

impl Grid {
    /// Bucket of time `t` (ns), at the current size.
    pub fn index(&self, t: i64) -> i64 {
        t.saturating_sub(self.origin.unwrap_or(t))
            .div_euclid(self.size_ns)
    }

    /// Sets the origin before any time is seen: bucket 0 then starts at
    /// `t`, where the capture starts, instead of at the first time seen
    /// (whose bucket boundaries may fall before the capture).
    pub fn anchor(&mut self, t: i64) {
        if self.origin.is_none() {
            self.origin = Some(t);
        }
    }

    /// Takes `t` onto the axis; returns how many times buckets doubled,
    /// which every series must then [`Series::halve`] as often.
    pub fn see(&mut self, t: i64) -> u32 {
        if self.origin.is_none() {
            self.origin = Some(t);
        }
        let i = self.index(t);
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
        let mut doublings = 0;
        while self.hi - self.lo + 1 > MAX_BUCKETS && self.size_ns < i64::MAX / 4 {
            self.size_ns *= 2;
            self.lo = self.lo.div_euclid(2);
            self.hi = self.hi.div_euclid(2);
            doublings += 1;
        }
        doublings
    }

    /// `t` (ns) as ms from the origin, saturating.
    pub fn ms(&self, t: i64) -> i32 {
        (t.saturating_sub(self.origin.unwrap_or(t)) / 1_000_000)
            .clamp(i32::MIN as i64, i32::MAX as i64) as i32
    }

    /// Ms from the origin back to ns.
    pub fn ns(&self, ms: i32) -> i64 {
        self.origin
            .unwrap_or(0)
            .saturating_add(i64::from(ms) * 1_000_000)
    }

    /// First and last bucket seen.
    pub fn range(&self) -> (i64, i64) {
        (self.lo, self.hi)
    }

    /// Capture time (ns) where bucket `i` starts.
    pub fn start_of(&self, i: i64) -> i64 {
        self.origin
            .unwrap_or(0)
            .saturating_add(i.saturating_mul(self.size_ns))
    }

    /// No time seen yet.
    pub fn is_empty(&self) -> bool {
        self.origin.is_none()
    }

    /// Buckets spanned so far.
    pub fn len(&self) -> usize {
        if self.origin.is_none() {
            0
        } else {
            (self.hi - self.lo + 1) as usize
        }
    }
}

/// One count per bucket, from the first bucket that had one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Series {
    first: i64,
    counts: Vec<u32>,
}

impl Series {
    pub fn add(&mut self, i: i64, n: u32) {
        if self.counts.is_empty() {
            self.first = i;
        }
        if i < self.first {
            let grow = (self.first - i) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = i;
        }
        let at = (i - self.first) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] = self.counts[at].saturating_add(n);
    }

    /// Merges pairs of buckets after the grid doubled.
    pub fn halve(&mut self) {
        if self.counts.is_empty() {
            return;
        }
        let first = self.first.div_euclid(2);
        let mut merged = vec![0u32; 0];
        for (k, c) in self.counts.iter().enumerate() {
            let at = ((self.first + k as i64).div_euclid(2) - first) as usize;
            if at >= merged.len() {
                merged.resize(at + 1, 0);
            }
            merged[at] = merged[at].saturating_add(*c);
        }
        self.first = first;
        self.counts = merged;
    }

    pub fn get(&self, i: i64) -> u32 {
        if i < self.first {
            return 0;
        }
        self.counts
            .get((i - self.first) as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Counts over buckets `lo..=hi`.
    pub fn over(&self, lo: i64, hi: i64) -> Vec<u32> {
        (lo..=hi).map(|i| self.get(i)).collect()
    }

    /// The bucket with the highest count (the earliest on ties) and its count.
    pub fn peak(&self) -> Option<(i64, u32)> {
        let mut best: Option<(i64, u32)> = None;
        for (k, &c) in self.counts.iter().enumerate() {
            if c > 0 && best.is_none_or(|(_, b)| c > b) {
                best = Some((self.first + k as i64, c));
            }
        }
        best
    }

    pub fn sum(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }
}

/// A one-line chart of `counts`: a space for zero, then eight heights.
pub fn sparkline(counts: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| {
            if c == 0 || max == 0 {
                ' '
            } else if max == 1 {
                BARS[7]
            } else {
                // The smallest count is the lowest bar, the peak the highest.
                let k = (u64::from(c - 1) * 7 + u64::from(max - 1) / 2) / u64::from(max - 1);
                BARS[(k as usize).min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_double_and_series_merge() {
        let mut g = Grid::default();
        let mut s = Series::default();
        let add = |g: &mut Grid, s: &mut Series, t: i64| {
            for _ in 0..g.see(t) {
                s.halve();
            }
            s.add(g.index(t), 1);
        };
        for k in 0..1000 {
            add(&mut g, &mut s, 1_000_000_000 + k * 1_000_000);
        }
        assert!(g.len() as i64 <= MAX_BUCKETS && g.len() as i64 > MAX_BUCKETS / 2);
        assert_eq!(s.sum(), 1000);
        // 1 s spanned by buckets of 10 us doubled: 10.24 ms.
        assert_eq!(g.size_ns, 10_240_000);
        // An earlier time extends the series backwards.
        add(&mut g, &mut s, 1_000_000_000 - 50_000_000);
        assert_eq!(s.sum(), 1001);
        assert_eq!(s.get(g.index(1_000_000_000 - 50_000_000)), 1);
    }

    #[test]
    fn sparkline_heights() {
        assert_eq!(sparkline(&[0, 1, 7, 0]), " ▁█ ");
        assert_eq!(sparkline(&[]), "");
    }
}
