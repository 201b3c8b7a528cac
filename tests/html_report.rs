//! `report --format html` without a browser: for every fixture the page the
//! binary writes shows exactly the numbers of `report --format json` (by the
//! JSON pointers its elements carry), has every section, chart and table,
//! fetches nothing, and stays under 2 MB; the hand-written report in
//! `diagnosis.md`'s shape (`tests/html/findings-sample.json`) exercises the
//! findings and their charts before the real diagnosis lands; hostile words
//! from a capture are escaped. `tests/browser.rs` does the same in Chromium.

#[path = "support/html_dom.rs"]
mod html_dom;

use html_dom::{assert_complete, assert_self_contained, fixture_captures, report, root, temp_dir};
use serde_json::{json, Value};

#[test]
fn every_fixture_page_shows_the_json_reports_numbers() {
    let dir = temp_dir("fixtures");
    let mut sizes = Vec::new();
    for capture in fixture_captures() {
        let name = capture.file_name().unwrap().to_string_lossy().to_string();
        let (json_path, html_path) = (
            dir.join(format!("{name}.json")),
            dir.join(format!("{name}.html")),
        );
        report("json", &capture, &json_path);
        report("html", &capture, &html_path);
        let doc: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
        let page = std::fs::read_to_string(&html_path).unwrap();
        // The binary writes the page in parts (findings and servers one at
        // a time): the same bytes as the page of the whole value.
        assert!(
            page == rstscope::output::html::render(&doc),
            "{name}: the page written in parts differs from the page of the whole JSON"
        );
        assert_self_contained(&page, &name);
        let checked = assert_complete(&page, &doc, &name);
        // The capture block's counters are all on the page.
        for k in ["packets_read", "tcp_segments"] {
            assert!(
                page.contains(&format!("data-json=\"/capture/{k}\"")),
                "{name}: {k}"
            );
        }
        for (o, n) in doc["outcomes"].as_object().unwrap() {
            if n.as_u64().unwrap_or(0) > 0 {
                assert!(
                    page.contains(&format!("data-json=\"/outcomes/{o}\"")),
                    "{name}: {o}"
                );
            }
        }
        assert!(
            checked.values > 20,
            "{name}: only {} values",
            checked.values
        );
        sizes.push(format!("{name} {}", page.len()));
    }
    assert!(sizes.len() >= 20, "fixtures: {sizes:?}");
    println!("HTML sizes (bytes):\n{}", sizes.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn sample() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/html/findings-sample.json")).expect("sample"),
    )
    .expect("sample JSON")
}

#[test]
fn findings_and_their_charts_from_the_sample_in_the_diagnosis_shape() {
    let doc = sample();
    let page = rstscope::output::html::render(&doc);
    assert_self_contained(&page, "sample");
    let checked = assert_complete(&page, &doc, "sample");
    assert!(page.contains("data-findings=\"3\""));
    // One chart per finding whose servers have a series, each with its
    // window shaded.
    assert_eq!(checked.charts.get("timeseries"), Some(&3));
    assert_eq!(page.matches("data-window=\"1\"").count(), 3);
    // Every nonzero count of the finding servers' series is a bar.
    let series = doc["timeseries"]["series"].as_array().unwrap();
    let finding_servers: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            std::iter::once(&f["server"]).chain(f["servers"].as_array().into_iter().flatten())
        })
        .filter_map(Value::as_str)
        .collect();
    let mut drawn = std::collections::BTreeSet::new();
    let mut base = String::new();
    for e in html_dom::elements(&page) {
        if let Some(b) = e.attr("data-base") {
            base = b.to_string();
        }
        if let Some(k) = e.attr("data-k").filter(|k| k.starts_with("counts/")) {
            drawn.insert(format!("{base}/{k}"));
        }
    }
    for (k, s) in series.iter().enumerate() {
        if !finding_servers.contains(&s["server"].as_str().unwrap()) {
            continue;
        }
        for (b, n) in s["counts"].as_array().unwrap().iter().enumerate() {
            let p = format!("/timeseries/series/{k}/counts/{b}");
            assert_eq!(drawn.contains(&p), n.as_u64().unwrap() > 0, "{p}");
        }
    }
    for f in doc["findings"].as_array().unwrap() {
        assert!(page.contains(&format!("data-kind=\"{}\"", f["kind"].as_str().unwrap())));
    }
    // A finding's example with its own segments gets its own ladder, with
    // the segments not kept counted.
    assert!(page.contains("data-json-base=\"/findings/1/examples/0\""));
    assert!(page.contains("data-gap=\"2\""));
    // The example without segments links to the report's ladder of it.
    assert!(page.contains("href=\"#ex-0\""));
    assert!(page.contains("<code>ss -lnt</code>"));
}

#[test]
fn hostile_words_from_the_capture_are_escaped() {
    let page = rstscope::output::html::render(&sample());
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;quoted&quot;.pcap"));
    assert!(!page.contains("<img src=x"));
    assert!(!page.contains("<svg onload"));
    assert!(!page.contains("<b>not bold</b>"));
    // Only the page's own two scripts.
    assert_eq!(page.matches("<script").count(), 2);
}

#[test]
fn todays_json_without_findings_segments_or_table_still_reads() {
    let mut doc = sample();
    let obj = doc.as_object_mut().unwrap();
    for k in ["findings", "timeseries", "table", "version"] {
        obj.remove(k);
    }
    for e in obj["examples"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("segments");
    }
    let page = rstscope::output::html::render(&doc);
    assert_self_contained(&page, "old shape");
    let checked = assert_complete(&page, &doc, "old shape");
    assert_eq!(checked.charts.get("ladder"), None);
    // The text timelines stand in for the ladders.
    assert!(page.contains("<pre class=\"timeline\">"));
    assert!(page.contains("data-groups="));
    assert!(page.contains("no connections table"));
}

#[test]
fn a_huge_report_stays_under_2_mb() {
    // Far more of everything than a default report holds: the page's own
    // bounds keep it small.
    let mut doc = sample();
    // The longest example the tracker keeps (16 + 8 + 16 segments) and
    // long evidence everywhere.
    let mut example = doc["examples"][0].clone();
    let seg = example["segments"][3].clone();
    example["segments"] = (0..40)
        .map(|k| {
            let mut s = seg.clone();
            s["ord"] = json!(k * 1000);
            s["notes"] = json!(["a note of some length about this deciding segment"]);
            s
        })
        .collect::<Vec<_>>()
        .into();
    example["packets_c2s"] = json!(1_000_000);
    let long = "evidence of a realistic length ".repeat(20);
    example["evidence"] = json!(long);
    let mut row = doc["table"]["rows"][0].clone();
    row["evidence"] = json!(long);
    row["rst_suspect"] = json!("TTL delta 12; idle 45 s before the RST");
    let obj = doc.as_object_mut().unwrap();
    obj.insert(
        "servers".into(),
        (0..20_000)
            .map(|i| {
                json!({"server": format!("10.{}.{}.1:80", i / 250, i % 250), "connections": 3,
                            "outcomes": {"refused": 2, "clean": 1}})
            })
            .collect::<Vec<_>>()
            .into(),
    );
    obj.insert("examples".into(), vec![example; 20_000].into());
    obj.insert(
        "table".into(),
        json!({"total": 1_000_000, "limit": 500, "rows": vec![row; 500]}),
    );
    let series: Vec<Value> = (0..5_000)
        .map(|i| json!({"server": "127.0.0.1:2133", "outcome": if i % 2 == 0 { "refused" } else { "unanswered" },
                        "counts": vec![i % 7; 60]}))
        .collect();
    obj["timeseries"]["series"] = series.into();
    let page = rstscope::output::html::render(&doc);
    assert_self_contained(&page, "huge");
    assert!(page.contains("data-more-servers=\"19960\""));
    assert!(page.contains("data-more-examples=\"19976\""));
    assert!(page.contains("smaller series not drawn"));
    println!("huge report: {} bytes", page.len());
}
