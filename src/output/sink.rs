//! Where finished connections go. Every output (flows, the report, the
//! timelines, the CI gate) is a [`Sink`]; one that is done, because its
//! reader went away (`rstscope flows F | head -1`) or it has all it will
//! print, says so and the analysis stops reading.

use std::io;

use crate::diagnose::Flow;
use crate::track::Connection;
use crate::wire::Timestamp;

/// What a sink wants after a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Nothing more is needed: stop reading the capture.
    Stop,
}

/// A consumer of finished connections, in the order the tracker finishes
/// them.
pub trait Sink {
    /// One connection that passed the filters. An error (a closed pipe, a
    /// full disk) also ends the read and is reported by the caller.
    fn connection(&mut self, conn: &Connection, flow: &Flow) -> io::Result<Next>;

    /// The capture time of the capture's first TCP segment, given once
    /// before the first connection: where a time axis starts.
    fn capture_start(&mut self, _first_segment: Timestamp) {}
}
