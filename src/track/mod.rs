//! Segments → connections.
//!
//! Owns: the connection table and everything a connection remembers (its
//! endpoints, handshake, first-RST snapshot, bounded timeline, Zeek state and
//! history), and when a connection is finished and why. Never names an
//! outcome: that is `diagnose`'s job.
//!
//! May import: `wire`.
//!
//! Inside, the order of imports is `side`, `config` → `zeek`, `endpoint`,
//! `timeline`, `roles`, `key` → `stream` → `connection` → `attempt` →
//! `zeek_split` → `table`.

mod attempt;
mod config;
mod connection;
mod end;
mod endpoint;
mod key;
mod roles;
mod side;
mod stream;
mod table;
mod timeline;
mod zeek;
mod zeek_split;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testwire;

pub use config::{TrackerConfig, DEFAULT_MAX_OPEN};
pub use connection::{Connection, Handshake, RstFact, State};
pub use end::EndReason;
pub use endpoint::{Endpoint, FinFact};
pub use side::{ReplyTo, Side};
pub use stream::StreamTrack;
pub use table::{Tracker, TrackerStats};
pub use timeline::{Timeline, TimelineEntry};
