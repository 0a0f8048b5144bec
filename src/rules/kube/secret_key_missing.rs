//! CT-K8S-005 secret-key-missing.

use crate::graph::derive::{produced_keys, secret_failure};
use crate::model::{Kind, Loc, ObjRef};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct SecretKeyMissing;
pub static RULE: SecretKeyMissing = SecretKeyMissing;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-005",
    name: "secret-key-missing",
    severity: Severity::Error,
    covers: &["FM-13"],
    summary: "a Pod reads a key its Secret does not have, or that its ExternalSecret does not write",
    docs: "## What it checks\n\
For every `secretKeyRef.key` and secret volume `items[].key` that is not optional: the key must be among the \
Secret's data keys, and, when the Secret is written by an ExternalSecret, among the keys it writes \
(`data[].secretKey`, or the template's keys). kubelet's `couldn't find key K in Secret ns/x` and \
`references non-existent secret key: K` events are used too. When the ExternalSecret uses `dataFrom`, the keys \
are known only to the provider and the check says so.\n\n\
## Why it matters\n\
The container fails with `CreateContainerConfigError` (env) or the volume never mounts. A Vault field renamed, or \
the Pod, the ExternalSecret and its template disagreeing, are the usual causes.\n\n\
## Example\n\
The Pod reads `DB_PASSWORD`; the ExternalSecret writes `db-password`.\n\n\
## How to fix\n\
Make the names agree (the ExternalSecret's `secretKey`, its template, or the Pod's `key`), then resync.",
};

impl Rule for SecretKeyMissing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let unknown = Loc::default();
        for pod in &snap.pods {
            let Some(ns) = pod.meta.namespace.as_deref() else {
                continue;
            };
            // borrowed: most pods want nothing missing, and their refs were copied for nothing
            let mut wanted: Vec<(&str, &str, &Loc)> = Vec::new();
            for c in &pod.containers {
                for r in c
                    .env_secret_refs
                    .iter()
                    .filter(|r| !r.optional && !r.key.is_empty())
                {
                    wanted.push((&r.secret, &r.key, &r.loc));
                }
            }
            for v in &pod.volumes {
                for s in v.secrets.iter().filter(|s| !s.optional) {
                    for k in &s.items {
                        wanted.push((&s.secret, k, &s.loc));
                    }
                }
            }
            let failure = secret_failure(snap, pod);
            if let Some(f) = &failure {
                if let (Some(s), Some(k)) = (&f.secret, &f.key) {
                    if !wanted.iter().any(|(ws, wk, _)| ws == s && wk == k) {
                        wanted.push((s, k, f.evidence.first().unwrap_or(&unknown)));
                    }
                }
            }
            for (secret, key, loc) in wanted {
                let s = snap.secret(ns, secret);
                let in_secret = s
                    .filter(|s| !s.keys.is_empty())
                    .map(|s| s.keys.iter().any(|k| k == key));
                let producers = snap.producers_of(ns, secret);
                let produced = producers
                    .iter()
                    .find_map(|es| produced_keys(es).map(|k| (es, k)));
                let kubelet = failure.as_ref().filter(|f| {
                    f.key.as_deref() == Some(key) && f.secret.as_deref().is_none_or(|x| x == secret)
                });
                let missing_in_secret = in_secret == Some(false) || kubelet.is_some();
                let missing_in_producer = produced
                    .as_ref()
                    .is_some_and(|(_, keys)| !keys.contains(&key));
                if !missing_in_secret && !missing_in_producer {
                    continue;
                }
                let mut msg = format!(
                    "Pod {ns}/{} reads key {key} of Secret {secret}",
                    pod.meta.name
                );
                if let Some(s) = s.filter(|s| !s.keys.is_empty()) {
                    msg.push_str(&format!(", which holds only {}", s.keys.join(", ")));
                } else if kubelet.is_some() {
                    msg.push_str(", which kubelet cannot find");
                }
                if let Some((es, keys)) = &produced {
                    if !keys.contains(&key) {
                        msg.push_str(&format!(
                            "; {} {} writes {}",
                            es.kind().as_str(),
                            es.meta.name,
                            if keys.is_empty() {
                                "no keys".to_string()
                            } else {
                                keys.join(", ")
                            }
                        ));
                    }
                }
                let mut f = sink.finding(ObjRef::new(Kind::Secret, Some(ns), secret), msg);
                f.evidence.push(loc.clone());
                if let Some(k) = kubelet {
                    f.evidence.extend(k.evidence.iter().cloned());
                    f.since = k.since;
                }
                if let Some(s) = s {
                    f.evidence.push(s.meta.loc.clone());
                }
                if let Some((es, _)) = &produced {
                    f.evidence.push(es.loc_spec.clone());
                    f.remediation.push(if es.source == crate::model::Source::Csi {
                        format!(
                            "make the key names agree: add `- key: {key}` (with its objectName) to secretObjects of SecretProviderClass {} (kubectl -n {ns} edit secretproviderclass {}), or change the Pod's key",
                            es.meta.name, es.meta.name
                        )
                    } else {
                        format!(
                            "make the key names agree: add `secretKey: {key}` to ExternalSecret {} (kubectl -n {ns} edit externalsecret {}), or change the Pod's key",
                            es.meta.name, es.meta.name
                        )
                    });
                    f.remediation.push(resync_command(snap, es));
                } else {
                    f.remediation.push(format!(
                        "add key {key} to Secret {secret}, or change the Pod's key"
                    ));
                }
                f.related
                    .push(ObjRef::new(Kind::Pod, Some(ns), &pod.meta.name));
                sink.report(f);
            }
        }
    }
}
