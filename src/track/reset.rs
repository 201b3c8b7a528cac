//! The first RST of a connection, as the connection stood when it came,
//! and what its sender did after it.

use crate::wire::{Flags, Timestamp};

use super::side::{ReplyTo, Side};

/// The connection as it stood when its first RST arrived, plus what came
/// after: everything classification and the reset facts need.
#[derive(Clone, Debug, PartialEq)]
pub struct RstFact {
    pub(super) ord: u64,
    pub(super) frame: u64,
    pub(super) ts: Timestamp,
    pub(super) by: Side,
    pub(super) flags: Flags,
    pub(super) seq: u32,
    pub(super) rel_seq: i64,
    pub(super) ttl: u8,
    /// RST TTL minus that of the sender's latest earlier non-RST segment.
    pub(super) ttl_delta: Option<i16>,
    /// RFC 5961 check against the receiver's last ACK and window; `None`
    /// when the receiver never told us its window.
    pub(super) in_window: Option<bool>,
    pub(super) reply_to: ReplyTo,
    /// Ns from the peer's last segment to the RST.
    pub(super) latency: Option<i64>,
    /// Ns of silence on the whole connection before the RST.
    pub(super) idle_before: Option<i64>,
    pub(super) handshake_done: Option<Timestamp>,
    pub(super) syn_before: bool,
    pub(super) synack_before: bool,
    pub(super) client_fin_before: bool,
    pub(super) server_fin_before: bool,
    /// Unique payload bytes each side had sent before the RST.
    pub(super) client_bytes_before: u64,
    pub(super) server_bytes_before: u64,
    /// Segments each side had sent before the RST.
    pub(super) client_segments_before: u64,
    pub(super) server_segments_before: u64,
    /// The server's ACK covered every payload byte the client had sent.
    pub(super) server_acked_client_data: bool,
    /// Server payload bytes sent after the client's last request.
    pub(super) server_bytes_after_client_data: u64,
    /// Client payload bytes sent after the server's last payload.
    pub(super) client_bytes_after_server_data: u64,
    pub(super) synack_after_ack_before: u32,
    /// Further RSTs from the same sender, back to back (no peer segment in
    /// between, within 1 ms, nearby sequence numbers): a kernel sends one
    /// RST per segment it receives, an injector often several at once.
    pub(super) burst: u32,
    /// Non-RST segments the RST's sender sent after it.
    pub(super) sender_kept_sending: u32,
    pub(super) last_burst_ts: Timestamp,
    pub(super) last_burst_ord: u64,

    /// The client had ACKed server sequence space beyond the SYN: the server
    /// had sent payload (or FIN) even if the capture missed it.
    pub(super) server_sent_unseen: bool,
    /// TTL range of the sender's earlier non-RST segments (min, max).
    pub(super) sender_ttl_range: Option<(u8, u8)>,
    /// Ns of silence on the connection before the peer's segment this RST
    /// answers (an idle-timeout RST answers the first segment after it).
    pub(super) idle_before_answered: Option<i64>,
    /// Server payload the client had not ACKed when the RST came.
    pub(super) server_bytes_unacked: u64,
}

getters!(RstFact {
    ord: u64,
    frame: u64,
    ts: Timestamp,
    by: Side,
    flags: Flags,
    seq: u32,
    rel_seq: i64,
    ttl: u8,
    ttl_delta: Option<i16>,
    in_window: Option<bool>,
    reply_to: ReplyTo,
    latency: Option<i64>,
    idle_before: Option<i64>,
    handshake_done: Option<Timestamp>,
    syn_before: bool,
    synack_before: bool,
    client_fin_before: bool,
    server_fin_before: bool,
    client_bytes_before: u64,
    server_bytes_before: u64,
    client_segments_before: u64,
    server_segments_before: u64,
    server_acked_client_data: bool,
    server_bytes_after_client_data: u64,
    client_bytes_after_server_data: u64,
    synack_after_ack_before: u32,
    burst: u32,
    sender_kept_sending: u32,
    server_sent_unseen: bool,
    sender_ttl_range: Option<(u8, u8)>,
    idle_before_answered: Option<i64>,
    server_bytes_unacked: u64,
});
