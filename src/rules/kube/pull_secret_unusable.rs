//! CT-K8S-006 pull-secret-unusable.

use crate::graph::derive::{pull_failure, registry_matches, registry_of};
use crate::model::{Kind, ObjRef, Secret};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct PullSecretUnusable;
pub static RULE: PullSecretUnusable = PullSecretUnusable;

static META: RuleMeta = RuleMeta {
    id: "CT-K8S-006",
    name: "pull-secret-unusable",
    severity: Severity::Error,
    covers: &["FM-15"],
    summary: "an image pull secret is ignored by kubelet (wrong type, malformed) or has no entry for the image's registry",
    docs: "## What it checks\n\
For each `imagePullSecrets` entry of a Pod: the Secret's type must be `kubernetes.io/dockerconfigjson` (with a \
`.dockerconfigjson` key) or `kubernetes.io/dockercfg` (with `.dockercfg`); its JSON must parse and hold `auths`; and \
one of the Pod's pull secrets must have an `auths` entry for each image's registry host (`docker.io` spellings \
are treated as one).\n\n\
## Why it matters\n\
kubelet silently skips a pull secret of another type or with malformed JSON; the registry then answers \
`401 Unauthorized` and nothing says why. An ExternalSecret without `target.template.type: \
kubernetes.io/dockerconfigjson` writes an `Opaque` Secret that kubelet ignores.\n\n\
## Example\n\
`regcred` is `Opaque` with a `.dockerconfigjson` key; the Pod's image is on `ghcr.io` but `auths` only has \
`https://index.docker.io/v1/`.\n\n\
## How to fix\n\
Set `spec.target.template.type: kubernetes.io/dockerconfigjson` on the ExternalSecret (or recreate the Secret with \
`kubectl create secret docker-registry`), and add an `auths` entry for the registry host.",
};

fn type_problem(s: &Secret) -> Option<String> {
    let t = s.type_.as_deref()?;
    match t {
        "kubernetes.io/dockerconfigjson" if s.has_data && !s.keys.iter().any(|k| k == ".dockerconfigjson") => {
            Some("has no .dockerconfigjson key".into())
        }
        "kubernetes.io/dockercfg" if s.has_data && !s.keys.iter().any(|k| k == ".dockercfg") => Some("has no .dockercfg key".into()),
        "kubernetes.io/dockerconfigjson" | "kubernetes.io/dockercfg" => match &s.docker {
            Some(Err(e)) => Some(format!("holds a dockerconfig kubelet cannot read ({e})")),
            _ => None,
        },
        other => Some(format!("is of type {other}, which kubelet ignores for image pulls (it needs kubernetes.io/dockerconfigjson)")),
    }
}

impl Rule for PullSecretUnusable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let mut reported: Vec<ObjRef> = Vec::new();
        for pod in &snap.pods {
            let Some(ns) = pod.meta.namespace.as_deref() else {
                continue;
            };
            if pod.image_pull_secrets.is_empty() {
                continue;
            }
            let failing = pull_failure(snap, pod).is_some();
            let secrets: Vec<(&Secret, &crate::model::Loc)> = pod
                .image_pull_secrets
                .iter()
                .filter_map(|(n, l)| snap.secret(ns, n).map(|s| (s, l)))
                .collect();
            for (s, loc) in &secrets {
                // the type first: a subject is made only for a Secret with a problem
                let Some(problem) = type_problem(s) else {
                    continue;
                };
                let subject = ObjRef::new(Kind::Secret, Some(ns), &s.meta.name);
                if reported.contains(&subject) {
                    continue;
                }
                reported.push(subject.clone());
                let mut f = sink.finding(
                    subject,
                    format!(
                        "pull secret {ns}/{} {problem}; Pod {} cannot use it",
                        s.meta.name, pod.meta.name
                    ),
                );
                if !failing {
                    f.severity = Severity::Warning;
                }
                f.evidence.push((*loc).clone());
                f.evidence.push(s.meta.loc.clone());
                let producers = snap.producers_of(ns, &s.meta.name);
                for es in producers {
                    f.remediation.push(format!(
                        "kubectl -n {ns} patch externalsecret {} --type merge -p '{{\"spec\":{{\"target\":{{\"template\":{{\"type\":\"kubernetes.io/dockerconfigjson\"}}}}}}}}'",
                        es.meta.name
                    ));
                }
                if f.remediation.is_empty() {
                    f.remediation.push(format!(
                        "recreate it with the right type: kubectl -n {ns} create secret docker-registry {} --docker-server=REGISTRY --docker-username=USER --docker-password=...",
                        s.meta.name
                    ));
                }
                f.related
                    .push(ObjRef::new(Kind::Pod, Some(ns), &pod.meta.name));
                sink.report(f);
            }
            // each image's registry must be covered by one usable pull secret
            let known: Vec<&Vec<crate::model::DockerAuth>> = secrets
                .iter()
                .filter_map(|(s, _)| s.docker.as_ref().and_then(|d| d.as_ref().ok()))
                .collect();
            if known.len() != secrets.len()
                || secrets.len() != pod.image_pull_secrets.len()
                || known.is_empty()
            {
                continue; // some pull secret is not decoded or not collected: cannot tell
            }
            for c in &pod.containers {
                let reg = registry_of(&c.image);
                if known
                    .iter()
                    .any(|auths| auths.iter().any(|a| registry_matches(&a.registry, &reg)))
                {
                    continue;
                }
                let (s, loc) = secrets[0];
                let subject = ObjRef::new(Kind::Secret, Some(ns), &s.meta.name);
                if reported.contains(&subject) {
                    continue;
                }
                reported.push(subject.clone());
                let hosts: Vec<&str> = known
                    .iter()
                    .flat_map(|a| a.iter().map(|x| x.registry.as_str()))
                    .collect();
                let mut f = sink.finding(
                    subject,
                    format!(
                        "Pod {ns}/{} pulls {} from {reg}, but its pull secrets only have credentials for {}",
                        pod.meta.name,
                        c.image,
                        hosts.join(", ")
                    ),
                );
                if !failing {
                    f.severity = Severity::Warning;
                }
                f.evidence.push(c.loc.clone());
                f.evidence.push(loc.clone());
                f.remediation.push(format!(
                    "add an auths entry for {reg} to Secret {} (or its ExternalSecret template)",
                    s.meta.name
                ));
                f.related
                    .push(ObjRef::new(Kind::Pod, Some(ns), &pod.meta.name));
                sink.report(f);
            }
        }
    }
}
