//! `rstscope check` as a CI gate, through the built binary, on captures
//! written by a generator that knows every connection's outcome: a failed
//! check names the capture and the expectation file on every result line,
//! `--match counts` and `--match server` survive a new recording with other
//! client ports, partial captures fail unless allowed, JUnit and JSON
//! verdicts parse, and only connections that changed get timelines.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{ethernet, Pcap, Tcp, ACK, FIN, PSH, RST, SYN};

const SERVER: &str = "10.0.0.1:80";

/// A recording: `clean` connections that close normally and `resets`
/// connections the server resets after the handshake (post-handshake-rst),
/// client ports from `first_port`, the resets first.
fn recording(first_port: u16, clean: u16, resets: u16) -> Vec<u8> {
    let mut pcap = Pcap::new(1, false, false);
    let t0 = 1_700_000_000_000_000_000u64;
    for i in 0..clean + resets {
        let client = format!("10.0.0.2:{}", first_port + i);
        let c = client.as_str();
        let mut segs = vec![
            Tcp::new(c, SERVER, SYN).seq(100),
            Tcp::new(SERVER, c, SYN | ACK).seq(500).ack(101),
            Tcp::new(c, SERVER, ACK).seq(101).ack(501),
        ];
        if i < resets {
            segs.push(Tcp::new(SERVER, c, RST | ACK).seq(501).ack(101));
        } else {
            segs.extend([
                Tcp::new(c, SERVER, PSH | ACK).seq(101).ack(501).payload(10),
                Tcp::new(SERVER, c, ACK).seq(501).ack(111),
                Tcp::new(c, SERVER, FIN | ACK).seq(111).ack(501),
                Tcp::new(SERVER, c, FIN | ACK).seq(501).ack(112),
                Tcp::new(c, SERVER, ACK).seq(112).ack(502),
            ]);
        }
        let t = t0 + u64::from(i) * 10_000_000;
        for (k, s) in segs.iter().enumerate() {
            pcap.packet(t + k as u64 * 1000, &ethernet(&s.ip(), &[]));
        }
    }
    pcap.bytes
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rstscope-gate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(d: &Path, name: &str, bytes: &[u8]) -> String {
    let p = d.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

fn rstscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(args)
        .output()
        .expect("run rstscope")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_failed_check_names_the_capture_and_the_expectation_on_every_result_line() {
    let d = dir("names");
    let before = write(&d, "before.pcap", &recording(40_000, 5, 2));
    let after = write(&d, "after.pcap", &recording(40_000, 4, 3));
    let expect = d.join("before.expect.json").to_string_lossy().into_owned();
    assert_eq!(
        rstscope(&["check", "--bless", "--expect", &expect, &before])
            .status
            .code(),
        Some(0)
    );
    let out = rstscope(&["check", "--expect", &expect, &after]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    let names = format!("{after} against {expect}");
    let results: Vec<&str> = t
        .lines()
        .filter(|l| l.contains("expected") && !l.starts_with("outcome "))
        .collect();
    assert!(results.len() >= 2, "{t}");
    for line in &results {
        assert!(
            line.starts_with(&names),
            "result line without both names: {line}"
        );
    }
    assert!(
        t.contains(&format!("{names}: post-handshake-rst: expected 2, found 3")),
        "{t}"
    );
    assert!(
        t.contains(&format!("{names}: clean: expected 5, found 4")),
        "{t}"
    );
    let last = t.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with(&format!("check FAILED: {names}")),
        "{last}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn counts_and_server_matches_survive_new_client_ports() {
    let d = dir("match");
    let first = write(&d, "first.pcap", &recording(40_000, 5, 2));
    // The same scenario recorded again: the kernel picked other ports.
    let again = write(&d, "again.pcap", &recording(51_000, 5, 2));
    for mode in ["counts", "server"] {
        let expect = d
            .join(format!("{mode}.json"))
            .to_string_lossy()
            .into_owned();
        let bless = rstscope(&[
            "check", "--bless", "--match", mode, "--expect", &expect, &first,
        ]);
        assert_eq!(bless.status.code(), Some(0));
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&expect).unwrap()).unwrap();
        assert_eq!(file["outcomes"]["post-handshake-rst"], 2);
        assert_eq!(
            file["connections"].as_array().map(Vec::len),
            Some(0),
            "{mode}: no client ports"
        );
        if mode == "server" {
            assert_eq!(file["servers"][SERVER]["post-handshake-rst"], 2, "{file}");
            assert_eq!(file["servers"][SERVER]["clean"], 5, "{file}");
        } else {
            assert!(file.get("servers").is_none());
        }
        let out = rstscope(&["check", "--match", mode, "--expect", &expect, &again]);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", text(&out));
    }
    // The exact kind pins client ports: the new recording fails it.
    let exact = d.join("exact.json").to_string_lossy().into_owned();
    rstscope(&["check", "--bless", "--expect", &exact, &first]);
    let out = rstscope(&["check", "--expect", &exact, &again]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("not in the capture"));

    // Per server: the same totals on another server fail --match server.
    let server_file = d.join("server.json").to_string_lossy().into_owned();
    let moved = std::fs::read_to_string(&server_file)
        .unwrap()
        .replace("10.0.0.1:80", "10.0.0.9:80");
    let moved_file = write(&d, "moved.json", moved.as_bytes());
    let out = rstscope(&[
        "check",
        "--match",
        "server",
        "--expect",
        &moved_file,
        &again,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("server 10.0.0.1:80 post-handshake-rst: expected 0, found 2"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn partial_captures_fail_unless_allowed() {
    let d = dir("partial");
    let whole = recording(40_000, 3, 1);
    let expect = d.join("e.json").to_string_lossy().into_owned();
    let full = write(&d, "full.pcap", &whole);
    rstscope(&[
        "check", "--bless", "--match", "counts", "--expect", &expect, &full,
    ]);
    // Cut inside the last record, as a killed tcpdump leaves it.
    let cut = write(&d, "cut.pcap", &whole[..whole.len() - 5]);
    let out = rstscope(&["check", "--match", "counts", "--expect", &expect, &cut]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("ends mid-record at byte"),
        "{}",
        text(&out)
    );
    let allowed = rstscope(&[
        "check",
        "--allow-partial",
        "--match",
        "counts",
        "--expect",
        &expect,
        &cut,
    ]);
    // The cut removed only the last segment of a clean connection's close.
    let t = text(&allowed);
    assert!(!t.contains("mid-record"), "{t}");

    // No TCP at all: ARP only.
    let mut arp = Pcap::new(1, false, false);
    arp.packet(1_700_000_000_000_000_000, &support::arp());
    let no_tcp = write(&d, "arp.pcap", &arp.bytes);
    let empty = write(&d, "empty.json", br#"{"outcomes": {}}"#);
    let out = rstscope(&["check", "--expect", &empty, &no_tcp]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("no TCP segment in 1 packets read"),
        "{}",
        text(&out)
    );
    let out = rstscope(&["check", "--allow-partial", "--expect", &empty, &no_tcp]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn junit_and_json_verdicts_parse() {
    let d = dir("junit");
    let before = write(&d, "before.pcap", &recording(40_000, 5, 2));
    let after = write(&d, "after.pcap", &recording(40_000, 4, 3));
    let expect = d.join("e.json").to_string_lossy().into_owned();
    rstscope(&["check", "--bless", "--expect", &expect, &before]);
    let report = d.join("report.xml").to_string_lossy().into_owned();
    let out = rstscope(&[
        "check", "--format", "junit", "-o", &report, "--expect", &expect, &after,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "the verdict went to -o");
    let xml = std::fs::read_to_string(&report).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a testsuite");
    assert_eq!(
        suite.attribute("name"),
        Some(format!("{after} against {expect}").as_str())
    );
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(
        suite.attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .collect();
    assert_eq!(
        suite.attribute("failures"),
        Some(failed.len().to_string().as_str())
    );
    let names: Vec<&str> = failed.iter().filter_map(|c| c.attribute("name")).collect();
    assert!(names.contains(&"outcome post-handshake-rst"), "{names:?}");
    assert!(names.contains(&"outcome clean"), "{names:?}");
    for c in &failed {
        let msg = c
            .children()
            .find(|n| n.has_tag_name("failure"))
            .and_then(|f| f.attribute("message"))
            .unwrap();
        assert!(
            msg.starts_with(&format!("{after} against {expect}: ")),
            "{msg}"
        );
    }

    let out = rstscope(&["check", "--format", "json", "--expect", &expect, &after]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["capture"], after.as_str());
    assert_eq!(v["expect"], expect.as_str());
    assert_eq!(v["match"], "exact");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn only_connections_that_changed_get_timelines() {
    let d = dir("changed");
    // Two resets expected; the new recording has one more, on port 40002.
    let before = write(&d, "before.pcap", &recording(40_000, 5, 2));
    let after = write(&d, "after.pcap", &recording(40_000, 4, 3));
    let expect = d.join("e.json").to_string_lossy().into_owned();
    rstscope(&["check", "--bless", "--expect", &expect, &before]);
    let out = rstscope(&["check", "--expect", &expect, &after]);
    let t = text(&out);
    let (_, timelines) = t
        .split_once("timelines of connections that changed:")
        .unwrap_or_else(|| panic!("a timelines section: {t}"));
    let titles: Vec<&str> = timelines
        .lines()
        .filter(|l| l.starts_with("  10.0.0.2:"))
        .collect();
    assert_eq!(
        titles,
        ["  10.0.0.2:40002 -> 10.0.0.1:80 post-handshake-rst"],
        "only the new reset, not the two the expectation lists: {t}"
    );
    let _ = std::fs::remove_dir_all(&d);
}
