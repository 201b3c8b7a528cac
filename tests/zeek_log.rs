//! `flows --format zeek` read back as a Zeek TSV reader (and zeek-cut) reads
//! a log: by its own `#fields` and `#types` header, with Zeek's unset and
//! empty markers, every value of the type the header names, and the same
//! connections as `flows --format json` on the same capture.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;

use serde_json::Value;

fn rstscope(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run rstscope");
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    out.stdout
}

struct Log {
    meta: BTreeMap<String, String>,
    rows: Vec<BTreeMap<String, String>>,
    types: BTreeMap<String, String>,
    close: Option<String>,
}

/// A minimal reader of Zeek's ASCII format, driven only by the header.
fn read(text: &str) -> Log {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("#separator \\x09"), "first line");
    let mut meta = BTreeMap::new();
    let mut fields: Vec<String> = Vec::new();
    let mut types = BTreeMap::new();
    let mut rows = Vec::new();
    let mut close = None;
    for line in lines {
        if let Some(m) = line.strip_prefix('#') {
            let (k, v) = m.split_once('\t').expect("#key\\tvalue");
            match k {
                "fields" => fields = v.split('\t').map(String::from).collect(),
                "types" => {
                    let t: Vec<&str> = v.split('\t').collect();
                    assert_eq!(t.len(), fields.len(), "#types after #fields, one per field");
                    types = fields
                        .iter()
                        .cloned()
                        .zip(t.iter().map(|x| x.to_string()))
                        .collect();
                }
                "close" => close = Some(v.to_string()),
                _ => {
                    meta.insert(k.to_string(), v.to_string());
                }
            }
            continue;
        }
        assert!(close.is_none(), "a row after #close");
        let cells: Vec<&str> = line.split('\t').collect();
        assert_eq!(cells.len(), fields.len(), "row {line:?}");
        rows.push(
            fields
                .iter()
                .cloned()
                .zip(cells.iter().map(|c| c.to_string()))
                .collect(),
        );
    }
    Log {
        meta,
        rows,
        types,
        close,
    }
}

/// A value is `-` (unset) or of its Zeek type.
fn well_typed(ty: &str, v: &str) -> bool {
    if v == "-" {
        return true;
    }
    match ty {
        "time" | "interval" => {
            v.parse::<f64>().is_ok() && v.split_once('.').is_some_and(|(_, f)| f.len() == 6)
        }
        "count" | "port" => v.parse::<u64>().is_ok(),
        "int" => v.parse::<i64>().is_ok(),
        "bool" => v == "T" || v == "F",
        "addr" => v.parse::<IpAddr>().is_ok(),
        "enum" => !v.is_empty(),
        "string" => !v.is_empty() && !v.contains('\t'),
        _ => false,
    }
}

#[test]
fn conn_log_reads_back_by_its_header() {
    let text = String::from_utf8(rstscope(&[
        "flows",
        "--format",
        "zeek",
        "fixtures/incident.pcap",
    ]))
    .expect("utf8");
    let log = read(&text);
    assert_eq!(log.meta["set_separator"], ",");
    assert_eq!(log.meta["empty_field"], "(empty)");
    assert_eq!(log.meta["unset_field"], "-");
    assert_eq!(log.meta["path"], "conn");
    // #open and #close: the capture's time span (first and last packet).
    assert_eq!(log.meta["open"], "2026-11-21-13-31-24");
    assert_eq!(log.close.as_deref(), Some("2026-11-21-13-31-25"));
    let zeek_first = [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "service",
        "duration",
        "orig_bytes",
        "resp_bytes",
        "conn_state",
        "local_orig",
        "local_resp",
        "missed_bytes",
        "history",
        "orig_pkts",
        "orig_ip_bytes",
        "resp_pkts",
        "resp_ip_bytes",
        "community_id",
    ];
    let header: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .expect("#fields")
        .split('\t')
        .collect();
    assert!(header.len() > zeek_first.len());
    assert_eq!(&header[..zeek_first.len()], &zeek_first[..]);
    for name in ["outcome", "rst_by", "rst_reply_to", "evidence"] {
        assert!(header.contains(&name), "{name} missing");
    }
    // Zeek's own types for its fields.
    assert_eq!(log.types["ts"], "time");
    assert_eq!(log.types["id.orig_h"], "addr");
    assert_eq!(log.types["id.resp_p"], "port");
    assert_eq!(log.types["duration"], "interval");
    assert_eq!(log.types["proto"], "enum");
    assert_eq!(log.types["orig_pkts"], "count");

    let flows: Vec<Value> = serde_json::from_slice(&rstscope(&[
        "flows",
        "--format",
        "json",
        "fixtures/incident.pcap",
    ]))
    .expect("json");
    assert_eq!(log.rows.len(), flows.len());
    let mut uids = std::collections::BTreeSet::new();
    for (row, f) in log.rows.iter().zip(&flows) {
        for (name, v) in row {
            assert!(
                well_typed(&log.types[name], v),
                "{name} ({}) = {v:?}",
                log.types[name]
            );
        }
        // zeek-cut id.resp_p conn_state outcome: the JSON row's values.
        assert_eq!(row["id.resp_p"], f["server_port"].to_string());
        assert_eq!(row["id.orig_h"], f["client"].as_str().unwrap_or(""));
        assert_eq!(row["conn_state"], f["zeek_state"].as_str().unwrap_or(""));
        assert_eq!(row["outcome"], f["outcome"].as_str().unwrap_or(""));
        assert_eq!(
            row["community_id"],
            f["community_id"].as_str().unwrap_or("")
        );
        assert_eq!(row["tcp_stream"], f["tcp_stream"].to_string());
        assert_eq!(row["proto"], "tcp");
        assert_eq!(row["service"], "-");
        assert_eq!(row["local_orig"], "-");
        assert_eq!(row["orig_pkts"], f["packets_c2s"].to_string());
        // Unset exactly where the JSON row has null.
        match f["rst_by"].as_str() {
            Some(by) => assert_eq!(row["rst_by"], by),
            None => assert_eq!(row["rst_by"], "-"),
        }
        assert_eq!(row["rst_count"] == "-", f["rst_count"].is_null());
        assert_eq!(row["handshake_rtt"] == "-", f["handshake_rtt"].is_null());
        let uid = &row["uid"];
        assert!(uid.len() == 18 && uid.starts_with('C'), "{uid}");
        assert!(uids.insert(uid.clone()), "uid {uid} twice");
    }
    // Deterministic: the same capture gives the same bytes.
    assert_eq!(
        text.as_bytes(),
        &rstscope(&["flows", "--format", "zeek", "fixtures/incident.pcap"])[..]
    );
}

#[test]
fn empty_capture_is_a_valid_log() {
    let text = String::from_utf8(rstscope(&[
        "flows",
        "--format",
        "zeek",
        "fixtures/open.pcap",
        "--outcome",
        "refused",
    ]))
    .expect("utf8");
    let log = read(&text);
    assert!(log.rows.is_empty());
    assert!(log.types.contains_key("ts"));
    assert!(log.close.is_some());
}
