//! The one clock that analysis time runs on.
//!
//! Capture timestamps are not monotone: rotated files read out of order, two
//! hosts' interfaces merged into one pcapng, an NTP step, one record stamped
//! decades ahead, or no time at all (a pcapng of Simple Packet Blocks). Every
//! timeout, grace and eviction decision runs on analysis time instead, which
//! only ever moves forward, and only by the small steps between consecutive
//! packets: a step back of a second or more, or forward by more than
//! [`FORWARD_STEP_NS`], is recorded and contributes no time. Facts about a
//! connection (durations, RTTs) keep using the wire's own timestamps.

use serde::Serialize;

use super::segment::Timestamp;

/// A backward move of at least this much is a clock step, not reordering
/// (packets from several CPUs or interfaces arrive microseconds apart).
pub const BACKWARD_STEP_NS: i64 = 1_000_000_000;

/// A forward move beyond this is a clock step or a silent gap in the
/// capture; either way it is not idle time for the connections. Kept below
/// the tracker's idle timeout so no single step can expire a connection.
pub const FORWARD_STEP_NS: i64 = 600_000_000_000;

/// Clock steps listed one by one; beyond this they are only counted.
const STEPS_LISTED: usize = 16;

/// Which way the clock jumped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepDirection {
    Back,
    Forward,
}

/// One detected clock step, at the packet where it happened.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClockStep {
    pub direction: StepDirection,
    /// Size of the jump in seconds (positive either way).
    pub seconds: f64,
    /// Frame number of the first packet after the jump.
    pub frame: u64,
}

/// Monotone analysis time over a stream of capture timestamps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clock {
    /// The wire time analysis time is measured from: the latest packet that
    /// moved time forward, or the first one after a step.
    anchor: Option<i64>,
    now: i64,
    steps_total: u64,
    steps: Vec<ClockStep>,
}

impl Clock {
    /// Analysis time for the packet stamped `ts` at `frame`.
    pub fn observe(&mut self, ts: Timestamp, frame: u64) -> Timestamp {
        let Some(anchor) = self.anchor else {
            self.anchor = Some(ts.0);
            self.now = ts.0;
            return Timestamp(self.now);
        };
        let delta = ts.0.saturating_sub(anchor);
        if (0..=FORWARD_STEP_NS).contains(&delta) {
            self.now = self.now.saturating_add(delta);
            self.anchor = Some(ts.0);
        } else if delta > FORWARD_STEP_NS {
            self.step(StepDirection::Forward, delta, frame);
            self.anchor = Some(ts.0);
        } else if delta <= -BACKWARD_STEP_NS {
            self.step(StepDirection::Back, delta, frame);
            self.anchor = Some(ts.0);
        }
        // A small step back is reordering: time stays where it is and the
        // anchor stays at the latest packet, so nothing is counted twice.
        Timestamp(self.now)
    }

    fn step(&mut self, direction: StepDirection, delta: i64, frame: u64) {
        self.steps_total = self.steps_total.saturating_add(1);
        if self.steps.len() < STEPS_LISTED {
            self.steps.push(ClockStep {
                direction,
                seconds: delta.unsigned_abs() as f64 / 1e9,
                frame,
            });
        }
    }

    /// Analysis time now (the latest packet's).
    pub fn now(&self) -> Timestamp {
        Timestamp(self.now)
    }

    /// Steps detected so far (all of them).
    pub fn steps_total(&self) -> u64 {
        self.steps_total
    }

    /// The first steps, in order.
    pub fn steps(&self) -> &[ClockStep] {
        &self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn run(ts: &[i64]) -> (Vec<i64>, Clock) {
        let mut c = Clock::default();
        let at = ts
            .iter()
            .enumerate()
            .map(|(i, t)| c.observe(Timestamp(*t), i as u64 + 1).0)
            .collect();
        (at, c)
    }

    #[test]
    fn follows_the_wire_when_it_is_monotone() {
        let (at, c) = run(&[100 * S, 100 * S + 5, 101 * S, 160 * S]);
        assert_eq!(at, vec![100 * S, 100 * S + 5, 101 * S, 160 * S]);
        assert_eq!(c.steps_total(), 0);
    }

    #[test]
    fn small_reordering_neither_steps_nor_counts_twice() {
        let (at, c) = run(&[100 * S, 100 * S + 900, 100 * S + 500, 100 * S + 1000]);
        assert_eq!(
            at,
            vec![100 * S, 100 * S + 900, 100 * S + 900, 100 * S + 1000]
        );
        assert_eq!(c.steps_total(), 0);
    }

    #[test]
    fn a_step_back_adds_no_time_and_is_recorded() {
        let (at, c) = run(&[3700 * S, 3701 * S, 101 * S, 102 * S]);
        assert_eq!(at, vec![3700 * S, 3701 * S, 3701 * S, 3702 * S]);
        assert_eq!(c.steps_total(), 1);
        let s = c.steps()[0];
        assert_eq!(s.direction, StepDirection::Back);
        assert_eq!(s.seconds, 3600.0);
        assert_eq!(s.frame, 3);
    }

    #[test]
    fn a_far_future_record_is_two_steps_and_no_time() {
        let year = 365 * 24 * 3600 * S;
        let (at, c) = run(&[100 * S, 30 * year, 100 * S + 7]);
        assert_eq!(at, vec![100 * S, 100 * S, 100 * S]);
        assert_eq!(c.steps_total(), 2);
        assert_eq!(c.steps()[0].direction, StepDirection::Forward);
        assert_eq!(c.steps()[1].direction, StepDirection::Back);
    }

    #[test]
    fn steps_are_listed_up_to_a_bound_and_all_counted() {
        let ts: Vec<i64> = (0..100)
            .map(|i| if i % 2 == 0 { 0 } else { 3600 * S })
            .collect();
        let (_, c) = run(&ts);
        assert_eq!(c.steps_total(), 99);
        assert_eq!(c.steps().len(), STEPS_LISTED);
    }
}
