//! Reads an HTML report (as rstscope wrote it, or as headless Chromium
//! dumped its DOM) well enough to hold it to the JSON report: every element
//! with `data-json="<pointer>"` must show, as its only text, the JSON value
//! at that pointer; one with `data-value` must carry it there too. An
//! element with `data-k="<key>"` is the same for the pointer
//! `<data-base of the latest element that has one>/<key>` (table rows and
//! ladder arrows name their fields that way).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// One start tag and, when the element holds nothing but text, that text.
#[derive(Clone, Debug)]
pub struct Element {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    /// Text before the next tag, when that tag closes this element.
    pub leaf_text: Option<String>,
}

impl Element {
    pub fn attr(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';').filter(|e| *e < 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..end];
        let c = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every start tag of `html`, in order (comments, doctype and the bodies of
/// `script` and `style` skipped).
pub fn elements(html: &str) -> Vec<Element> {
    let b = html.as_bytes();
    let mut out: Vec<Element> = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        if html[start..].starts_with("<!--") {
            i = html[start..].find("-->").map_or(b.len(), |e| start + e + 3);
            continue;
        }
        if html[start..].starts_with("<!") {
            i = html[start..].find('>').map_or(b.len(), |e| start + e + 1);
            continue;
        }
        if html[start..].starts_with("</") {
            i = html[start..].find('>').map_or(b.len(), |e| start + e + 1);
            continue;
        }
        // Tag name.
        let mut j = start + 1;
        while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' && b[j] != b'/' {
            j += 1;
        }
        let name = html[start + 1..j].to_ascii_lowercase();
        let mut attrs = BTreeMap::new();
        // Attributes until '>' (quoted values may hold '>').
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                j += 1;
            }
            if j >= b.len() || b[j] == b'>' {
                break;
            }
            let k0 = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'=' && b[j] != b'>' {
                j += 1;
            }
            let k = html[k0..j].to_string();
            let mut v = String::new();
            if j < b.len() && b[j] == b'=' {
                j += 1;
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let q = b[j];
                    let v0 = j + 1;
                    j = v0;
                    while j < b.len() && b[j] != q {
                        j += 1;
                    }
                    v = unescape(&html[v0..j.min(b.len())]);
                    j += 1;
                } else {
                    let v0 = j;
                    while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                        j += 1;
                    }
                    v = unescape(&html[v0..j]);
                }
            }
            attrs.insert(k, v);
        }
        let after = (j + 1).min(b.len());
        let next = html[after..].find('<').map_or(b.len(), |n| after + n);
        let closes = html[next..].starts_with(&format!("</{name}>"));
        let leaf_text = closes.then(|| unescape(&html[after..next]));
        i = if name == "script" || name == "style" {
            html[after..]
                .find(&format!("</{name}"))
                .map_or(b.len(), |e| after + e)
        } else {
            after
        };
        out.push(Element {
            name,
            attrs,
            leaf_text,
        });
    }
    out
}

/// What a page showed, once checked against its JSON.
#[derive(Debug, Default)]
pub struct Checked {
    /// Elements whose value was compared with the JSON.
    pub values: usize,
    /// `data-chart` kind → how many.
    pub charts: BTreeMap<String, usize>,
    /// `data-table` name → how many.
    pub tables: BTreeMap<String, usize>,
    /// Rows of the connections table.
    pub rows: usize,
    /// Ladder arrows.
    pub arrows: usize,
}

/// The JSON value as the page must show it.
fn expected_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => n
            .as_u64()
            .map(|u| u.to_string())
            .or_else(|| n.as_i64().map(|i| i.to_string()))
            .unwrap_or_else(|| n.as_f64().unwrap_or(f64::NAN).to_string()),
        other => other.to_string(),
    }
}

fn same(shown: &str, want: &Value) -> bool {
    match want {
        Value::Number(n) if n.is_f64() => {
            // A float may be shown rounded to microseconds (ladder times).
            let w = n.as_f64().unwrap_or(f64::NAN);
            shown
                .trim()
                .parse::<f64>()
                .is_ok_and(|s| (s - w).abs() <= 5e-7 + 1e-12 * w.abs())
        }
        _ => shown == expected_text(want),
    }
}

/// Holds every `data-json` element of `html` to `doc`.
pub fn check(html: &str, doc: &Value) -> Result<Checked, String> {
    let mut c = Checked::default();
    let mut errors = Vec::new();
    let mut base = String::new();
    for e in elements(html) {
        if let Some(b) = e.attr("data-base") {
            base = b.to_string();
        }
        if let Some(kind) = e.attr("data-chart") {
            *c.charts.entry(kind.to_string()).or_default() += 1;
        }
        if let Some(t) = e.attr("data-table") {
            *c.tables.entry(t.to_string()).or_default() += 1;
        }
        if e.name == "tr" && e.attr("data-row").is_some() {
            c.rows += 1;
        }
        if e.attr("data-seg").is_some() {
            c.arrows += 1;
        }
        let relative = e.attr("data-k").map(|k| format!("{base}/{k}"));
        if let Some(k) = e.attr("data-k-prefix") {
            // A long text cut short: what is shown must begin the JSON's.
            let p = format!("{base}/{k}");
            let want = doc.pointer(&p).and_then(Value::as_str).unwrap_or("");
            let shown = e.leaf_text.as_deref().unwrap_or("").trim_end_matches('…');
            if shown.is_empty() || !want.starts_with(shown) {
                errors.push(format!("{p}: shows {shown:?}, not the start of {want:?}"));
            }
            c.values += 1;
            continue;
        }
        let Some(p) = e.attr("data-json").or(relative.as_deref()) else {
            continue;
        };
        let Some(want) = doc.pointer(p) else {
            errors.push(format!("{p}: not in the JSON"));
            continue;
        };
        if let Some(v) = e.attr("data-value") {
            if !same(v, want) {
                errors.push(format!("{p}: data-value {v:?}, JSON {want}"));
            }
        } else {
            match &e.leaf_text {
                Some(t) if same(t, want) => {}
                Some(t) => errors.push(format!("{p}: shows {t:?}, JSON {want}")),
                None => errors.push(format!("{p}: <{}> holds more than its value", e.name)),
            }
        }
        c.values += 1;
    }
    if errors.is_empty() {
        Ok(c)
    } else {
        Err(format!(
            "{} mismatches:\n{}",
            errors.len(),
            errors.join("\n")
        ))
    }
}

/// Elements of `html` with the attribute `name`.
pub fn with_attr(html: &str, name: &str) -> Vec<Element> {
    elements(html)
        .into_iter()
        .filter(|e| e.attrs.contains_key(name))
        .collect()
}

/// Number of `data-json` elements in `html` whose pointer starts with `prefix`.
pub fn pointers_under(html: &str, prefix: &str) -> usize {
    elements(html)
        .iter()
        .filter(|e| e.attr("data-json").is_some_and(|p| p.starts_with(prefix)))
        .count()
}

/// Largest page allowed, whatever the capture.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// What every page must be, whatever its data: self-contained and bounded.
pub fn assert_self_contained(page: &str, what: &str) {
    assert!(
        page.len() < MAX_BYTES,
        "{what}: {} bytes, over 2 MB",
        page.len()
    );
    assert!(
        page.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            rstscope::output::html::CSP
        )),
        "{what}: no CSP meta"
    );
    let lower = page.to_ascii_lowercase();
    for bad in ["http://", "https://", "url(", "@import"] {
        assert!(!lower.contains(bad), "{what}: contains {bad:?}");
    }
    // Nothing that loads: no element that fetches, no attribute naming a
    // resource, no link but to the page's own anchors.
    for e in elements(page) {
        assert!(
            !matches!(
                e.name.as_str(),
                "link"
                    | "img"
                    | "iframe"
                    | "object"
                    | "embed"
                    | "video"
                    | "audio"
                    | "source"
                    | "base"
                    | "form"
            ),
            "{what}: <{}>",
            e.name
        );
        for (k, v) in &e.attrs {
            assert!(
                !matches!(
                    k.as_str(),
                    "src" | "srcset" | "action" | "xlink:href" | "poster"
                ),
                "{what}: <{} {k}={v:?}>",
                e.name
            );
            if k == "href" {
                assert!(v.starts_with('#'), "{what}: href={v:?}");
            }
            assert!(!k.starts_with("on"), "{what}: event handler {k}");
        }
        if e.name == "script" {
            assert!(e.attrs.is_empty(), "{what}: <script {:?}>", e.attrs);
        }
    }
}

/// The sections, charts and tables a page of `doc` must have, with as many
/// ladders, bars and rows as the JSON has (up to the page's bounds).
pub fn assert_complete(page: &str, doc: &Value, what: &str) -> Checked {
    let checked = check(page, doc).unwrap_or_else(|e| panic!("{what}: {e}"));
    for s in ["capture", "findings", "servers", "examples", "connections"] {
        assert!(
            page.contains(&format!("data-section=\"{s}\"")),
            "{what}: no {s} section"
        );
    }
    let count = |k: &str| checked.charts.get(k).copied().unwrap_or(0);
    let examples = doc["examples"].as_array().map_or(0, Vec::len);
    let with_segments = doc["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .take(24)
        .filter(|e| e["segments"].is_array())
        .count();
    let in_findings = doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["examples"].as_array().into_iter().flatten())
        .filter(|e| e["segments"].is_array())
        .count();
    assert_eq!(
        count("ladder"),
        with_segments + in_findings,
        "{what}: ladders (of {examples} examples)"
    );
    let arrows: usize = doc["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .take(24)
        .chain(
            doc["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|f| f["examples"].as_array().into_iter().flatten()),
        )
        .filter_map(|e| e["segments"].as_array().map(Vec::len))
        .sum();
    assert_eq!(checked.arrows, arrows, "{what}: ladder arrows");
    let servers = doc["servers"].as_array().map_or(0, Vec::len).min(40);
    assert_eq!(count("server-outcomes"), servers, "{what}: server bars");
    let findings = doc["findings"].as_array().map_or(0, Vec::len);
    if doc.get("timeseries").is_some() {
        assert!(
            count("timeseries") >= findings.max(1),
            "{what}: {} time charts for {findings} findings",
            count("timeseries")
        );
    } else {
        assert_eq!(
            count("timeseries"),
            0,
            "{what}: time chart without a series"
        );
    }
    if doc["table"].is_object() {
        assert_eq!(
            checked.tables.get("connections"),
            Some(&1),
            "{what}: connections table"
        );
        assert_eq!(
            checked.rows,
            doc["table"]["rows"].as_array().map_or(0, Vec::len),
            "{what}: table rows"
        );
    }
    assert_eq!(
        checked.tables.get("capture"),
        Some(&1),
        "{what}: capture table"
    );
    checked
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every readable fixture capture (the `bad-*` ones exit 2 by design).
pub fn fixture_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures"))
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (name.ends_with(".pcap") || name.ends_with(".pcapng")) && !name.starts_with("bad-")
        })
        .collect();
    v.sort();
    v
}

pub fn report(format: &str, capture: &Path, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .args(["report", "--quiet", "--format", format, "-o"])
        .arg(out)
        .arg(capture)
        .status()
        .expect("run rstscope");
    assert!(status.success(), "{format} report of {}", capture.display());
}

pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rstscope-html-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
