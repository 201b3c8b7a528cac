//! Typed errors of the library. The CLI turns each into one line on
//! standard error and exit status 2.

use std::io;
use thiserror::Error;

/// Why a capture could not be read at all. Every variant names the file and,
/// where the bytes were at fault, the byte offset, because the user's next step
/// is `xxd -s OFFSET FILE`.
#[derive(Debug, Error)]
pub enum CaptureError {
    #[error("{file}: cannot open: {source}")]
    Open { file: String, source: io::Error },

    #[error("{file}: read error at byte {offset}: {source}")]
    Read {
        file: String,
        offset: u64,
        source: io::Error,
    },

    #[error("{file}: is a directory, not a capture file")]
    Directory { file: String },

    #[error("{file}: empty file, not a capture (0 bytes)")]
    Empty { file: String },

    #[error("{file}: not a pcap or pcapng capture at byte 0 (magic {magic})")]
    NotACapture { file: String, magic: String },

    #[error("{file}: corrupt {format} file header at byte {offset}: {reason}")]
    BadHeader {
        file: String,
        format: &'static str,
        offset: u64,
        reason: String,
    },

    #[error("{file}: corrupt record at byte {offset}: {reason}")]
    BadRecord {
        file: String,
        offset: u64,
        reason: String,
    },

    /// Any of the above, found after decompressing: offsets are in the
    /// decompressed stream.
    #[error("{}", super::compressed::describe(compression, detail.as_deref(), inner))]
    Decompressed {
        compression: &'static str,
        detail: Option<String>,
        inner: Box<CaptureError>,
    },
}
