//! rstscope: explain every TCP reset in a packet capture.
//!
//! Data flows one way, one folder per stage:
//! bytes (`capture`) → packets → segments (`decode`, values in `wire`) →
//! connections (`track`) → rows (`diagnose`) → outputs (`output`), driven
//! by `pipeline`; `cli` is the command line over it. Each folder's `mod.rs`
//! says what it owns and what it may import, and `tests/layout.rs` holds
//! the rule.
//!
//! The library's API is the few names re-exported here: [`analyse`] a
//! capture with a [`TrackerConfig`], get each connection's [`Flow`] (its
//! [`Outcome`] and facts) and the capture's [`Health`], or hand the rows to
//! a [`Sink`]; errors are [`CaptureError`]s. The stage modules stay public
//! but hidden from the documentation: the benchmarks, the fuzz target and
//! the integration tests drive each stage on its own, and nothing outside
//! this repository should.

#[doc(hidden)]
pub mod capture;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod decode;
#[doc(hidden)]
pub mod diagnose;
#[doc(hidden)]
pub mod output;
#[doc(hidden)]
pub mod pipeline;
#[doc(hidden)]
pub mod track;
#[doc(hidden)]
pub mod wire;

pub use capture::CaptureError;
pub use diagnose::{classify, Flow, Outcome};
pub use output::sink::{Next, Sink};
pub use pipeline::analyse_connections as analyse;
pub use track::{Connection, TrackerConfig};
pub use wire::Health;
