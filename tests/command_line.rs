//! One consistent command line, through the built binary: `-o` and
//! `--format` where a format makes sense, clap's suggestion for a mistyped
//! command, shell completions and a man page, `--version` with the commit,
//! the report stating its filters and what they matched, plurals, and I/O
//! errors that name their path.

use std::path::PathBuf;
use std::process::{Command, Output};

const INCIDENT: &str = "fixtures/incident.pcap";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rstscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rstscope"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run rstscope")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rstscope-cl-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// tshark's connections (tcp.streams) of incident.pcap: (client, server).
fn tshark_streams() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("fixtures/facts.tsv")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (f, c, s) = (col("file"), col("client"), col("server"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|r| r[f] == "incident.pcap")
        .map(|r| (r[c].to_string(), r[s].to_string()))
        .collect()
}

#[test]
fn timeline_takes_format_json_and_o() {
    let o = rstscope(&[
        "timeline",
        "--format",
        "json",
        "--outcome",
        "post-handshake-rst",
        INCIDENT,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out(&o)).expect("a JSON array");
    assert_eq!(rows.len(), 5, "incident.expect.json: 5 post-handshake-rst");
    for r in &rows {
        assert_eq!(r["outcome"], "post-handshake-rst");
        let lines = r["timeline"].as_array().expect("timeline lines");
        assert!(
            lines.iter().any(|l| l.as_str().unwrap().contains("[R.]")),
            "{r}"
        );
    }
    let file = tmp("timeline.txt");
    let o = rstscope(&[
        "timeline",
        "--limit",
        "1",
        "-o",
        file.to_str().unwrap(),
        INCIDENT,
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty(), "written to -o, not standard output");
    assert!(std::fs::read_to_string(&file).unwrap().contains(" -> "));
}

#[test]
fn a_mistyped_command_gets_a_suggestion() {
    let o = rstscope(&["reprot", INCIDENT]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("unrecognized subcommand 'reprot'"),
        "{}",
        err(&o)
    );
    assert!(
        err(&o).contains("a similar subcommand exists: 'report'"),
        "{}",
        err(&o)
    );
    let o = rstscope(&["flwos", INCIDENT]);
    assert!(err(&o).contains("'flows'"), "{}", err(&o));
    // A capture path is still a report, and a path like no command is
    // still a capture that cannot be opened.
    assert_eq!(rstscope(&[INCIDENT]).status.code(), Some(0));
    let o = rstscope(&["no-such-capture.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("no-such-capture.pcap: cannot open"),
        "{}",
        err(&o)
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = rstscope(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        let script = out(&o);
        for cmd in ["report", "flows", "timeline", "check"] {
            assert!(script.contains(cmd), "{shell} completes {cmd}");
        }
    }
    // bash itself must accept the script.
    let script = tmp("rstscope.bash");
    std::fs::write(&script, rstscope(&["completions", "bash"]).stdout).unwrap();
    match Command::new("bash").arg("-n").arg(&script).status() {
        Ok(s) => assert!(s.success(), "bash -n accepts the completion script"),
        Err(_) => println!("NOTE: bash not found: completion syntax not checked"),
    }
    let o = rstscope(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = out(&o);
    assert!(page.contains(".TH rstscope 1"), "{page}");
    assert!(page.contains("completions"));
}

#[test]
fn version_names_the_commit_and_its_date() {
    let o = rstscope(&["--version"]);
    let v = out(&o);
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root())
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match (
        git(&["rev-parse", "--short=7", "HEAD"]),
        git(&["log", "-1", "--format=%cs"]),
    ) {
        (Some(commit), Some(date)) => assert_eq!(
            v.trim(),
            format!("rstscope {} ({commit} {date})", env!("CARGO_PKG_VERSION"))
        ),
        _ => {
            println!("NOTE: not a git checkout: --version has no commit");
            assert_eq!(v.trim(), format!("rstscope {}", env!("CARGO_PKG_VERSION")));
        }
    }
}

#[test]
fn the_report_states_its_filters_and_what_they_matched() {
    let streams = tshark_streams();
    let on_2133 = streams.iter().filter(|(_, s)| s.ends_with(":2133")).count();
    let o = rstscope(&["report", "--port", "2133", INCIDENT]);
    assert!(
        out(&o).contains(&format!(
            "filter      --port 2133: matched {on_2133} of the {} connections",
            streams.len()
        )),
        "{}",
        out(&o)
    );
    let o = rstscope(&["report", "--port", "9", INCIDENT]);
    assert!(
        out(&o).contains(&format!(
            "--port 9: matched none of the {} connections",
            streams.len()
        )),
        "{}",
        out(&o)
    );
    let o = rstscope(&["report", "--format", "json", "--port", "2133", INCIDENT]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["filter"]["given"], "--port 2133");
    assert_eq!(v["filter"]["matched"], on_2133 as u64);
    assert_eq!(v["filter"]["connections"], streams.len() as u64);
    let o = rstscope(&["report", "--format", "json", INCIDENT]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["filter"].is_null(), "no filters: null");
    assert!(!out(&rstscope(&["report", INCIDENT])).contains("filter "));

    // Where the output has no header, standard error says nothing matched.
    let o = rstscope(&["flows", "--port", "9", INCIDENT]);
    assert!(
        err(&o).contains("--port 9 matched none of the"),
        "{}",
        err(&o)
    );
}

#[test]
fn one_is_singular() {
    // incident.expect.json: exactly one refused connection.
    let o = rstscope(&["report", "--outcome", "refused", INCIDENT]);
    let t = out(&o);
    assert!(t.contains("Outcomes (1 connection)\n"), "{t}");
    assert!(t.contains("refused on 127.0.0.1:"), "{t}");
    assert!(
        t.contains(": 1 connection,") || t.contains(": 1 connection\n"),
        "{t}"
    );
    assert!(!t.contains("1 connections"), "{t}");
}

#[test]
fn io_errors_name_their_path() {
    let missing = std::env::temp_dir().join(format!("rstscope-no-dir-{}", std::process::id()));
    let target = missing.join("out.csv");
    let t = target.to_str().unwrap();
    for args in [
        vec!["flows", "-o", t, INCIDENT],
        vec!["report", "-o", t, INCIDENT],
        vec!["timeline", "-o", t, INCIDENT],
        vec![
            "check",
            "--fail-on",
            "refused",
            "--format",
            "junit",
            "-o",
            t,
            INCIDENT,
        ],
    ] {
        let o = rstscope(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            err(&o).trim_end(),
            format!("rstscope: {t}: cannot create: No such file or directory (os error 2)"),
            "{args:?}"
        );
    }
    let o = rstscope(&["check", "--expect", t, INCIDENT]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains(&format!("{t}: cannot read")),
        "{}",
        err(&o)
    );
}
