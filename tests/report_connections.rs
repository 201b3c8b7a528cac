//! The report's connection sections on the mixed incident capture tell the
//! three incidents in plain words, per server, with deciding segments marked.

use std::path::Path;

use rstscope::output::report::ConnectionReport;
use rstscope::pipeline;
use rstscope::track::TrackerConfig;
use rstscope::wire::Health;

fn report_for(fixture: &str, examples: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let mut health = Health::default();
    let mut rep = ConnectionReport::new(examples);
    pipeline::analyse_connections(
        &[path.to_string_lossy().into_owned()],
        &mut health,
        TrackerConfig::default(),
        &mut |c, f| rep.add(c, f),
    )
    .expect("fixture reads");
    let mut out = Vec::new();
    rep.write(&mut out).expect("write");
    String::from_utf8(out).expect("utf8")
}

#[test]
fn incident_report_tells_the_three_incidents() {
    let text = report_for("incident.pcap", 3);
    println!("{text}");
    // Counts.
    assert!(text.contains("post-handshake-rst           5"), "{text}");
    // Per server table.
    assert!(text.contains("127.0.0.1:2133"));
    // Incident 1: the server never served the connections.
    assert!(text.contains("post-handshake-rst on 127.0.0.1:2133: 5 connections"));
    assert!(text.contains("ulimit -n"));
    // Incident 2: one client-abort among clean, with unread data.
    assert!(text.contains("client-abort on 127.0.0.1:2134: 1 connection"));
    assert!(text.contains("likely never read"));
    // Incident 3: CLOSE_WAIT with the stuck side and how long.
    assert!(text.contains("half-closed on 127.0.0.1:2135"));
    assert!(text.contains("CLOSE_WAIT for"));
    // Timelines with the deciding segments marked; --timelines bounds them.
    assert!(text.contains("<- server reset"));
    assert_eq!(text.matches("127.0.0.1:2133, reset by server").count(), 3);
}

#[test]
fn timelines_zero_keeps_no_examples() {
    let text = report_for("incident.pcap", 0);
    assert!(!text.contains("<- "));
    assert!(text.contains("Outcomes (22 connections)"));
}
