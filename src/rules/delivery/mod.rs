//! Rules for the delivery paths other than ESO: Vault Secrets Operator, the Secrets Store CSI
//! driver, the Vault Agent Injector and cert-manager. Their Vault side (policies, roles,
//! mounts) is checked by the Vault rules, which see these objects as sync objects.

pub mod agent_init_failing;
pub mod cert_issuer_not_ready;
pub mod cert_not_renewed;
pub mod csi_mount_failing;
pub mod vso_auth_invalid;
pub mod vso_lease_expired;
pub mod vso_rollout_target_missing;
pub mod vso_sync_failing;
