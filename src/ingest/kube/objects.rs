//! Kubernetes and ESO objects from parsed JSON/YAML values.
//!
//! The values come from `kubectl get -o json|yaml` dumps (single objects, `List`s, bare
//! arrays, multi-document YAML). Each object becomes a typed model fact; the text of the file
//! is used only to find the line of each field a rule may cite. Secret values are reduced to
//! key names, a fingerprint, the shape of a dockerconfigjson and the public facts of a
//! `tls.crt` right here, and go no further.

use super::json::Json;
use crate::ingest::text::Source;
use crate::model::time::{parse_duration, parse_rfc3339};
use crate::model::*;
use base64::Engine;
use memchr::memmem::Finder;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Searchers for the field names every object of a kind is searched for (by text: the
/// first line naming them, wherever it is).
static PULL_SECRETS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("imagePullSecrets"));
static STORE_REF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("secretStoreRef"));

/// The lines of one object inside its file.
pub struct Span<'s, 'a> {
    pub src: &'s Source<'a>,
    pub start: usize,
    pub end: usize,
}

impl Span<'_, '_> {
    pub(super) fn field(&self, key: &str, value: &str) -> Loc {
        self.src.field(self.start, self.end, key, value, self.start)
    }
    pub(super) fn field_after(&self, from: usize, key: &str, value: &str) -> Loc {
        let from = from.max(self.start);
        self.src.field(from, self.end, key, value, from)
    }
    pub(super) fn line_of(&self, loc: &Loc) -> usize {
        (loc.line as usize).saturating_sub(1)
    }
}

pub(super) fn s<'v, V: Json>(v: &'v V, path: &[&str]) -> Option<&'v str> {
    get(v, path)?.as_str()
}

pub(super) fn get<'v, V: Json>(v: &'v V, path: &[&str]) -> Option<&'v V> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

pub(super) fn arr<'v, V: Json>(v: &'v V, path: &[&str]) -> &'v [V] {
    get(v, path).and_then(V::as_array).unwrap_or(&[])
}

pub(super) fn b<V: Json>(v: &V, path: &[&str]) -> bool {
    get(v, path).and_then(V::as_bool).unwrap_or(false)
}

pub(super) fn t<V: Json>(v: &V, path: &[&str]) -> Option<Time> {
    s(v, path).and_then(parse_rfc3339)
}

pub(super) fn owned(v: Option<&str>) -> Option<String> {
    v.filter(|x| !x.is_empty()).map(str::to_string)
}

/// The entries of a string map whose key is in `keep`.
fn string_map<V: Json>(v: Option<&V>, keep: &[&'static str]) -> crate::model::kube::Tags {
    let entries = v.and_then(V::entries).into_iter().flatten();
    let entries = entries.filter(|(k, _)| keep.contains(k)).map(|(k, v)| {
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_json_string());
        (k, text)
    });
    crate::model::kube::Tags::kept(entries, keep)
}

/// Is `v` a Kubernetes object (has `kind` and `metadata.name`)?
pub fn is_object<V: Json>(v: &V) -> bool {
    v.get("kind").and_then(V::as_str).is_some() && s(v, &["metadata", "name"]).is_some()
}

pub(super) fn meta<V: Json>(v: &V, span: &Span) -> Meta {
    let name: crate::model::kube::Name = s(v, &["metadata", "name"]).unwrap_or_default().into();
    let loc = span.field("name", &name);
    let managed_fields = arr(v, &["metadata", "managedFields"])
        .iter()
        .map(|m| {
            let manager: crate::model::Name = s(m, &["manager"]).unwrap_or_default().into();
            let time = s(m, &["time"]).unwrap_or_default();
            ManagedField {
                loc: span.field("time", time),
                eso: crate::model::kube::is_eso_manager(&manager),
                manager,
                operation: s(m, &["operation"]).unwrap_or_default().into(),
                time: parse_rfc3339(time),
                subresource: s(m, &["subresource"]).map(Into::into),
            }
        })
        .collect();
    Meta {
        namespace: s(v, &["metadata", "namespace"]).map(Into::into),
        name,
        uid: owned(s(v, &["metadata", "uid"])),
        created: t(v, &["metadata", "creationTimestamp"]).map(When::At),
        labels: string_map(
            get(v, &["metadata", "labels"]),
            crate::model::kube::KEPT_LABELS,
        ),
        annotations: string_map(
            get(v, &["metadata", "annotations"]),
            crate::model::kube::KEPT_ANNOTATIONS,
        ),
        owners: arr(v, &["metadata", "ownerReferences"])
            .iter()
            .map(|o| OwnerRef {
                kind: s(o, &["kind"]).unwrap_or_default().to_string(),
                name: s(o, &["name"]).unwrap_or_default().to_string(),
            })
            .collect(),
        managed_fields,
        resource_version: owned(s(v, &["metadata", "resourceVersion"])),
        loc,
    }
}

pub(super) fn conditions<V: Json>(v: &V, path: &[&str], span: &Span) -> Vec<Condition> {
    arr(v, path)
        .iter()
        .map(|c| {
            let message = owned(s(c, &["message"]));
            let reason: Option<crate::model::Name> = s(c, &["reason"]).map(Into::into);
            // cite the message line when there is one, else the reason
            let loc = match (&message, &reason) {
                (Some(m), _) => span.field("message", m),
                (None, Some(r)) => span.field("reason", r),
                _ => span.field("type", s(c, &["type"]).unwrap_or_default()),
            };
            Condition {
                type_: s(c, &["type"]).unwrap_or_default().into(),
                status: s(c, &["status"]).unwrap_or_default().into(),
                reason,
                message,
                last_transition: t(c, &["lastTransitionTime"])
                    .or_else(|| t(c, &["lastUpdateTime"])),
                loc,
            }
        })
        .collect()
}

/// Converts one object into facts. Returns the kind label used for the file report
/// (`other:<Kind>` for kinds credtrace does not model).
///
/// Objects are read from any [`Json`] tree (JSON files give a borrowed
/// [`super::json::Node`], YAML a `Value`); the kinds a fleet holds few of are left to
/// [`value_fact`].
pub fn object_fact<V: Json>(v: &V, span: &Span) -> (String, Option<Fact>) {
    let kind = v.get("kind").and_then(V::as_str).unwrap_or_default();
    let api = v.get("apiVersion").and_then(V::as_str).unwrap_or_default();
    let fact = match kind {
        "Pod" => Fact::Pod(Box::new(pod(v, span))),
        "Secret" => Fact::Secret(Box::new(secret(v, span))),
        "ServiceAccount" => Fact::from(ServiceAccount {
            meta: meta(v, span),
        }),
        "Namespace" => Fact::from(Namespace {
            meta: meta(v, span),
        }),
        "Event" => Fact::Event(Box::new(event(v, span))),
        // read without their pod template, which the JSON parser skips
        k if super::json::WORKLOAD_KINDS.contains(&k) => Fact::Workload(Box::new(Workload {
            kind: kind.into(),
            meta: meta(v, span),
            replicas: get(v, &["spec", "replicas"]).and_then(V::as_i64),
            ready: get(v, &["status", "readyReplicas"]).and_then(V::as_i64),
            conditions: conditions(v, &["status", "conditions"], span),
        })),
        "ExternalSecret" if api.starts_with("external-secrets.io/") => {
            Fact::ExternalSecret(Box::new(external_secret(v, span)))
        }
        "SecretStore" | "ClusterSecretStore" if api.starts_with("external-secrets.io/") => {
            Fact::SecretStore(Box::new(store(v, kind, span)))
        }
        _ => return value_fact(v, kind, api, span),
    };
    (kind.to_string(), Some(fact))
}

/// The kinds [`object_fact`] does not read itself (`kind` and `apiVersion` already read),
/// and the label of any other kind. Read from the tree as it is: copied into a
/// `serde_json::Value` first, every object of a kind credtrace does not model (a fleet's
/// Services) was copied whole for nothing.
fn value_fact<V: Json>(v: &V, kind: &str, api: &str, span: &Span) -> (String, Option<Fact>) {
    let fact = match kind {
        "VaultDynamicSecret" if api.starts_with("generators.external-secrets.io/") => {
            let meta = meta(v, span);
            let path = owned(s(v, &["spec", "path"]));
            Fact::Generator(Box::new(Generator {
                kind: kind.to_string(),
                loc: span.field("path", path.as_deref().unwrap_or("")),
                path,
                meta,
            }))
        }
        _ => return (format!("other:{kind}"), None),
    };
    (kind.to_string(), Some(fact))
}

fn pod<V: Json>(v: &V, span: &Span) -> Pod {
    let meta = meta(v, span);
    let mut containers = Vec::new();
    for (key, init) in [("initContainers", true), ("containers", false)] {
        for c in arr(v, &["spec", key]) {
            let name = s(c, &["name"]).unwrap_or_default().to_string();
            let cloc = span.field("name", &name);
            let from = span.line_of(&cloc);
            let env_secret_refs = arr(c, &["env"])
                .iter()
                .filter_map(|e| {
                    let r = get(e, &["valueFrom", "secretKeyRef"])?;
                    let secret = s(r, &["name"])?.to_string();
                    Some(SecretKeyRef {
                        env: s(e, &["name"]).unwrap_or_default().into(),
                        loc: span.field_after(from, "name", &secret),
                        key: s(r, &["key"]).unwrap_or_default().into(),
                        optional: b(r, &["optional"]),
                        secret: secret.into(),
                    })
                })
                .collect();
            let env_from_secrets = arr(c, &["envFrom"])
                .iter()
                .filter_map(|e| {
                    let r = get(e, &["secretRef"])?;
                    let secret = s(r, &["name"])?.to_string();
                    Some(SecretRef {
                        loc: span.field_after(from, "name", &secret),
                        optional: b(r, &["optional"]),
                        secret: secret.into(),
                    })
                })
                .collect();
            containers.push(Container {
                image: s(c, &["image"]).unwrap_or_default().to_string(),
                init,
                env_secret_refs,
                env_from_secrets,
                mounts: arr(c, &["volumeMounts"])
                    .iter()
                    .map(|m| VolumeMount {
                        volume: s(m, &["name"]).unwrap_or_default().to_string(),
                        sub_path: owned(s(m, &["subPath"])),
                    })
                    .collect(),
                loc: cloc,
                name,
            });
        }
    }
    let mut volumes: Vec<Volume> = arr(v, &["spec", "volumes"])
        .iter()
        .map(|vol| {
            let mut secrets = Vec::new();
            if let Some(sv) = get(vol, &["secret"]) {
                let name = s(sv, &["secretName"]).unwrap_or_default().to_string();
                secrets.push(VolumeSecret {
                    loc: span.field("secretName", &name),
                    items: arr(sv, &["items"])
                        .iter()
                        .filter_map(|i| s(i, &["key"]).map(Into::into))
                        .collect(),
                    optional: b(sv, &["optional"]),
                    secret: name.into(),
                });
            }
            for src in arr(vol, &["projected", "sources"]) {
                if let Some(sv) = get(src, &["secret"]) {
                    let name = s(sv, &["name"]).unwrap_or_default().to_string();
                    secrets.push(VolumeSecret {
                        loc: span.field("name", &name),
                        items: arr(sv, &["items"])
                            .iter()
                            .filter_map(|i| s(i, &["key"]).map(Into::into))
                            .collect(),
                        optional: b(sv, &["optional"]),
                        secret: name.into(),
                    });
                }
            }
            Volume {
                name: s(vol, &["name"]).unwrap_or_default().to_string(),
                secrets,
                csi_provider_class: owned(s(
                    vol,
                    &["csi", "volumeAttributes", "secretProviderClass"],
                )),
            }
        })
        .collect();
    let pull_secrets = arr(v, &["spec", "imagePullSecrets"]);
    let anchor = (!pull_secrets.is_empty())
        .then(|| (span.src).find_field_name(span.start, span.end, &PULL_SECRETS))
        .flatten();
    let mut image_pull_secrets: Vec<(crate::model::Name, Loc)> = pull_secrets
        .iter()
        .filter_map(|r| {
            let name: crate::model::Name = s(r, &["name"])?.into();
            let loc = span.field_after(anchor.unwrap_or(span.start), "name", &name);
            Some((name, loc))
        })
        .collect();
    let mut statuses = Vec::new();
    for key in ["initContainerStatuses", "containerStatuses"] {
        for cs in arr(v, &["status", key]) {
            let waiting_reason = owned(s(cs, &["state", "waiting", "reason"]));
            let loc = match &waiting_reason {
                Some(r) => span.field("reason", r),
                None => span.field("name", s(cs, &["name"]).unwrap_or_default()),
            };
            statuses.push(ContainerStatus {
                name: s(cs, &["name"]).unwrap_or_default().to_string(),
                image: owned(s(cs, &["image"])),
                ready: b(cs, &["ready"]),
                waiting_reason,
                waiting_message: owned(s(cs, &["state", "waiting", "message"])),
                started_at: t(cs, &["state", "running", "startedAt"]),
                restart_count: get(cs, &["restartCount"]).and_then(V::as_u64).unwrap_or(0) as u32,
                loc,
            });
        }
    }
    // a vector grown by push, or collected through a filter, starts at four elements: for
    // the one container, status or reference a Pod usually has, that slack was most of
    // the memory a fleet's Pods took
    containers.shrink_to_fit();
    for c in &mut containers {
        c.env_secret_refs.shrink_to_fit();
        c.env_from_secrets.shrink_to_fit();
    }
    for vol in &mut volumes {
        vol.secrets.shrink_to_fit();
    }
    image_pull_secrets.shrink_to_fit();
    statuses.shrink_to_fit();
    Pod {
        service_account: s(v, &["spec", "serviceAccountName"]).map(Into::into),
        node: owned(s(v, &["spec", "nodeName"])),
        image_pull_secrets,
        containers,
        volumes,
        phase: s(v, &["status", "phase"]).map(Into::into),
        start_time: t(v, &["status", "startTime"]),
        statuses,
        table_status: None,
        spec_known: v.get("spec").is_some(),
        meta,
    }
}

/// Every string leaf of a JSON value.
pub fn string_leaves<'v, V: Json>(v: &'v V, out: &mut Vec<&'v str>) {
    if let Some(s) = v.as_str() {
        out.push(s);
    } else if let Some(a) = v.as_array() {
        a.iter().for_each(|x| string_leaves(x, out));
    } else if let Some(m) = v.entries() {
        m.for_each(|(_, x)| string_leaves(x, out));
    }
}

fn secret<V: Json>(v: &V, span: &Span) -> Secret {
    // a Secret printed on few lines (compact JSON) would carry its data into an excerpt
    let mut values = Vec::new();
    for key in ["data", "stringData"] {
        if let Some(d) = v.get(key) {
            string_leaves(d, &mut values);
        }
    }
    span.src.withhold_values(span.start, span.end, values);
    let meta = meta(v, span);
    let mut keys = Vec::new();
    let mut hasher = Sha256::new();
    let mut decoded: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(data) = v.get("data").and_then(V::entries) {
        for (k, val) in data {
            let raw = val.as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .unwrap_or_else(|_| raw.as_bytes().to_vec());
            keys.push(k.into());
            decoded.push((k.to_string(), bytes));
        }
    }
    if let Some(data) = v.get("stringData").and_then(V::entries) {
        for (k, val) in data {
            keys.push(k.into());
            decoded.push((
                k.to_string(),
                val.as_str().unwrap_or_default().as_bytes().to_vec(),
            ));
        }
    }
    // the last tls.crt: stringData overrides data
    let (certs, cert_error) = match decoded.iter().rfind(|(k, _)| k == "tls.crt") {
        Some((_, crt)) => {
            let loc = span.field("tls.crt", "");
            match super::x509::read_chain(crt, &loc) {
                Ok(c) => (c, None),
                Err(e) => (Vec::new(), Some((e, loc))),
            }
        }
        None => (Vec::new(), None),
    };
    decoded.sort();
    for (k, val) in &decoded {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(val);
        hasher.update([0]);
    }
    let has_data = !decoded.is_empty();
    let fingerprint = has_data.then(|| {
        let d = hasher.finalize();
        d.iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    let docker = decoded
        .iter()
        .find(|(k, _)| k == ".dockerconfigjson" || k == ".dockercfg")
        .map(|(k, val)| docker_shape(val, k == ".dockercfg"));
    keys.sort();
    Secret {
        type_: Some(s(v, &["type"]).unwrap_or("Opaque").into()),
        keys,
        key_count: None,
        fingerprint,
        docker,
        immutable: b(v, &["immutable"]),
        has_data,
        certs,
        cert_error,
        meta,
    }
}

/// serde_json's nesting limit, which read pull secrets before.
const MAX_DOCKER_DEPTH: usize = 128;

/// The registries, usernames and password shapes of a dockerconfigjson. Never returns values.
pub fn docker_shape(bytes: &[u8], legacy: bool) -> Result<Vec<DockerAuth>, String> {
    // read as the objects are (a `serde_json::Value` per pull secret was a map allocated
    // and freed per object, and as much of a fleet's page faults as reading its pods' names)
    let invalid = || "not valid JSON".to_string();
    let text = std::str::from_utf8(bytes).map_err(|_| invalid())?;
    let arena = bumpalo::Bump::new();
    let v =
        super::json::Node::parse_limited(text, MAX_DOCKER_DEPTH, &arena).map_err(|_| invalid())?;
    let auths = if legacy { Some(&v) } else { v.get("auths") };
    let auths = auths
        .and_then(Json::entries)
        .ok_or_else(|| "no \"auths\" object".to_string())?;
    let mut out = Vec::new();
    for (registry, entry) in auths {
        let mut username = s(entry, &["username"]).map(str::to_string);
        let mut password = s(entry, &["password"]).map(str::to_string);
        if let Some(auth) = s(entry, &["auth"]) {
            if let Ok(dec) = base64::engine::general_purpose::STANDARD.decode(auth.trim()) {
                let dec = String::from_utf8_lossy(&dec).into_owned();
                if let Some((u, p)) = dec.split_once(':') {
                    username.get_or_insert_with(|| u.to_string());
                    password.get_or_insert_with(|| p.to_string());
                }
            }
        }
        out.push(DockerAuth {
            registry: registry.to_string(),
            username,
            password: credential_shape(password.as_deref().unwrap_or("")),
        });
    }
    Ok(out)
}

/// Classifies a credential by its shape only.
pub fn credential_shape(value: &str) -> CredentialShape {
    let v = value.trim();
    if v.is_empty() {
        return CredentialShape::Empty;
    }
    let vault_prefix = ["hvs.", "hvb.", "s.", "b."]
        .iter()
        .any(|p| v.starts_with(p) && v.len() > p.len() + 8);
    if vault_prefix && !v[2..].contains('.') || v.starts_with("hvs.") || v.starts_with("hvb.") {
        return CredentialShape::VaultToken;
    }
    let parts: Vec<&str> = v.split('.').collect();
    if parts.len() == 3 && v.starts_with("eyJ") {
        let exp = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1].trim_end_matches('='))
            .ok()
            .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
            .and_then(|p| p.get("exp").and_then(Value::as_i64))
            .and_then(|e| chrono::DateTime::from_timestamp(e, 0));
        return CredentialShape::Jwt { exp };
    }
    CredentialShape::Other
}

fn event<V: Json>(v: &V, span: &Span) -> Event {
    let obj = get(v, &["involvedObject"]).or_else(|| get(v, &["regarding"]));
    let message = s(v, &["message"])
        .or_else(|| s(v, &["note"]))
        .unwrap_or_default()
        .to_string();
    let when = |keys: &[&[&str]]| keys.iter().find_map(|k| t(v, k)).map(When::At);
    Event {
        namespace: obj
            .and_then(|o| s(o, &["namespace"]))
            .or_else(|| s(v, &["metadata", "namespace"]))
            .map(Into::into),
        object_kind: obj.and_then(|o| s(o, &["kind"])).unwrap_or_default().into(),
        object_name: obj.and_then(|o| s(o, &["name"])).unwrap_or_default().into(),
        type_: s(v, &["type"]).unwrap_or_default().into(),
        reason: s(v, &["reason"]).unwrap_or_default().into(),
        count: get(v, &["count"])
            .or_else(|| get(v, &["series", "count"]))
            .or_else(|| get(v, &["deprecatedCount"]))
            .and_then(V::as_u64)
            .unwrap_or(1) as u32,
        first: when(&[
            &["firstTimestamp"],
            &["eventTime"],
            &["deprecatedFirstTimestamp"],
            &["metadata", "creationTimestamp"],
        ]),
        last: when(&[
            &["lastTimestamp"],
            &["series", "lastObservedTime"],
            &["deprecatedLastTimestamp"],
            &["eventTime"],
            &["firstTimestamp"],
        ]),
        source: s(v, &["source", "component"])
            .or_else(|| s(v, &["reportingController"]))
            .or_else(|| s(v, &["reportingComponent"]))
            .unwrap_or_default()
            .to_string(),
        loc: if message.is_empty() {
            span.field("reason", s(v, &["reason"]).unwrap_or_default())
        } else {
            span.field("message", &message)
        },
        message,
    }
}

fn external_secret<V: Json>(v: &V, span: &Span) -> ExternalSecret {
    let meta = meta(v, span);
    let store_name = s(v, &["spec", "secretStoreRef", "name"])
        .unwrap_or_default()
        .to_string();
    let store_anchor = (span.src)
        .find_field_name(span.start, span.end, &STORE_REF)
        .unwrap_or(span.start);
    let store = StoreRef {
        loc: span.field_after(store_anchor, "name", &store_name),
        kind: s(v, &["spec", "secretStoreRef", "kind"])
            .unwrap_or("SecretStore")
            .into(),
        name: store_name.into(),
        ..Default::default()
    };
    let target_name =
        (s(v, &["spec", "target", "name"]).map(Into::into)).unwrap_or_else(|| meta.name.clone());
    let data = arr(v, &["spec", "data"])
        .iter()
        .map(|d| {
            let key = s(d, &["remoteRef", "key"]).unwrap_or_default().to_string();
            DataRef {
                secret_key: s(d, &["secretKey"]).unwrap_or_default().to_string(),
                loc: span.field("key", &key),
                property: owned(s(d, &["remoteRef", "property"])),
                metadata_policy: owned(s(d, &["remoteRef", "metadataPolicy"])),
                key,
                capability: None,
            }
        })
        .collect();
    let data_from = arr(v, &["spec", "dataFrom"])
        .iter()
        .filter_map(|d| {
            if let Some(k) = s(d, &["extract", "key"]) {
                Some(DataFrom::Extract {
                    key: k.to_string(),
                    loc: span.field("key", k),
                })
            } else if let Some(f) = get(d, &["find"]) {
                Some(DataFrom::Find {
                    path: owned(s(f, &["path"])),
                    loc: span.field("find", ""),
                })
            } else {
                get(d, &["sourceRef", "generatorRef"]).map(|g| DataFrom::Generator {
                    kind: s(g, &["kind"]).unwrap_or_default().to_string(),
                    name: s(g, &["name"]).unwrap_or_default().to_string(),
                    loc: span.field("generatorRef", ""),
                })
            }
        })
        .collect();
    let template_keys = get(v, &["spec", "target", "template", "data"])
        .and_then(V::entries)
        .map(|m| m.map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default();
    ExternalSecret {
        store,
        refresh_interval: s(v, &["spec", "refreshInterval"]).and_then(parse_duration),
        refresh_policy: owned(s(v, &["spec", "refreshPolicy"])),
        target_name,
        creation_policy: s(v, &["spec", "target", "creationPolicy"])
            .unwrap_or("Owner")
            .into(),
        deletion_policy: s(v, &["spec", "target", "deletionPolicy"])
            .unwrap_or("Retain")
            .into(),
        immutable: b(v, &["spec", "target", "immutable"]),
        template_type: owned(s(v, &["spec", "target", "template", "type"])),
        template_keys,
        data,
        data_from,
        refresh_time: t(v, &["status", "refreshTime"]),
        conditions: conditions(v, &["status", "conditions"], span),
        table_status: None,
        loc_spec: span.field("spec", ""),
        meta,
        ..Default::default()
    }
}

fn store<V: Json>(v: &V, kind: &str, span: &Span) -> SecretStore {
    let meta = meta(v, span);
    let provider = get(v, &["spec", "provider"]).filter(|p| p.is_object());
    let vault = get(v, &["spec", "provider", "vault"]).map(|p| {
        let auth = if let Some(k) = get(p, &["auth", "kubernetes"]) {
            let role = s(k, &["role"]).unwrap_or_default().to_string();
            VaultAuth::Kubernetes {
                mount_path: s(k, &["mountPath"])
                    .unwrap_or("kubernetes")
                    .trim_matches('/')
                    .to_string(),
                loc: span.field("role", &role),
                role,
                service_account: s(k, &["serviceAccountRef", "name"]).map(|n| {
                    (
                        n.to_string(),
                        owned(s(k, &["serviceAccountRef", "namespace"])),
                    )
                }),
            }
        } else if let Some(tk) = get(p, &["auth", "tokenSecretRef"]) {
            let name = s(tk, &["name"]).unwrap_or_default().to_string();
            VaultAuth::Token {
                loc: span.field("name", &name),
                secret: name,
                key: s(tk, &["key"]).unwrap_or("token").to_string(),
                namespace: owned(s(tk, &["namespace"])),
            }
        } else if let Some(m) = get(p, &["auth"])
            .and_then(V::entries)
            .and_then(|mut a| a.find(|(k, _)| *k != "namespace"))
            .map(|(k, _)| k)
        {
            VaultAuth::Other {
                method: m.to_string(),
                loc: span.field(m, ""),
            }
        } else {
            VaultAuth::Unknown
        };
        let server = s(p, &["server"]).unwrap_or_default().to_string();
        VaultProvider {
            loc: span.field("server", &server),
            server,
            path: owned(s(p, &["path"])).map(|p| p.trim_matches('/').to_string()),
            version: s(p, &["version"]).unwrap_or("v2").to_string(),
            namespace: owned(s(p, &["namespace"])),
            auth,
        }
    });
    let other_provider = if vault.is_none() {
        provider
            .and_then(V::entries)
            .and_then(|mut m| m.next())
            .map(|(k, _)| k.to_string())
    } else {
        None
    };
    // a selector or a regex admits namespaces we cannot enumerate: then the list says nothing
    let conds = arr(v, &["spec", "conditions"]);
    let open_ended = conds.iter().any(|c| {
        get(c, &["namespaceSelector"]).is_some() || !arr(c, &["namespaceRegexes"]).is_empty()
    });
    let allowed_namespaces = if open_ended {
        Vec::new()
    } else {
        conds
            .iter()
            .flat_map(|c| {
                arr(c, &["namespaces"])
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
            })
            .collect()
    };
    SecretStore {
        kind: kind.to_string(),
        vault,
        other_provider,
        conditions: conditions(v, &["status", "conditions"], span),
        table_status: None,
        allowed_namespaces,
        meta: if kind == "ClusterSecretStore" {
            Meta {
                namespace: None,
                ..meta
            }
        } else {
            meta
        },
        connection: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_shapes() {
        assert_eq!(
            credential_shape("hvs.CAESIGabcdefghij"),
            CredentialShape::VaultToken
        );
        assert_eq!(
            credential_shape("s.abcdefghijklmnop"),
            CredentialShape::VaultToken
        );
        assert_eq!(credential_shape("hunter2"), CredentialShape::Other);
        assert_eq!(credential_shape(""), CredentialShape::Empty);
        // header.payload.signature with exp = 1700000000
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig");
        assert!(matches!(
            credential_shape(&jwt),
            CredentialShape::Jwt { exp: Some(_) }
        ));
    }

    #[test]
    fn docker_shapes() {
        let auth = base64::engine::general_purpose::STANDARD.encode("svc:hvs.CAESIGxyzxyzxyz123");
        let json = format!(r#"{{"auths":{{"reg.example:5000":{{"auth":"{auth}"}}}}}}"#);
        let shape = docker_shape(json.as_bytes(), false).unwrap();
        assert_eq!(shape[0].registry, "reg.example:5000");
        assert_eq!(shape[0].username.as_deref(), Some("svc"));
        assert_eq!(shape[0].password, CredentialShape::VaultToken);
        assert!(docker_shape(b"{}", false).is_err());
        assert!(docker_shape(b"nope", false).is_err());
    }
}
