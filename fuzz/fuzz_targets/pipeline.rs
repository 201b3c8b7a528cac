//! Coverage-guided fuzz target over the whole pipeline: bytes → capture
//! reader → decoder → connection tracker → classifier → flows (CSV, JSON,
//! NDJSON), report (text, JSON) and timelines, all into `io::sink()`.
//!
//! The input is one capture file. When it holds the separator
//! `RSTSCOPE-NEXT-FILE` the part after it is read as a second file after the
//! first (a capture split by rotation), so state carried from one file to
//! the next is fuzzed too.
//!
//! Run from the repository root with `bash fuzz/run.sh [SECONDS]` (see the
//! README, "Robustness and fuzzing", for the full command).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/pipeline.rs"]
mod pipeline;

const SEPARATOR: &[u8] = b"RSTSCOPE-NEXT-FILE";

fuzz_target!(|data: &[u8]| {
    let files: Vec<(&str, &[u8])> = match find(data, SEPARATOR) {
        Some(at) => vec![
            ("first.pcap", &data[..at]),
            ("second.pcap", &data[at + SEPARATOR.len()..]),
        ],
        None => vec![("fuzz.pcap", data)],
    };
    let run = pipeline::run_files(&files);
    let h = &run.health;
    assert!(h.balanced(), "health does not account for every packet");
    assert!(run.connections <= h.tcp_segments);
    match &run.result {
        Ok(()) => {
            assert_eq!(h.files.len(), files.len());
            for (summary, (_, bytes)) in h.files.iter().zip(&files) {
                assert_eq!(summary.bytes, bytes.len() as u64, "bytes read against size");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
            assert!(
                msg.contains("byte ") || msg.contains("empty file"),
                "error names no byte offset: {msg:?}"
            );
        }
    }
});

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
