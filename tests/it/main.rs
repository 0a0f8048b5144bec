//! One integration-test binary: fixture bundles per rule, the samples end to end, and the
//! properties every output must keep (no secret values, determinism, renaming).

mod e2e;
mod fixtures;
mod fleet;
mod graph_scope;
mod no_secret_values;
mod props;
mod real_bundles;
mod real_outputs;
mod reports;
mod synth;
mod util;
