//! Rules about the External Secrets Operator: ExternalSecrets, stores, generators, and the
//! credentials they keep fresh.

pub mod cluster_store_denied;
pub mod generator_ttl;
pub mod immutable_target;
pub mod provider_secret_deleted;
pub mod refresh_slower;
pub mod sa_token;
pub mod stale_credential;
pub mod store_not_ready;
pub mod store_ref_dangling;
pub mod sync_failing;
pub mod target_conflict;
pub mod vault_unreachable;
