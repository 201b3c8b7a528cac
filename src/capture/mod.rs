//! Bytes → packets. Reads pcap (micro/nanosecond, either byte order, the
//! "modified" Kuznetzov variant) and pcapng (several sections and interfaces,
//! each with its own link type and time resolution) as a stream through a
//! bounded buffer, so a 10 GB capture needs no more memory than a 10 MB one.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

use crate::wire::{FileSummary, Timestamp};

mod compressed;
mod error;
mod live;
mod probe;
pub use compressed::Compression;
pub use error::CaptureError;
use live::read_live_prefix;
pub use live::stdin_is_live;
pub use probe::first_timestamp;

/// Read buffer size. Large enough that refills are rare; the buffer only grows
/// past it for a single record larger than this (never past `MAX_BLOCK`).
const BUFFER: usize = 1 << 20;

/// Smallest read buffer: a capture that fits in its first read gets a buffer
/// of about its own size (at least this), not a zeroed megabyte, which keeps
/// reading many small files (tests, fuzzing) cheap.
const MIN_BUFFER: usize = 4096;

/// Largest the read buffer ever grows: one block at the limit plus a full
/// buffer of what follows it.
const MAX_BUFFER: usize = MAX_BLOCK as usize + BUFFER;

/// Largest pcap record Wireshark accepts for ordinary link types; a larger
/// `caplen` means a corrupt record header, not a real packet.
const MAX_PCAP_RECORD: u32 = 262_144;

/// Largest pcapng block we accept (Wireshark's limit is of the same order).
const MAX_BLOCK: u32 = 16 << 20;

/// How many leading bytes are read before deciding the format. pcap-parser
/// parses the file header from its first `read()`, which on a pipe may return
/// only a few bytes; reading the prefix ourselves makes detection reliable.
const PREFIX: usize = 64 * 1024;

const PCAP_MAGICS: [u32; 4] = [0xa1b2_c3d4, 0xa1b2_3c4d, 0xa1b2_cd34, 0x34cd_b2a1];
const PCAPNG_MAGIC: u32 = 0x0a0d_0d0a;
const OBSOLETE_PACKET_BLOCK: u32 = 0x0000_0002;

/// A link type number as written in the capture (LINKTYPE_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The name tcpdump and tshark use, so users recognise it.
    pub fn name(self) -> String {
        match self.0 {
            0 => "NULL".into(),
            1 => "EN10MB".into(),
            9 => "PPP".into(),
            10 => "FDDI".into(),
            50 => "PPP_SERIAL".into(),
            51 => "PPP_ETHER".into(),
            100 => "ATM_RFC1483".into(),
            104 => "C_HDLC".into(),
            109 => "ENC".into(),
            117 => "PFLOG".into(),
            204 => "PPP_WITH_DIR".into(),
            226 => "IPNET".into(),
            239 => "NFLOG".into(),
            12 | 14 | 101 => "RAW".into(),
            108 => "LOOP".into(),
            113 => "LINUX_SLL".into(),
            228 => "IPV4".into(),
            229 => "IPV6".into(),
            276 => "LINUX_SLL2".into(),
            n => format!("LINKTYPE_{n}"),
        }
    }
}

/// One captured packet, borrowed from the read buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    pub ts: Timestamp,
    pub link: LinkType,
    /// Captured bytes (at most the snap length).
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
    /// The pcapng interface it was captured on (0 in pcap): two copies of
    /// one packet on two interfaces are one packet seen twice.
    pub interface: u32,
    /// Interfaces the capture (its pcapng section) describes: 1 in pcap.
    pub interfaces: u32,
}

/// A capture source: a path, or `-` for standard input.
pub fn open(path: &str) -> Result<(Box<dyn Read>, Option<u64>), CaptureError> {
    if path == "-" {
        return Ok((Box::new(io::stdin().lock()), None));
    }
    let file = display_name(path);
    let p = Path::new(path);
    if p.is_dir() {
        return Err(CaptureError::Directory { file });
    }
    let f = File::open(p).map_err(|source| CaptureError::Open {
        file: file.clone(),
        source,
    })?;
    let size = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), size))
}

/// The name used in messages: `-` is shown as `stdin`.
pub fn display_name(path: &str) -> String {
    if path == "-" {
        "stdin".to_string()
    } else {
        path.to_string()
    }
}

/// Per-interface facts a pcapng Enhanced Packet Block needs.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second (`if_tsresol`).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

/// Reads one capture, calling `on_packet` with each packet and the byte offset
/// just past it. Returns what the file was. A file cut off mid-record is not
/// an error: `cut_off_at` says where the incomplete record starts.
///
/// A gzip, zstd, xz or bzip2 stream (by its magic) is decompressed on the
/// way; the summary names the compression, and offsets (in the summary and
/// in errors) count decompressed bytes.
pub fn read_capture(
    name: &str,
    reader: impl Read,
    on_packet: &mut dyn FnMut(&Packet<'_>, u64),
) -> Result<FileSummary, CaptureError> {
    read_capture_live(name, reader, false, on_packet)
}

/// As [`read_capture`]; `live` says the input is a stream whose bytes come
/// as they are captured (a pipe from `tcpdump -U -w -`): packets are then
/// handed on as soon as they arrive, rather than after the first 64 KiB.
pub fn read_capture_live(
    name: &str,
    reader: impl Read,
    live: bool,
    on_packet: &mut dyn FnMut(&Packet<'_>, u64),
) -> Result<FileSummary, CaptureError> {
    let mut reader = reader;
    let mut magic = Vec::with_capacity(compressed::MAGIC_LEN);
    (&mut reader)
        .take(compressed::MAGIC_LEN as u64)
        .read_to_end(&mut magic)
        .map_err(|source| CaptureError::Read {
            file: name.to_string(),
            offset: 0,
            source,
        })?;
    let compression = Compression::detect(&magic);
    let stream = Cursor::new(magic).chain(reader);
    let Some(compression) = compression else {
        return read_plain(name, stream, live, on_packet);
    };
    let last_error = std::rc::Rc::new(std::cell::RefCell::new(None));
    let wrap = |inner: CaptureError, detail: Option<String>| CaptureError::Decompressed {
        compression: compression.name(),
        detail,
        inner: Box::new(inner),
    };
    let decoded = compression.decoder(stream).map_err(|source| {
        let detail = Some(source.to_string());
        let inner = CaptureError::Read {
            file: name.to_string(),
            offset: 0,
            source,
        };
        wrap(inner, detail)
    })?;
    let decoded = compressed::KeepError {
        inner: decoded,
        last: last_error.clone(),
    };
    match read_plain(name, decoded, live, on_packet) {
        Ok(mut summary) => {
            summary.compression = Some(compression.name().to_string());
            Ok(summary)
        }
        Err(e) => Err(wrap(e, last_error.take())),
    }
}

/// [`read_capture`] on bytes already decompressed.
fn read_plain(
    name: &str,
    reader: impl Read,
    live: bool,
    on_packet: &mut dyn FnMut(&Packet<'_>, u64),
) -> Result<FileSummary, CaptureError> {
    let mut reader = reader;
    let mut prefix = Vec::with_capacity(PREFIX);
    let read_error = |source| CaptureError::Read {
        file: name.to_string(),
        offset: 0,
        source,
    };
    if live {
        read_live_prefix(&mut reader, &mut prefix).map_err(read_error)?;
    } else {
        (&mut reader)
            .take(PREFIX as u64)
            .read_to_end(&mut prefix)
            .map_err(read_error)?;
    }
    if prefix.is_empty() {
        return Err(CaptureError::Empty {
            file: name.to_string(),
        });
    }
    let magic_le = prefix
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let stream = Cursor::new(prefix.clone()).chain(reader);
    let mut summary = FileSummary {
        file: name.to_string(),
        ..FileSummary::default()
    };
    // The whole input is already in `prefix` when it is shorter than asked
    // for: a buffer twice its size holds it, else the full-size buffer. (A
    // live stream's prefix is short because little has come yet.)
    let capacity = if prefix.len() < PREFIX && !live {
        prefix.len().saturating_mul(2).clamp(MIN_BUFFER, BUFFER)
    } else {
        BUFFER
    };
    let mut run = Run {
        name,
        summary: &mut summary,
        on_packet,
        offset: 0,
        capacity,
    };
    match magic_le {
        Some(m) if PCAP_MAGICS.contains(&m) || PCAP_MAGICS.contains(&m.swap_bytes()) => {
            run.legacy(stream, &prefix)?
        }
        Some(PCAPNG_MAGIC) => run.pcapng(stream)?,
        _ => {
            return Err(CaptureError::NotACapture {
                file: name.to_string(),
                magic: prefix
                    .iter()
                    .take(4)
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
            })
        }
    }
    Ok(summary)
}

/// State of one file being read.
struct Run<'s, 'f> {
    name: &'s str,
    summary: &'s mut FileSummary,
    on_packet: &'f mut dyn FnMut(&Packet<'_>, u64),
    /// Byte offset of the next unconsumed byte in the file.
    offset: u64,
    /// Current size of the reader's buffer.
    capacity: usize,
}

/// What to do after `next()` failed.
enum Step {
    Refill,
    Done,
}

impl Run<'_, '_> {
    fn legacy(&mut self, stream: impl Read, prefix: &[u8]) -> Result<(), CaptureError> {
        if prefix.len() < 24 {
            return Err(self.bad_header(
                "pcap",
                format!("file header cut short ({} of 24 bytes)", prefix.len()),
            ));
        }
        let mut reader = LegacyPcapReader::new(self.capacity, stream)
            .map_err(|e| self.bad_header("pcap", e.to_string()))?;
        let mut link = LinkType(0);
        let mut nanos = false;
        let mut big_endian = false;
        let mut record_header = 16;
        let mut max_record = MAX_PCAP_RECORD;
        loop {
            match reader.next() {
                Ok((len, block)) => {
                    match block {
                        PcapBlockOwned::LegacyHeader(h) => {
                            if h.version_major != 2 {
                                return Err(self.bad_header(
                                    "pcap",
                                    format!(
                                        "unsupported version {}.{}",
                                        h.version_major, h.version_minor
                                    ),
                                ));
                            }
                            link = LinkType(h.network.0 as u32);
                            nanos = h.is_nanosecond_precision();
                            big_endian = h.is_bigendian();
                            if h.is_modified_format() {
                                record_header = 24;
                            }
                            // A capture with a larger snap length may hold larger
                            // records, up to the pcapng limit.
                            max_record = h.snaplen.clamp(MAX_PCAP_RECORD, MAX_BLOCK);
                            self.summary.format = format!(
                                "pcap ({}{}, {}-endian)",
                                if h.is_modified_format() {
                                    "modified, "
                                } else {
                                    ""
                                },
                                if nanos { "nanosecond" } else { "microsecond" },
                                if big_endian { "big" } else { "little" },
                            );
                            self.summary.link_types.push(link.name());
                        }
                        PcapBlockOwned::Legacy(b) => {
                            if b.caplen > max_record {
                                return Err(self.absurd_record(b.caplen, max_record));
                            }
                            let frac = i64::from(b.ts_usec) * if nanos { 1 } else { 1000 };
                            let packet = Packet {
                                ts: Timestamp::from_parts(i64::from(b.ts_sec), frac),
                                link,
                                data: b.data,
                                orig_len: b.origlen,
                                interface: 0,
                                interfaces: 1,
                            };
                            self.emit(&packet, len);
                        }
                        PcapBlockOwned::NG(_) => {}
                    }
                    self.offset += len as u64;
                    // No shift per record: refill() moves the partial record once.
                    reader.consume_noshift(len);
                }
                Err(e) => {
                    let e = e.to_owned_vec();
                    let needed = match &e {
                        PcapError::BufferTooSmall => {
                            let caplen = u32_at(reader.data(), 8, big_endian).unwrap_or(u32::MAX);
                            if caplen > max_record {
                                return Err(self.absurd_record(caplen, max_record));
                            }
                            Some(caplen as usize + record_header)
                        }
                        _ => None,
                    };
                    match self.after_error(e, needed, &mut reader)? {
                        Step::Refill => continue,
                        Step::Done => return Ok(()),
                    }
                }
            }
        }
    }

    fn pcapng(&mut self, stream: impl Read) -> Result<(), CaptureError> {
        let mut reader = PcapNGReader::new(self.capacity, stream)
            .map_err(|e| self.bad_header("pcapng", e.to_string()))?;
        let mut interfaces: Vec<Interface> = Vec::new();
        let mut big_endian = false;
        // Simple Packet Blocks carry no timestamp: they inherit the last one.
        let mut last_ts = Timestamp::default();
        loop {
            match reader.next() {
                Ok((len, PcapBlockOwned::NG(block))) => {
                    match block {
                        Block::SectionHeader(shb) => {
                            // A new section starts its own interface numbering.
                            interfaces.clear();
                            big_endian = shb.big_endian();
                            if self.summary.format.is_empty() {
                                self.summary.format = format!(
                                    "pcapng ({}-endian)",
                                    if big_endian { "big" } else { "little" }
                                );
                            }
                        }
                        Block::InterfaceDescription(idb) => {
                            let link = LinkType(idb.linktype.0 as u32);
                            let name = link.name();
                            if !self.summary.link_types.contains(&name) {
                                self.summary.link_types.push(name);
                            }
                            interfaces.push(Interface {
                                link,
                                // An invalid if_tsresol falls back to the default, microseconds.
                                units_per_sec: idb.ts_resolution().unwrap_or(1_000_000),
                                offset_secs: idb.ts_offset(),
                            });
                        }
                        Block::EnhancedPacket(epb) => {
                            last_ts = self.interface_packet(
                                &interfaces,
                                epb.if_id,
                                (epb.ts_high, epb.ts_low),
                                epb.packet_data(),
                                epb.origlen,
                                len,
                            )?;
                        }
                        Block::SimplePacket(spb) => {
                            let Some(iface) = interfaces.first().copied() else {
                                return Err(self.bad_record(
                                    "simple packet block before any interface description".into(),
                                ));
                            };
                            let packet = Packet {
                                ts: last_ts,
                                link: iface.link,
                                data: spb.packet_data(),
                                orig_len: spb.origlen,
                                interface: 0,
                                interfaces: interfaces.len() as u32,
                            };
                            self.emit(&packet, len);
                        }
                        Block::Unknown(u) if u.block_type == OBSOLETE_PACKET_BLOCK => {
                            let Some(opb) = ObsoletePacket::parse(u.data, big_endian) else {
                                return Err(
                                    self.bad_record("obsolete packet block too short".into())
                                );
                            };
                            last_ts = self.interface_packet(
                                &interfaces,
                                u32::from(opb.if_id),
                                (opb.ts_high, opb.ts_low),
                                opb.data,
                                opb.orig_len,
                                len,
                            )?;
                        }
                        _ => {}
                    }
                    self.offset += len as u64;
                    // No shift per record: refill() moves the partial record once.
                    reader.consume_noshift(len);
                }
                Ok((len, _)) => {
                    self.offset += len as u64;
                    // No shift per record: refill() moves the partial record once.
                    reader.consume_noshift(len);
                }
                Err(e) => {
                    let e = e.to_owned_vec();
                    let declared = declared_block_len(reader.data(), big_endian);
                    let needed = match &e {
                        PcapError::BufferTooSmall => {
                            let block_len = declared.unwrap_or(u32::MAX);
                            if block_len > MAX_BLOCK {
                                return Err(self.bad_record(format!(
                                    "block claims {block_len} bytes, more than the {MAX_BLOCK}-byte limit"
                                )));
                            }
                            Some(block_len as usize)
                        }
                        // The parser wants bytes past the end of the file, but
                        // the block's own length is all there: its contents
                        // (an Enhanced Packet Block's captured length, say)
                        // overrun the block. A corrupt block, not a file cut
                        // short, whose rest would otherwise go unread unsaid.
                        PcapError::UnexpectedEof => match declared {
                            Some(len) if (len as usize) <= reader.data().len() => {
                                return Err(self.bad_record(format!(
                                    "block contents overrun its declared length of {len} bytes"
                                )));
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    match self.after_error(e, needed, &mut reader)? {
                        Step::Refill => continue,
                        Step::Done => return Ok(()),
                    }
                }
            }
        }
    }

    /// A packet block that names its interface and carries a timestamp
    /// (Enhanced and obsolete Packet Blocks): emits it with that interface's
    /// link type and clock, and returns its time for the blocks that have none.
    fn interface_packet(
        &mut self,
        interfaces: &[Interface],
        if_id: u32,
        (ts_high, ts_low): (u32, u32),
        data: &[u8],
        orig_len: u32,
        len: usize,
    ) -> Result<Timestamp, CaptureError> {
        let Some(iface) = interfaces.get(if_id as usize).copied() else {
            return Err(self.bad_record(format!(
                "packet refers to interface {if_id} but the section describes {}",
                interfaces.len()
            )));
        };
        let packet = Packet {
            ts: iface.timestamp(ts_high, ts_low),
            link: iface.link,
            data,
            orig_len,
            interface: if_id,
            interfaces: interfaces.len() as u32,
        };
        self.emit(&packet, len);
        Ok(packet.ts)
    }

    fn emit(&mut self, packet: &Packet<'_>, len: usize) {
        let s = &mut *self.summary;
        s.packets += 1;
        if s.first_time.is_none() {
            s.first_time = Some(packet.ts);
        }
        s.last_time = Some(s.last_time.map_or(packet.ts, |t| t.max(packet.ts)));
        (self.on_packet)(packet, self.offset + len as u64);
    }

    /// The shared handling of a reader's error: refill, grow, end, or fail.
    fn after_error(
        &mut self,
        e: PcapError<&'static [u8]>,
        needed: Option<usize>,
        reader: &mut dyn PcapReaderIterator,
    ) -> Result<Step, CaptureError> {
        match e {
            PcapError::Eof => {
                self.summary.bytes = self.offset;
                Ok(Step::Done)
            }
            PcapError::Incomplete(_) => {
                self.refill(reader)?;
                Ok(Step::Refill)
            }
            PcapError::BufferTooSmall => {
                // At least double, so the loop always makes progress even
                // when our reading of the length differs from the parser's
                // (a section of the other byte order); never past the limit.
                let size = needed
                    .unwrap_or(0)
                    .saturating_add(self.capacity.min(BUFFER))
                    .max(self.capacity.saturating_mul(2))
                    .min(MAX_BUFFER);
                if size <= self.capacity || !reader.grow(size) {
                    return Err(
                        self.bad_record(format!("block larger than the {MAX_BLOCK}-byte limit"))
                    );
                }
                self.capacity = size;
                self.refill(reader)?;
                Ok(Step::Refill)
            }
            PcapError::UnexpectedEof => {
                self.summary.cut_off_at = Some(self.offset);
                self.summary.bytes = self.offset + reader.data().len() as u64;
                Ok(Step::Done)
            }
            PcapError::ReadError => Err(CaptureError::Read {
                file: self.name.to_string(),
                offset: self.offset,
                source: io::Error::other("read failed"),
            }),
            other => Err(self.bad_record(describe_parse_error(&other))),
        }
    }

    fn refill(&mut self, reader: &mut dyn PcapReaderIterator) -> Result<(), CaptureError> {
        reader.refill().map_err(|_| CaptureError::Read {
            file: self.name.to_string(),
            offset: self.offset,
            source: io::Error::other("read failed"),
        })
    }

    fn bad_header(&self, format: &'static str, reason: String) -> CaptureError {
        CaptureError::BadHeader {
            file: self.name.to_string(),
            format,
            offset: self.offset,
            reason,
        }
    }

    fn bad_record(&self, reason: String) -> CaptureError {
        CaptureError::BadRecord {
            file: self.name.to_string(),
            offset: self.offset,
            reason,
        }
    }

    fn absurd_record(&self, caplen: u32, limit: u32) -> CaptureError {
        self.bad_record(format!(
            "record claims {caplen} captured bytes, more than the {limit}-byte maximum"
        ))
    }
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let units = (u128::from(high) << 32) | u128::from(low);
        let per_sec = u128::from(self.units_per_sec.max(1));
        // 2^64 units of one second is past i64 seconds: saturate (the far
        // future) rather than wrap to a time before 1970.
        let secs = i64::try_from(units / per_sec).unwrap_or(i64::MAX);
        let nanos = ((units % per_sec) * 1_000_000_000 / per_sec) as i64;
        Timestamp::from_parts(secs.saturating_add(self.offset_secs), nanos)
    }
}

/// The pcapng Obsolete Packet Block (type 2), still written by old tools;
/// pcap-parser hands it over as an unknown block.
struct ObsoletePacket<'a> {
    if_id: u16,
    ts_high: u32,
    ts_low: u32,
    orig_len: u32,
    data: &'a [u8],
}

impl<'a> ObsoletePacket<'a> {
    fn parse(body: &'a [u8], big_endian: bool) -> Option<Self> {
        let u16_at = |o: usize| {
            let b = body.get(o..o + 2)?;
            Some(if big_endian {
                u16::from_be_bytes([b[0], b[1]])
            } else {
                u16::from_le_bytes([b[0], b[1]])
            })
        };
        let caplen = u32_at(body, 12, big_endian)? as usize;
        Some(ObsoletePacket {
            if_id: u16_at(0)?,
            ts_high: u32_at(body, 4, big_endian)?,
            ts_low: u32_at(body, 8, big_endian)?,
            orig_len: u32_at(body, 16, big_endian)?,
            data: body.get(20..20usize.checked_add(caplen)?)?,
        })
    }
}

/// The length a pcapng block at the start of `data` declares. A Section
/// Header Block says its own byte order (its byte-order magic), which may
/// differ from the section before it.
fn declared_block_len(data: &[u8], big_endian: bool) -> Option<u32> {
    let big_endian = match u32_at(data, 0, false) {
        Some(PCAPNG_MAGIC) => match u32_at(data, 8, false) {
            Some(0x1a2b_3c4d) => false,
            Some(0x4d3c_2b1a) => true,
            _ => big_endian,
        },
        _ => big_endian,
    };
    u32_at(data, 4, big_endian)
}

fn u32_at(data: &[u8], offset: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = data.get(offset..offset + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn describe_parse_error(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) | PcapError::OwnedNomError(_, kind) => {
            format!("unparseable block ({})", kind.description())
        }
        PcapError::HeaderNotRecognized => "header not recognised".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
