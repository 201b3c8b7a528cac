//! Which end of a connection a segment came from, and what a RST answered.

use crate::wire::Segment;

/// Which end of the connection a segment came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn idx(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// What kind of segment a RST could have been answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplyTo {
    Data,
    Fin,
    Ack,
    Syn,
    SynAck,
    None,
}

impl ReplyTo {
    pub fn name(self) -> &'static str {
        match self {
            ReplyTo::Data => "data",
            ReplyTo::Fin => "fin",
            ReplyTo::Ack => "ack",
            ReplyTo::Syn => "syn",
            ReplyTo::SynAck => "syn-ack",
            ReplyTo::None => "none",
        }
    }

    pub(super) fn of(seg: &Segment) -> ReplyTo {
        let f = seg.flags;
        if f.rst() {
            ReplyTo::None
        } else if f.syn() && f.ack() {
            ReplyTo::SynAck
        } else if f.syn() {
            ReplyTo::Syn
        } else if f.fin() {
            ReplyTo::Fin
        } else if seg.payload_len > 0 {
            ReplyTo::Data
        } else if f.ack() {
            ReplyTo::Ack
        } else {
            ReplyTo::None
        }
    }
}
