//! CT-VAULT-013 vault-sealed.

use crate::graph::access::{audit_on, sealed};
use crate::graph::derive::es_sync;
use crate::model::{ExternalSecret, Kind, ObjRef};
use crate::rules::vault::support::{add_failures, store_ref};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct Sealed;
pub static RULE: Sealed = Sealed;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-013",
    name: "vault-sealed",
    severity: Severity::Error,
    covers: &["FM-22"],
    summary: "the Vault server is sealed, so every store and ExternalSecret reading from it fails",
    docs: "## What it checks\n\
`vault status` (`Sealed true`), or Vault errors `Code: 503 ... Vault is sealed` in store and ExternalSecret \
events. The audit log's `sys/seal` request says when and by whom it was sealed.\n\n\
## Why it matters\n\
A sealed Vault answers nothing: every store, every ExternalSecret and every Vault Agent init container fails at \
once. It is one root cause; the per-ExternalSecret failures are its symptoms, and policies or roles are not at \
fault.\n\n\
## Example\n\
`vault status` shows `Sealed  true`; ExternalSecret events end with `Code: 503. Errors: * Vault is sealed`.\n\n\
## How to fix\n\
Unseal it (`vault operator unseal`, once per key share up to the threshold) or repair auto-unseal (KMS/HSM access), \
check `vault status`, then force the ExternalSecrets to resync.",
};

impl Rule for Sealed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let vault_stores: Vec<_> = snap.stores.iter().filter(|s| s.vault.is_some()).collect();
        let Some(loc) = sealed(snap) else {
            if snap.vault.status.as_ref().and_then(|s| s.sealed).is_none()
                && !vault_stores.is_empty()
            {
                sink.skip("no `vault status` output in the bundle");
            }
            return;
        };
        let mut servers: Vec<&str> = vault_stores
            .iter()
            .filter_map(|s| s.vault.as_ref().map(|v| v.server.as_str()))
            .collect();
        servers.sort();
        servers.dedup();
        if servers.is_empty() {
            servers.push("vault");
        }
        for server in servers {
            let subject = ObjRef::new(Kind::VaultServer, None, server);
            let stores: Vec<_> = vault_stores
                .iter()
                .filter(|s| s.vault.as_ref().is_some_and(|v| v.server == server))
                .collect();
            let ess: Vec<&ExternalSecret> = snap
                .external_secrets
                .iter()
                .map(|e| &**e)
                .filter(|e| {
                    snap.store_for(e)
                        .is_some_and(|s| stores.iter().any(|x| std::ptr::eq(**x, s)))
                })
                .collect();
            let failing = ess
                .iter()
                .filter(|e| es_sync(snap, e).failing == Some(true))
                .count();
            let msg = format!(
                "Vault at {server} is sealed: it answers no request, so all {} store{} and {} ExternalSecret{} reading from it fail ({failing} failing now); policies and roles are not at fault",
                stores.len(),
                if stores.len() == 1 { "" } else { "s" },
                ess.len(),
                if ess.len() == 1 { "" } else { "s" }
            );
            let mut f = sink.finding(subject.clone(), msg);
            f.evidence.push(loc.clone());
            let seal = audit_on(snap, &["update", "create"], "sys/seal");
            if let Some(a) = seal.last() {
                f.evidence.push(a.loc.clone());
                f.since = a.time;
                if let Some(t) = a.time {
                    f.events.push((
                        t,
                        subject.clone(),
                        format!(
                            "Vault sealed{}",
                            a.display_name
                                .as_deref()
                                .map(|n| format!(" by {n}"))
                                .unwrap_or_default()
                        ),
                    ));
                }
            }
            add_failures(snap, &mut f, &ess);
            for s in &stores {
                f.related.push(store_ref(s));
            }
            f.remediation.push("unseal Vault: vault operator unseal (repeat with key shares up to the threshold), or restore auto-unseal access to its KMS/HSM".into());
            f.remediation
                .push("confirm: vault status (Sealed false)".into());
            for es in ess
                .iter()
                .filter(|e| es_sync(snap, e).failing == Some(true))
            {
                f.remediation.push(resync_command(snap, es));
            }
            sink.report(f);
        }
    }
}
