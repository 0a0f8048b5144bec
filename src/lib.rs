//! credtrace: diagnose broken secret supply chains (Vault -> External Secrets Operator ->
//! Kubernetes) from a support bundle, offline.
//!
//! The pipeline runs one way: [`bundle`] (read-only I/O) -> [`ingest`] (facts with
//! provenance) -> [`model`] (one snapshot) -> [`graph`] -> [`rules`] -> [`diagnose`] ->
//! [`report`]. Only [`cli`] knows about command-line arguments, and only `bundle` and `cli`
//! touch the file system. The clock is an input: the bundle's capture time or `--as-of`.

pub mod acl;
pub mod bundle;
pub mod cli;
pub mod diagnose;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod ingest;
pub mod model;
pub mod report;
pub mod rules;
pub mod suppress;

pub use analysis::{analyze, analyze_owned, analyze_source, Analysis, GraphScope, Options};

pub(crate) mod analysis;
