//! rstscope: explain every TCP reset in a packet capture.
//!
//! The pipeline, one module per stage, data flowing one way:
//! bytes ([`capture`]) → packets → segments ([`decode`], [`segment`]) →
//! connections → outcomes → report ([`report`]), driven by [`analysis`] and
//! accounted for in [`health`]. [`cli`] is the command line over it.

pub mod analysis;
pub mod capture;
pub mod check;
pub mod cli;
pub mod decode;
pub mod error;
pub mod health;
pub mod output;
pub mod progress;
pub mod report;
pub mod segment;

// Connection tracking and classification (issue 3).
pub mod classify;
pub mod connection;
pub mod flows;
pub mod timeline;
