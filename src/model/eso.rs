//! The objects that keep Kubernetes in sync with Vault: External Secrets Operator
//! (external-secrets.io v1beta1 and v1), and, in the same shape, the other delivery paths a
//! cluster may mix with it: Vault Secrets Operator, the Secrets Store CSI driver, the Vault
//! Agent Injector and cert-manager with a Vault issuer.
//!
//! Each path has a *sync object* (an [`ExternalSecret`] whose [`Source`] says which
//! controller it is) that reads Vault paths through a *store* (a [`SecretStore`]: the login
//! and the server). Modelling them alike is what lets one ACL engine, one graph and one set
//! of Vault rules trace a VSO or CSI `403` to its policy exactly as an ESO one.

use super::{Condition, Kind, Loc, Meta, Name, ObjRef, Time};
use chrono::Duration;

/// Which controller a sync object belongs to, with what only it needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// An ESO ExternalSecret: paths are resolved against the store's `path` and `version`.
    #[default]
    Eso,
    /// A VSO VaultStaticSecret reading KV at `mount` (v1 when `kv_v1`).
    VsoStatic { mount: String, kv_v1: bool },
    /// A VSO VaultDynamicSecret.
    VsoDynamic,
    /// A VSO VaultPKISecret.
    VsoPki,
    /// A SecretProviderClass of the Secrets Store CSI driver (vault provider).
    Csi,
    /// A Pod with Vault Agent Injector annotations (the sync object is the Pod itself).
    Agent,
    /// A cert-manager Certificate issued by a Vault Issuer.
    Certificate,
}

impl Source {
    /// Paths of other sources are stored resolved (an API path and a capability).
    pub fn is_eso(&self) -> bool {
        matches!(self, Source::Eso)
    }

    /// The word a message uses for the controller.
    pub fn controller(&self) -> &'static str {
        match self {
            Source::Eso => "External Secrets Operator",
            Source::VsoStatic { .. } | Source::VsoDynamic | Source::VsoPki => {
                "Vault Secrets Operator"
            }
            Source::Csi => "Secrets Store CSI driver",
            Source::Agent => "Vault Agent Injector",
            Source::Certificate => "cert-manager",
        }
    }
}

/// cert-manager's view of the certificate a Certificate keeps issued.
#[derive(Clone, Debug, Default)]
pub struct CertStatus {
    pub not_after: Option<(Time, Loc)>,
    pub renewal_time: Option<(Time, Loc)>,
    pub duration: Option<Duration>,
    pub renew_before: Option<Duration>,
}

/// A sync object: an ESO ExternalSecret, or the equivalent object of another delivery path
/// (see [`Source`]).
#[derive(Clone, Debug, Default)]
pub struct ExternalSecret {
    pub source: Source,
    pub meta: Meta,
    pub store: StoreRef,
    /// `spec.refreshInterval`; `None` when not stated (ESO's default is 1h).
    pub refresh_interval: Option<Duration>,
    pub refresh_policy: Option<String>,
    pub target_name: Name,
    pub creation_policy: Name,
    pub deletion_policy: Name,
    pub immutable: bool,
    pub template_type: Option<String>,
    /// Keys the template writes (`template.data`).
    pub template_keys: Vec<String>,
    pub data: Vec<DataRef>,
    pub data_from: Vec<DataFrom>,
    pub refresh_time: Option<Time>,
    pub conditions: Vec<Condition>,
    /// STATUS / READY columns of `kubectl get externalsecret`, when that is all there is.
    /// This and the other fields only some sources or sightings have are boxed: a fleet
    /// holds tens of thousands of sync objects, each paying for them inline.
    pub table_status: Option<Box<(String, Option<String>, Loc)>>,
    pub loc_spec: Loc,
    /// VSO `rolloutRestartTargets`: (kind, name, where).
    pub rollout_targets: Vec<(String, String, Loc)>,
    /// cert-manager: the issued certificate's validity.
    pub cert: Option<Box<CertStatus>>,
    /// VSO VaultDynamicSecret: the lease of the credentials it last wrote (`status.secretLease`).
    pub lease: Option<Box<(Duration, Loc)>>,
    /// Its position among the sync objects of the snapshot holding it, set when the snapshot
    /// is built: the caches kept by position are read without a lookup (see
    /// [`crate::model::Snapshot::es_position`]).
    pub(crate) position: u32,
}

impl ExternalSecret {
    pub fn kind(&self) -> Kind {
        match self.source {
            Source::Eso => Kind::ExternalSecret,
            Source::VsoStatic { .. } => Kind::VaultStaticSecret,
            Source::VsoDynamic => Kind::VaultDynamicSecret,
            Source::VsoPki => Kind::VaultPKISecret,
            Source::Csi => Kind::SecretProviderClass,
            Source::Agent => Kind::Pod,
            Source::Certificate => Kind::Certificate,
        }
    }

    /// The object as a subject.
    pub fn obj(&self) -> ObjRef {
        ObjRef::new(self.kind(), self.meta.namespace.as_deref(), &self.meta.name)
    }

    /// `Kind ns/name`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} {}/{}",
            self.kind().as_str(),
            self.meta.namespace.as_deref().unwrap_or("-"),
            self.meta.name
        )
    }

    /// Whether it writes a Kubernetes Secret (an agent or CSI without `secretObjects` does not).
    pub fn has_target(&self) -> bool {
        !self.target_name.is_empty()
    }
}

#[derive(Clone, Debug, Default)]
pub struct StoreRef {
    pub name: Name,
    /// `SecretStore` (the default) or `ClusterSecretStore`; for other sources the store's
    /// kind (`VaultAuth`, `SecretProviderClass`, `Pod`, `Issuer`, `ClusterIssuer`).
    pub kind: Name,
    /// A namespace named by the reference (VSO `vaultAuthRef: ns/name`).
    pub namespace: Option<String>,
    /// VSO's default VaultAuth: any namespace's `default` when none is named.
    pub any_namespace: bool,
    pub loc: Loc,
}

/// The Kind of a store kind string.
pub fn store_kind(kind: &str) -> Kind {
    match kind {
        "ClusterSecretStore" => Kind::ClusterSecretStore,
        "VaultAuth" => Kind::VaultAuth,
        "SecretProviderClass" => Kind::SecretProviderClass,
        "Pod" => Kind::Pod,
        "Issuer" => Kind::Issuer,
        "ClusterIssuer" => Kind::ClusterIssuer,
        _ => Kind::SecretStore,
    }
}

/// Cluster-scoped store kinds.
pub fn is_cluster_store(kind: &str) -> bool {
    matches!(kind, "ClusterSecretStore" | "ClusterIssuer")
}

#[derive(Clone, Debug, Default)]
pub struct DataRef {
    pub secret_key: String,
    pub key: String,
    pub property: Option<String>,
    pub metadata_policy: Option<String>,
    /// For sources other than ESO: `key` is the resolved API path, requested with this
    /// capability.
    pub capability: Option<&'static str>,
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
    /// VSO: the VaultConnection a VaultAuth uses (`None`: the operator's default).
    pub connection: Option<(String, Loc)>,
}

impl SecretStore {
    pub fn obj_kind(&self) -> Kind {
        store_kind(&self.kind)
    }

    pub fn obj(&self) -> ObjRef {
        let ns = if is_cluster_store(&self.kind) {
            None
        } else {
            self.meta.namespace.as_deref()
        };
        ObjRef::new(self.obj_kind(), ns, &self.meta.name)
    }
}

/// A VSO VaultConnection: the Vault address VaultAuths use.
#[derive(Clone, Debug, Default)]
pub struct VaultConnection {
    pub meta: Meta,
    pub address: String,
    pub address_loc: Loc,
    /// `status.valid`.
    pub valid: Option<(bool, Loc)>,
    pub conditions: Vec<Condition>,
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
