//! Plain values every stage shares: capture timestamps, TCP flags and
//! segments, sequence-number arithmetic, the capture-health record, and
//! the table of tunnel paths segments arrived in.
//!
//! Owns: nothing that changes; these are values.
//!
//! May import: nothing of the crate.

mod clock;
mod health;
mod segment;
mod tunnel;

pub use clock::{Clock, ClockStep, StepDirection, BACKWARD_STEP_NS, FORWARD_STEP_NS};
pub use health::{ClockStepAt, FileSummary, Health, SkipReason, Translated};
pub use segment::{seq_diff, seq_le, seq_lt, Flags, Segment, Timestamp};
pub use tunnel::{describe as describe_tunnel, intern as intern_tunnel, Encap, EncapSet, TunnelId};
