//! Hostile and broken bundles: archives with tricks, bombs and limits, broken encodings,
//! planted secrets, exit codes, and properties over random input. Every archive is built by
//! the tests themselves; nothing binary is committed.

mod archives;
mod canary;
mod encodings;
mod exits;
mod limits;
mod props;
mod regressions;
mod streaming;
mod util;
