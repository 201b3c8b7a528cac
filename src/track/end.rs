//! Why the tracker finished a connection: the `end_reason` field.

use serde::Serialize;

/// Why the tracker stopped following a connection. Not an outcome: it says
/// what the tracker knew when it let go, so that a row finished early never
/// claims to have lasted until the end of the capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// Both sides sent FIN (and no RST).
    Closed,
    /// A RST ended it.
    Reset,
    /// Still open when the capture ended (or was interrupted).
    #[default]
    EndOfCapture,
    /// Silent for longer than the idle or attempt timeout.
    IdleTimeout,
    /// Finished early because `--max-connections` were open.
    Evicted,
    /// A new SYN with another ISN reused the tuple.
    NewGeneration,
}

impl EndReason {
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::Reset => "reset",
            EndReason::EndOfCapture => "end-of-capture",
            EndReason::IdleTimeout => "idle-timeout",
            EndReason::Evicted => "evicted",
            EndReason::NewGeneration => "new-generation",
        }
    }
}
