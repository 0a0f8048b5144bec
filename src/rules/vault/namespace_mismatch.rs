//! CT-VAULT-014 vault-namespace-mismatch.

use crate::graph::access::{namespace_mismatch, store_role, users};
use crate::model::{Kind, ObjRef};
use crate::rules::vault::support::{add_failures, names, store_kubectl, store_name, store_ref};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct NamespaceMismatch;
pub static RULE: NamespaceMismatch = NamespaceMismatch;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-014",
    name: "vault-namespace-mismatch",
    severity: Severity::Error,
    covers: &["FM-23"],
    summary: "a store talks to one Vault Enterprise namespace while its role, policies or secrets live in another",
    docs: "## What it checks\n\
For every Vault store, its `namespace` (none = the root namespace) against the namespaces in which the audit log \
(`request.namespace.path`) shows its auth role, the role's policies or the paths its ExternalSecrets read being \
used successfully, when nothing of the store's succeeded in its own namespace.\n\n\
## Why it matters\n\
Mounts, roles and policies are per namespace. A store without `namespace` logs in at the root, where the role \
does not exist (`invalid role name`, `permission denied`): it looks like a missing role or a policy problem, and \
fixing either in the wrong namespace changes nothing.\n\n\
## Example\n\
Store without `namespace`; the audit log shows `auth/kubernetes/role/eso` written in namespace `team-a/`.\n\n\
## How to fix\n\
Set the store's namespace (`kubectl patch secretstore NAME --type merge -p \
'{\"spec\":{\"provider\":{\"vault\":{\"namespace\":\"team-a\"}}}}'`), then force the ExternalSecrets to resync.",
};

impl Rule for NamespaceMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if !snap.stores.iter().any(|s| s.vault.is_some()) {
            return;
        }
        if snap.vault.audit.is_empty() {
            sink.skip("no Vault audit log (request namespaces) in the bundle");
            return;
        }
        for store in snap.stores.iter().filter(|s| s.vault.is_some()) {
            let Some((ns, evs)) = namespace_mismatch(snap, store) else {
                continue;
            };
            let v = store.vault.as_ref().expect("vault store");
            let here = v
                .namespace
                .as_deref()
                .map(|n| n.trim_matches('/'))
                .filter(|n| !n.is_empty())
                .unwrap_or("root");
            let subject = match store_role(snap, store) {
                Some((m, r, _)) => ObjRef::new(Kind::VaultRole, None, &format!("{m}/{r}")),
                None => store_ref(store),
            };
            let ess = users(snap, store);
            let mut seen: Vec<&str> = evs.iter().map(|a| a.path.as_str()).collect();
            seen.sort();
            seen.dedup();
            let mut msg = format!(
                "{} talks to Vault namespace {here}, but the audit log shows its Vault objects used in namespace {ns} ({})",
                store_name(store),
                seen.join(", ")
            );
            if !ess.is_empty() {
                msg.push_str(&format!("; {}", names(&ess)));
            }
            let mut f = sink.finding(subject.clone(), msg);
            f.evidence.push(v.loc.clone());
            for a in evs.iter().take(3) {
                f.evidence.push(a.loc.clone());
            }
            add_failures(snap, &mut f, &ess);
            if ess
                .iter()
                .all(|e| crate::graph::derive::es_sync(snap, e).failing != Some(true))
            {
                f.severity = Severity::Warning;
            }
            f.related.push(store_ref(store));
            f.remediation.push(format!(
                "set the store's Vault namespace: kubectl patch {} --type merge -p '{{\"spec\":{{\"provider\":{{\"vault\":{{\"namespace\":\"{ns}\"}}}}}}}}'",
                store_kubectl(store)
            ));
            for es in &ess {
                f.remediation.push(resync_command(snap, es));
            }
            sink.report(f);
        }
    }
}
