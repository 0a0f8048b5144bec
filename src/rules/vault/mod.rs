//! Rules about Vault: policies, auth roles, mounts and tokens.

pub mod dangling_policy;
