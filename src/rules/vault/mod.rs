//! Rules about Vault: policies, auth roles, mounts and tokens.

pub mod auth_mount_missing;
pub mod auth_mount_rejects;
pub mod bind_ns;
pub mod bind_sa;
pub mod dangling_policy;
pub mod grant_shadowed;
pub mod kv2_prefix;
pub mod kv_version;
pub mod malformed_path;
pub mod metadata_capability;
pub mod mount_missing;
pub mod namespace_mismatch;
pub mod role_missing;
pub mod sealed;
pub mod support;
pub mod token_expired;
pub mod unbound_sa;
