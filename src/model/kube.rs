//! Kubernetes objects, reduced to what the rules read.
//!
//! Secret values never enter the model: a Secret keeps its type, key names, a fingerprint,
//! for pull secrets the shape of its dockerconfigjson and, for TLS Secrets, the public facts
//! of the certificates in `tls.crt` (never `tls.key`).

use super::{Condition, Loc, Time, When};

/// The labels a rule reads; the others are not kept. A fleet's objects carry many (Helm,
/// Prometheus, app labels on every Pod), and keeping them all made label maps the largest part
/// of the model. A rule that reads another label adds it here.
pub const KEPT_LABELS: &[&str] = &[
    "app.kubernetes.io/name",
    "reconcile.external-secrets.io/managed",
];

/// The annotations a rule reads, as [`KEPT_LABELS`]; real objects also carry
/// `kubectl.kubernetes.io/last-applied-configuration`, a copy of the whole object.
pub const KEPT_ANNOTATIONS: &[&str] = &["cert-manager.io/certificate-name"];

/// Kept labels or annotations: keys from [`KEPT_LABELS`] or [`KEPT_ANNOTATIONS`] (static, so
/// never allocated) with their values. A map per object cost a tree node of several hundred
/// bytes for one or two entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Vec<(&'static str, String)>);

impl Tags {
    /// The entries of `entries` whose key is in `keep`.
    pub fn kept<'k>(
        entries: impl IntoIterator<Item = (&'k str, String)>,
        keep: &[&'static str],
    ) -> Tags {
        let mut v: Vec<(&'static str, String)> = entries
            .into_iter()
            .filter_map(|(k, v)| keep.iter().find(|x| **x == k).map(|x| (*x, v)))
            .collect();
        v.sort();
        v.dedup_by(|a, b| a.0 == b.0);
        // collected through a filter, it has room for four: most objects keep one or none
        v.shrink_to_fit();
        Tags(v)
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An object's name or namespace: held inline when short (see [`Meta::namespace`]).
pub type Name = compact_str::CompactString;

/// Metadata common to every object.
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// The namespace and the name are held in the object itself when short (up to 24 bytes,
    /// most names): every rule's pass over a fleet's objects reads them, and as strings of
    /// their own they were an allocation each, in memory apart from the object.
    pub namespace: Option<Name>,
    pub name: Name,
    pub uid: Option<String>,
    pub created: Option<When>,
    /// Only the labels in [`KEPT_LABELS`].
    pub labels: Tags,
    /// Only the annotations in [`KEPT_ANNOTATIONS`].
    pub annotations: Tags,
    pub owners: Vec<OwnerRef>,
    pub managed_fields: Vec<ManagedField>,
    pub resource_version: Option<String>,
    /// Where the object is (its name line).
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct OwnerRef {
    pub kind: String,
    pub name: String,
}

/// Is `manager` (a managedFields entry's) the External Secrets Operator?
pub fn is_eso_manager(manager: &str) -> bool {
    manager.starts_with("externalsecrets.external-secrets.io")
        || manager.starts_with("external-secrets")
}

/// One `metadata.managedFields` entry: who wrote the object, and when.
#[derive(Clone, Debug)]
pub struct ManagedField {
    pub manager: Name,
    /// Whether `manager` is the External Secrets Operator ([`is_eso_manager`]), told when
    /// the entry is read: rules ask it of every Secret's entries, and a fleet's caches do
    /// not hold the managers' text.
    pub eso: bool,
    pub operation: Name,
    pub time: Option<Time>,
    /// `status` for writes to the status subresource.
    pub subresource: Option<Name>,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct Pod {
    pub meta: Meta,
    pub service_account: Option<Name>,
    pub node: Option<String>,
    pub image_pull_secrets: Vec<(Name, Loc)>,
    pub containers: Vec<Container>,
    pub volumes: Vec<Volume>,
    pub phase: Option<Name>,
    pub start_time: Option<Time>,
    pub statuses: Vec<ContainerStatus>,
    /// The Pod's spec was read (a full object), so an empty list means "none", not "unknown".
    pub spec_known: bool,
    /// `STATUS` column of `kubectl get pods`, when that is all the bundle has.
    pub table_status: Option<(String, Loc)>,
}

#[derive(Clone, Debug, Default)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub init: bool,
    pub env_secret_refs: Vec<SecretKeyRef>,
    pub env_from_secrets: Vec<SecretRef>,
    pub mounts: Vec<VolumeMount>,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct SecretKeyRef {
    pub env: Name,
    pub secret: Name,
    pub key: Name,
    pub optional: bool,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct SecretRef {
    pub secret: Name,
    pub optional: bool,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct VolumeMount {
    pub volume: String,
    pub sub_path: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Volume {
    pub name: String,
    /// Secrets this volume reads (a `secret` volume, or the secret sources of a `projected` one).
    pub secrets: Vec<VolumeSecret>,
    /// `csi.volumeAttributes.secretProviderClass`.
    pub csi_provider_class: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct VolumeSecret {
    pub secret: Name,
    pub items: Vec<Name>,
    pub optional: bool,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct ContainerStatus {
    pub name: String,
    pub image: Option<String>,
    pub ready: bool,
    pub waiting_reason: Option<String>,
    pub waiting_message: Option<String>,
    pub started_at: Option<Time>,
    pub restart_count: u32,
    pub loc: Loc,
}

/// What the password in a dockerconfigjson looks like (never the value itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialShape {
    VaultToken,
    /// A JWT, with its expiry when it has one.
    Jwt {
        exp: Option<Time>,
    },
    Other,
    Empty,
}

#[derive(Clone, Debug)]
pub struct DockerAuth {
    pub registry: String,
    pub username: Option<String>,
    pub password: CredentialShape,
}

#[derive(Clone, Debug, Default)]
pub struct Secret {
    pub meta: Meta,
    pub type_: Option<Name>,
    /// Key names of `data` and `stringData`.
    pub keys: Vec<Name>,
    /// `DATA` column of `kubectl get secret`, when the keys are not known.
    pub key_count: Option<usize>,
    /// A SHA-256 fingerprint of the sorted data (first 12 hex digits), never the data.
    pub fingerprint: Option<String>,
    /// Registries in `.dockerconfigjson`/`.dockercfg`: `None` if the key is absent or not decoded.
    pub docker: Option<Result<Vec<DockerAuth>, String>>,
    pub immutable: bool,
    /// Whether `data` was in the dump (false for metadata-only or table sources).
    pub has_data: bool,
    /// The certificate chain in `tls.crt`, leaf first (empty when the key is absent or unreadable).
    pub certs: Vec<CertInfo>,
    /// Why `tls.crt` could not be read as a PEM X.509 chain (never quotes its bytes), and
    /// the line of `tls.crt`.
    pub cert_error: Option<(String, Loc)>,
}

/// One certificate of a Secret's `tls.crt`: only what a certificate makes public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// 0 for the first certificate (the leaf), then the chain in file order.
    pub position: usize,
    /// The subject as an RFC 4514 string (`CN=api.example.com,O=Example`).
    pub subject: String,
    pub subject_cn: Option<String>,
    pub issuer: String,
    pub issuer_cn: Option<String>,
    /// The serial number in hex.
    pub serial: String,
    pub not_before: Time,
    pub not_after: Time,
    /// DNS names of the subjectAltName extension.
    pub dns_names: Vec<String>,
    /// basicConstraints `cA: TRUE`.
    pub is_ca: bool,
    /// The `tls.crt` line of the Secret.
    pub loc: Loc,
}

impl CertInfo {
    /// `CN=...` when the subject has a common name, else the whole subject.
    pub fn label(&self) -> String {
        match &self.subject_cn {
            Some(cn) => format!("CN={cn}"),
            None if self.subject.is_empty() => "an empty subject".to_string(),
            None => self.subject.clone(),
        }
    }

    /// How reports name the issuer: `CN=...` when it has a common name, else the whole name.
    pub fn issuer_label(&self) -> String {
        match &self.issuer_cn {
            Some(cn) => format!("CN={cn}"),
            None => self.issuer.clone(),
        }
    }

    /// Issued by itself (a root), so clients use their own copy, not this one.
    pub fn self_signed(&self) -> bool {
        self.subject == self.issuer
    }
}

#[derive(Clone, Debug, Default)]
pub struct ServiceAccount {
    pub meta: Meta,
}

#[derive(Clone, Debug, Default)]
pub struct Namespace {
    pub meta: Meta,
}

/// Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob.
#[derive(Clone, Debug, Default)]
pub struct Workload {
    pub kind: Name,
    pub meta: Meta,
    pub replicas: Option<i64>,
    pub ready: Option<i64>,
    pub conditions: Vec<Condition>,
}

/// A Kubernetes Event, from a JSON/YAML dump, `kubectl get events` or a describe Events table.
#[derive(Clone, Debug, Default)]
pub struct Event {
    pub namespace: Option<Name>,
    pub object_kind: Name,
    pub object_name: Name,
    pub type_: Name,
    pub reason: Name,
    pub message: String,
    pub count: u32,
    pub first: Option<When>,
    pub last: Option<When>,
    pub source: String,
    pub loc: Loc,
}
