//! Reads the notes files that tshark's figures are kept in: tab-separated,
//! a header row, lines starting with '#' are comments.

use std::collections::BTreeMap;
use std::path::Path;

/// Rows of a notes file, as column maps; a ragged row fails the test.
pub fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (run fixtures/tshark_facts.py)", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap_or_else(|| panic!("{}: no header", path.display()))
        .split('\t')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            assert_eq!(
                cells.len(),
                header.len(),
                "{}: ragged row {l:?}",
                path.display()
            );
            header
                .iter()
                .cloned()
                .zip(cells.iter().map(|c| c.to_string()))
                .collect()
        })
        .collect()
}
