//! Ctrl-C and `kill`: the first SIGINT or SIGTERM asks the run to stop
//! reading and write everything it has for what was read (as tshark prints
//! its statistics); a second one ends the process at once, first removing an
//! unfinished `-o` file so that only a complete file or nothing is left.
//!
//! Process-wide state, shared by the pipeline (which stops reading) and the
//! command line (which installs the handlers and picks the exit status).

use std::ffi::CString;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering::Relaxed, Ordering::SeqCst};

use signal_hook::consts::{SIGINT, SIGTERM};

/// The first signal received, 0 while none was.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The unfinished output file to remove on a second signal (a leaked C
/// string, or null). A raw pointer because the handler may do nothing but
/// async-signal-safe work: an atomic load and `unlink`.
static TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Installs the handlers for SIGINT and SIGTERM. Safe to call more than once
/// per process only in the sense that later calls add nothing useful; the
/// command line calls it once.
pub fn install() -> io::Result<()> {
    for sig in [SIGINT, SIGTERM] {
        // SAFETY: the handler only touches atomics and calls `unlink` and
        // `_exit`, all async-signal-safe.
        unsafe { signal_hook::low_level::register(sig, move || on_signal(sig)) }?;
    }
    Ok(())
}

fn on_signal(sig: i32) {
    if SIGNAL.compare_exchange(0, sig, SeqCst, SeqCst).is_ok() {
        return;
    }
    let temp = TEMP.load(SeqCst);
    if !temp.is_null() {
        // SAFETY: `temp` is a NUL-terminated string leaked by `remove_on_abort`.
        unsafe { libc::unlink(temp) };
    }
    signal_hook::low_level::exit(128 + sig);
}

/// The signal that interrupted the run, if one did.
pub fn received() -> Option<i32> {
    match SIGNAL.load(SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// The signal's name as `kill -l` prints it, for the capture block.
pub fn name(sig: i32) -> String {
    match sig {
        SIGINT => "SIGINT".into(),
        SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// The exit status after an interrupted run: 128 + the signal, as shells do.
pub fn exit_status(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(u8::MAX)
}

/// Remembers `path`, an output being written, to be removed if a second
/// signal ends the process before the output is complete.
pub fn remove_on_abort(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    // Leaked, never freed: a handler may be reading the previous one. One
    // short path per output file of the run.
    TEMP.store(c.into_raw(), SeqCst);
}

/// The output is complete (or gone): nothing to remove any more.
pub fn forget_output() {
    TEMP.store(std::ptr::null_mut(), SeqCst);
}

/// A capture stream that reads as ended once a signal was received or
/// `stop` is set (the output is gone, or a merge no longer wants the
/// file), so the capture reader stops at its next refill and everything
/// read so far is analysed.
pub struct Stoppable<'r, S> {
    inner: Box<dyn Read + 'r>,
    stop: S,
}

impl<S: Deref<Target = AtomicBool>> Read for Stoppable<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if received().is_some() || self.stop.load(Relaxed) {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

/// Standard input read so that a signal is noticed even while no bytes
/// come: a silent live pipe (`tcpdump -w - | rstscope -` with nothing on
/// the wire) would otherwise hold the reader in a `read()` the handler's
/// `SA_RESTART` restarts. Reads fd 0 directly, unbuffered, after `poll()`
/// says it is ready, checking for a signal every 100 ms.
pub struct PolledStdin;

/// How long one wait for input lasts before the signal flag is looked at.
const POLL_MS: libc::c_int = 100;

impl Read for PolledStdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if received().is_some() {
                return Ok(0);
            }
            let mut fd = libc::pollfd {
                fd: libc::STDIN_FILENO,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the duration of the call.
            let ready = unsafe { libc::poll(&mut fd, 1, POLL_MS) };
            if ready < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                continue;
            }
            // SAFETY: `buf` is valid for `buf.len()` bytes.
            let n = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            return Ok(n as usize);
        }
    }
}

/// `opened`, the input named `path`, made to end at a signal or at `stop`;
/// standard input is read through [`PolledStdin`] so that a silent pipe
/// notices the signal too.
pub fn stoppable<'r, S: Deref<Target = AtomicBool>>(
    path: &str,
    opened: Box<dyn Read + 'r>,
    stop: S,
) -> Stoppable<'r, S> {
    let inner: Box<dyn Read + 'r> = if path == "-" {
        drop(opened);
        Box::new(PolledStdin)
    } else {
        opened
    };
    Stoppable { inner, stop }
}
