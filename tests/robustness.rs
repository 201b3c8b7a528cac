//! Never crash, never hang, never lie on broken or hostile captures (issue 6).
//!
//! Arbitrary bytes and mutations of every fixture and of corpus captures
//! (bit flips, truncation at every length, swapped, duplicated and deleted
//! records, pcap record lengths and pcapng block lengths that lie) go
//! through the whole pipeline (`support/pipeline.rs`: reader, decoder,
//! tracker, classifier, every output format). Each run must end (a watchdog
//! fails a run that takes too long) and either succeed with a health block
//! that accounts for every packet, or fail with one line naming the file and
//! the byte offset. The built binary on mutated files exits 0, or 2 with one
//! line on standard error, never 101 (a panic). Sequence-number arithmetic
//! keeps its laws across the 32-bit wrap. Inputs that once crashed or hung
//! the pipeline (found by fuzzing, see README "Fuzzing") are replayed from
//! `tests/regressions/`.

#[path = "../bench/adversarial_gen.rs"]
mod adversarial_gen;
#[path = "support/pipeline.rs"]
mod pipeline;
mod support;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use rstscope::capture::CaptureError;
use rstscope::wire::{seq_diff, seq_le, seq_lt, Flags, Segment, Timestamp};

/// Longest one run may take (debug build, slow shared machine) before it
/// counts as a hang.
const DEADLINE: Duration = Duration::from_secs(60);

/// Files up to this size are truncated at every length.
const TRUNCATE_EVERY_LENGTH_BELOW: usize = 4096;

/// Mutated inputs stay below this size so each case is quick.
const MUTATE_BELOW: usize = 64 * 1024;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> PathBuf {
    std::env::var("RSTSCOPE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest_dir().join("../shared/corpus"))
}

/// Corpus captures mutated alongside the fixtures: pcapng in both byte
/// orders, the modified pcap format, nanosecond pcap, SLL2, IPv6, GRE.
const CORPUS: &[&str] = &[
    "pcapparser__err-buffertoosmall.pcapng",
    "pcapparser__test001-be.pcapng",
    "pcapparser__modified-format.pcap",
    "sv__decode-sll2-01.pcap",
    "sv__community-id-ipv6.pcap",
    "sv__bug-2491-02-onesided-nosyn.pcap",
    "tcpdump__tcp-handshake-nano.pcap",
    "tcpdump__pptp.pcap",
    "tcpdump__tcp_rst_data-trunc.pcap",
    "tcpdump__mptcp-tcprst.pcap",
];

/// Every fixture capture (good and bad) and the corpus files above, as
/// (name, bytes), read once.
fn seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = Vec::new();
        let fixtures = manifest_dir().join("fixtures");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&fixtures)
            .expect("fixtures/")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let n = p.file_name().unwrap_or_default().to_string_lossy();
                n.ends_with(".pcap") || n.ends_with(".pcapng") || n.starts_with("bad-")
            })
            .collect();
        names.sort();
        for p in names {
            let bytes = std::fs::read(&p).expect("fixture readable");
            out.push((file_name(&p), bytes));
        }
        let corpus = corpus_dir();
        for name in CORPUS {
            let p = corpus.join(name);
            let bytes = std::fs::read(&p).unwrap_or_else(|e| {
                panic!(
                    "corpus file {} unreadable ({e}): these tests read ../shared/corpus (set RSTSCOPE_CORPUS to its folder)",
                    p.display()
                )
            });
            out.push((name.to_string(), bytes));
        }
        assert!(out.len() >= 30, "fixtures and corpus files found");
        out
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Seeds small enough to mutate.
fn mutable_seeds() -> Vec<&'static (String, Vec<u8>)> {
    seeds()
        .iter()
        .filter(|(_, b)| !b.is_empty() && b.len() < MUTATE_BELOW)
        .collect()
}

// ---------------------------------------------------------------------------
// Running and checking one input.

/// Runs the whole pipeline on `files` in a thread and waits at most
/// [`DEADLINE`]: a run that does not end is a hang, reported as a failure
/// (the stuck thread is left behind). A panic in the run is re-raised here.
fn run_guarded(files: Vec<(String, Vec<u8>)>) -> pipeline::Run {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let run = pipeline::run_files(&refs);
        let _ = tx.send(run);
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(run) => {
            let _ = handle.join();
            run
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("pipeline thread ended without a result"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("pipeline did not finish within {DEADLINE:?}: a hang")
        }
    }
}

/// The number after "byte " in an error message.
fn byte_offset(msg: &str) -> Option<u64> {
    let at = msg.find("byte ")? + "byte ".len();
    let digits: String = msg[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// The contract for one run over `files`: success with every packet
/// accounted for and figures that match the input, or one line naming the
/// file and the byte offset.
fn check_files(files: &[(String, Vec<u8>)]) -> Result<(), TestCaseError> {
    let run = run_guarded(files.to_vec());
    verify(files, &run)
}

/// Checks what a run over `files` gave.
fn verify(files: &[(String, Vec<u8>)], run: &pipeline::Run) -> Result<(), TestCaseError> {
    let h = &run.health;
    prop_assert!(
        h.balanced(),
        "health does not account for every packet: {} read, {} TCP, {} skipped",
        h.packets_read,
        h.tcp_segments,
        h.skipped_total()
    );
    prop_assert!(
        run.connections <= h.tcp_segments,
        "{} connections from {} segments",
        run.connections,
        h.tcp_segments
    );
    // Files read completely, in order.
    let read_ok = h.files.len();
    for (summary, (name, bytes)) in h.files.iter().zip(files) {
        prop_assert_eq!(&summary.file, name);
        prop_assert_eq!(
            summary.bytes,
            bytes.len() as u64,
            "{}: bytes read against file size",
            name
        );
        if let Some(cut) = summary.cut_off_at {
            prop_assert!(cut < bytes.len() as u64, "{name}: cut off at {cut}");
        }
    }
    let packets_in_files: u64 = h.files.iter().map(|f| f.packets).sum();
    match &run.result {
        Ok(()) => {
            prop_assert_eq!(read_ok, files.len());
            prop_assert_eq!(packets_in_files, h.packets_read);
        }
        Err(e) => {
            prop_assert!(read_ok < files.len());
            let (name, bytes) = &files[read_ok];
            check_error(name, bytes, e)?;
            prop_assert!(packets_in_files <= h.packets_read);
        }
    }
    Ok(())
}

fn check_error(name: &str, bytes: &[u8], e: &CaptureError) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    prop_assert!(!msg.contains('\n'), "error spans lines: {msg:?}");
    prop_assert!(!msg.is_empty());
    prop_assert!(
        msg.starts_with(&format!("{name}: ")),
        "error does not start with the file name: {msg:?}"
    );
    if let CaptureError::Empty { .. } = e {
        prop_assert!(bytes.is_empty(), "{msg}");
        return Ok(());
    }
    let Some(offset) = byte_offset(&msg) else {
        return Err(TestCaseError::fail(format!(
            "error names no byte offset: {msg:?}"
        )));
    };
    prop_assert!(
        offset <= bytes.len() as u64,
        "offset {offset} past the end ({} bytes): {msg}",
        bytes.len()
    );
    Ok(())
}

fn check(name: &str, bytes: Vec<u8>) -> Result<(), TestCaseError> {
    check_files(&[(name.to_string(), bytes)])
}

/// For the plain `#[test]`s: the same check, failing the test.
fn assert_contract(name: &str, bytes: &[u8]) {
    if let Err(e) = check(name, bytes.to_vec()) {
        panic!("{name} ({} bytes): {e}", bytes.len());
    }
}

// ---------------------------------------------------------------------------
// Record structure, for mutations that keep the file mostly well-formed.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Pcap {
        big_endian: bool,
        record_header: usize,
    },
    PcapNg,
}

/// The file's kind and its records: pcap records after the 24-byte file
/// header, or pcapng blocks after the first Section Header Block. `header`
/// is what comes before the first record, `rest` whatever follows the last
/// complete one.
struct Layout {
    kind: Kind,
    header: Range<usize>,
    records: Vec<Range<usize>>,
    rest: Range<usize>,
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let x: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(x)
    } else {
        u32::from_le_bytes(x)
    })
}

fn put_u32(b: &mut [u8], at: usize, big_endian: bool, v: u32) {
    let bytes = if big_endian {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    };
    if let Some(dst) = b.get_mut(at..at + 4) {
        dst.copy_from_slice(&bytes);
    }
}

fn layout(b: &[u8]) -> Option<Layout> {
    let magic = u32_at(b, 0, false)?;
    let (kind, mut at) = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => (
            Kind::Pcap {
                big_endian: false,
                record_header: 16,
            },
            24,
        ),
        0xa1b2_cd34 => (
            Kind::Pcap {
                big_endian: false,
                record_header: 24,
            },
            24,
        ),
        0xd4c3_b2a1 | 0x4d3c_b2a1 => (
            Kind::Pcap {
                big_endian: true,
                record_header: 16,
            },
            24,
        ),
        0x34cd_b2a1 => (
            Kind::Pcap {
                big_endian: true,
                record_header: 24,
            },
            24,
        ),
        0x0a0d_0d0a => {
            let be = u32_at(b, 8, false)? != 0x1a2b_3c4d;
            let len = u32_at(b, 4, be)? as usize;
            (Kind::PcapNg, len)
        }
        _ => return None,
    };
    if at > b.len() {
        return None;
    }
    let header = 0..at;
    let mut records = Vec::new();
    let mut big_endian = match kind {
        Kind::Pcap { big_endian, .. } => big_endian,
        Kind::PcapNg => u32_at(b, 8, false)? != 0x1a2b_3c4d,
    };
    loop {
        let len = match kind {
            Kind::Pcap { record_header, .. } => {
                let Some(caplen) = u32_at(b, at + 8, big_endian) else {
                    break;
                };
                record_header + caplen as usize
            }
            Kind::PcapNg => {
                if u32_at(b, at, big_endian) == Some(0x0a0d_0d0a) {
                    if let Some(bom) = u32_at(b, at + 8, false) {
                        big_endian = bom != 0x1a2b_3c4d;
                    }
                }
                let Some(len) = u32_at(b, at + 4, big_endian) else {
                    break;
                };
                len as usize
            }
        };
        if len < 12 || at + len > b.len() {
            break;
        }
        records.push(at..at + len);
        at += len;
    }
    Some(Layout {
        kind,
        header,
        records,
        rest: at..b.len(),
    })
}

#[derive(Clone, Debug)]
enum RecordOp {
    Swap(usize, usize),
    Duplicate(usize),
    Delete(usize),
    /// Moves a record to another position.
    Move(usize, usize),
}

fn record_op() -> impl Strategy<Value = RecordOp> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| RecordOp::Swap(a, b)),
        any::<usize>().prop_map(RecordOp::Duplicate),
        any::<usize>().prop_map(RecordOp::Delete),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| RecordOp::Move(a, b)),
    ]
}

/// Reorders, repeats and drops whole records of `b` (indices taken modulo
/// the record count).
fn apply_record_ops(b: &[u8], ops: &[RecordOp]) -> Vec<u8> {
    let Some(l) = layout(b) else {
        return b.to_vec();
    };
    let mut order: Vec<Range<usize>> = l.records.clone();
    for op in ops {
        if order.is_empty() {
            break;
        }
        let n = order.len();
        match *op {
            RecordOp::Swap(i, j) => order.swap(i % n, j % n),
            RecordOp::Duplicate(i) => {
                let r = order[i % n].clone();
                order.insert(i % n, r);
            }
            RecordOp::Delete(i) => {
                order.remove(i % n);
            }
            RecordOp::Move(i, j) => {
                let r = order.remove(i % n);
                order.insert(j % n, r);
            }
        }
    }
    let mut out = b[l.header].to_vec();
    for r in order {
        out.extend_from_slice(&b[r]);
    }
    out.extend_from_slice(&b[l.rest]);
    out
}

#[derive(Clone, Copy, Debug)]
enum LengthField {
    /// pcap: the record's captured length; pcapng: the leading block length.
    Leading,
    /// pcapng: the trailing copy of the block length (pcap: original length).
    Trailing,
    Both,
}

fn lying_length() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..64,
        any::<u32>(),
        Just(u32::MAX),
        Just(0x7fff_ffff),
        Just(16 << 20),
        Just((16 << 20) + 4),
        Just(1 << 20),
        Just((1 << 20) + 12),
        Just(262_144),
        Just(262_145),
        (0u32..0x1_0000).prop_map(|x| x & !3),
    ]
}

/// Makes record `i` of `b` claim `value` bytes.
fn lie_about_length(b: &[u8], i: usize, field: LengthField, value: u32, delta: bool) -> Vec<u8> {
    let mut out = b.to_vec();
    let Some(l) = layout(b) else {
        return out;
    };
    // The first Section Header Block can lie too.
    let mut all = vec![l.header.clone()];
    if matches!(l.kind, Kind::Pcap { .. }) {
        all.clear();
    }
    all.extend(l.records.iter().cloned());
    if all.is_empty() {
        return out;
    }
    let r = all[i % all.len()].clone();
    match l.kind {
        Kind::Pcap { big_endian, .. } => {
            let at = match field {
                LengthField::Leading | LengthField::Both => r.start + 8,
                LengthField::Trailing => r.start + 12,
            };
            let v = if delta {
                u32_at(b, at, big_endian)
                    .unwrap_or(0)
                    .wrapping_add(value % 9)
                    .wrapping_sub(4)
            } else {
                value
            };
            put_u32(&mut out, at, big_endian, v);
        }
        Kind::PcapNg => {
            let big_endian = u32_at(b, 8, false) != Some(0x1a2b_3c4d);
            let old = (r.end - r.start) as u32;
            let v = if delta {
                old.wrapping_add(value % 17).wrapping_sub(8)
            } else {
                value
            };
            if matches!(field, LengthField::Leading | LengthField::Both) {
                put_u32(&mut out, r.start + 4, big_endian, v);
            }
            if matches!(field, LengthField::Trailing | LengthField::Both) {
                put_u32(&mut out, r.end - 4, big_endian, v);
            }
        }
    }
    out
}

fn length_field() -> impl Strategy<Value = LengthField> {
    prop_oneof![
        Just(LengthField::Leading),
        Just(LengthField::Trailing),
        Just(LengthField::Both)
    ]
}

/// A valid file header of each kind, for arbitrary bytes to follow.
fn file_header() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(support::Pcap::new(1, false, false).bytes),
        Just(support::Pcap::new(1, true, true).bytes),
        Just(support::Pcap::new(101, false, false).bytes),
        Just(support::Pcap::new(113, false, false).bytes),
        Just(support::Pcap::new(276, true, false).bytes),
        Just(support::Pcap::new(0, false, true).bytes),
        Just({
            let mut p = support::Pcap::new(1, false, false).bytes;
            p[..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
            p
        }),
        Just(
            support::PcapNg::new(false)
                .interface(1, None, None)
                .bytes
                .clone()
        ),
        Just(
            support::PcapNg::new(true)
                .interface(101, Some(9), Some(-5))
                .bytes
                .clone()
        ),
        Just(support::PcapNg::new(false).bytes),
    ]
}

// ---------------------------------------------------------------------------
// Property tests.

/// `cases` per property, or `PROPTEST_CASES` from the environment for a
/// deeper run (`PROPTEST_CASES=20000 cargo test --release --test robustness`).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check("arbitrary.bin", bytes)?;
    }

    /// Arbitrary records after a valid file header: past the magic check.
    #[test]
    fn arbitrary_bytes_after_a_file_header(
        header in file_header(),
        body in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = header;
        bytes.extend_from_slice(&body);
        check("after-header.pcap", bytes)?;
    }

    #[test]
    fn bit_flips_in_fixtures(
        seed in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..16),
    ) {
        let seeds = mutable_seeds();
        let (name, original) = seeds[seed.index(seeds.len())];
        let mut bytes = original.clone();
        for (at, bit) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        check(name, bytes)?;
    }

    /// Whole bytes overwritten with values that matter to parsers.
    #[test]
    fn byte_overwrites_in_fixtures(
        seed in any::<prop::sample::Index>(),
        writes in prop::collection::vec(
            (any::<prop::sample::Index>(), prop_oneof![Just(0u8), Just(0xff), Just(0x7f), Just(0x80), any::<u8>()]),
            1..8,
        ),
    ) {
        let seeds = mutable_seeds();
        let (name, original) = seeds[seed.index(seeds.len())];
        let mut bytes = original.clone();
        for (at, v) in writes {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        check(name, bytes)?;
    }

    /// Truncation anywhere in any seed, however large (small seeds are
    /// also cut at every length by `truncation_at_every_length`).
    #[test]
    fn truncation_anywhere(seed in any::<prop::sample::Index>(), at in any::<prop::sample::Index>()) {
        let seeds = mutable_seeds();
        let (name, original) = seeds[seed.index(seeds.len())];
        let cut = at.index(original.len() + 1);
        check(name, original[..cut].to_vec())?;
    }

    #[test]
    fn swapped_duplicated_and_deleted_records(
        seed in any::<prop::sample::Index>(),
        ops in prop::collection::vec(record_op(), 1..5),
    ) {
        let seeds = mutable_seeds();
        let (name, original) = seeds[seed.index(seeds.len())];
        check(name, apply_record_ops(original, &ops))?;
    }

    /// pcapng block lengths (leading, trailing or both) and pcap record
    /// lengths that lie: small, huge, off by a few bytes, unaligned.
    #[test]
    fn lying_record_and_block_lengths(
        seed in any::<prop::sample::Index>(),
        record in any::<usize>(),
        field in length_field(),
        value in lying_length(),
        delta in any::<bool>(),
    ) {
        let seeds = mutable_seeds();
        let (name, original) = seeds[seed.index(seeds.len())];
        check(name, lie_about_length(original, record, field, value, delta))?;
    }

    /// One mutated file read after another, as a rotated capture.
    #[test]
    fn rotated_files_with_a_broken_one(
        first in any::<prop::sample::Index>(),
        second in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let seeds = mutable_seeds();
        let (n1, b1) = seeds[first.index(seeds.len())];
        let (n2, b2) = seeds[second.index(seeds.len())];
        let mut b1 = b1[..cut.index(b1.len() + 1)].to_vec();
        for f in flips {
            if !b1.is_empty() {
                let i = f.index(b1.len());
                b1[i] ^= 0x10;
            }
        }
        let files = vec![(format!("1-{n1}"), b1), (format!("2-{n2}"), b2.clone())];
        check_files(&files)?;
    }

    /// Splices the start of one seed onto the end of another.
    #[test]
    fn spliced_fixtures(
        first in any::<prop::sample::Index>(),
        second in any::<prop::sample::Index>(),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let seeds = mutable_seeds();
        let (name, b1) = seeds[first.index(seeds.len())];
        let (_, b2) = seeds[second.index(seeds.len())];
        let mut bytes = b1[..a.index(b1.len() + 1)].to_vec();
        bytes.extend_from_slice(&b2[b.index(b2.len() + 1)..]);
        check(name, bytes)?;
    }
}

// Sequence arithmetic modulo 2^32 (RFC 1982).
proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn seq_lt_is_irreflexive_and_le_reflexive(a in any::<u32>()) {
        prop_assert!(!seq_lt(a, a));
        prop_assert!(seq_le(a, a));
        prop_assert_eq!(seq_diff(a, a), 0);
    }

    /// Exactly one of a < b, b < a holds for distinct numbers, except at the
    /// one distance (2^31) where RFC 1982 leaves the order undefined.
    #[test]
    fn seq_lt_is_antisymmetric(a in any::<u32>(), b in any::<u32>()) {
        prop_assume!(a != b && a.wrapping_sub(b) != 1 << 31);
        prop_assert!(seq_lt(a, b) != seq_lt(b, a), "a={a:#x} b={b:#x}");
        prop_assert_eq!(seq_le(a, b), seq_lt(a, b));
        prop_assert_eq!(seq_diff(a, b), -seq_diff(b, a));
    }

    /// Adding d to a sequence number moves it d forward (or back), across
    /// the wrap as anywhere else.
    #[test]
    fn seq_diff_inverts_wrapping_add(a in any::<u32>(), d in -(i64::from(i32::MAX))..=i64::from(i32::MAX)) {
        let b = a.wrapping_add(d as i32 as u32);
        prop_assert_eq!(seq_diff(b, a), d);
        prop_assert_eq!(seq_lt(a, b), d > 0);
        prop_assert_eq!(seq_lt(b, a), d < 0);
        prop_assert_eq!(seq_le(a, b), d >= 0);
    }

    /// Near the wrap: small steps across 0xffffffff → 0 keep their order.
    #[test]
    fn seq_order_across_the_wrap(below in 1u32..=1 << 20, above in 0u32..1 << 20) {
        let a = 0u32.wrapping_sub(below);
        let b = above;
        prop_assert!(seq_lt(a, b));
        prop_assert!(!seq_lt(b, a));
        prop_assert_eq!(seq_diff(b, a), i64::from(below) + i64::from(above));
    }

    /// Comparison and distance depend only on the difference.
    #[test]
    fn seq_is_translation_invariant(a in any::<u32>(), b in any::<u32>(), k in any::<u32>()) {
        prop_assert_eq!(seq_lt(a, b), seq_lt(a.wrapping_add(k), b.wrapping_add(k)));
        prop_assert_eq!(seq_le(a, b), seq_le(a.wrapping_add(k), b.wrapping_add(k)));
        prop_assert_eq!(seq_diff(a, b), seq_diff(a.wrapping_add(k), b.wrapping_add(k)));
    }

    /// The distance is a signed 32-bit value and agrees with the order.
    #[test]
    fn seq_diff_range_and_sign(a in any::<u32>(), b in any::<u32>()) {
        let d = seq_diff(a, b);
        prop_assert!((i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&d));
        prop_assert_eq!(d < 0, seq_lt(a, b));
        prop_assert_eq!(b.wrapping_add(d as i32 as u32), a);
    }

    /// Transitivity holds within a half-space window.
    #[test]
    fn seq_lt_is_transitive_within_half_the_space(
        a in any::<u32>(),
        x in 1u32..1 << 30,
        y in 1u32..1 << 30,
    ) {
        let b = a.wrapping_add(x);
        let c = b.wrapping_add(y);
        prop_assert!(seq_lt(a, b) && seq_lt(b, c) && seq_lt(a, c));
    }

    /// A segment's sequence length never overflows, even for the largest
    /// payload with SYN and FIN.
    #[test]
    fn segment_seq_len_wraps(payload_len in any::<u32>(), flags in any::<u8>(), seq in any::<u32>()) {
        let s = Segment {
            frame: 1,
            ts: Timestamp(0),
            src: "10.0.0.1:1".parse().unwrap(),
            dst: "10.0.0.2:2".parse().unwrap(),
            seq,
            ack: 0,
            flags: Flags(flags),
            window: 0,
            wscale: None,
            payload_len,
            ttl: 64,
            snap_cut: false,
            nat_copy: false,
            tunnel: 0,
            outer_flow: 0,
        };
        let extra = u32::from(Flags(flags).syn()) + u32::from(Flags(flags).fin());
        prop_assert_eq!(s.seq_len(), payload_len.wrapping_add(extra));
        prop_assert_eq!(seq_diff(seq.wrapping_add(s.seq_len()), seq), i64::from(s.seq_len() as i32));
    }
}

#[test]
fn seq_at_exactly_half_the_space() {
    // RFC 1982 leaves the order undefined at distance 2^31; ours says both
    // are "before" the other, and the distance is -2^31 both ways.
    let (a, b) = (5u32, 5u32.wrapping_add(1 << 31));
    assert_eq!(seq_diff(a, b), i64::from(i32::MIN));
    assert_eq!(seq_diff(b, a), i64::from(i32::MIN));
    assert!(seq_lt(a, b) && seq_lt(b, a));
}

// ---------------------------------------------------------------------------
// Exhaustive and replayed inputs.

/// Every small seed cut at every length: a disk that filled up anywhere.
/// Split in two halves so the test harness runs them on two cores.
#[test]
fn truncation_at_every_length_first_half() {
    truncate_at_every_length(0);
}

#[test]
fn truncation_at_every_length_second_half() {
    truncate_at_every_length(1);
}

fn truncate_at_every_length(half: usize) {
    let small: Vec<&(String, Vec<u8>)> = seeds()
        .iter()
        .filter(|(_, b)| b.len() < TRUNCATE_EVERY_LENGTH_BELOW)
        .collect();
    assert!(small.len() >= 10, "small seeds found");
    for (name, bytes) in small.into_iter().skip(half).step_by(2) {
        let name = name.clone();
        let bytes = bytes.clone();
        // One guarded thread per file: a hang at any length fails the test.
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            for len in 0..=bytes.len() {
                // Unguarded inside the guarded thread: one thread per file,
                // not one per length.
                let run = pipeline::run_quick(&name, &bytes[..len]);
                let files = [(name.clone(), bytes[..len].to_vec())];
                if let Err(e) = verify(&files, &run) {
                    let _ = tx.send(Err(format!("{name} cut at {len}: {e}")));
                    return;
                }
            }
            let _ = tx.send(Ok(()));
        });
        match rx.recv_timeout(DEADLINE * 4) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{e}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
                Err(p) => std::panic::resume_unwind(p),
                Ok(()) => panic!("no result"),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("truncation run hung"),
        }
    }
}

/// Every unmutated seed satisfies the contract too (the fixtures' own
/// figures are checked in tests/fixtures.rs and tests/corpus.rs).
#[test]
fn every_seed_unmutated() {
    for (name, bytes) in seeds() {
        assert_contract(name, bytes);
    }
}

fn regressions_dir() -> PathBuf {
    manifest_dir().join("tests/regressions")
}

/// Every input that once crashed or hung the pipeline (fuzzing finds,
/// minimised) runs through it again.
#[test]
fn every_regression_input() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(regressions_dir())
        .expect("tests/regressions/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "regression inputs found");
    for p in files {
        let bytes = std::fs::read(&p).expect("regression input readable");
        assert_contract(&file_name(&p), &bytes);
        // And through the binary, as a user would run it.
        assert_binary_contract(&p);
    }
}

/// An Enhanced Packet Block whose captured length runs past its own block
/// (and the rest of the file is fine): a corrupt block, reported with its
/// offset. It used to be reported as "file ends mid-record", which was
/// false, and everything after it went unread without a word.
#[test]
fn pcapng_packet_overrunning_its_block_is_corrupt_not_cut_off() {
    let pkt = support::Tcp::new("10.0.0.1:1000", "10.0.0.2:80", support::SYN).ip();
    let mut ng = support::PcapNg::new(false);
    ng.interface(101, None, None);
    ng.enhanced(0, 1, &pkt);
    let bad_at = ng.bytes.len();
    ng.enhanced(0, 2, &pkt);
    for i in 0..50 {
        ng.enhanced(0, 3 + i, &pkt);
    }
    let mut bytes = ng.bytes.clone();
    // Captured length (offset 20 in the block) 400 bytes more than the block holds.
    let caplen = (pkt.len() as u32 + 400).to_le_bytes();
    bytes[bad_at + 20..bad_at + 24].copy_from_slice(&caplen);
    let run = pipeline::run("overrun.pcapng", &bytes);
    let err = run.result.expect_err("a corrupt block").to_string();
    assert_eq!(
        err,
        format!(
            "overrun.pcapng: corrupt record at byte {bad_at}: block contents overrun its declared length of {} bytes",
            pkt.len().div_ceil(4) * 4 + 32
        )
    );
    assert_eq!(run.health.packets_read, 1);
    assert_contract("overrun.pcapng", &bytes);
}

/// pcapng timestamps of 2^63 and 2^62 seconds (`if_tsresol` 10^0): the
/// first wrapped to a negative time (1969 and before) and the report's time
/// span subtracted one extreme from the other and overflowed (a panic in a
/// debug build, a negative span in release).
#[test]
fn pcapng_timestamps_at_both_ends_of_time() {
    let bytes = std::fs::read(regressions_dir().join("pcapng-timestamps-at-both-ends.bin"))
        .expect("regression input");
    let run = pipeline::run("extreme-times.pcapng", &bytes);
    assert!(run.result.is_ok());
    let (first, last) = (run.health.first_time(), run.health.last_time());
    assert!(
        first.is_some_and(|t| t.0 > 0),
        "{first:?}: no time before 1970"
    );
    assert!(last >= first);
    let mut text = Vec::new();
    rstscope::output::report::write_capture_summary(&mut text, &run.health).expect("summary");
    let text = String::from_utf8_lossy(&text);
    assert!(!text.contains("(-"), "negative time span: {text}");
}

/// A second section in the other byte order whose header claims a length
/// (read in its own byte order) far past the file, with megabytes after it.
/// The length, read in the first section's byte order, is tiny: the reader
/// grew its buffer by that tiny amount and spun for ever once the buffer was
/// full. Now it always at least doubles, and stops at the block limit.
#[test]
fn section_of_the_other_byte_order_claiming_a_huge_length_ends() {
    let pkt = support::Tcp::new("10.0.0.1:1000", "10.0.0.2:80", support::SYN).ip();
    let mut ng = support::PcapNg::new(false);
    ng.interface(101, None, None);
    ng.enhanced(0, 1, &pkt);
    let mut bytes = ng.bytes.clone();
    let shb_at = bytes.len();
    let mut be = support::PcapNg::new(true).bytes;
    // 12 MiB, big-endian: 0x00c00000; read little-endian it is 0xc000 = 49152.
    be[4..8].copy_from_slice(&(12u32 << 20).to_be_bytes());
    bytes.extend_from_slice(&be);
    bytes.resize(bytes.len() + (3 << 20), 0);
    let run = run_guarded(vec![("two-orders.pcapng".to_string(), bytes.clone())]);
    assert_eq!(run.health.packets_read, 1);
    match &run.result {
        Ok(()) => assert_eq!(run.health.files[0].cut_off_at, Some(shb_at as u64)),
        Err(e) => panic!("{e}"),
    }
    assert_contract("two-orders.pcapng", &bytes);
}

// ---------------------------------------------------------------------------
// Hostile traffic (bench/adversarial_gen.rs), small enough for every run.

fn adversarial(name: &str, n: u64) -> Vec<u8> {
    adversarial_written(name, n).0
}

/// The scenario's bytes and what the generator knows it wrote.
fn adversarial_written(name: &str, n: u64) -> (Vec<u8>, adversarial_gen::Written) {
    let mut bytes = Vec::new();
    let written = adversarial_gen::write_scenario(name, n, 7, &mut bytes)
        .expect("known scenario")
        .expect("write into memory");
    (bytes, written)
}

#[test]
fn every_adversarial_scenario_through_the_pipeline() {
    for name in adversarial_gen::SCENARIOS {
        let bytes = adversarial(name, 400);
        assert_contract(name, &bytes);
    }
}

#[test]
fn syn_flood_attempts_are_all_connections() {
    let (bytes, written) = adversarial_written("syn-flood", 2000);
    let run = pipeline::run("syn-flood", &bytes);
    assert!(run.result.is_ok());
    // Every attempt has its own ISN, so each is its own connection even
    // where two random tuples collide; retransmitted SYNs join theirs.
    assert_eq!(written.attempts, 2000);
    assert_eq!(run.connections, written.attempts);
    assert_eq!(run.health.tcp_segments, written.packets);
    assert_eq!(run.health.tcp_segments, run.health.packets_read);
}

#[test]
fn tuple_reused_is_one_connection_per_generation() {
    let (bytes, written) = adversarial_written("tuple-reuse", 500);
    let run = pipeline::run("tuple-reuse", &bytes);
    assert!(run.result.is_ok());
    // A new ISN always starts a new connection, whether the previous
    // generation closed, was reset or was abandoned.
    assert_eq!(written.attempts, 500);
    assert_eq!(run.connections, written.attempts);
}

#[test]
fn timestamps_going_backwards_are_counted() {
    let (bytes, written) = adversarial_written("time-backwards", 80);
    let run = pipeline::run("time-backwards", &bytes);
    assert!(run.result.is_ok());
    assert!(written.backwards > 0);
    assert_eq!(run.health.timestamps_backwards, written.backwards);
    // The clock steps never split the one connection.
    assert_eq!(run.connections, 1);
}

#[test]
fn impossible_header_lengths_are_counted_not_fatal() {
    let bytes = adversarial("bad-header-lengths", 140);
    let run = pipeline::run("bad-header-lengths", &bytes);
    assert!(
        run.result.is_ok(),
        "{:?}",
        run.result.err().map(|e| e.to_string())
    );
    assert_eq!(run.health.packets_read, 140);
    assert!(
        run.health
            .skipped(rstscope::wire::SkipReason::MalformedHeader)
            > 0
    );
    assert!(run.health.tcp_segments > 0);
}

/// An IPv6 Destination Options header claiming 2 KiB in a short packet, and
/// chains the snap length cut: counted as malformed, not as "IP but not
/// TCP" (they were), since nobody knows what follows a broken chain.
#[test]
fn broken_ipv6_extension_chains_are_malformed_not_non_tcp() {
    // Variants 0-6: the first six are sound (TCP, or fragments), the
    // seventh has the oversized header and is also cut by the capture.
    let bytes = adversarial("ipv6-ext-chains", 7);
    let run = pipeline::run("v6.pcap", &bytes);
    assert!(run.result.is_ok());
    let h = &run.health;
    use rstscope::wire::SkipReason;
    assert_eq!(h.skipped(SkipReason::NonTcp), 0);
    assert_eq!(h.skipped(SkipReason::MalformedHeader), 1);
    assert_eq!(h.skipped(SkipReason::IpFragment), 2);
    assert_eq!(h.tcp_segments, 4);
}

#[test]
fn adversarial_files_through_the_binary() {
    let dir = scratch_dir();
    for name in adversarial_gen::SCENARIOS {
        let path = dir.join(format!("{name}.cap"));
        std::fs::write(&path, adversarial(name, 300)).expect("write scenario");
        assert_binary_contract(&path);
        let _ = std::fs::remove_file(&path);
    }
}

// ---------------------------------------------------------------------------
// The built binary on mutated files.

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rstscope-robustness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

const COMMANDS: &[&[&str]] = &[
    &["report"],
    &["report", "--format", "json"],
    &["flows", "--format", "csv"],
    &["flows", "--format", "json"],
    &["timeline"],
];

/// Exit 0, or exit 2 with exactly one line on standard error; never a
/// panic (101) or a signal.
fn assert_binary_contract(path: &Path) {
    for args in COMMANDS {
        let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
            .args(*args)
            .arg("--quiet")
            .arg(path)
            .stdin(Stdio::null())
            .output()
            .expect("run rstscope");
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {}
            Some(2) => assert_eq!(
                stderr.lines().count(),
                1,
                "{args:?} {}: exit 2 wants one line on stderr, got {stderr:?}",
                path.display()
            ),
            other => panic!(
                "{args:?} {}: exit status {other:?} (101 is a panic), stderr {stderr:?}",
                path.display()
            ),
        }
    }
}

proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn binary_on_mutated_files(
        seed in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..12),
        cut in any::<prop::sample::Index>(),
        ops in prop::collection::vec(record_op(), 0..3),
        case in any::<u64>(),
    ) {
        let seeds = mutable_seeds();
        let (name, original) = seeds[seed.index(seeds.len())];
        let mut bytes = apply_record_ops(original, &ops);
        for (at, bit) in flips {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] ^= 1 << bit;
            }
        }
        // Keep most of the file most of the time.
        let keep = bytes.len() - cut.index(bytes.len() / 4 + 1);
        bytes.truncate(keep);
        let path = scratch_dir().join(format!("{case:016x}-{name}"));
        std::fs::write(&path, &bytes).expect("write mutated file");
        assert_binary_contract(&path);
        let _ = std::fs::remove_file(&path);
    }
}

/// A mutated capture on standard input, as `tcpdump -w - | rstscope -`.
#[test]
fn binary_on_mutated_stdin() {
    use std::io::Write;
    let seeds = mutable_seeds();
    let (_, original) = seeds
        .iter()
        .find(|(n, _)| n == "incident.pcap")
        .expect("incident.pcap");
    let mut bytes = original.clone();
    for i in (40..bytes.len()).step_by(997) {
        bytes[i] ^= 0x41;
    }
    bytes.truncate(bytes.len() - 7);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(["report", "--quiet", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rstscope");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("feed stdin");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(2) => assert_eq!(stderr.lines().count(), 1, "{stderr:?}"),
        other => panic!("exit {other:?}: {stderr}"),
    }
}
