//! Rows → what people and tools read: the text and JSON report, flows as
//! CSV/JSON/NDJSON and a Zeek conn.log, timelines, the CI gate's verdict, the progress bar and
//! atomically written files.
//!
//! Owns: formatting. Never computes a fact: every number and sentence comes
//! from `diagnose`'s rows or `track`'s kept segments.
//!
//! May import: `wire`, `track`, `diagnose`.

pub mod check;
pub mod file;
pub mod findings;
pub mod finished;
pub mod flows;
pub mod html;
pub mod progress;
pub mod reorder;
pub mod report;
pub mod report_rows;
pub mod sink;
pub mod spill;
pub mod timeline;
pub mod zeek;
