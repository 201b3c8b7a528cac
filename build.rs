//! Puts the commit and its date into `rstscope --version`
//! (`0.1.0 (4f96251 2026-12-01)`), read from git when the source is a
//! checkout; a source tarball without `.git` (or without git) gets the plain
//! version.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let commit = git(&["rev-parse", "--short=7", "HEAD"]);
    let date = git(&["log", "-1", "--format=%cs", "HEAD"]);
    let long = match (commit, date) {
        (Some(c), Some(d)) => format!("{version} ({c} {d})"),
        _ => version.to_string(),
    };
    println!("cargo:rustc-env=RSTSCOPE_LONG_VERSION={long}");
    // Rebuild when HEAD moves (a commit or a checkout), not on every edit.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
            if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
                // A packed ref has no file of its own: HEAD alone then.
                let path = format!("{common}/{head}");
                if std::path::Path::new(&path).exists() {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
