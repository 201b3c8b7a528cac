//! What the tracker holds at one moment, and what that costs in bytes: the
//! benchmark's account of memory per open connection, by part.

use std::fmt;

use super::attempt::Attempt;
use super::connection::{Connection, Handshake, State};
use super::endpoint::Endpoint;
use super::stream::StreamTrack;
use super::timeline::Timeline;
use super::zeek::Zeek;

/// The tracker's table at one moment, counted by what each entry is and
/// what its connection keeps out of line. Read-only: counting changes
/// nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    /// Connections still open (not closed or reset), half-closed ones included.
    pub(super) open: usize,
    /// Of those, half-closed: one side sent FIN, the other has not.
    pub(super) half_closed: usize,
    /// Closed or reset, waiting out their grace for late segments.
    pub(super) ended: usize,
    /// Of those, closed with a FIN still unacknowledged: they wait for its
    /// retransmission, up to a minute, not the round-trip grace.
    pub(super) awaiting_fin_ack: usize,
    /// SYN-only attempts, kept compact until answered or timed out.
    pub(super) attempts: usize,
    /// Timeline entries kept, their bytes, and the bytes allocated for them.
    pub(super) timeline_entries: usize,
    pub(super) timeline_bytes: usize,
    pub(super) timeline_room: usize,
    /// Table slots allocated (used or not), and the bytes of one.
    pub(super) table_slots: usize,
    pub(super) slot_bytes: usize,
    /// Bytes of the tracker's other tables: endpoints' connection counts,
    /// finished tuples' stream numbers, grace deadlines, the order
    /// connections ended in, open connections' first times.
    pub(super) bookkeeping: usize,
}

getters!(Census {
    open: usize,
    half_closed: usize,
    ended: usize,
    awaiting_fin_ack: usize,
    attempts: usize,
    timeline_entries: usize,
    timeline_bytes: usize,
    timeline_room: usize,
    table_slots: usize,
    slot_bytes: usize,
    bookkeeping: usize,
});

impl Census {
    /// Table entries: connections plus attempts.
    pub fn tracked(&self) -> usize {
        self.open + self.ended + self.attempts
    }

    pub(super) fn new(table_slots: usize, slot_bytes: usize) -> Self {
        Census {
            table_slots,
            slot_bytes,
            ..Census::default()
        }
    }

    pub(super) fn count_connection(&mut self, c: &Connection) {
        match c.state {
            State::Closed | State::Reset => {
                self.ended += 1;
                if c.awaits_fin_retransmission() {
                    self.awaiting_fin_ack += 1;
                }
            }
            State::HalfClosed(_) => {
                self.open += 1;
                self.half_closed += 1;
            }
            _ => self.open += 1,
        }
        self.timeline_entries += c.timeline.kept();
        self.timeline_bytes += c.timeline.bytes();
        self.timeline_room += c.timeline.room();
    }

    pub(super) fn count_bookkeeping(&mut self, bytes: usize) {
        self.bookkeeping += bytes;
    }

    pub(super) fn count_attempt(&mut self) {
        self.attempts += 1;
    }

    /// Bytes of the connections, their timelines, the attempts, the table
    /// and the side tables (`bookkeeping`): what the tracker's memory is
    /// made of, before the allocator's rounding and the smaller parts (SYN
    /// retries, Zeek's reassembly blocks, loss facts out of line).
    pub fn bytes(&self) -> [(&'static str, usize); 5] {
        use std::mem::size_of;
        [
            (
                "connections",
                (self.open + self.ended) * size_of::<Connection>(),
            ),
            ("timelines", self.timeline_room),
            ("attempts", self.attempts * size_of::<Attempt>()),
            ("table", self.table_slots * self.slot_bytes),
            ("bookkeeping", self.bookkeeping),
        ]
    }
}

/// The whole connection's bytes, then those of its parts and of its own
/// fields: where a smaller connection has to find its bytes.
pub fn connection_layout() -> Vec<(&'static str, usize)> {
    use std::mem::size_of;
    let parts = [
        ("endpoints (2)", 2 * size_of::<Endpoint>()),
        ("zeek", size_of::<Zeek>()),
        ("timeline", size_of::<Timeline>()),
        ("handshake", size_of::<Handshake>()),
        ("stream", size_of::<StreamTrack>()),
    ];
    let named: usize = parts.iter().map(|p| p.1).sum();
    let mut v = vec![("connection", size_of::<Connection>())];
    v.extend(parts);
    v.push((
        "its own fields",
        size_of::<Connection>().saturating_sub(named),
    ));
    v
}

impl fmt::Display for Census {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tracked: {} open ({} half-closed), {} ended in their grace ({} awaiting a FIN's ACK), {} attempts; \
             {} timeline entries in {} bytes, in room of {};",
            self.tracked(),
            self.open,
            self.half_closed,
            self.ended,
            self.awaiting_fin_ack,
            self.attempts,
            self.timeline_entries,
            self.timeline_bytes,
            self.timeline_room
        )?;
        let parts = self.bytes();
        let total: usize = parts.iter().map(|p| p.1).sum();
        for (name, b) in parts {
            write!(f, " {name} {:.1} MB,", b as f64 / 1e6)?;
        }
        write!(f, " together {:.1} MB", total as f64 / 1e6)
    }
}
