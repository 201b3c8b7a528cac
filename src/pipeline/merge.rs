//! Several capture files read as one capture in time order, as `mergecap`
//! does: files are put in order of their first timestamp (stable for ties),
//! and files whose time ranges interleave are merged packet by packet by
//! timestamp rather than concatenated. So `rstscope report cap.pcap*`, in
//! the shell's order (`cap.pcap10` before `cap.pcap2`), reads the rotation
//! in the order it was written.
//!
//! Each file is read and decoded on a thread of its own, handing packets
//! over in small batches through a bounded channel; a file is only opened
//! when the merged time reaches its first packet, so a rotation of a
//! hundred files has one or two open at a time, and memory is bounded by
//! the files open at once, not by their size or number.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread;

use super::{interrupt, Place, Views};
use crate::capture::{self, CaptureError};
use crate::decode;
use crate::output::progress::Progress;
use crate::wire::{FileSummary, Health, Segment, SkipReason, Timestamp};

/// Packets per batch between a file's thread and the merge.
const BATCH: usize = 1024;

/// One packet, decoded on its file's thread; the frame number is given in
/// merged order.
struct Item {
    ts: Timestamp,
    /// Byte offset just past the packet in its file (for the progress bar).
    offset: u64,
    link: u32,
    decoded: Result<Segment, SkipReason>,
    info: decode::PacketInfo,
    place: Place,
}

enum Msg {
    Batch(Vec<Item>),
    Done(Result<FileSummary, CaptureError>),
}

/// A file being read.
struct Source {
    rx: Receiver<Msg>,
    batch: Vec<Item>,
    pos: usize,
    /// Tells the file's thread to stop reading (the merge ended early).
    stop: Arc<AtomicBool>,
    offset: u64,
}

fn spawn(input: String, tx: SyncSender<Msg>, stop: Arc<AtomicBool>) {
    thread::spawn(move || {
        let name = capture::display_name(&input);
        let result = capture::open(&input).and_then(|(file, _)| {
            let reader = interrupt::stoppable(&input, file, stop.clone());
            let mut batch = Vec::with_capacity(BATCH);
            let read = capture::read_capture(&name, reader, &mut |packet, offset| {
                let mut info = decode::PacketInfo::default();
                let decoded = decode::decode_with(packet, 0, &mut info);
                batch.push(Item {
                    ts: packet.ts,
                    offset,
                    link: packet.link.0,
                    decoded,
                    info,
                    place: Place::of(packet),
                });
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(Msg::Batch(full)).is_err() {
                        stop.store(true, Relaxed);
                    }
                }
            });
            if !batch.is_empty() {
                let _ = tx.send(Msg::Batch(batch));
            }
            read
        });
        let _ = tx.send(Msg::Done(result));
    });
}

/// What the capture block says about the order the files were read in.
#[derive(Debug, Default)]
pub struct Order {
    /// The files were read in another order than given.
    pub reordered: bool,
    /// Files opened while another was still being read: their packets were
    /// interleaved by timestamp.
    pub interleaved: u64,
}

/// Reads `inputs` merged in time order, handing each TCP segment to
/// `on_segment`, and returns the health account. Setting `stop` ends the
/// read (the output wants nothing more). Standard input (`-`)
/// cannot be looked at twice: it is read from the start, as the first file.
pub fn read_merged(
    inputs: &[String],
    progress: &Progress,
    health: &mut Health,
    stop: &AtomicBool,
    on_segment: &mut dyn FnMut(&Segment),
) -> Result<Order, CaptureError> {
    // The first timestamp of each file, `None` for one without packets
    // (read last: it has nothing to merge).
    let mut keys = Vec::with_capacity(inputs.len());
    for input in inputs {
        let key = if input == "-" {
            Some(Timestamp(i64::MIN))
        } else {
            capture::first_timestamp(input, &capture::display_name(input))?
        };
        keys.push(key);
    }
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by_key(|&i| (keys[i].is_none(), keys[i]));
    let mut result = Order {
        reordered: order.iter().enumerate().any(|(pos, &i)| pos != i),
        ..Order::default()
    };

    let mut sources: Vec<Option<Source>> = (0..order.len()).map(|_| None).collect();
    let mut summaries: Vec<Option<FileSummary>> = (0..order.len()).map(|_| None).collect();
    let mut heap: BinaryHeap<Reverse<(Timestamp, usize)>> = BinaryHeap::new();
    let mut next = 0usize;
    let (mut frame, mut last_ts, mut done_bytes, mut open_bytes) = (0u64, None, 0u64, 0u64);
    let mut views = Views::default();

    let outcome = 'merge: loop {
        // Open every file whose first packet is due before the next packet.
        while next < order.len() && interrupt::received().is_none() {
            let due = match (keys[order[next]], heap.peek()) {
                (_, None) => true,
                (Some(first), Some(Reverse((head, _)))) => first <= *head,
                (None, Some(_)) => false,
            };
            if !due {
                break;
            }
            if !heap.is_empty() {
                result.interleaved += 1;
            }
            let (tx, rx) = sync_channel(2);
            let stop = Arc::new(AtomicBool::new(false));
            spawn(inputs[order[next]].clone(), tx, stop.clone());
            sources[next] = Some(Source {
                rx,
                batch: Vec::new(),
                pos: 0,
                stop,
                offset: 0,
            });
            let opened = refill(
                next,
                &mut sources,
                &mut summaries,
                &mut heap,
                &mut done_bytes,
            );
            next += 1;
            if let Err(e) = opened {
                break 'merge Err(e);
            }
        }
        if stop.load(Relaxed) {
            break 'merge Ok(());
        }
        let Some(Reverse((_, k))) = heap.pop() else {
            break 'merge Ok(());
        };
        let source = sources[k].as_mut().expect("a source in the heap is open");
        let item = &source.batch[source.pos];
        source.pos += 1;
        open_bytes = open_bytes + item.offset - source.offset;
        source.offset = item.offset;
        frame += 1;
        progress.packet(done_bytes + open_bytes);
        health.packets_read += 1;
        if last_ts.is_some_and(|t| item.ts < t) {
            health.timestamps_backwards += 1;
        }
        last_ts = Some(item.ts);
        let decoded = item.decoded.map(|segment| Segment { frame, ..segment });
        views.packet(
            health, decoded, &item.info, item.place, item.link, on_segment,
        );
        if source.pos < source.batch.len() {
            heap.push(Reverse((source.batch[source.pos].ts, k)));
        } else {
            open_bytes -= source.offset;
            source.offset = 0;
            if let Err(e) = refill(k, &mut sources, &mut summaries, &mut heap, &mut done_bytes) {
                break 'merge Err(e);
            }
        }
    };
    // Whatever is still open is abandoned (an error, or a signal).
    for source in sources.iter().flatten() {
        source.stop.store(true, Relaxed);
    }
    health.files.extend(summaries.into_iter().flatten());
    outcome.map(|()| result)
}

/// Takes the next batch of file `k`; when the file is done, records its
/// summary (or returns its error) and closes it.
fn refill(
    k: usize,
    sources: &mut [Option<Source>],
    summaries: &mut [Option<FileSummary>],
    heap: &mut BinaryHeap<Reverse<(Timestamp, usize)>>,
    done_bytes: &mut u64,
) -> Result<(), CaptureError> {
    let Some(source) = sources[k].as_mut() else {
        return Ok(());
    };
    loop {
        // A thread that ended without a word cannot happen (it always
        // sends Done); treat it as a file with nothing more.
        let msg = source
            .rx
            .recv()
            .unwrap_or(Msg::Done(Ok(FileSummary::default())));
        match msg {
            Msg::Batch(batch) if batch.is_empty() => continue,
            Msg::Batch(batch) => {
                heap.push(Reverse((batch[0].ts, k)));
                source.batch = batch;
                source.pos = 0;
                return Ok(());
            }
            Msg::Done(result) => {
                sources[k] = None;
                let summary = result?;
                *done_bytes += summary.bytes;
                summaries[k] = Some(summary);
                return Ok(());
            }
        }
    }
}
