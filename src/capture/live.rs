//! Live streams (`tcpdump -U -w - | rstscope -`): the format prefix is read
//! only as far as the bytes already there, so packets are analysed as they
//! are captured.

use std::io::{self, Read};

use super::{PCAPNG_MAGIC, PCAP_MAGICS, PREFIX};

/// Whether standard input is a stream (pipe, FIFO, terminal, socket) rather
/// than a redirected regular file.
pub fn stdin_is_live() -> bool {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata("/dev/stdin");
    meta.map(|m| !m.file_type().is_file() && !m.file_type().is_block_device())
        .unwrap_or(true)
}

/// Reads from a live stream until the file header is complete and the
/// bytes available now are taken (a read that returned less than asked), or
/// 64 KiB, or the end: enough to detect the format and parse the header
/// without waiting for packets not yet captured.
pub(super) fn read_live_prefix(reader: &mut impl Read, prefix: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = vec![0u8; PREFIX];
    loop {
        let want = PREFIX - prefix.len();
        let n = match reader.read(&mut chunk[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        prefix.extend_from_slice(&chunk[..n]);
        if n == 0 || prefix.len() >= PREFIX || (n < want && header_complete(prefix)) {
            return Ok(());
        }
    }
}

/// Whether `prefix` holds a whole pcap file header or pcapng Section Header
/// Block (or enough to know it is neither).
fn header_complete(prefix: &[u8]) -> bool {
    let Some(magic) = prefix.get(..4) else {
        return false;
    };
    let magic = u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]);
    if PCAP_MAGICS.contains(&magic) || PCAP_MAGICS.contains(&magic.swap_bytes()) {
        return prefix.len() >= 24;
    }
    if magic != PCAPNG_MAGIC {
        return true;
    }
    let (Some(len), Some(bom)) = (prefix.get(4..8), prefix.get(8..12)) else {
        return false;
    };
    let big_endian = bom == [0x1a, 0x2b, 0x3c, 0x4d];
    let len = [len[0], len[1], len[2], len[3]];
    let len = if big_endian {
        u32::from_be_bytes(len)
    } else {
        u32::from_le_bytes(len)
    };
    prefix.len() >= (len as usize).min(PREFIX)
}
