//! Issue 9, time and identity: clock steps, records out of order, sequence
//! numbers past 2 GiB, SYN retransmissions answered by bare RSTs, evicted
//! connections and unknown window scales, through the built binary. The
//! captures come from `tests/support/captures.rs`.

mod support;

use serde_json::{json, Value};
use support::bin::{field, flows, report_json, rows_of_port, str_field, text, Checks, TempCapture};
use support::captures;

/// Rows, one per line, for a failure message.
fn listing(rows: &[Value]) -> String {
    rows.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one row of a capture that must give exactly one connection.
fn only_row(rows: &[Value]) -> &Value {
    assert_eq!(
        rows.len(),
        1,
        "expected one connection, got {}:\n{}",
        rows.len(),
        listing(rows)
    );
    &rows[0]
}

/// `capture.clock_steps[i]` is a step `direction` at `frame`; its size
/// (when `seconds` is given) within 10 ms.
fn check_step(
    ck: &mut Checks,
    capture: &Value,
    i: usize,
    direction: &str,
    frame: u64,
    seconds: Option<f64>,
) {
    let Some(step) = capture.get("clock_steps").and_then(|s| s.get(i)) else {
        ck.that(false, || format!("no clock_steps[{i}]"));
        return;
    };
    ck.field(step, "direction", json!(direction));
    ck.field(step, "frame", json!(frame));
    if let Some(expected) = seconds {
        let found = step.get("seconds").and_then(Value::as_f64);
        ck.that(found.is_some_and(|x| (x - expected).abs() < 0.01), || {
            format!("clock_steps[{i}].seconds is {found:?}, expected {expected}")
        });
    }
}

fn clock_step_back_keeps_one_connection(name: &str, back_s: u64) {
    let (bytes, step_frame) = captures::clock_step_back(back_s * captures::S);
    let cap = TempCapture::new(name, &bytes);
    let rows = flows(&cap, &[]);
    let r = only_row(&rows);
    let mut ck = Checks::new();
    ck.field(r, "outcome", json!("rst-after-close"));
    ck.field(r, "rst_by", json!("client"));
    ck.field(r, "roles_inferred", json!(false));
    ck.field(r, "rst_count", json!(1));
    ck.field(r, "end_reason", json!("reset"));

    let c = report_json(&cap, &[])["capture"].clone();
    ck.field(&c, "clock_steps_total", json!(1));
    check_step(&mut ck, &c, 0, "back", step_frame, Some(back_s as f64));
    if let Some(step) = c.get("clock_steps").and_then(|s| s.get(0)) {
        ck.field(step, "file", json!(cap.arg()));
    }
    let report = text("report", &cap);
    ck.that(report.contains("clock stepped back"), || {
        "the text report does not say \"clock stepped back\"".into()
    });
    ck.done(&format!("row: {r:#}\ncapture: {c:#}"));
}

#[test]
fn clock_step_back_1s_keeps_one_connection() {
    clock_step_back_keeps_one_connection("step-back-1s", 1);
}

#[test]
fn clock_step_back_1h_keeps_one_connection() {
    clock_step_back_keeps_one_connection("step-back-1h", 3600);
}

#[test]
fn far_future_record_does_not_split_connections() {
    let (bytes, far_frame) = captures::far_future_record();
    let cap = TempCapture::new("far-future", &bytes);
    let rows = flows(&cap, &[]);
    let mut ck = Checks::new();
    let summary: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r["client_port"], r["outcome"]))
        .collect();
    ck.that(rows.len() == 10, || {
        format!("{} rows, expected 10: {summary:?}", rows.len())
    });
    let wrong: Vec<String> = rows
        .iter()
        .filter(|r| {
            r["outcome"] != "clean"
                || r.get("end_reason") != Some(&json!("closed"))
                || r["roles_inferred"] != false
        })
        .map(|r| {
            format!(
                "{} {} end_reason {:?} roles_inferred {}",
                r["client_port"],
                r["outcome"],
                r.get("end_reason"),
                r["roles_inferred"]
            )
        })
        .collect();
    ck.that(wrong.is_empty(), || {
        format!(
            "{} rows not clean/closed/known roles, e.g. {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(3)]
        )
    });

    let c = report_json(&cap, &[])["capture"].clone();
    ck.field(&c, "clock_steps_total", json!(2));
    check_step(&mut ck, &c, 0, "forward", far_frame, None);
    check_step(&mut ck, &c, 1, "back", far_frame + 1, None);
    ck.done(&format!("capture: {c:#}"));
}

/// `-12 us`, `-0.000100 s`, `-3 ms`: a negative duration in a sentence.
fn negative_duration(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    for (i, _) in text.match_indices('-') {
        let mut j = i + 1;
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
            j += 1;
        }
        if j == i + 1 || !b[i + 1].is_ascii_digit() {
            continue;
        }
        let rest = &text[j..];
        let unit = [" us", " ms", " s"].into_iter().find(|u| {
            rest.starts_with(u)
                && !rest[u.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
        });
        if let Some(u) = unit {
            return Some(&text[i..j + u.len()]);
        }
    }
    None
}

#[test]
fn out_of_order_handshake_gives_empty_facts_not_negative() {
    let cap = TempCapture::new("out-of-order", &captures::out_of_order_handshake());
    let rows = flows(&cap, &[]);
    let r = only_row(&rows);
    let mut ck = Checks::new();
    let evidence = str_field(r, "evidence");
    let mut unknown = Vec::new();
    for key in [
        "duration",
        "handshake_rtt",
        "rst_latency",
        "idle_before_rst",
        "rst_after_handshake",
    ] {
        match ck.get(r, key).map(|v| (v.is_null(), v.as_f64())) {
            Some((true, _)) => unknown.push(key),
            Some((false, x)) => {
                ck.that(x.is_some_and(|x| x >= 0.0), || format!("`{key}` is {x:?}"));
            }
            None => {}
        }
    }
    ck.that(!unknown.contains(&"duration"), || "duration is null".into());
    ck.that(negative_duration(evidence).is_none(), || {
        format!("evidence says {:?}", negative_duration(evidence).unwrap())
    });
    ck.that(
        unknown.is_empty() || evidence.contains("out of order"),
        || format!("{unknown:?} empty but the evidence does not say \"out of order\""),
    );
    let timeline = text("timeline", &cap);
    ck.that(!timeline.contains("+-"), || "timeline has \"+-\"".into());
    ck.that(negative_duration(&timeline).is_none(), || {
        format!("timeline says {:?}", negative_duration(&timeline).unwrap())
    });
    ck.done(&format!("row: {r:#}\ntimeline:\n{timeline}"));
}

#[test]
fn one_way_capture_past_2gib() {
    let cap = TempCapture::new("one-way-3gib", &captures::one_way_past_2gib());
    let rows = flows(&cap, &[]);
    let r = only_row(&rows);
    let mut ck = Checks::new();
    ck.field(r, "rst_in_window", json!(true));
    let timeline = text("timeline", &cap);
    let negative: Vec<&str> = timeline.lines().filter(|l| l.contains("ack -")).collect();
    ck.that(negative.is_empty(), || {
        format!(
            "{} timeline lines with a negative ack, e.g. {:?}",
            negative.len(),
            negative.last().unwrap()
        )
    });
    ck.done(&format!("row: {r:#}"));
}

#[test]
fn same_isn_syn_retransmits_answered_by_bare_rsts_are_one_connection() {
    let cap = TempCapture::new("syn-bare-rst", &captures::syn_retransmits_bare_rsts());
    let rows = flows(&cap, &[]);
    let summary: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} at {} rsts {}",
                r["outcome"], r["first_time"], r["rst_count"]
            )
        })
        .collect();
    assert_eq!(rows.len(), 1, "{summary:?}");
    let r = &rows[0];
    let mut ck = Checks::new();
    ck.field(r, "outcome", json!("refused"));
    ck.field(r, "syn_retransmits", json!(4));
    ck.field(r, "rst_count", json!(5));
    ck.field(r, "rst_by", json!("server"));
    ck.done(&format!("row: {r:#}"));
}

#[test]
fn evicted_connection_says_so() {
    let cap = TempCapture::new("evicted", &captures::evicted_then_continues());
    let limit = ["--max-connections", "1"];
    let rows = flows(&cap, &limit);
    let mut ck = Checks::new();
    ck.that(rows.len() == 3, || {
        format!("{} rows, expected 3", rows.len())
    });
    let a = rows_of_port(&rows, 40000);
    assert_eq!(a.len(), 2, "two rows for port 40000:\n{}", listing(&rows));
    ck.field(&a[0], "end_reason", json!("evicted"));
    let first = str_field(&a[0], "evidence");
    ck.that(!first.contains("end of the capture"), || {
        format!("evicted row's evidence: {first}")
    });
    ck.that(field(&a[1], "roles_inferred").is_boolean(), || {
        "roles_inferred not a boolean".into()
    });
    let cont = str_field(&a[1], "evidence");
    ck.that(
        cont.contains("continues") && !cont.contains("sent 0 bytes"),
        || format!("continuation's evidence: {cont}"),
    );
    let c = report_json(&cap, &limit)["capture"].clone();
    ck.field(&c, "connections_finished_early", json!(1));
    ck.done(&listing(&rows));
}

#[test]
fn midstream_rst_past_raw_window_is_unknown() {
    let mut ck = Checks::new();
    let cap = TempCapture::new("midstream-window", &captures::rst_past_raw_window(false));
    let rows = flows(&cap, &[]);
    let midstream = only_row(&rows).clone();
    ck.that(midstream.get("rst_in_window") == Some(&Value::Null), || {
        format!(
            "no handshake (scale unknown): rst_in_window {:?}, expected null",
            midstream.get("rst_in_window")
        )
    });

    // Control: SYNs without the option, so the scale is known to be 0.
    let cap = TempCapture::new("unscaled-window", &captures::rst_past_raw_window(true));
    let rows = flows(&cap, &[]);
    let control = only_row(&rows);
    ck.that(control.get("rst_in_window") == Some(&json!(false)), || {
        format!(
            "scale 0: rst_in_window {:?}, expected false",
            control.get("rst_in_window")
        )
    });
    ck.done(&format!("{midstream:#}\n{control:#}"));
}

#[test]
fn negative_duration_finds_only_negative_durations() {
    assert_eq!(negative_duration("RST -100 us later"), Some("-100 us"));
    assert_eq!(negative_duration("after -0.5 s."), Some("-0.5 s"));
    assert_eq!(negative_duration("in-window, 3 ms later"), None);
    assert_eq!(negative_duration("10.0.0.1:40000-10.0.0.2:80 seq"), None);
    assert_eq!(negative_duration("a -2 segments"), None);
}
