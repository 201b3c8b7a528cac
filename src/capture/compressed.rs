//! Compressed captures (gzip, zstd, xz, bzip2), recognised by their magic
//! number, never by the file name, and decompressed as a stream: memory does
//! not grow with the file, as for a plain capture.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

/// A compression format rstscope reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

/// Bytes needed to recognise every format below.
pub const MAGIC_LEN: usize = 6;

impl Compression {
    /// The format whose magic `prefix` starts with.
    pub fn detect(prefix: &[u8]) -> Option<Compression> {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else if prefix.starts_with(b"BZh")
            && prefix.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
        {
            Some(Compression::Bzip2)
        } else {
            None
        }
    }

    /// The name used in the capture block (as `file(1)` and the tools name it).
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
        }
    }

    /// A reader of the decompressed bytes of `compressed`. Concatenated
    /// members or frames (`cat a.gz b.gz`, `pigz`, `pzstd`, `pbzip2`) are
    /// read as one stream, as `zcat` does.
    pub fn decoder<'r>(self, compressed: impl Read + 'r) -> io::Result<Box<dyn Read + 'r>> {
        Ok(match self {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(compressed)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(compressed)?),
            Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(compressed)),
            Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(compressed)),
        })
    }
}

/// Passes decompressed reads through and keeps the last error's text: the
/// packet parser reports a failed read without its cause, and "corrupt
/// deflate stream" is what the user needs to hear. A compressed stream that
/// simply stops (`tcpdump -w - | gzip` killed) reads as the end of the data,
/// so the capture is treated like any file cut off mid-record.
pub struct KeepError<R> {
    pub inner: R,
    pub last: Rc<RefCell<Option<String>>>,
}

impl<R: Read> Read for KeepError<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            Err(e) => {
                *self.last.borrow_mut() = Some(e.to_string());
                Err(e)
            }
            ok => ok,
        }
    }
}

/// An error found in the decompressed stream, said so: its byte offsets
/// count decompressed bytes, which `xxd` on the compressed file would not
/// find.
pub fn describe(compression: &str, detail: Option<&str>, inner: &super::CaptureError) -> String {
    if let (super::CaptureError::Read { file, offset, .. }, Some(detail)) = (inner, detail) {
        return format!(
            "{file}: corrupt {compression} data at byte {offset} of the decompressed stream: {detail}"
        );
    }
    let text = inner.to_string();
    let Some(at) = text.find("at byte ") else {
        return format!("{text} (in the {compression}-decompressed stream)");
    };
    let digits = at + "at byte ".len();
    let end = text[digits..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(text.len(), |n| digits + n);
    format!(
        "{} of the decompressed {compression} stream{}",
        &text[..end],
        &text[end..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(
            Compression::detect(&[0x1f, 0x8b, 8, 0]),
            Some(Compression::Gzip)
        );
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::detect(&[0xfd, b'7', b'z', b'X', b'Z', 0]),
            Some(Compression::Xz)
        );
        assert_eq!(Compression::detect(b"BZh91AY"), Some(Compression::Bzip2));
        assert_eq!(Compression::detect(b"BZh"), None);
        // pcap and pcapng magics are not compression.
        assert_eq!(Compression::detect(&[0xd4, 0xc3, 0xb2, 0xa1]), None);
        assert_eq!(Compression::detect(&[0x0a, 0x0d, 0x0d, 0x0a]), None);
    }
}
