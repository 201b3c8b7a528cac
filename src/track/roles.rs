//! Who is the client: from the first segment, or inferred.

use std::net::SocketAddr;

use crate::wire::Segment;

/// Roles from the first segment of a connection: a pure SYN's sender is the
/// client; a SYN-ACK's sender is the server; otherwise inferred by ports,
/// then by `fan` (how many connections the source and destination endpoints
/// took part in so far: a server is the endpoint many peers talk to).
pub(super) fn roles_for_first(seg: &Segment, fan: (u32, u32)) -> (SocketAddr, SocketAddr, bool) {
    let f = seg.flags;
    if f.syn() && !f.ack() {
        return (seg.src, seg.dst, false);
    }
    if f.syn() && f.ack() {
        return (seg.dst, seg.src, false);
    }
    if src_is_server(seg.src.port(), seg.dst.port(), fan) {
        (seg.dst, seg.src, true)
    } else {
        (seg.src, seg.dst, true)
    }
}

/// The spec's heuristic for a connection whose handshake was not captured:
/// a well-known port (< 1024) is the server; else the only non-ephemeral
/// port (< 32768); else the endpoint with more connections so far; else the
/// lower port; on a tie, the first segment's receiver.
pub(super) fn src_is_server(src: u16, dst: u16, fan: (u32, u32)) -> bool {
    let wk = |p: u16| p < 1024;
    let eph = |p: u16| p >= 32768;
    if wk(src) != wk(dst) {
        return wk(src);
    }
    if eph(src) != eph(dst) {
        return !eph(src);
    }
    if fan.0 != fan.1 {
        return fan.0 > fan.1;
    }
    src < dst
}
