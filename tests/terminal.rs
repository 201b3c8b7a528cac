//! The progress bar as a user sees it, under a pseudo-terminal (`script`)
//! of 60 columns: counts with grouped digits, every line within the
//! terminal's width (never wrapped), and the counts shown while a slow
//! stream is still open, not only at its end.

mod support;

use std::process::Command;

use support::{ethernet, Pcap, Tcp, ACK, SYN};

/// 1 500 packets: SYNs of 1 500 attempts.
fn capture() -> Vec<u8> {
    let mut pcap = Pcap::new(1, false, false);
    for i in 0..1500u32 {
        let c = format!("10.0.{}.{}:40000", i / 250, i % 250 + 1);
        let s = Tcp::new(&c, "10.9.9.9:80", SYN).seq(i);
        pcap.packet(
            1_700_000_000_000_000_000 + u64::from(i) * 1000,
            &ethernet(&s.ip(), &[]),
        );
    }
    let _ = ACK;
    pcap.bytes
}

#[test]
fn progress_fits_the_terminal_groups_digits_and_moves_on_a_slow_stream() {
    let path = std::env::temp_dir().join(format!("rstscope-term-{}.pcap", std::process::id()));
    std::fs::write(&path, capture()).unwrap();
    // The capture arrives at once, then the stream stays open for 1.5 s:
    // the bar must show the packets before the end.
    let cmd = format!(
        "stty rows 24 cols 60; (cat {}; sleep 1.5) | {} report - > /dev/null",
        path.display(),
        env!("CARGO_BIN_EXE_rstscope")
    );
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script(1) from util-linux");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<String> = shown
        .split(['\r', '\n'])
        .map(|l| l.replace("\x1b[2K", ""))
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("1,500 packets")),
        "grouped digits, shown while the stream was open: {lines:?}"
    );
    for l in &lines {
        assert!(l.chars().count() <= 60, "wider than the terminal: {l:?}");
    }
    let _ = std::fs::remove_file(path);
}
