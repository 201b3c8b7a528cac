//! The likely cause and the host checks of each kind of finding, in the
//! words of `diagnosis.md`.

use super::Kind;

/// The likely cause to say.
pub fn cause(kind: Kind) -> &'static str {
    match kind {
        Kind::AcceptQueueFull => "The listen (accept) queue was full: the application was not calling accept() fast enough (descriptors exhausted, accept loop blocked, a saturated pool behind it). With the default tcp_abort_on_overflow=0 the kernel drops the SYN or the handshake's ACK; with 1 it resets instead.",
        Kind::NotAccepting => "The connections sat un-accepted until the listener closed, or the process could not accept them (descriptors exhausted) and closed them unread.",
        Kind::CloseWaitPileup => "The server received the client's FIN, ACKed it and did not close: request-unanswered means the handler was blocked (a pool, a lock, a slow dependency), not a close() leak; answered-not-closed means the application never calls close() (a descriptor leak).",
        Kind::SlowServer => "The server, or something behind it, was slow to answer; clients gave up.",
        Kind::SynFlood => "A SYN flood: many sources (usually spoofed) that never complete the handshake. Not an application problem.",
        Kind::Unreachable => "The SYNs got no answer while the server answered nothing at all: the network dropped them, or the host or service was down.",
        Kind::Refused => "Nothing listened on the port at that moment (not started, crashed, wrong port), or a firewall rejected the SYNs.",
        Kind::ListenerClosed => "The listener closed with connections queued: a restart, a crash or a deploy.",
        Kind::ClientShutdown => "The client process or its connection pool shut down; the RSTs are the connections holding data the client had received and not read (its kernel ACKed it).",
        Kind::ServerAbort => "The server's application aborted connections it had answered: a crash, SO_LINGER 0, or a proxy or application timeout.",
        Kind::ClientAbort => "The client aborted: a timeout, close() with unread data, SO_LINGER 0 or a process that died.",
        Kind::StaleKeepalive => "The client reused a keep-alive connection after the server's idle timeout had closed it: make the client's idle timeout shorter than the server's.",
        Kind::InjectedReset => "A middlebox (firewall, load balancer idle timeout) sent these RSTs, not the peer: they differ from the peer's own segments.",
        Kind::CaptureLoss => "The capture itself missed packets (the peer ACKed data never captured): conclusions that depend on the missing packets are softer.",
    }
}

/// What to check on the host.
pub fn checks(kind: Kind) -> Vec<String> {
    let v: &[&str] = match kind {
        Kind::AcceptQueueFull | Kind::NotAccepting => &[
            "ss -lnt: Recv-Q against Send-Q on the port (the accept queue)",
            "nstat -az TcpExtListenOverflows TcpExtListenDrops",
            "ls /proc/PID/fd | wc -l against ulimit -n",
            "the pool's own metrics (in use, wait count, wait duration)",
        ],
        Kind::CloseWaitPileup => &[
            "ss -tanp state close-wait: which process holds them",
            "ls /proc/PID/fd | wc -l against ulimit -n",
            "the pool's own metrics and what the handlers wait for (a thread or goroutine dump)",
        ],
        Kind::SlowServer => &[
            "the server's own latency metrics and logs in the window",
            "whatever it calls (database, pool wait time, downstream services)",
        ],
        Kind::SynFlood => &[
            "nstat -az TcpExtSyncookiesSent TcpExtListenDrops",
            "sysctl net.ipv4.tcp_syncookies net.ipv4.tcp_max_syn_backlog",
            "upstream filtering and rate limits",
        ],
        Kind::Unreachable => &[
            "routes and firewall rules between the client and the server",
            "whether the host and the service were up (ss -lnt on the server)",
        ],
        Kind::Refused => &[
            "ss -lnt on the server: is anything bound to that address and port",
            "the service's start and crash logs in the window; firewall REJECT rules",
        ],
        Kind::ListenerClosed => &[
            "deploy, restart and crash logs at the burst's moment",
            "journalctl -u SERVICE around that time",
        ],
        Kind::ClientShutdown => &[
            "the client's deploy, restart and crash logs at the burst's moment",
            "whether the client drains its pool (reads pending responses) before closing",
        ],
        Kind::ServerAbort => &[
            "the server's logs at the moment of the RSTs",
            "SO_LINGER settings and proxy or application timeouts",
        ],
        Kind::ClientAbort => &[
            "the client's timeouts and logs",
            "whether the client closes with unread data or SO_LINGER 0",
        ],
        Kind::StaleKeepalive => &[
            "the server's keep-alive idle timeout against the client pool's idle timeout",
        ],
        Kind::InjectedReset => &[
            "firewalls, NAT and load balancers on the path: their idle timeouts and reject rules",
            "a capture on the peer itself: does it send these RSTs",
        ],
        Kind::CaptureLoss => &[
            "tcpdump's own 'packets dropped by kernel' line; capture with a larger buffer (-B) or a filter",
        ],
    };
    v.iter().map(|s| s.to_string()).collect()
}
