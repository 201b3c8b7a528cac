//! Drives the pipeline over one or more capture files: bytes → packets →
//! segments, keeping the capture-health account as it goes. Several files
//! are one capture split by rotation, so frame numbers and time run on.

use std::cell::Cell;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;

use crate::capture::CaptureError;
use crate::capture::{self, Packet};
use crate::decode;

pub mod interrupt;
pub mod merge;
use crate::diagnose::{classify, Flow};
use crate::output::progress::Progress;
use crate::output::sink::Next;
use crate::track::{Connection, SegmentBatch, Tracker, TrackerConfig, TrackerStats};
use crate::wire::{Health, SkipReason};
use crate::wire::{Segment, Timestamp};

/// Reads captures one after another as one capture.
#[derive(Default)]
pub struct SegmentReader {
    pub health: Health,
    pub progress: Progress,
    frame: u64,
    last_ts: Option<Timestamp>,
    /// Bytes of the files already read, for the progress position.
    bytes_before: u64,
    /// Second copies and translations of `-i any` on a forwarding host.
    views: Views,
    /// The input is a live stream (see [`capture::read_capture_live`]).
    pub live: bool,
}

impl SegmentReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one capture from `reader` (named `name` in messages), handing
    /// each TCP segment to `on_segment`. On error, `health` keeps the account
    /// of what was read before it.
    pub fn read(
        &mut self,
        name: &str,
        reader: impl Read,
        on_segment: &mut dyn FnMut(&Segment),
    ) -> Result<(), CaptureError> {
        let Self {
            health,
            progress,
            frame,
            last_ts,
            bytes_before,
            views,
            ..
        } = self;
        let base = *bytes_before;
        let mut on_packet = |packet: &Packet<'_>, offset: u64| {
            progress.packet(base + offset);
            *frame += 1;
            health.packets_read += 1;
            if last_ts.is_some_and(|t| packet.ts < t) {
                health.timestamps_backwards += 1;
            }
            *last_ts = Some(packet.ts);
            let mut info = decode::PacketInfo::default();
            let decoded = decode::decode_with(packet, *frame, &mut info);
            let place = Place::of(packet);
            views.packet(health, decoded, &info, place, packet.link.0, on_segment);
        };
        let summary = capture::read_capture_live(name, reader, self.live, &mut on_packet)?;
        self.bytes_before += summary.bytes;
        self.health.files.push(summary);
        Ok(())
    }
}

/// Where a packet was captured, for telling its copies apart: whether the
/// capture can hold copies at all (`decode::may_hold_copies`) and its
/// pcapng interface.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place {
    copies: bool,
    interface: u32,
}

impl Place {
    pub(crate) fn of(packet: &Packet<'_>) -> Self {
        Place {
            copies: decode::may_hold_copies(packet),
            interface: packet.interface,
        }
    }
}

/// The other views of one packet or connection that `-i any` on a host
/// that forwards, bridges or translates shows: second copies, and the
/// connection again after address translation. Each reading path, one file
/// or several merged, hands every decoded packet through one of these, so
/// the account is the same either way.
#[derive(Default)]
pub(crate) struct Views {
    copies: decode::Copies,
    translations: decode::Translations,
}

impl Views {
    /// Accounts for one decoded packet and hands a segment to analyse on.
    /// Inlined into each reading loop, and the segment taken by reference:
    /// as a call moving it out, this cost 7 % of the plain decode's
    /// instructions (`examples/decode` under callgrind on h500k).
    #[inline(always)]
    pub(crate) fn packet(
        &mut self,
        health: &mut Health,
        mut decoded: Result<Segment, SkipReason>,
        info: &decode::PacketInfo,
        place: Place,
        link: u32,
        on_segment: &mut dyn FnMut(&Segment),
    ) {
        if !info.encaps.is_empty() {
            health.encapsulated(info.encaps);
        }
        let segment = match &mut decoded {
            Ok(segment) => segment,
            Err(reason) => {
                let reason = *reason;
                health.skip(reason);
                if reason == SkipReason::UnsupportedLinkType
                    && !health.unsupported_link_types.contains(&link)
                {
                    health.unsupported_link_types.push(link);
                }
                return;
            }
        };
        health.tcp_segments += 1;
        if segment.snap_cut {
            health.snap_cut_segments += 1;
        }
        if !place.copies {
            on_segment(segment);
            return;
        }
        let came = self.translations.put_back(segment, info, place.interface);
        if self.copies.is_copy(segment, info, place.interface) {
            health.duplicate_copies += 1;
        } else {
            on_segment(segment);
        }
        if let Some(came) = &came {
            on_segment(came);
        }
        health.translated_connections = self.translations.connections;
        if health.translations.len() < self.translations.examples.len() {
            health.translations.clone_from(&self.translations.examples);
        }
    }
}

/// Reads every capture in `inputs` (paths, `-` for standard input) in order.
pub fn read_segments(
    inputs: &[String],
    health: &mut Health,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<(), CaptureError> {
    read_segments_with_progress(inputs, health, Progress::hidden(), on_segment)
}

/// As [`read_segments`], moving `progress` as bytes are read.
pub fn read_segments_with_progress(
    inputs: &[String],
    health: &mut Health,
    progress: Progress,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<(), CaptureError> {
    read_segments_until(
        inputs,
        health,
        progress,
        &AtomicBool::new(false),
        on_segment,
    )
}

/// As [`read_segments_with_progress`], ending early once `stop` is set
/// (the output is gone: nothing read after it would be used).
fn read_segments_until(
    inputs: &[String],
    health: &mut Health,
    progress: Progress,
    stop: &AtomicBool,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<(), CaptureError> {
    let mut reader = SegmentReader {
        progress,
        ..SegmentReader::default()
    };
    let mut result = Ok(());
    if inputs.len() > 1 {
        result = merge::read_merged(
            inputs,
            &reader.progress,
            &mut reader.health,
            stop,
            on_segment,
        )
        .map(|order| {
            reader.health.files_reordered = order.reordered;
            reader.health.files_interleaved = order.interleaved;
        });
    }
    for input in inputs.iter().filter(|_| inputs.len() == 1) {
        if stop.load(Ordering::Relaxed) || interrupt::received().is_some() {
            break;
        }
        let opened = capture::open(input);
        result = opened.and_then(|(file, _size)| {
            let file = interrupt::stoppable(input, file, stop);
            reader.live = input == "-" && capture::stdin_is_live();
            reader.read(&capture::display_name(input), file, on_segment)
        });
        if result.is_err() {
            break;
        }
    }
    let signal = interrupt::received();
    if stop.load(Ordering::Relaxed) || signal.is_some() {
        // The stop, not the file, ended the read: a record half read then
        // is not a cut-off file, and a file that could not even start (no
        // header yet) is no error.
        if let Some(last) = reader.health.files.last_mut() {
            last.cut_off_at = None;
        }
        result = Ok(());
    }
    reader.health.interrupted = signal.map(interrupt::name);
    reader.progress.finish();
    *health = reader.health;
    result
}

/// The whole pipeline: captures → segments → connections → outcomes. Each
/// finished connection is classified and handed to `on_connection` with its
/// flow, then freed. The connection-level health count (ACKs covering
/// sequence space never captured) is added to `health`.
pub fn analyse_connections(
    inputs: &[String],
    health: &mut Health,
    config: TrackerConfig,
    on_connection: &mut dyn FnMut(&Connection, &Flow),
) -> Result<TrackerStats, CaptureError> {
    analyse_with_progress(inputs, health, config, Progress::hidden(), &mut |c, f| {
        on_connection(c, f);
        Next::Continue
    })
}

/// Segments handed from the reading thread to the tracking thread at once:
/// large enough that the channel costs nothing per packet, small enough to
/// stay in cache.
const BATCH: usize = 4096;

/// Most finished connections handed from the tracking thread to the output
/// at once; a batch also goes as soon as a batch of segments is done, so a
/// live capture's rows come out no later than with one thread per batch.
/// Small, because every batch is a buffer of whole connections (~110 KB
/// here): one that is not handed back in time is allocated afresh on the
/// tracking thread and freed on the output thread, and 1 MB buffers doing
/// that kept mimalloc's peak up by the size of the connections' savings.
const CONN_BATCH: usize = 128;

/// As [`analyse_connections`], moving `progress` (bytes read, connections
/// and resets finished so far). When `on_connection` says
/// [`Next::Stop`], reading stops within the batches already handed over
/// and nothing more is handed on: the caller has all it wants.
///
/// Three stages, each on its own thread: reading and decoding, tracking,
/// then classification and the caller's output on this one (the caller's
/// sink need not be `Send`). They hand segments and finished connections on
/// in batches through bounded channels, one producer and one consumer
/// each, batches in order: every connection reaches `on_connection` in the
/// order one thread would give, with the same contents (classification
/// never changes tracker state).
pub fn analyse_with_progress(
    inputs: &[String],
    health: &mut Health,
    config: TrackerConfig,
    progress: Progress,
    on_connection: &mut dyn FnMut(&Connection, &Flow) -> Next,
) -> Result<TrackerStats, CaptureError> {
    let watermark = Cell::new(Some(Timestamp(i64::MIN)));
    let first_segment = Cell::new(None);
    analyse_watermarked(
        inputs,
        health,
        config,
        progress,
        &watermark,
        &first_segment,
        on_connection,
    )
}

/// As [`analyse_with_progress`], keeping `watermark` at a time before which
/// no connection still to be finished started: the tracker's watermark (the
/// earliest first time among connections open), or the last segment's time
/// when none is open, as of the last batch of segments; None once the
/// capture has ended. A caller may then write time-ordered rows as soon as
/// no earlier one can still come. Start it at `Some(Timestamp(i64::MIN))`.
/// It lags by at most a batch, which only holds rows a little longer.
///
/// The tracking thread sends each batch's watermark after that batch's
/// connections, so the caller sees it change at the same points of the
/// sequence of rows as with one thread.
///
/// `first_segment` is set to the capture time of the first TCP segment
/// read before the first connection is handed on, so that a time axis can
/// start where the capture does.
pub fn analyse_watermarked(
    inputs: &[String],
    health: &mut Health,
    config: TrackerConfig,
    progress: Progress,
    watermark: &Cell<Option<Timestamp>>,
    first_segment: &Cell<Option<Timestamp>>,
    on_connection: &mut dyn FnMut(&Connection, &Flow) -> Next,
) -> Result<TrackerStats, CaptureError> {
    let start_mark = watermark.get();
    let stop = AtomicBool::new(false);
    let (mut connections, mut resets) = (0u64, 0u64);
    let counter = progress.clone();
    let (to_tracker, from_reader) = mpsc::sync_channel::<SegmentBatch>(4);
    let (recycle, recycled) = mpsc::sync_channel::<SegmentBatch>(4);
    let (to_output, from_tracker) = mpsc::sync_channel::<Handed>(4);
    let (give_back, given_back) = mpsc::sync_channel::<Vec<Connection>>(4);
    let stop = &stop;
    let (read, read_health, stats) = thread::scope(|scope| {
        let reading = scope.spawn(move || {
            let mut health = Health::default();
            let mut batch = SegmentBatch::with_capacity(BATCH);
            let read = read_segments_until(inputs, &mut health, progress, stop, &mut |seg| {
                batch.push(*seg);
                if batch.len() == BATCH {
                    let next = recycled
                        .try_recv()
                        .unwrap_or_else(|_| SegmentBatch::with_capacity(BATCH));
                    // A closed channel means the tracking side has stopped:
                    // stop reading too.
                    if to_tracker
                        .send(std::mem::replace(&mut batch, next))
                        .is_err()
                    {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            });
            if !batch.is_empty() {
                let _ = to_tracker.send(batch);
            }
            (read, health)
        });
        let tracking = scope.spawn(move || {
            let mut tracker = Tracker::new(config);
            let mut out = Handoff {
                batch: Vec::with_capacity(CONN_BATCH),
                to_output,
                given_back,
                stop,
            };
            let mut mark = start_mark;
            let mut started = false;
            for mut batch in from_reader.iter() {
                if !started {
                    if let Some(first) = batch.segments().first() {
                        out.start(first.ts);
                        started = true;
                    }
                }
                tracker.push_batch(&batch, &mut |c| out.push(c));
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // With nothing open, a connection yet to come starts no
                // earlier than the last segment read.
                let last = batch.segments().last().map(|s| s.ts);
                mark = tracker.watermark().or(last).or(mark);
                out.mark(mark);
                batch.clear();
                let _ = recycle.try_send(batch);
            }
            drop(from_reader);
            // Connections read before an unreadable file are still
            // finished, so the caller may report them; after a stop nobody
            // wants them.
            let stats = if stop.load(Ordering::Relaxed) {
                tracker.stats().clone()
            } else {
                tracker.finish(&mut |c| out.push(c))
            };
            // Only after the last rows: the connections finished at the end
            // started before rows already waiting, which must wait for them.
            out.mark(None);
            out.send();
            stats
        });
        let from_tracker = from_tracker;
        'batches: for handed in from_tracker.iter() {
            let mut batch = match handed {
                Handed::Rows(batch) => batch,
                Handed::Watermark(w) => {
                    watermark.set(w);
                    continue;
                }
                Handed::Start(t) => {
                    first_segment.set(Some(t));
                    continue;
                }
            };
            for c in batch.drain(..) {
                let flow = classify(&c);
                connections += 1;
                if flow.rst_by.is_some() {
                    resets += 1;
                }
                counter.counts(connections, resets);
                if on_connection(&c, &flow) == Next::Stop {
                    stop.store(true, Ordering::Relaxed);
                    break 'batches;
                }
            }
            let _ = give_back.try_send(batch);
        }
        // Closing the channel unblocks a tracker waiting to hand on more.
        drop(from_tracker);
        watermark.set(None);
        let stats = tracking
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (read, read_health) = reading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (read, read_health, stats)
    });
    *health = read_health;
    health.acked_unseen_segments = health
        .acked_unseen_segments
        .saturating_add(stats.acked_unseen());
    health.connections_finished_early = stats.finished_early();
    health.peak_open_connections = stats.peak_open() as u64;
    health.set_clock(stats.clock());
    read.map(|()| stats)
}

/// What the tracking thread hands to the output, in order.
enum Handed {
    /// The capture time of the first segment, before any row.
    Start(Timestamp),
    Rows(Vec<Connection>),
    /// The watermark after a batch of segments (None: the capture ended).
    Watermark(Option<Timestamp>),
}

/// The tracking thread's side of the channel to the output: finished
/// connections collected into batches, empty batches reused.
struct Handoff<'a> {
    batch: Vec<Connection>,
    to_output: mpsc::SyncSender<Handed>,
    given_back: mpsc::Receiver<Vec<Connection>>,
    stop: &'a AtomicBool,
}

impl Handoff<'_> {
    fn push(&mut self, c: Connection) {
        self.batch.push(c);
        if self.batch.len() >= CONN_BATCH {
            self.send();
        }
    }

    /// Hands on what was collected; a closed channel means the output
    /// stopped, so reading and tracking stop too.
    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let next = self
            .given_back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CONN_BATCH));
        let full = std::mem::replace(&mut self.batch, next);
        if self.to_output.send(Handed::Rows(full)).is_err() {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Hands on the time of the first segment (before any row).
    fn start(&mut self, first: Timestamp) {
        if self.to_output.send(Handed::Start(first)).is_err() {
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Hands on the rows so far, then the watermark that follows them.
    fn mark(&mut self, watermark: Option<Timestamp>) {
        self.send();
        if self.to_output.send(Handed::Watermark(watermark)).is_err() {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Total size of the inputs when all are regular, uncompressed files (for
/// the progress bar, which counts bytes read; a compressed file's
/// decompressed size is not known before it is read).
pub fn total_bytes(inputs: &[String]) -> Option<u64> {
    inputs
        .iter()
        .map(|p| {
            if p == "-" {
                return None;
            }
            let mut magic = Vec::new();
            std::fs::File::open(p)
                .ok()?
                .take(8)
                .read_to_end(&mut magic)
                .ok()?;
            if capture::Compression::detect(&magic).is_some() {
                return None;
            }
            std::fs::metadata(p).ok().map(|m| m.len())
        })
        .sum()
}

/// Runs `work(i)` for every `i` in `0..n` on the available cores (at most
/// `n` threads) and returns the results in index order, whatever order they
/// finished in: `--each` analyses independent captures in parallel with
/// deterministic output.
pub fn parallel_map<T: Send>(n: usize, work: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    let threads = thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(n)
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let slots = std::sync::Mutex::new(&mut results);
    thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = work(i);
                if let Ok(mut slots) = slots.lock() {
                    slots[i] = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every index was worked on"))
        .collect()
}
