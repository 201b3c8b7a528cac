//! `flows --format csv` read back as a spreadsheet or pandas would read it:
//! dates in the form LibreOffice Calc and `pandas.read_csv(parse_dates=)`
//! take as dates (no `T`, no `Z`), epoch seconds and counts as plain
//! numbers, rows in time order. The times are checked against tshark's
//! `frame.time_epoch` for the same connections (`fixtures/facts.tsv`).
//!
//! With LibreOffice installed (`soffice`), the file is also converted by
//! it and every date cell must come back as a date; without it the test says
//! so on its output and relies on the parser rules above.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's
/// `days_from_civil`), written here independently of rstscope.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` to microseconds since the epoch; panics on
/// any other form (what a spreadsheet would keep as text).
fn parse_spreadsheet_time(s: &str) -> i64 {
    let b = s.as_bytes();
    assert_eq!(b.len(), 26, "{s:?}");
    for (i, c) in b.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*c, b'-', "{s:?}"),
            10 => assert_eq!(*c, b' ', "{s:?}"),
            13 | 16 => assert_eq!(*c, b':', "{s:?}"),
            19 => assert_eq!(*c, b'.', "{s:?}"),
            _ => assert!(c.is_ascii_digit(), "{s:?}"),
        }
    }
    let n = |a: usize, z: usize| s[a..z].parse::<i64>().unwrap();
    let days = days_from_civil(n(0, 4), n(5, 7), n(8, 10));
    let secs = days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19);
    secs * 1_000_000 + n(20, 26)
}

fn epoch_micros(s: &str) -> i64 {
    let (secs, frac) = s.split_once('.').expect("seconds.micros");
    assert_eq!(frac.len(), 6, "{s}");
    secs.parse::<i64>().unwrap() * 1_000_000 + frac.parse::<i64>().unwrap()
}

/// tshark's first frame time (microseconds) of each connection of `file`,
/// by (client, server).
fn tshark_first_times(file: &str) -> BTreeMap<(String, String), i64> {
    let text = std::fs::read_to_string(root().join("fixtures/facts.tsv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (f, c, s, e) = (
        col("file"),
        col("client"),
        col("server"),
        col("first_epoch"),
    );
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|r| r[f] == file)
        .map(|r| {
            let (secs, nanos) = r[e].split_once('.').unwrap();
            let micros =
                secs.parse::<i64>().unwrap() * 1_000_000 + nanos[..6].parse::<i64>().unwrap();
            ((r[c].to_string(), r[s].to_string()), micros)
        })
        .collect()
}

#[test]
fn csv_reads_back_with_its_types_in_time_order() {
    let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(root())
        .args(["flows", "fixtures/incident.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let tshark = tshark_first_times("incident.pcap");
    assert_eq!(rows.len(), tshark.len(), "one row per tshark tcp.stream");

    let mut previous = None;
    let mut with_rst = 0;
    for r in &rows {
        let first = parse_spreadsheet_time(&r[col("first_time")]);
        parse_spreadsheet_time(&r[col("last_time")]);
        assert_eq!(
            epoch_micros(&r[col("first_ts")]),
            first,
            "first_ts is first_time"
        );
        let ep = |a: &str, p: &str| format!("{}:{}", &r[col(a)], &r[col(p)]);
        let key = (ep("client", "client_port"), ep("server", "server_port"));
        assert_eq!(
            tshark.get(&key),
            Some(&first),
            "tshark's first frame time of {key:?}"
        );
        // Counts are integers in every row, RST or not (pandas: int64).
        let rst_count: u32 = r[col("rst_count")].parse().expect("rst_count is a number");
        if rst_count > 0 {
            with_rst += 1;
            let t = parse_spreadsheet_time(&r[col("rst_time")]);
            assert_eq!(epoch_micros(&r[col("rst_ts")]), t);
        } else {
            assert_eq!(&r[col("rst_time")], "");
            assert_eq!(&r[col("rst_ts")], "");
        }
        let order_key = (first, key.0.clone(), key.1.clone());
        if let Some(p) = &previous {
            assert!(
                p <= &order_key,
                "rows in first_time order: {p:?} then {order_key:?}"
            );
        }
        previous = Some(order_key);
    }
    assert!(with_rst > 0);

    libreoffice_reads_dates(&out.stdout, rows.len());
}

/// LibreOffice's own reading, where it is installed.
fn libreoffice_reads_dates(csv: &[u8], rows: usize) {
    let found = Command::new("soffice").arg("--version").output().is_ok();
    if !found {
        println!(
            "NOTE: soffice (LibreOffice) is not installed: the CSV was checked with the parser rules above, not by LibreOffice"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("rstscope-calc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flows.csv");
    std::fs::write(&path, csv).unwrap();
    let status = Command::new("soffice")
        .args(["--headless", "--convert-to", "fods", "--outdir"])
        .arg(&dir)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let fods = std::fs::read_to_string(dir.join("flows.fods")).unwrap();
    let dates = fods.matches("office:value-type=\"date\"").count();
    assert!(
        dates >= 2 * rows,
        "first_time and last_time of every row are dates to Calc ({dates} date cells, {rows} rows)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A long connection that starts first and is still open at the end, a
/// second long one half a second later, a short one that starts at 1 s and
/// closes, and a last one that starts 10 s later: the short one finishes
/// first, the others at the end by first frame, so finish order is 1002,
/// 1001, 1004, 1003. Time order puts 1004 before 1002 even though 1002 had
/// finished and waited: the two long ones finish only at the end.
fn out_of_order_capture() -> Vec<u8> {
    use support::{ethernet, Pcap, Tcp, ACK, FIN, SYN};
    let mut pcap = Pcap::new(1, false, false);
    let s = "10.0.0.1:80";
    let t0 = 1_700_000_000_000_000_000u64;
    let sec = 1_000_000_000u64;
    let handshake = |c: &str| {
        [
            Tcp::new(c, s, SYN).seq(100),
            Tcp::new(s, c, SYN | ACK).seq(500).ack(101),
            Tcp::new(c, s, ACK).seq(101).ack(501),
        ]
    };
    let at = |pcap: &mut Pcap, t: u64, segs: &[Tcp]| {
        for (k, seg) in segs.iter().enumerate() {
            pcap.packet(t + k as u64 * 1000, &ethernet(&seg.ip(), &[]));
        }
    };
    at(&mut pcap, t0, &handshake("10.0.0.2:1001"));
    at(&mut pcap, t0 + sec / 2, &handshake("10.0.0.2:1004"));
    let b = "10.0.0.2:1002";
    let mut short = handshake(b).to_vec();
    short.extend([
        Tcp::new(b, s, FIN | ACK).seq(101).ack(501),
        Tcp::new(s, b, FIN | ACK).seq(501).ack(102),
        Tcp::new(b, s, ACK).seq(102).ack(502),
    ]);
    at(&mut pcap, t0 + sec, &short);
    at(&mut pcap, t0 + 10 * sec, &handshake("10.0.0.2:1003"));
    pcap.bytes
}

#[test]
fn json_and_csv_rows_are_in_time_order_and_ndjson_in_finish_order() {
    let path = std::env::temp_dir().join(format!("rstscope-order-{}.pcap", std::process::id()));
    std::fs::write(&path, out_of_order_capture()).unwrap();
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
            .args(["flows", "--format", format])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let ports = |rows: Vec<serde_json::Value>| -> Vec<u64> {
        rows.iter()
            .map(|r| r["client_port"].as_u64().unwrap())
            .collect()
    };
    let json: Vec<serde_json::Value> = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(ports(json), [1001, 1004, 1002, 1003], "JSON by first_time");
    let nd: Vec<serde_json::Value> = run("ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        ports(nd),
        [1002, 1001, 1004, 1003],
        "NDJSON as connections finish"
    );
    let csv = run("csv");
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "client_port")
        .unwrap();
    let csv_ports: Vec<u64> = r
        .records()
        .map(|x| x.unwrap()[col].parse().unwrap())
        .collect();
    assert_eq!(csv_ports, [1001, 1004, 1002, 1003], "CSV by first_time");
    let _ = std::fs::remove_file(path);
}
