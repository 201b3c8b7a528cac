//! rstscope: explain every TCP reset in a packet capture.
//!
//! Data flows one way, one folder per stage:
//! bytes ([`capture`]) → packets → segments ([`decode`], values in [`wire`])
//! → connections ([`track`]) → rows ([`diagnose`]) → outputs ([`output`]),
//! driven by [`pipeline`]; [`cli`] is the command line over it. Each
//! folder's `mod.rs` says what it owns and what it may import, and
//! `tests/layout.rs` holds the rule.

pub mod capture;
pub mod cli;
pub mod decode;
pub mod diagnose;
pub mod output;
pub mod pipeline;
pub mod track;
pub mod wire;

pub use capture::CaptureError;
pub use diagnose::{classify, Flow, Outcome};
pub use track::{Connection, TrackerConfig};
pub use wire::Health;
