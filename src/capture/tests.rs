use super::*;

/// (timestamp, link type, captured length) of each packet.
type Seen = Vec<(Timestamp, u32, usize)>;

fn read(bytes: &[u8]) -> Result<(FileSummary, Seen), CaptureError> {
    let mut seen = Vec::new();
    let s = read_capture("t", bytes, &mut |p, _| {
        seen.push((p.ts, p.link.0, p.data.len()))
    })?;
    Ok((s, seen))
}

fn pcap_header(magic: u32, link: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&magic.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&link.to_le_bytes());
    v
}

fn record(v: &mut Vec<u8>, sec: u32, frac: u32, data: &[u8]) {
    v.extend_from_slice(&sec.to_le_bytes());
    v.extend_from_slice(&frac.to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
}

#[test]
fn nanosecond_pcap_keeps_nanoseconds() {
    let mut v = pcap_header(0xa1b2_3c4d, 1);
    record(&mut v, 10, 123_456_789, &[0; 20]);
    let (s, seen) = read(&v).unwrap();
    assert_eq!(seen, vec![(Timestamp(10_123_456_789), 1, 20)]);
    assert!(s.format.contains("nanosecond"));
}

#[test]
fn cut_mid_record_keeps_complete_packets() {
    let mut v = pcap_header(0xa1b2_c3d4, 1);
    record(&mut v, 1, 0, &[0; 60]);
    record(&mut v, 2, 0, &[0; 60]);
    let second = 24 + 16 + 60;
    v.truncate(second + 30);
    let (s, seen) = read(&v).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(s.cut_off_at, Some(second as u64));
}

#[test]
fn absurd_record_length_is_an_error_with_offset() {
    let mut v = pcap_header(0xa1b2_c3d4, 1);
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    v.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    v.extend_from_slice(&[0; 40]);
    let err = read(&v).unwrap_err().to_string();
    assert!(err.contains("at byte 24"), "{err}");
}

#[test]
fn not_a_capture_names_the_magic() {
    let err = read(b"hello world, this is text").unwrap_err().to_string();
    assert_eq!(
        err,
        "t: not a pcap or pcapng capture at byte 0 (magic 68656c6c)"
    );
}

#[test]
fn short_header_is_an_error() {
    let v = pcap_header(0xa1b2_c3d4, 1);
    let err = read(&v[..10]).unwrap_err().to_string();
    assert!(err.contains("cut short"), "{err}");
}

#[test]
fn pcapng_interface_resolution_and_offset() {
    let iface = Interface {
        link: LinkType::ETHERNET,
        units_per_sec: 1_000_000_000,
        offset_secs: 100,
    };
    let units: u64 = 5_000_000_001;
    let ts = iface.timestamp((units >> 32) as u32, units as u32);
    assert_eq!(ts, Timestamp(105_000_000_001));
}
