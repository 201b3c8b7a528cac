//! Keys that lead from a connection to other tools: the Community ID that
//! Zeek, Suricata and Wireshark compute for the same flow.

use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;

/// IANA protocol number of TCP.
pub const PROTO_TCP: u8 = 6;

/// Community ID v1 (corelight's community-id-spec) of a flow between `a`
/// and `b`: `1:` + base64 of SHA-1 over seed (2 bytes, big-endian), the
/// two addresses, the protocol, one zero byte and the two ports, with the
/// smaller (address, port) first so both directions give the same ID.
/// Addresses of different families cannot form a flow; IPv4-mapped IPv6 is
/// hashed as the 16 bytes it is on the wire.
pub fn community_id(a: SocketAddr, b: SocketAddr, proto: u8, seed: u16) -> String {
    // An address as the bytes it is on the wire: 4 of the 16 for IPv4.
    let bytes = |ip: IpAddr| -> ([u8; 16], usize) {
        let mut out = [0; 16];
        match ip {
            IpAddr::V4(v) => {
                out[..4].copy_from_slice(&v.octets());
                (out, 4)
            }
            IpAddr::V6(v) => (v.octets(), 16),
        }
    };
    let ((ba, na), (bb, nb)) = (bytes(a.ip()), bytes(b.ip()));
    let (ia, ib) = (&ba[..na], &bb[..nb]);
    // The spec orders by address, then by port when the addresses are equal.
    let a_first = (ia, a.port()) <= (ib, b.port());
    let (lo, hi) = if a_first { (a, b) } else { (b, a) };
    let (ilo, ihi) = if a_first { (ia, ib) } else { (ib, ia) };
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(ilo);
    h.update(ihi);
    h.update([proto, 0]);
    h.update(lo.port().to_be_bytes());
    h.update(hi.port().to_be_bytes());
    let digest: [u8; 20] = h.finalize().into();
    // "1:" and 28 characters of base64 for the 20-byte digest.
    let mut id = String::with_capacity(30);
    id.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut id);
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(src: &str, dst: &str, proto: u8, seed: u16) -> String {
        community_id(
            src.parse().expect("addr"),
            dst.parse().expect("addr"),
            proto,
            seed,
        )
    }

    /// The TCP and UDP rows of the Community ID spec's published baseline
    /// (community-id-spec, `baseline/README.md` tables and
    /// `baseline/baseline_deflt.json`), both directions of each flow.
    #[test]
    fn published_test_vectors() {
        let cases = [
            (
                "1.2.3.4:1122",
                "5.6.7.8:3344",
                6,
                0,
                "1:wCb3OG7yAFWelaUydu0D+125CLM=",
            ),
            (
                "5.6.7.8:3344",
                "1.2.3.4:1122",
                6,
                0,
                "1:wCb3OG7yAFWelaUydu0D+125CLM=",
            ),
            (
                "1.2.3.4:1122",
                "5.6.7.8:3344",
                17,
                0,
                "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
            ),
            (
                "1.2.3.4:1122",
                "5.6.7.8:3344",
                6,
                1,
                "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=",
            ),
            (
                "5.6.7.8:3344",
                "1.2.3.4:1122",
                6,
                1,
                "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=",
            ),
            (
                "128.232.110.120:34855",
                "66.35.250.204:80",
                6,
                0,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                "66.35.250.204:80",
                "128.232.110.120:34855",
                6,
                0,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943",
                "[2607:f8b0:400c:c03::1a]:25",
                6,
                0,
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                "[2607:f8b0:400c:c03::1a]:25",
                "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943",
                6,
                0,
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                "192.168.1.52:54585",
                "8.8.8.8:53",
                17,
                0,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
        ];
        for (src, dst, proto, seed, want) in cases {
            assert_eq!(
                id(src, dst, proto, seed),
                want,
                "{src} -> {dst} proto {proto} seed {seed}"
            );
        }
    }
}
