//! The first packet's timestamp of a capture file, read without reading the
//! rest: several captures are put in time order before they are read.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::{open, read_capture, CaptureError};
use crate::wire::Timestamp;

/// Ends the input (reads as end of file) once the first packet was seen, so
/// only the file header and the first buffer are read.
struct UntilFirst<R> {
    inner: R,
    seen: Rc<Cell<bool>>,
}

impl<R: Read> Read for UntilFirst<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.seen.get() {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

/// The timestamp of the first packet of the capture at `path` (None for a
/// capture with no packets). An error is one the full read would report at
/// the same place: a file that cannot be opened or is not a capture.
pub fn first_timestamp(path: &str, name: &str) -> Result<Option<Timestamp>, CaptureError> {
    let (file, _) = open(path)?;
    let seen = Rc::new(Cell::new(false));
    let first = Cell::new(None);
    let reader = UntilFirst {
        inner: file,
        seen: seen.clone(),
    };
    let result = read_capture(name, reader, &mut |packet, _| {
        if !seen.get() {
            seen.set(true);
            first.set(Some(packet.ts));
        }
    });
    match (result, first.get()) {
        (_, Some(ts)) => Ok(Some(ts)),
        (Ok(_), None) => Ok(None),
        (Err(e), None) => Err(e),
    }
}
