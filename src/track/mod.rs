//! Segments → connections.
//!
//! Owns: the connection table and everything a connection remembers (its
//! endpoints, handshake, first-RST snapshot, bounded timeline, Zeek state and
//! history), and when a connection is finished and why. Never names an
//! outcome: that is `diagnose`'s job.
//!
//! May import: `wire`.
//!
//! Inside, the order of imports is `side`, `config`, `maybe` → `zeek`, `endpoint`,
//! `kept` → `timeline`, `roles`, `key` → `tuple_map` → `stream`, `due` → `connection` →
//! `grace` → `attempt` → `census`, `zeek_split` → `look_ahead` → `table`.

/// Read-only accessors named after their fields, one line per field:
/// code outside `track` reads tracker state through them and can never
/// change it, and a field can move (into a compact hot part, out of line)
/// without touching its readers. Plain entries give the value (`Copy`
/// fields), `ref` entries a reference, `maybe` entries the `Option` a
/// [`maybe::Maybe`] field stands for. The fields keep their documentation.
macro_rules! getters {
    ($ty:ty { $($fields:tt)* }) => {
        // A `len` field is a segment's payload length, not a collection's
        // size: there is no emptiness to ask about.
        #[allow(clippy::len_without_is_empty)]
        impl $ty {
            getters!(@ $($fields)*);
        }
    };
    (@) => {};
    (@ ref $name:ident: $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("The `", stringify!($name), "` field (read-only).")]
        #[inline]
        pub fn $name(&self) -> &$t {
            &self.$name
        }
        getters!(@ $($($rest)*)?);
    };
    (@ maybe $name:ident: $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("The `", stringify!($name), "` field (read-only).")]
        #[inline]
        pub fn $name(&self) -> Option<$t> {
            self.$name.get()
        }
        getters!(@ $($($rest)*)?);
    };
    (@ $name:ident: $t:ty $(, $($rest:tt)*)?) => {
        #[doc = concat!("The `", stringify!($name), "` field (read-only).")]
        #[inline]
        pub fn $name(&self) -> $t {
            self.$name
        }
        getters!(@ $($($rest)*)?);
    };
}

mod attempt;
mod census;
mod config;
mod connection;
mod due;
mod end;
mod endpoint;
mod footprint;
mod grace;
mod kept;
mod key;
mod look_ahead;
mod maybe;
mod reset;
mod roles;
mod side;
mod stream;
mod table;
mod timeline;
mod tuple_map;
mod zeek;
mod zeek_split;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testwire;

pub use census::{connection_layout, Census};
pub use config::{TrackerConfig, DEFAULT_MAX_OPEN};
pub use connection::{Connection, Handshake, State};
pub use end::EndReason;
pub use endpoint::{Endpoint, FinFact};
pub use look_ahead::SegmentBatch;
pub use reset::RstFact;
pub use side::{ReplyTo, Side};
pub use stream::StreamTrack;
pub use table::{Tracker, TrackerStats};
pub use timeline::{Timeline, TimelineEntry};
