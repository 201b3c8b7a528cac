//! The progress bar on standard error while a long capture is read: bytes
//! of the total, packets per second, connections and resets so far, time
//! left. Shown only on a terminal; never in pipes, CI, or with --quiet.
//!
//! The reading and tracking threads only bump counters; a ticker thread
//! redraws five times a second from them, so a slow live stream shows its
//! packets as they come, and a fast file costs no drawing per packet. The
//! line is cut to the terminal's width (indicatif's `wide_msg`), never
//! wrapped, and counts have their digits grouped.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the ticker redraws.
const TICK: Duration = Duration::from_millis(200);

/// A handle to the bar; clones share it, so the tracking thread can update
/// the counts on the same line the reading thread moves.
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    packets: AtomicU64,
    position: AtomicU64,
    connections: AtomicU64,
    resets: AtomicU64,
    done: AtomicBool,
}

impl Progress {
    /// A hidden bar: what pipes, CI and `--quiet` get.
    pub fn hidden() -> Self {
        Self::default()
    }

    /// A bar over `total_bytes` (unknown for standard input) when standard
    /// error is a terminal and the user did not ask for quiet.
    pub fn for_terminal(quiet: bool, total_bytes: Option<u64>) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self::hidden();
        }
        Self::on(ProgressDrawTarget::stderr(), total_bytes)
    }

    fn on(target: ProgressDrawTarget, total_bytes: Option<u64>) -> Self {
        let bar = ProgressBar::with_draw_target(total_bytes, target);
        let template = if total_bytes.is_some() {
            "{bytes}/{total_bytes} [{bar:20}] {eta} left, {wide_msg}"
        } else {
            "{bytes} read, {wide_msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("0 packets");
        bar.tick();
        let state = Arc::new(State::default());
        let ticker = (bar.clone(), state.clone());
        thread::spawn(move || {
            let (bar, state) = ticker;
            let started = Instant::now();
            while !state.done.load(Relaxed) {
                thread::sleep(TICK);
                if state.done.load(Relaxed) {
                    break;
                }
                redraw(&bar, &state, started);
            }
        });
        Progress {
            bar: Some(bar),
            state,
        }
    }

    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    /// One more packet read; `position` is the byte offset reached over all files.
    pub fn packet(&self, position: u64) {
        if self.bar.is_none() {
            return;
        }
        self.state.packets.fetch_add(1, Relaxed);
        self.state.position.store(position, Relaxed);
    }

    /// Connections and resets found so far, from the tracking stage.
    pub fn counts(&self, connections: u64, resets: u64) {
        self.state.connections.store(connections, Relaxed);
        self.state.resets.store(resets, Relaxed);
    }

    /// Removes the bar so the report starts on a clean line.
    pub fn finish(&self) {
        self.state.done.store(true, Relaxed);
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn redraw(bar: &ProgressBar, state: &State, started: Instant) {
    let packets = state.packets.load(Relaxed);
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    bar.set_position(state.position.load(Relaxed));
    bar.set_message(format!(
        "{} {} ({}/s), {} {}, {} {}",
        HumanCount(packets),
        if packets == 1 { "packet" } else { "packets" },
        HumanCount((packets as f64 / secs) as u64),
        HumanCount(state.connections.load(Relaxed)),
        if state.connections.load(Relaxed) == 1 {
            "connection"
        } else {
            "connections"
        },
        HumanCount(state.resets.load(Relaxed)),
        if state.resets.load(Relaxed) == 1 {
            "reset"
        } else {
            "resets"
        }
    ));
}
