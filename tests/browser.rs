//! The HTML report in a real browser: Debian's Chromium, headless, loads
//! each fixture's page (and the findings sample's), and the DOM it dumps
//! after running the page's script must have every chart and table with the
//! numbers of the JSON report, no Content-Security-Policy violation, and no
//! request the page started in Chromium's network log. A page made to fetch
//! proves the log would show one. Screenshots land in the target directory.
//!
//! Without /usr/bin/chromium the test prints a visible "skipped" line
//! (`tests/browser/install.sh` installs it; `.ci/run` calls that).

#[path = "support/html_dom.rs"]
mod html_dom;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use html_dom::{assert_complete, fixture_captures, report, root, temp_dir};
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium_missing() -> bool {
    if Path::new(CHROMIUM).exists() {
        return false;
    }
    println!("skipped: chromium not installed (bash tests/browser/install.sh installs it)");
    eprintln!("skipped: chromium not installed (bash tests/browser/install.sh installs it)");
    true
}

/// Runs headless Chromium on `url` with `extra` arguments and returns its
/// standard output. No host name resolves, so even the browser's own
/// background requests go nowhere.
fn chromium(profile: &Path, extra: &[String], url: &str) -> String {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait chromium").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} in 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("chromium output")
}

/// URLs of the requests in a NetLog that a page started (Chromium's own
/// background requests have no origin; a file:// page's is "null").
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("netlog");
    // Chromium may end the log without closing the events array.
    let log: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("netlog JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].as_u64();
    log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"].as_u64() == start_job && start_job.is_some())
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

struct Loaded {
    dom: String,
    requests: Vec<String>,
}

fn load(dir: &Path, page: &Path, fragment: &str) -> Loaded {
    let profile = tempdir_in(dir, "profile");
    let netlog = profile.with_extension("netlog.json");
    let dom = chromium(
        &profile,
        &[
            format!("--log-net-log={}", netlog.display()),
            "--net-log-capture-mode=Everything".into(),
            "--dump-dom".into(),
        ],
        &format!("file://{}{fragment}", page.display()),
    );
    let requests = page_requests(&netlog);
    let _ = std::fs::remove_dir_all(&profile);
    Loaded { dom, requests }
}

fn tempdir_in(dir: &Path, name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = dir.join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&d).expect("profile dir");
    d
}

fn screenshot(dir: &Path, page: &Path, png: &Path) {
    let profile = tempdir_in(dir, "shot");
    chromium(
        &profile,
        &[
            "--window-size=1200,1800".into(),
            "--hide-scrollbars".into(),
            format!("--screenshot={}", png.display()),
        ],
        &format!("file://{}", page.display()),
    );
    let _ = std::fs::remove_dir_all(&profile);
    let bytes = std::fs::read(png).expect("screenshot written");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}",
        png.display()
    );
}

/// What the script and the guard left in the DOM: it ran, and nothing was
/// blocked.
fn assert_ran_clean(loaded: &Loaded, what: &str) {
    let root_el = &html_dom::elements(&loaded.dom)[0];
    assert_eq!(root_el.name, "html", "{what}");
    assert_eq!(
        root_el.attr("data-csp-violations"),
        Some("0"),
        "{what}: CSP violations, blocked: {:?}",
        root_el.attr("data-csp-blocked")
    );
    assert!(
        loaded.dom.contains("data-script=\"ready\""),
        "{what}: the page's script did not run"
    );
    assert!(
        loaded.requests.is_empty(),
        "{what}: the page requested {:?}",
        loaded.requests
    );
}

fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let d = target.join("browser");
    std::fs::create_dir_all(&d).expect("target/browser");
    d
}

fn check_fixture(dir: &Path, shots: &Path, capture: &Path) {
    let name = capture.file_name().unwrap().to_string_lossy().to_string();
    let json_path = dir.join(format!("{name}.json"));
    let page = dir.join(format!("{name}.html"));
    report("json", capture, &json_path);
    report("html", capture, &page);
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let loaded = load(dir, &page, "");
    assert_ran_clean(&loaded, &name);
    let seen = assert_complete(&loaded.dom, &doc, &format!("{name} in chromium"));
    assert!(seen.values > 20, "{name}");
    if name == "incident.pcap" {
        screenshot(dir, &page, &shots.join("report-incident.png"));
    }
}

#[test]
fn every_fixture_page_in_chromium() {
    if chromium_missing() {
        return;
    }
    let dir = temp_dir("browser");
    let shots = shots_dir();
    let captures = fixture_captures();
    // Chromium mostly waits while it starts: three at once on two cores.
    let checked: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = captures
            .chunks(captures.len().div_ceil(3).max(1))
            .map(|chunk| {
                let (dir, shots) = (&dir, &shots);
                scope.spawn(move || {
                    for capture in chunk {
                        check_fixture(dir, shots, capture);
                    }
                    chunk.len()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    assert!(checked >= 20, "{checked} fixtures");
    println!(
        "chromium rendered {checked} fixture pages; screenshots in {}",
        shots.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_findings_sample_in_chromium() {
    if chromium_missing() {
        return;
    }
    let dir = temp_dir("browser-sample");
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/html/findings-sample.json")).unwrap(),
    )
    .unwrap();
    let page = dir.join("sample.html");
    std::fs::write(&page, rstscope::output::html::render(&doc)).unwrap();
    let loaded = load(&dir, &page, "");
    assert_ran_clean(&loaded, "sample");
    let seen = assert_complete(&loaded.dom, &doc, "sample in chromium");
    assert_eq!(seen.charts.get("timeseries"), Some(&3));
    // The hostile words stayed words.
    assert!(!loaded.dom.contains("<img"));
    assert!(loaded
        .dom
        .contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
    screenshot(&dir, &page, &shots_dir().join("report-findings-sample.png"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_table_filters_and_sorts_in_chromium() {
    if chromium_missing() {
        return;
    }
    let dir = temp_dir("browser-table");
    let capture = root().join("fixtures/incident.pcap");
    let (json_path, page) = (dir.join("incident.json"), dir.join("incident.html"));
    report("json", &capture, &json_path);
    report("html", &capture, &page);
    let doc: Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let rows = doc["table"]["rows"].as_array().unwrap();
    let clean = rows.iter().filter(|r| r["outcome"] == "clean").count();
    assert!(clean > 0 && clean < rows.len());

    let loaded = load(&dir, &page, "#outcome=clean");
    assert_ran_clean(&loaded, "filtered");
    let table = html_dom::with_attr(&loaded.dom, "data-rows-shown");
    assert_eq!(
        table[0].attr("data-rows-shown"),
        Some(clean.to_string().as_str())
    );
    for tr in html_dom::with_attr(&loaded.dom, "data-row") {
        let shown = !tr.attrs.contains_key("hidden");
        assert_eq!(shown, tr.attr("data-outcome") == Some("clean"), "{tr:?}");
    }

    // Column 7 is the duration: sorted descending, the longest comes first.
    let loaded = load(&dir, &page, "#sort=7&dir=desc");
    assert_ran_clean(&loaded, "sorted");
    let order: Vec<usize> = html_dom::with_attr(&loaded.dom, "data-row")
        .iter()
        .filter_map(|tr| tr.attr("data-row")?.parse().ok())
        .collect();
    let durations: Vec<f64> = order
        .iter()
        .map(|&i| rows[i]["duration"].as_f64().unwrap())
        .collect();
    assert_eq!(order.len(), rows.len());
    assert!(
        durations.windows(2).all(|w| w[0] >= w[1]),
        "not sorted by duration: {durations:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_network_check_sees_a_page_that_fetches() {
    if chromium_missing() {
        return;
    }
    // Port 9 on loopback (discard): nothing listens, nothing leaves the host.
    let dir = temp_dir("browser-canary");
    let page = dir.join("canary.html");
    std::fs::write(
        &page,
        "<!doctype html><title>canary</title><img src=\"http://127.0.0.1:9/canary.png\">",
    )
    .unwrap();
    let loaded = load(&dir, &page, "");
    assert!(
        loaded.requests.iter().any(|u| u.contains("canary.png")),
        "the network log missed the page's request: {:?}",
        loaded.requests
    );
    let _ = std::fs::remove_dir_all(&dir);
}
