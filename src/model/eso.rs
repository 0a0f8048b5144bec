//! External Secrets Operator objects (external-secrets.io v1beta1 and v1).

use super::{Condition, Loc, Meta, Time};
use chrono::Duration;

#[derive(Clone, Debug, Default)]
pub struct ExternalSecret {
    pub meta: Meta,
    pub store: StoreRef,
    /// `spec.refreshInterval`; `None` when not stated (ESO's default is 1h).
    pub refresh_interval: Option<Duration>,
    pub refresh_policy: Option<String>,
    pub target_name: String,
    pub creation_policy: String,
    pub deletion_policy: String,
    pub immutable: bool,
    pub template_type: Option<String>,
    /// Keys the template writes (`template.data`).
    pub template_keys: Vec<String>,
    pub data: Vec<DataRef>,
    pub data_from: Vec<DataFrom>,
    pub refresh_time: Option<Time>,
    pub conditions: Vec<Condition>,
    /// STATUS / READY columns of `kubectl get externalsecret`, when that is all there is.
    pub table_status: Option<(String, Option<String>, Loc)>,
    pub loc_spec: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct StoreRef {
    pub name: String,
    /// `SecretStore` (the default) or `ClusterSecretStore`.
    pub kind: String,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct DataRef {
    pub secret_key: String,
    pub key: String,
    pub property: Option<String>,
    pub metadata_policy: Option<String>,
    pub loc: Loc,
}

#[derive(Clone, Debug)]
pub enum DataFrom {
    Extract {
        key: String,
        loc: Loc,
    },
    Find {
        path: Option<String>,
        loc: Loc,
    },
    Generator {
        kind: String,
        name: String,
        loc: Loc,
    },
}

/// An ESO generator (`generators.external-secrets.io`), e.g. VaultDynamicSecret.
#[derive(Clone, Debug, Default)]
pub struct Generator {
    pub kind: String,
    pub meta: Meta,
    /// The Vault path it calls (`spec.path`).
    pub path: Option<String>,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct SecretStore {
    /// `SecretStore` or `ClusterSecretStore`.
    pub kind: String,
    pub meta: Meta,
    pub vault: Option<VaultProvider>,
    /// The provider key when it is not Vault (`aws`, `gcpsm`, ...).
    pub other_provider: Option<String>,
    pub conditions: Vec<Condition>,
    pub table_status: Option<(String, Option<String>, Loc)>,
    /// `spec.conditions[].namespaces` of a ClusterSecretStore (empty = no restriction).
    pub allowed_namespaces: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct VaultProvider {
    pub server: String,
    pub path: Option<String>,
    /// `v1` or `v2` (the default).
    pub version: String,
    pub namespace: Option<String>,
    pub auth: VaultAuth,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub enum VaultAuth {
    Kubernetes {
        mount_path: String,
        role: String,
        service_account: Option<(String, Option<String>)>,
        loc: Loc,
    },
    Token {
        secret: String,
        key: String,
        namespace: Option<String>,
        loc: Loc,
    },
    Other {
        method: String,
        loc: Loc,
    },
    #[default]
    Unknown,
}
