//! Rules about the External Secrets Operator: ExternalSecrets, stores, and the credentials
//! they keep fresh.

pub mod stale_credential;
pub mod sync_failing;
