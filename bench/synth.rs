//! The traffic model behind `gencap` (and the pipeline micro-benchmark):
//! a deterministic, streaming generator of realistic TCP captures.
//!
//! Every connection follows a script chosen from the outcome table of
//! `shared/spec/resets.md` (clean, refused, unanswered, handshake-rst, the three
//! wire variants of post-handshake-rst, server-abort, client-abort,
//! rst-after-half-close, half-closed, rst-after-close, open). `concurrent`
//! scripts run at once, interleaved in time through an event queue; when one
//! ends its slot starts the next connection. Once the size, packet or
//! connection budget is reached no connection starts, and the ones in flight
//! finish their scripts, so every connection's outcome is exactly the one it
//! was scripted for and the summary can be compared with rstscope's counts.
//!
//! Packets are written as pcap (Ethernet, microsecond, little-endian) with
//! correct lengths, sequence and acknowledgment numbers (random ISNs, some
//! near 2^32 so they wrap), TCP timestamps and checksums, TTL 64. Nothing is
//! held in memory but the open connections' scripts.
// Included by two crates (`gencap` and the `pipeline` bench), each using part.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Write};

/// First packet's time: 2023-11-14T22:13:20Z.
pub const BASE_SECS: u64 = 1_700_000_000;
/// Payload bytes per full segment (MSS 1460 minus the 12-byte timestamp option).
const MSS: u32 = 1448;
/// What the pcap header says when no snap length is asked for.
const FULL_SNAPLEN: u32 = 262_144;
/// Servers unless `Config::servers` says otherwise; ports repeat this list.
const SERVERS: usize = 16;
const SERVER_PORTS: [u16; SERVERS] = [
    443, 443, 443, 80, 80, 8080, 5432, 6379, 443, 2133, 443, 80, 9200, 443, 3306, 443,
];
/// Client addresses. With ports handed out without repetition per client,
/// 4096 clients give 115 million distinct 4-tuples: no tuple is ever reused.
const CLIENTS: u64 = 4096;
const EPHEMERAL_BASE: u16 = 32768;
const EPHEMERAL_COUNT: u64 = 28232;
/// Listeners "restart" every 10 s (each at its own phase): the moment the
/// connections that sat un-accepted in their queue are reset, all at once.
const RESTART_PERIOD_US: u64 = 10_000_000;
/// Under random interleaving, scripted gaps shorter than this are left to
/// the wait in the pool (about 20 ms); longer ones are kept as pauses.
const RANDOM_PAUSE_US: u64 = 50_000;
/// Most servers: IPv4 addresses 10.1.0.1 to 10.1.249.250.
const MAX_SERVERS: usize = 62_500;
const GATEWAY_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
const RESOLVER_V4: [u8; 4] = [10, 255, 0, 53];

/// splitmix64: small, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Log-uniform in [lo, hi]: as many values per decade, like latencies and sizes.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> u64 {
        let (a, b) = (lo.ln(), hi.ln());
        (a + self.unit() * (b - a)).exp().round() as u64
    }
}

/// Outcomes of the spec, in the order of its table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Clean,
    Refused,
    Unanswered,
    HandshakeRst,
    PostHandshakeRst,
    ServerAbort,
    ClientAbort,
    RstAfterHalfClose,
    HalfClosed,
    RstAfterClose,
    Open,
}

impl Outcome {
    pub const ALL: [Outcome; 11] = [
        Outcome::Clean,
        Outcome::Refused,
        Outcome::Unanswered,
        Outcome::HandshakeRst,
        Outcome::PostHandshakeRst,
        Outcome::ServerAbort,
        Outcome::ClientAbort,
        Outcome::RstAfterHalfClose,
        Outcome::HalfClosed,
        Outcome::RstAfterClose,
        Outcome::Open,
    ];

    /// The spec's identifier.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::Refused => "refused",
            Outcome::Unanswered => "unanswered",
            Outcome::HandshakeRst => "handshake-rst",
            Outcome::PostHandshakeRst => "post-handshake-rst",
            Outcome::ServerAbort => "server-abort",
            Outcome::ClientAbort => "client-abort",
            Outcome::RstAfterHalfClose => "rst-after-half-close",
            Outcome::HalfClosed => "half-closed",
            Outcome::RstAfterClose => "rst-after-close",
            Outcome::Open => "open",
        }
    }

    /// Share of connections, in 1/10 000: a busy service having a bad day.
    fn weight(self) -> u64 {
        match self {
            Outcome::Clean => 8500,
            Outcome::Refused => 200,
            Outcome::Unanswered => 150,
            Outcome::HandshakeRst => 50,
            Outcome::PostHandshakeRst => 200,
            Outcome::ServerAbort => 200,
            Outcome::ClientAbort => 300,
            Outcome::RstAfterHalfClose => 150,
            Outcome::HalfClosed => 100,
            Outcome::RstAfterClose => 100,
            Outcome::Open => 50,
        }
    }

    fn pick(rng: &mut Rng) -> Outcome {
        let mut r = rng.below(10_000);
        for o in Outcome::ALL {
            if r < o.weight() {
                return o;
            }
            r -= o.weight();
        }
        Outcome::Clean
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Cut every record to this many bytes (`tcpdump -s 96`); the record
    /// keeps the full length on the wire.
    pub snaplen: Option<u32>,
    /// Connections in flight at once.
    pub concurrent: u64,
    /// Stop starting connections after this many.
    pub connections: Option<u64>,
    /// Stop starting connections once the file holds this many bytes.
    pub max_bytes: Option<u64>,
    /// Stop starting connections once the file holds this many packets.
    pub max_packets: Option<u64>,
    /// Most request/response exchanges on one connection.
    pub exchanges: u64,
    /// Largest response body.
    pub max_response: u64,
    /// Share of connections over IPv6.
    pub ipv6_share: f64,
    /// Share of connections preceded by a DNS lookup (UDP, counted non-TCP).
    pub dns_share: f64,
    /// Servers (address and port); the first 16 are the classic mix's, the
    /// others reuse its ports on further addresses (10.1.X.Y), up to 62 500.
    pub servers: usize,
    /// Packets drawn at random from the connections whose next packet is
    /// due, instead of strictly in time order (see [`Generator::run`]).
    pub random_interleave: bool,
    /// Pure ACKs from the client also carry a SACK option (a D-SACK block
    /// for the last segment it acknowledged), as Linux does after a
    /// duplicate: every segment then has options past the timestamps.
    pub sack: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            snaplen: None,
            concurrent: 1000,
            connections: None,
            max_bytes: None,
            max_packets: None,
            exchanges: 3,
            max_response: 1 << 20,
            ipv6_share: 0.12,
            dns_share: 0.05,
            servers: SERVERS,
            random_interleave: false,
            sack: false,
        }
    }
}

/// What was written: what a reader of the file must find.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub packets: u64,
    pub tcp_segments: u64,
    pub udp_packets: u64,
    /// Records cut by the snap length.
    pub snap_cut: u64,
    /// File size.
    pub bytes: u64,
    /// Packet lengths on the wire (before the snap length).
    pub wire_bytes: u64,
    pub connections: u64,
    pub ipv4: u64,
    pub ipv6: u64,
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Wire variants (`outcome/variant`).
    pub variants: BTreeMap<&'static str, u64>,
    pub rst_segments: u64,
    /// Connections whose sequence space (either side) wrapped past 2^32.
    pub seq_wraps: u64,
    /// Most connections in flight (scripts running) at one time.
    pub max_in_flight: u64,
    /// TCP segments of the same connection as the TCP segment before them:
    /// how much the file comes in per-connection runs.
    pub same_connection_as_previous: u64,
    /// Connection of the latest TCP segment (plus one; 0: none yet).
    last_connection: u64,
    pub first_us: u64,
    pub last_us: u64,
}

impl Summary {
    /// `key=value` lines, one fact each, for people and for scripts.
    pub fn write_to(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(w, "packets={}", self.packets)?;
        writeln!(w, "tcp_segments={}", self.tcp_segments)?;
        writeln!(w, "udp_packets={}", self.udp_packets)?;
        writeln!(w, "snap_cut={}", self.snap_cut)?;
        writeln!(w, "bytes={}", self.bytes)?;
        writeln!(w, "wire_bytes={}", self.wire_bytes)?;
        writeln!(w, "connections={}", self.connections)?;
        writeln!(w, "connections_ipv4={}", self.ipv4)?;
        writeln!(w, "connections_ipv6={}", self.ipv6)?;
        writeln!(w, "rst_segments={}", self.rst_segments)?;
        writeln!(w, "seq_wraps={}", self.seq_wraps)?;
        writeln!(w, "max_in_flight={}", self.max_in_flight)?;
        writeln!(
            w,
            "same_connection_as_previous={}",
            self.same_connection_as_previous
        )?;
        writeln!(
            w,
            "duration_s={:.6}",
            self.last_us.saturating_sub(self.first_us) as f64 / 1e6
        )?;
        for o in Outcome::ALL {
            let n = self.outcomes.get(o.name()).copied().unwrap_or(0);
            writeln!(w, "outcome.{}={n}", o.name())?;
        }
        for (v, n) in &self.variants {
            writeln!(w, "variant.{v}={n}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Head {
    None,
    Request,
    Response { body: u32 },
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Pure SYN (also its retransmissions: same ISN).
    Syn,
    /// SYN-ACK (also its retransmissions).
    SynAck,
    /// Pure ACK, acknowledging all but the last `back` bytes the peer sent.
    Ack {
        back: u32,
    },
    Data {
        len: u32,
        psh: bool,
        head: Head,
    },
    /// FIN-ACK.
    Fin,
    /// RST without ACK, at the sender's next sequence number.
    Rst,
    /// RST-ACK; before the server's SYN-ACK (a refusal) its sequence number is 0.
    RstAck,
    DnsQuery,
    DnsAnswer,
}

#[derive(Clone, Copy, Debug)]
enum Gap {
    Us(u64),
    /// Wait for the server's next listener restart (burst of resets).
    ListenerRestart,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    gap: Gap,
    client: bool,
    kind: Kind,
}

/// Builds one connection's script; times are gaps from the previous step.
struct Script<'a> {
    steps: &'a mut Vec<Step>,
    rng: &'a mut Rng,
    /// Round trip between the capture point (at the server) and the client.
    rtt: u64,
    /// A kernel's reaction time.
    kern: u64,
    max_response: u64,
}

impl Script<'_> {
    fn push(&mut self, gap: u64, client: bool, kind: Kind) {
        self.steps.push(Step {
            gap: Gap::Us(gap),
            client,
            kind,
        });
    }

    fn kern(&mut self) -> u64 {
        self.kern + self.rng.below(self.kern)
    }

    fn dns(&mut self) {
        self.push(0, true, Kind::DnsQuery);
        let lat = self.rng.log_uniform(150.0, 20_000.0);
        self.push(lat, true, Kind::DnsAnswer);
    }

    fn syn(&mut self, gap: u64) {
        self.push(gap, true, Kind::Syn);
    }

    fn handshake(&mut self, gap: u64) {
        self.syn(gap);
        let k = self.kern();
        self.push(k, false, Kind::SynAck);
        self.push(self.rtt, true, Kind::Ack { back: 0 });
    }

    fn request(&mut self, gap: u64) {
        let len = if self.rng.chance(0.85) {
            self.rng.log_uniform(150.0, 700.0)
        } else {
            self.rng.log_uniform(700.0, 6000.0)
        } as u32;
        self.message(gap, true, len, Head::Request);
    }

    /// One message split into full segments, PSH on the last.
    fn message(&mut self, gap: u64, client: bool, len: u32, head: Head) {
        let mut left = len;
        let mut first = true;
        while left > 0 {
            let n = left.min(MSS);
            left -= n;
            let g = if first { gap } else { 10 + self.rng.below(10) };
            self.push(
                g,
                client,
                Kind::Data {
                    len: n,
                    psh: left == 0,
                    head: if first { head } else { Head::None },
                },
            );
            first = false;
        }
    }

    fn response_len(&mut self) -> u32 {
        let max = self.max_response.max(2000) as f64;
        let r = self.rng.below(1000);
        let (lo, hi) = match r {
            0..=649 => (100.0, 1500.0),
            650..=929 => (1500.0, 12_000.0),
            930..=994 => (12_000.0, 64_000.0),
            _ => (64_000.0, max),
        };
        self.rng.log_uniform(lo, hi.min(max).max(lo)) as u32
    }

    /// A response in flights (initial window 10, doubling), the client ACKing
    /// every second segment one round trip after each flight. Returns the
    /// index of the first step it pushed.
    fn response(&mut self, gap: u64, body: u32) -> usize {
        let start = self.steps.len();
        let total = body + 120;
        let mut segs: Vec<u32> = Vec::new();
        let mut left = total;
        while left > 0 {
            let n = left.min(MSS);
            segs.push(n);
            left -= n;
        }
        let mut cwnd = 10usize;
        let mut i = 0;
        let mut first = true;
        while i < segs.len() {
            let flight = &segs[i..(i + cwnd).min(segs.len())];
            let flight_len = flight.len();
            for (k, &n) in flight.iter().enumerate() {
                let g = if k == 0 {
                    if first {
                        gap
                    } else {
                        self.kern()
                    }
                } else {
                    12
                };
                self.push(
                    g,
                    false,
                    Kind::Data {
                        len: n,
                        psh: i + k + 1 == segs.len(),
                        head: if first && k == 0 {
                            Head::Response { body }
                        } else {
                            Head::None
                        },
                    },
                );
                first = false;
            }
            // ACK every second segment (and the last odd one).
            let mut acked = 0;
            let mut g = self.rtt;
            while acked < flight_len {
                acked = (acked + 2).min(flight_len);
                let back: u32 = segs[i + acked..i + flight_len].iter().sum();
                self.push(g, true, Kind::Ack { back });
                g = 24;
            }
            i += flight_len;
            cwnd = (cwnd * 2).min(128);
        }
        start
    }

    fn think(&mut self) -> u64 {
        self.rng.log_uniform(500.0, 2_000_000.0)
    }

    fn server_time(&mut self) -> u64 {
        self.rng.log_uniform(100.0, 50_000.0)
    }

    /// Request and response.
    fn exchange(&mut self, gap: u64) {
        self.request(gap);
        let body = self.response_len();
        let srv = self.server_time();
        self.response(srv, body);
    }

    fn exchanges(&mut self, n: u64) {
        for k in 0..n {
            let gap = self.gap_before_request(k);
            self.exchange(gap);
        }
    }

    /// The client's pause before its request number `k` (0-based): a quick
    /// first request after the handshake, think time between later ones.
    fn gap_before_request(&mut self, k: u64) -> u64 {
        if k == 0 {
            20 + self.rng.below(40)
        } else {
            self.think()
        }
    }

    /// Orderly close; `true` when the client closes first.
    fn close(&mut self, client_first: bool) {
        if client_first {
            let g = self.think();
            self.push(g, true, Kind::Fin);
            let s = self.rng.log_uniform(20.0, 2000.0);
            self.push(s, false, Kind::Fin);
            self.push(self.rtt, true, Kind::Ack { back: 0 });
        } else {
            let idle = self.rng.log_uniform(1000.0, 5_000_000.0);
            self.push(idle, false, Kind::Fin);
            let c = self.rtt + self.rng.log_uniform(20.0, 2000.0);
            self.push(c, true, Kind::Fin);
            let k = self.kern();
            self.push(k, false, Kind::Ack { back: 0 });
        }
    }

    /// Drops the server's data steps after a random one (at least one kept)
    /// among those pushed since `from`, with the ACKs that would follow them.
    fn cut_response(&mut self, from: usize) {
        let data: Vec<usize> = (from..self.steps.len())
            .filter(|&i| matches!(self.steps[i].kind, Kind::Data { .. }) && !self.steps[i].client)
            .collect();
        if data.is_empty() {
            return;
        }
        let keep = data[self.rng.below(data.len() as u64) as usize];
        self.steps.truncate(keep + 1);
    }

    fn build(&mut self, outcome: Outcome, exchanges: u64) -> &'static str {
        let n = self.rng.range(1, exchanges.max(1));
        match outcome {
            Outcome::Clean => {
                self.handshake(0);
                self.exchanges(n);
                let client_first = self.rng.chance(0.7);
                self.close(client_first);
                if client_first {
                    "clean/client-closes"
                } else {
                    "clean/server-closes"
                }
            }
            Outcome::Refused => {
                self.syn(0);
                let k = self.kern();
                self.push(k, false, Kind::RstAck);
                "refused/rst-ack"
            }
            Outcome::Unanswered => {
                self.syn(0);
                self.syn(1_000_000);
                self.syn(2_000_000);
                "unanswered/syn-retransmits-1s-3s"
            }
            Outcome::HandshakeRst => {
                self.syn(0);
                let k = self.kern();
                self.push(k, false, Kind::SynAck);
                self.push(self.rtt, true, Kind::Rst);
                "handshake-rst/client-rst"
            }
            Outcome::PostHandshakeRst => match self.rng.below(10) {
                0..=3 => {
                    self.handshake(0);
                    // Half of them reset the handshake's ACK itself
                    // (tcp_abort_on_overflow), half the request.
                    let k = self.kern();
                    if self.rng.chance(0.5) {
                        let g = self.gap_before_request(0);
                        self.request(g);
                    }
                    self.push(k, false, Kind::Rst);
                    "post-handshake-rst/rst-instead-of-ack"
                }
                4..=5 => {
                    self.handshake(0);
                    let g = self.gap_before_request(0);
                    self.request(g);
                    let rtt = self.rtt;
                    self.push(1_000_000, false, Kind::SynAck);
                    self.push(rtt, true, Kind::Ack { back: 0 });
                    self.push(2_000_000, false, Kind::SynAck);
                    self.push(rtt, true, Kind::Ack { back: 0 });
                    let k = self.kern();
                    self.push(k, false, Kind::Rst);
                    "post-handshake-rst/synack-retransmits"
                }
                _ => {
                    self.handshake(0);
                    let g = self.gap_before_request(0);
                    self.request(g);
                    let k = self.kern();
                    self.push(k, false, Kind::Ack { back: 0 });
                    self.steps.push(Step {
                        gap: Gap::ListenerRestart,
                        client: false,
                        kind: Kind::RstAck,
                    });
                    "post-handshake-rst/acked-then-rst-burst"
                }
            },
            Outcome::ServerAbort => {
                self.handshake(0);
                self.exchanges(n - 1);
                let g = self.gap_before_request(n - 1);
                self.request(g);
                let body = self.response_len().max(4000);
                let srv = self.server_time();
                let from = self.response(srv, body);
                self.cut_response(from);
                let idle = self.rng.log_uniform(200.0, 5_000_000.0);
                if self.rng.chance(0.5) {
                    self.push(idle, false, Kind::RstAck);
                } else {
                    self.push(idle, false, Kind::Rst);
                }
                "server-abort/rst-mid-response"
            }
            Outcome::ClientAbort => {
                self.handshake(0);
                if self.rng.chance(0.7) {
                    // close() with unread data: the response is still arriving.
                    self.exchanges(n - 1);
                    let g = self.gap_before_request(n - 1);
                    self.request(g);
                    let body = self.response_len().max(20_000);
                    let srv = self.server_time();
                    let from = self.response(srv, body);
                    self.cut_response(from);
                    let g = self.rtt / 2 + 5;
                    self.push(g, true, Kind::RstAck);
                    "client-abort/unread-data"
                } else {
                    // The client process died (or SO_LINGER 0) after a while.
                    self.exchanges(n);
                    let g = self.think();
                    self.push(g, true, Kind::Rst);
                    "client-abort/after-idle"
                }
            }
            Outcome::RstAfterHalfClose => {
                self.handshake(0);
                if self.rng.chance(0.6) {
                    // Client closed after its request; the server kept writing.
                    self.exchanges(n - 1);
                    let g = self.gap_before_request(n - 1);
                    self.request(g);
                    let f = 10 + self.rng.below(30);
                    self.push(f, true, Kind::Fin);
                    let body = self.response_len();
                    let srv = self.server_time();
                    self.message(srv, false, body + 120, Head::Response { body });
                    self.push(self.rtt, true, Kind::Rst);
                    "rst-after-half-close/client-closed-server-wrote"
                } else {
                    // Stale keep-alive reuse: the server closed an idle
                    // connection, the client sent a request on it anyway.
                    self.exchanges(n);
                    let idle = self.rng.log_uniform(1_000_000.0, 15_000_000.0);
                    self.push(idle, false, Kind::Fin);
                    self.push(self.rtt, true, Kind::Ack { back: 0 });
                    let reuse = self.rng.log_uniform(1000.0, 2_000_000.0);
                    self.request(reuse);
                    let k = self.kern();
                    self.push(k, false, Kind::Rst);
                    "rst-after-half-close/stale-keepalive-reuse"
                }
            }
            Outcome::HalfClosed => {
                self.handshake(0);
                self.exchanges(n);
                if self.rng.chance(0.6) {
                    let g = self.think();
                    self.push(g, true, Kind::Fin);
                    let k = self.kern();
                    self.push(k, false, Kind::Ack { back: 0 });
                    "half-closed/server-in-close-wait"
                } else {
                    let idle = self.rng.log_uniform(1000.0, 5_000_000.0);
                    self.push(idle, false, Kind::Fin);
                    self.push(self.rtt, true, Kind::Ack { back: 0 });
                    "half-closed/client-in-close-wait"
                }
            }
            Outcome::RstAfterClose => {
                self.handshake(0);
                self.exchanges(n);
                self.close(true);
                let g = self.rng.log_uniform(100.0, 50_000.0);
                if self.rng.chance(0.5) {
                    self.push(g, true, Kind::Rst);
                } else {
                    self.push(g, false, Kind::Rst);
                }
                "rst-after-close/late-rst"
            }
            Outcome::Open => {
                self.handshake(0);
                self.exchanges(n);
                "open/established-at-end"
            }
        }
    }
}

/// A connection in flight.
struct Conn {
    index: u64,
    v6: bool,
    client: [u8; 16],
    server: [u8; 16],
    server_idx: usize,
    cport: u16,
    sport: u16,
    dns_port: u16,
    isn_c: u32,
    isn_s: u32,
    c_nxt: u32,
    s_nxt: u32,
    c_sent: u64,
    s_sent: u64,
    c_ts: u32,
    s_ts: u32,
    c_last_ts: u32,
    s_last_ts: u32,
    c_id: u16,
    s_id: u16,
    synack_sent: bool,
    /// Client ACKs carry a D-SACK block (`Config::sack`).
    sack: bool,
    script: Vec<Step>,
    pos: usize,
}

/// The pcap writer and the bytes of the packet being built (reused).
struct Writer<W: Write> {
    out: W,
    pkt: Vec<u8>,
    snaplen: u32,
    body: Vec<u8>,
    summary: Summary,
}

/// Addresses of one packet.
struct Path {
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    smac: [u8; 6],
    dmac: [u8; 6],
}

/// Everything one TCP segment needs beyond the connection.
struct Seg {
    from_client: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    syn_options: bool,
    ts: Option<(u32, u32)>,
    /// One SACK block (left, right edge).
    sack: Option<(u32, u32)>,
    payload_len: u32,
    head: Head,
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

impl<W: Write> Writer<W> {
    fn new(out: W, snaplen: Option<u32>) -> Self {
        // Filler for payloads: JSON-ish text, the same on every run.
        let mut body = Vec::with_capacity(70_000);
        let mut rng = Rng::new(0xb0d1);
        let words = [
            "\"id\":",
            "\"name\":",
            "\"items\":[",
            "\"status\":\"ok\",",
            "\"value\":",
            "],",
            "{",
            "}",
            "\"ts\":",
            "\"region\":\"eu-west-1\",",
            "true,",
            "null,",
        ];
        while body.len() < 66_000 {
            let w = words[rng.below(words.len() as u64) as usize];
            body.extend_from_slice(w.as_bytes());
            let n = rng.below(100_000);
            let _ = write!(body, "{n},");
        }
        Writer {
            out,
            pkt: Vec::with_capacity(2048),
            snaplen: snaplen.unwrap_or(FULL_SNAPLEN),
            body,
            summary: Summary::default(),
        }
    }

    fn file_header(&mut self) -> io::Result<()> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&self.snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        self.out.write_all(&h)?;
        self.summary.bytes = 24;
        Ok(())
    }

    /// Writes the packet in `self.pkt` as one record at `t_us`.
    fn record(&mut self, t_us: u64) -> io::Result<()> {
        let len = self.pkt.len() as u32;
        let cap = len.min(self.snaplen);
        let secs = BASE_SECS + t_us / 1_000_000;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((t_us % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&cap.to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&self.pkt[..cap as usize])?;
        let s = &mut self.summary;
        s.packets += 1;
        s.bytes += 16 + u64::from(cap);
        s.wire_bytes += u64::from(len);
        if cap < len {
            s.snap_cut += 1;
        }
        if s.packets == 1 {
            s.first_us = t_us;
        }
        s.last_us = t_us;
        Ok(())
    }

    /// Ethernet and IP headers for `proto` carrying `l4_len` bytes; returns
    /// where the layer-4 header starts.
    fn ip_headers(&mut self, path: &Path, proto: u8, l4_len: usize, id: u16) -> usize {
        let p = &mut self.pkt;
        p.clear();
        p.extend_from_slice(&path.dmac);
        p.extend_from_slice(&path.smac);
        if path.v6 {
            p.extend_from_slice(&[0x86, 0xdd]);
            p.extend_from_slice(&[0x60, 0, 0, 0]);
            p.extend_from_slice(&(l4_len as u16).to_be_bytes());
            p.extend_from_slice(&[proto, 64]);
            p.extend_from_slice(&path.src);
            p.extend_from_slice(&path.dst);
        } else {
            p.extend_from_slice(&[0x08, 0x00]);
            let total = (20 + l4_len) as u16;
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            ip[4..6].copy_from_slice(&id.to_be_bytes());
            ip[6] = 0x40; // DF
            ip[8] = 64;
            ip[9] = proto;
            ip[12..16].copy_from_slice(&path.src[..4]);
            ip[16..20].copy_from_slice(&path.dst[..4]);
            let sum = fold(sum_words(&ip, 0));
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            p.extend_from_slice(&ip);
        }
        p.len()
    }

    /// Fills `len` payload bytes at the end of `self.pkt`.
    fn payload(&mut self, len: usize, head: Head, c: &Conn, seq: u32) {
        let start = self.pkt.len();
        match head {
            Head::Request => {
                let _ = write!(
                    self.pkt,
                    "GET /api/v1/items/{} HTTP/1.1\r\nHost: svc{}.example.internal\r\nUser-Agent: gencap/1\r\nAccept: application/json\r\nX-Request-Id: {:016x}\r\nX-Pad: ",
                    c.index % 100_000,
                    c.server_idx,
                    u64::from(seq) << 20 ^ c.index
                );
            }
            Head::Response { body } => {
                let _ = write!(
                    self.pkt,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body}\r\nConnection: keep-alive\r\n\r\n"
                );
            }
            Head::None => {}
        }
        self.pkt.truncate(start + len);
        let have = self.pkt.len() - start;
        if have < len {
            let off = (seq as usize) % 4096;
            self.pkt
                .extend_from_slice(&self.body[off..off + (len - have)]);
        }
    }

    fn tcp(&mut self, c: &mut Conn, s: &Seg, t_us: u64) -> io::Result<()> {
        let opt_len = if s.syn_options {
            20
        } else if s.ts.is_some() {
            12
        } else {
            0
        } + if s.sack.is_some() { 12 } else { 0 };
        let hdr_len = 20 + opt_len;
        let l4_len = hdr_len + s.payload_len as usize;
        let id = if s.from_client {
            c.c_id = c.c_id.wrapping_add(1);
            c.c_id
        } else {
            c.s_id = c.s_id.wrapping_add(1);
            c.s_id
        };
        let path = c.path(s.from_client);
        let l4 = self.ip_headers(&path, 6, l4_len, id);
        let (sport, dport) = if s.from_client {
            (c.cport, c.sport)
        } else {
            (c.sport, c.cport)
        };
        let mut h = [0u8; 52];
        h[0..2].copy_from_slice(&sport.to_be_bytes());
        h[2..4].copy_from_slice(&dport.to_be_bytes());
        h[4..8].copy_from_slice(&s.seq.to_be_bytes());
        h[8..12].copy_from_slice(&s.ack.to_be_bytes());
        h[12] = ((hdr_len / 4) as u8) << 4;
        h[13] = s.flags;
        h[14..16].copy_from_slice(&s.window.to_be_bytes());
        let (tsval, tsecr) = s.ts.unwrap_or((0, 0));
        if s.syn_options {
            // MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (Linux's order).
            h[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]);
            h[24..26].copy_from_slice(&[4, 2]);
            h[26..28].copy_from_slice(&[8, 10]);
            h[28..32].copy_from_slice(&tsval.to_be_bytes());
            h[32..36].copy_from_slice(&tsecr.to_be_bytes());
            h[36..40].copy_from_slice(&[1, 3, 3, 7]);
        } else if s.ts.is_some() {
            h[20..24].copy_from_slice(&[1, 1, 8, 10]);
            h[24..28].copy_from_slice(&tsval.to_be_bytes());
            h[28..32].copy_from_slice(&tsecr.to_be_bytes());
        }
        if let Some((left, right)) = s.sack {
            let at = hdr_len - 12;
            h[at..at + 4].copy_from_slice(&[1, 1, 5, 10]);
            h[at + 4..at + 8].copy_from_slice(&left.to_be_bytes());
            h[at + 8..at + 12].copy_from_slice(&right.to_be_bytes());
        }
        self.pkt.extend_from_slice(&h[..hdr_len]);
        self.payload(s.payload_len as usize, s.head, c, s.seq);
        let sum = self.l4_checksum(&path, 6, l4);
        self.pkt[l4 + 16..l4 + 18].copy_from_slice(&sum.to_be_bytes());
        self.summary.tcp_segments += 1;
        if self.summary.last_connection == c.index + 1 {
            self.summary.same_connection_as_previous += 1;
        }
        self.summary.last_connection = c.index + 1;
        if s.flags & RST != 0 {
            self.summary.rst_segments += 1;
        }
        self.record(t_us)
    }

    fn l4_checksum(&self, path: &Path, proto: u8, l4: usize) -> u16 {
        let len = (self.pkt.len() - l4) as u64;
        let mut acc = u64::from(proto) + len;
        let n = if path.v6 { 16 } else { 4 };
        acc = sum_words(&path.src[..n], acc);
        acc = sum_words(&path.dst[..n], acc);
        fold(sum_words(&self.pkt[l4..], acc))
    }

    /// A DNS lookup of the server's name (query, or its answer).
    fn dns(&mut self, c: &Conn, answer: bool, t_us: u64) -> io::Result<()> {
        let qname = b"\x03svc\x07example\x08internal\x00";
        let rdlen = if c.v6 { 16 } else { 4 };
        let dns_len = 12 + qname.len() + 4 + if answer { 12 + rdlen } else { 0 };
        let udp_len = 8 + dns_len;
        let from_client = !answer;
        let mut path = c.path(from_client);
        let resolver = if c.v6 {
            [0xfd, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]
        } else {
            let mut r = [0u8; 16];
            r[..4].copy_from_slice(&RESOLVER_V4);
            r
        };
        if from_client {
            path.dst = resolver;
        } else {
            path.src = resolver;
        }
        let l4 = self.ip_headers(&path, 17, udp_len, (c.index & 0xffff) as u16);
        let (sp, dp) = if from_client {
            (c.dns_port, 53u16)
        } else {
            (53u16, c.dns_port)
        };
        let p = &mut self.pkt;
        p.extend_from_slice(&sp.to_be_bytes());
        p.extend_from_slice(&dp.to_be_bytes());
        p.extend_from_slice(&(udp_len as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        let id = (c.index as u16).to_be_bytes();
        p.extend_from_slice(&id);
        p.extend_from_slice(if answer { &[0x81, 0x80] } else { &[0x01, 0x00] });
        p.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
        p.extend_from_slice(qname);
        p.extend_from_slice(&[0, if c.v6 { 28 } else { 1 }, 0, 1]);
        if answer {
            p.extend_from_slice(&[0xc0, 0x0c, 0, if c.v6 { 28 } else { 1 }, 0, 1]);
            p.extend_from_slice(&[0, 0, 0, 30, 0, rdlen as u8]);
            p.extend_from_slice(&c.server[..rdlen]);
        }
        let mut sum = self.l4_checksum(&path, 17, l4);
        if sum == 0 {
            sum = 0xffff;
        }
        self.pkt[l4 + 6..l4 + 8].copy_from_slice(&sum.to_be_bytes());
        self.summary.udp_packets += 1;
        self.record(t_us)
    }
}

impl Conn {
    /// Addresses of a packet in one direction.
    fn path(&self, from_client: bool) -> Path {
        let i = self.server_idx as u16;
        let server_mac = [0x02, 0, 0, 1, (i >> 8) as u8, i as u8];
        if from_client {
            Path {
                v6: self.v6,
                src: self.client,
                dst: self.server,
                smac: GATEWAY_MAC,
                dmac: server_mac,
            }
        } else {
            Path {
                v6: self.v6,
                src: self.server,
                dst: self.client,
                smac: server_mac,
                dmac: GATEWAY_MAC,
            }
        }
    }

    fn emit<W: Write>(&mut self, step: Step, t_us: u64, w: &mut Writer<W>) -> io::Result<()> {
        let client = step.client;
        let t_ms = (t_us / 1000) as u32;
        let (own_nxt, peer_nxt) = if client {
            (self.c_nxt, self.s_nxt)
        } else {
            (self.s_nxt, self.c_nxt)
        };
        let win: u16 = if client { 502 } else { 509 };
        let mut seg = Seg {
            from_client: client,
            seq: own_nxt,
            ack: peer_nxt,
            flags: ACK,
            window: win,
            syn_options: false,
            ts: None,
            sack: None,
            payload_len: 0,
            head: Head::None,
        };
        let mut advance = 0u32;
        let mut with_ts = true;
        match step.kind {
            Kind::DnsQuery => return w.dns(self, false, t_us),
            Kind::DnsAnswer => return w.dns(self, true, t_us),
            Kind::Syn => {
                seg.seq = self.isn_c;
                seg.ack = 0;
                seg.flags = SYN;
                seg.window = 64240;
                seg.syn_options = true;
                self.c_nxt = self.isn_c.wrapping_add(1);
            }
            Kind::SynAck => {
                seg.seq = self.isn_s;
                seg.ack = self.isn_c.wrapping_add(1);
                seg.flags = SYN | ACK;
                seg.window = 65160;
                seg.syn_options = true;
                self.s_nxt = self.isn_s.wrapping_add(1);
                self.synack_sent = true;
            }
            Kind::Ack { back } => {
                seg.ack = peer_nxt.wrapping_sub(back);
                let peer_sent = if client { self.s_sent } else { self.c_sent };
                let acked = peer_sent
                    .saturating_sub(u64::from(back))
                    .min(u64::from(MSS));
                if self.sack && client && acked > 0 {
                    seg.sack = Some((seg.ack.wrapping_sub(acked as u32), seg.ack));
                }
            }
            Kind::Data { len, psh, head } => {
                seg.flags = ACK | if psh { PSH } else { 0 };
                seg.payload_len = len;
                seg.head = head;
                advance = len;
            }
            Kind::Fin => {
                seg.flags = FIN | ACK;
                advance = 1;
            }
            Kind::Rst => {
                seg.flags = RST;
                seg.ack = 0;
                seg.window = 0;
                with_ts = false;
            }
            Kind::RstAck => {
                seg.flags = RST | ACK;
                seg.window = 0;
                with_ts = false;
                if !client && !self.synack_sent {
                    seg.seq = 0;
                }
            }
        }
        if with_ts {
            let (base, echo) = if client {
                (self.c_ts, self.s_last_ts)
            } else {
                (self.s_ts, self.c_last_ts)
            };
            let tsval = base.wrapping_add(t_ms);
            let tsecr = if matches!(step.kind, Kind::Syn) {
                0
            } else {
                echo
            };
            seg.ts = Some((tsval, tsecr));
            if client {
                self.c_last_ts = tsval;
            } else {
                self.s_last_ts = tsval;
            }
        }
        w.tcp(self, &seg, t_us)?;
        if advance > 0 {
            if client {
                self.c_nxt = self.c_nxt.wrapping_add(advance);
                self.c_sent += u64::from(advance);
            } else {
                self.s_nxt = self.s_nxt.wrapping_add(advance);
                self.s_sent += u64::from(advance);
            }
        }
        Ok(())
    }

    /// Whether either side's sequence numbers passed 2^32.
    fn wrapped(&self) -> bool {
        u64::from(self.isn_c) + self.c_sent + 2 > 1 << 32
            || u64::from(self.isn_s) + self.s_sent + 2 > 1 << 32
    }
}

/// Sum of big-endian 32-bit words (the tail zero-padded), for the Internet checksum.
fn sum_words(data: &[u8], mut acc: u64) -> u64 {
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let r = chunks.remainder();
    let mut tail = [0u8; 4];
    tail[..r.len()].copy_from_slice(r);
    acc + u64::from(u32::from_be_bytes(tail))
}

/// Folds a word sum to the one's-complement 16-bit checksum.
fn fold(mut s: u64) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The generator: connection slots, the event queue, the writer.
pub struct Generator<W: Write> {
    cfg: Config,
    rng: Rng,
    w: Writer<W>,
    slots: Vec<Option<Conn>>,
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    order: u64,
    started: u64,
    in_flight: u64,
}

impl<W: Write> Generator<W> {
    pub fn new(cfg: Config, out: W) -> Self {
        let w = Writer::new(out, cfg.snaplen);
        Generator {
            rng: Rng::new(cfg.seed),
            slots: Vec::new(),
            heap: BinaryHeap::new(),
            order: 0,
            started: 0,
            in_flight: 0,
            w,
            cfg,
        }
    }

    /// Writes the whole capture and returns what it holds.
    pub fn run(mut self) -> io::Result<(Summary, W)> {
        self.w.file_header()?;
        let slots = self.cfg.concurrent.max(1);
        self.slots = (0..slots).map(|_| None).collect();
        // Ramp up over one second, as if the capture started on a busy server.
        for slot in 0..slots {
            if !self.may_start() {
                break;
            }
            let t = self.rng.below(1_000_000);
            self.start(slot as usize, t, Vec::new());
        }
        if self.cfg.random_interleave {
            self.run_random()?;
        } else {
            while let Some(Reverse((t, _, slot))) = self.heap.pop() {
                self.step(slot as usize, t)?;
            }
        }
        self.w.out.flush()?;
        Ok((self.w.summary, self.w.out))
    }

    /// Random interleaving: a connection whose next packet is due (its
    /// script's gap has passed) waits in a pool, and each packet comes from
    /// a connection drawn uniformly from the pool, so consecutive packets
    /// are from different connections, as on a busy link, rather than in
    /// per-connection flights. The clock moves on by a random step per
    /// packet, on average 20 ms over the pool's size, so a due packet waits
    /// about 20 ms whatever the number of connections; scripted pauses of
    /// [`RANDOM_PAUSE_US`] or more (SYN retransmissions, idle times, long
    /// think times) still hold.
    fn run_random(&mut self) -> io::Result<()> {
        const WAIT_NS: u64 = 20_000_000;
        let mut pick = Rng::new(self.cfg.seed ^ 0x1d7e_41ea_5e00_0001);
        let mut ready: Vec<u32> = Vec::new();
        let mut t_ns: u64 = 0;
        loop {
            let t = t_ns / 1000;
            while let Some(Reverse((at, _, slot))) = self.heap.peek() {
                if *at > t {
                    break;
                }
                ready.push(*slot);
                self.heap.pop();
            }
            if ready.is_empty() {
                match self.heap.peek() {
                    Some(Reverse((at, _, _))) => {
                        t_ns = t_ns.max(at * 1000);
                        continue;
                    }
                    None => return Ok(()),
                }
            }
            let mean_ns = (WAIT_NS / ready.len() as u64).max(1);
            let i = pick.below(ready.len() as u64) as usize;
            let slot = ready.swap_remove(i);
            self.step(slot as usize, t)?;
            t_ns += pick.below(2 * mean_ns + 1);
        }
    }

    fn may_start(&self) -> bool {
        let s = &self.w.summary;
        self.cfg.connections.is_none_or(|n| self.started < n)
            && self.cfg.max_bytes.is_none_or(|n| s.bytes < n)
            && self.cfg.max_packets.is_none_or(|n| s.packets < n)
    }

    fn schedule(&mut self, slot: usize, t: u64) {
        self.order += 1;
        self.heap.push(Reverse((t, self.order, slot as u32)));
    }

    fn start(&mut self, slot: usize, t: u64, mut script: Vec<Step>) {
        let index = self.started;
        self.started += 1;
        let rng = &mut self.rng;
        let outcome = Outcome::pick(rng);
        let v6 = rng.chance(self.cfg.ipv6_share);
        let server_idx = rng.below(self.cfg.servers.clamp(1, MAX_SERVERS) as u64) as usize;
        let c = index % CLIENTS;
        let j = index / CLIENTS;
        let cport = EPHEMERAL_BASE + ((j * 7919 + c * 13) % EPHEMERAL_COUNT) as u16;
        let (client, server) = if v6 {
            let mut cl = [0xfd, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            cl[14..16].copy_from_slice(&((c + 1) as u16).to_be_bytes());
            let mut sv = [0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            sv[14..16].copy_from_slice(&(server_idx as u16 + 1).to_be_bytes());
            (cl, sv)
        } else {
            let mut cl = [0u8; 16];
            cl[..4].copy_from_slice(&(0xac10_0000u32 + c as u32 + 2).to_be_bytes());
            let mut sv = [0u8; 16];
            let (hi, lo) = (server_idx / 250, server_idx % 250);
            sv[..4].copy_from_slice(&[10, 1, hi as u8, lo as u8 + 1]);
            (cl, sv)
        };
        // One connection in 16 starts a side's sequence numbers just below
        // 2^32, so they wrap during the connection.
        let isn = |rng: &mut Rng| {
            if rng.below(32) == 0 {
                u32::MAX - rng.below(200_000) as u32
            } else {
                rng.next_u64() as u32
            }
        };
        let isn_c = isn(rng);
        let isn_s = isn(rng);
        let rtt = rng.log_uniform(150.0, 40_000.0);
        let kern = rng.range(8, 40);
        script.clear();
        let with_dns = rng.chance(self.cfg.dns_share);
        let mut b = Script {
            steps: &mut script,
            rng,
            rtt,
            kern,
            max_response: self.cfg.max_response,
        };
        if with_dns {
            b.dns();
        }
        let variant = b.build(outcome, self.cfg.exchanges);
        if with_dns {
            // The SYN follows the answer by a few microseconds, not at once.
            if let Some(s) = script.get_mut(2) {
                s.gap = Gap::Us(30);
            }
        }
        let conn = Conn {
            index,
            v6,
            client,
            server,
            server_idx,
            cport,
            sport: SERVER_PORTS[server_idx % SERVERS],
            dns_port: 1024 + (self.rng.below(60_000) as u16),
            isn_c,
            isn_s,
            c_nxt: isn_c,
            s_nxt: isn_s,
            c_sent: 0,
            s_sent: 0,
            c_ts: self.rng.next_u64() as u32,
            s_ts: self.rng.next_u64() as u32,
            c_last_ts: 0,
            s_last_ts: 0,
            c_id: self.rng.next_u64() as u16,
            s_id: self.rng.next_u64() as u16,
            synack_sent: false,
            sack: self.cfg.sack,
            script,
            pos: 0,
        };
        let s = &mut self.w.summary;
        s.connections += 1;
        if v6 {
            s.ipv6 += 1;
        } else {
            s.ipv4 += 1;
        }
        *s.outcomes.entry(outcome.name()).or_insert(0) += 1;
        *s.variants.entry(variant).or_insert(0) += 1;
        self.in_flight += 1;
        s.max_in_flight = s.max_in_flight.max(self.in_flight);
        self.slots[slot] = Some(conn);
        self.schedule(slot, t);
    }

    fn step(&mut self, slot: usize, t: u64) -> io::Result<()> {
        let conn = self.slots[slot]
            .as_mut()
            .expect("scheduled slot has a connection");
        let step = conn.script[conn.pos];
        conn.emit(step, t, &mut self.w)?;
        conn.pos += 1;
        if let Some(next) = conn.script.get(conn.pos) {
            let random = self.cfg.random_interleave;
            let at = match next.gap {
                // Interleaved at random, a short gap is the wait in the pool.
                Gap::Us(g) if random && g < RANDOM_PAUSE_US => t,
                Gap::Us(g) => t + g,
                Gap::ListenerRestart => {
                    let phase = (conn.server_idx as u64 * 613_000) % RESTART_PERIOD_US;
                    let after = t + 200_000;
                    let k = (after.saturating_sub(phase)) / RESTART_PERIOD_US + 1;
                    phase + k * RESTART_PERIOD_US + (conn.index % 256) * 4
                }
            };
            self.schedule(slot, at);
            return Ok(());
        }
        let conn = self.slots[slot].take().expect("slot checked above");
        if conn.wrapped() {
            self.w.summary.seq_wraps += 1;
        }
        self.in_flight -= 1;
        if self.may_start() {
            let gap = self.rng.below(2000);
            self.start(slot, t + gap, conn.script);
        }
        Ok(())
    }
}
