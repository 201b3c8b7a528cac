//! The report on the mixed incident capture leads with its findings, per
//! server, with the moment of each and marked example timelines. The
//! capture's story is known from how fixtures/scenarios.py made it: five
//! requests left un-accepted on 127.0.0.1:2133 until the listener closed
//! (all five RSTs within a millisecond), a pool of ten connections to
//! 127.0.0.1:2134 shut down at once (one holding unread data: RST), one
//! connection to 127.0.0.1:2135 left in CLOSE_WAIT, and a refused SYN to
//! 127.0.0.1:2137.

use std::path::Path;

use rstscope::output::report::ConnectionReport;
use rstscope::pipeline;
use rstscope::track::TrackerConfig;
use rstscope::wire::Health;

fn report_for(fixture: &str, timelines: usize) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let mut health = Health::default();
    let mut rep = ConnectionReport::new(timelines);
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
fn incident_report_leads_with_the_findings() {
    let text = report_for("incident.pcap", 3);
    println!("{text}");
    let first: Vec<&str> = text.lines().take(12).collect();
    let screen = first.join("\n");
    assert!(
        screen.contains("client-shutdown on client 127.0.0.1 (to 127.0.0.1:2134): 10 connections"),
        "{screen}"
    );
    assert!(
        screen.contains("listener-closed on 127.0.0.1:2133: 5 connections"),
        "{screen}"
    );
    assert!(
        screen.contains("close-wait-pileup on 127.0.0.1:2135: 1 connection"),
        "{screen}"
    );
    assert!(
        screen.contains("refused on 127.0.0.1:2137: 1 connection"),
        "{screen}"
    );
    // A chart per finding with its UTC axis.
    assert!(screen.contains(" UTC"), "{screen}");
    assert!(screen.contains('█'), "{screen}");
    // Counts and the servers table follow.
    assert!(text.contains("post-handshake-rst           5"), "{text}");
    assert!(text.contains("127.0.0.1:2133"));
    // Detail: variants, causes, checks and marked timelines.
    assert!(text.contains("variants  fin 9, rst 1"), "{text}");
    assert!(text.contains("ss -tanp state close-wait"));
    assert!(text.contains("<- server reset"));
}

#[test]
fn timelines_zero_prints_no_timeline() {
    let text = report_for("incident.pcap", 0);
    assert!(!text.contains("<- "));
    assert!(text.contains("Outcomes (22 connections)"));
}
