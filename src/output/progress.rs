//! The progress bar on standard error while a long capture is read: bytes
//! of the total, packets per second, connections and resets so far, time
//! left. Shown only on a terminal; never in pipes, CI, or with --quiet.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Redraw at most this often: a bar update per packet would cost more than
/// decoding the packet.
const EVERY_PACKETS: u64 = 1 << 14;

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
    connections: AtomicU64,
    resets: AtomicU64,
    started: Option<Instant>,
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
            "{bytes}/{total_bytes} [{bar:30}] {msg} ({eta} left)"
        } else {
            "{bytes} read {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("0 packets");
        bar.tick();
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(bar),
            state: Arc::new(State {
                started: Some(Instant::now()),
                ..State::default()
            }),
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
        let n = self.state.packets.fetch_add(1, Relaxed) + 1;
        if n % EVERY_PACKETS == 0 {
            self.redraw(position);
        }
    }

    /// Connections and resets found so far, from the tracking stage.
    pub fn counts(&self, connections: u64, resets: u64) {
        self.state.connections.store(connections, Relaxed);
        self.state.resets.store(resets, Relaxed);
    }

    fn redraw(&self, position: u64) {
        let Some(bar) = &self.bar else { return };
        let packets = self.state.packets.load(Relaxed);
        let secs = self
            .state
            .started
            .map_or(0.0, |t| t.elapsed().as_secs_f64())
            .max(1e-3);
        bar.set_position(position);
        bar.set_message(format!(
            "{packets} packets ({:.0}/s), {} connections, {} resets",
            packets as f64 / secs,
            self.state.connections.load(Relaxed),
            self.state.resets.load(Relaxed)
        ));
    }

    /// Removes the bar so the report starts on a clean line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
