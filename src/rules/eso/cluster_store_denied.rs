//! CT-ESO-005 cluster-store-denies-namespace.

use crate::model::{Kind, ObjRef};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct ClusterStoreDenied;
pub static RULE: ClusterStoreDenied = ClusterStoreDenied;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-005",
    name: "cluster-store-denies-namespace",
    severity: Severity::Error,
    covers: &["FM-19"],
    summary: "a ClusterSecretStore's spec.conditions do not admit the ExternalSecret's namespace",
    docs: "## What it checks\n\
ExternalSecrets using a ClusterSecretStore whose `spec.conditions[].namespaces` list does not contain their \
namespace, and ESO's event `using cluster store \"x\" is not allowed from namespace \"y\": denied by spec.condition`. \
(`namespaceSelector` and `namespaceRegexes` are read from ESO's event; the labels they test are often not in the \
bundle.)\n\n\
## Why it matters\n\
A new namespace never gets its secrets while every other namespace works.\n\n\
## Example\n\
`conditions: [{namespaces: [team-a, team-b]}]` and an ExternalSecret in `team-c`.\n\n\
## How to fix\n\
Add the namespace to the store's conditions (or label it to match the `namespaceSelector`).",
};

impl Rule for ClusterStoreDenied {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        for es in snap.external_secrets.iter().filter(|e| e.source.is_eso()) {
            let Some(ns) = es.meta.namespace.as_deref() else {
                continue;
            };
            // ESO's own words are enough, even when the spec is not in the bundle
            let event = snap
                .events_for("ExternalSecret", Some(ns), &es.meta.name)
                .into_iter()
                .find(|e| {
                    e.message.contains("is not allowed from namespace")
                        || e.message.contains("denied by spec.condition")
                });
            if es.store.kind != "ClusterSecretStore" && event.is_none() {
                continue;
            }
            let store_name = match event
                .and_then(|e| e.message.split("cluster store \"").nth(1))
                .and_then(|r| r.split('"').next())
            {
                Some(n) if es.store.name.is_empty() => n.to_string(),
                _ => es.store.name.to_string(),
            };
            let store = snap
                .stores
                .iter()
                .find(|s| s.kind == "ClusterSecretStore" && s.meta.name == store_name);
            let by_list = store.is_some_and(|s| {
                !s.allowed_namespaces.is_empty() && !s.allowed_namespaces.iter().any(|n| n == ns)
            });
            if !by_list && event.is_none() {
                continue;
            }
            let allowed = store
                .map(|s| s.allowed_namespaces.join(", "))
                .filter(|a| !a.is_empty());
            let mut f = sink.finding(
                ObjRef::new(Kind::ExternalSecret, Some(ns), &es.meta.name),
                format!(
                    "ClusterSecretStore {store_name} does not admit namespace {ns}{}, so ExternalSecret {} cannot use it",
                    allowed.map(|a| format!(" (its conditions allow {a})")).unwrap_or_default(),
                    es.meta.name
                ),
            );
            f.evidence.push(es.store.loc.clone());
            if let Some(e) = event {
                f.evidence.push(e.loc.clone());
            }
            if let Some(s) = store {
                f.evidence.push(s.meta.loc.clone());
            }
            f.remediation.push(format!(
                "add {ns} to the store's conditions: kubectl edit clustersecretstore {store_name} (spec.conditions[].namespaces), or label the namespace to match its namespaceSelector"
            ));
            sink.report(f);
        }
    }
}
