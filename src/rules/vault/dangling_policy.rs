//! CT-VAULT-001 role-references-missing-policy.

use crate::graph::derive::{es_sync, network_failure, store_error};
use crate::model::time::fmt_time;
use crate::model::{AuditEvent, ExternalSecret, Kind, ObjRef, Presence, Snapshot, VaultAuth};
use crate::rules::vault::support::es_name;
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct DanglingPolicy;
pub static RULE: DanglingPolicy = DanglingPolicy;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-001",
    name: "role-references-missing-policy",
    severity: Severity::Error,
    covers: &["FM-01"],
    summary: "a Vault auth role lists a policy that does not exist",
    docs: "## What it checks\n\
For every auth role in the bundle (`vault read auth/M/role/R`), the names in `token_policies` and `policies` \
against `vault policy list` (or a `No policy named: X` answer). A name the list lacks is a dangling reference. \
When the audit log holds the `delete` of `sys/policies/acl/X` (or legacy `sys/policy/X`), the finding says who \
deleted it and when.\n\n\
## Why it matters\n\
Vault resolves policy names on every request and silently skips names that no longer exist: logins keep working, \
the store stays `Valid`, and only the reads the deleted policy granted fail with `403 permission denied`.\n\n\
## Example\n\
Role `kubernetes/eso-prod` has `token_policies [app-a app-b]`; `vault policy list` shows only `app-b`.\n\n\
## How to fix\n\
Restore the policy from version control (`vault policy write NAME NAME.hcl`), or remove the name from the role \
(`vault write auth/M/role/R token_policies=...`); then force the affected ExternalSecrets to resync.",
};

/// The audit entries that deleted policy `name`, oldest first.
pub fn deletions<'a>(snap: &'a Snapshot, name: &str) -> Vec<&'a AuditEvent> {
    let paths = [
        format!("sys/policies/acl/{name}"),
        format!("sys/policy/{name}"),
    ];
    let mut v: Vec<&AuditEvent> = snap
        .vault
        .audit
        .iter()
        .filter(|a| a.operation == "delete" && paths.contains(&a.path) && a.error.is_none())
        .collect();
    v.sort_by_key(|a| a.time);
    v
}

impl Rule for DanglingPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        if snap.vault.roles.is_empty() {
            sink.skip("no Vault auth role (`vault read auth/M/role/R`) in the bundle");
            return;
        }
        if snap.vault.policy_list.is_none() && snap.vault.policies_absent.is_empty() {
            sink.skip("no `vault policy list` output in the bundle");
            return;
        }
        for role in snap.vault.roles.values() {
            let role_ref = ObjRef::new(
                Kind::VaultRole,
                None,
                &format!("{}/{}", role.mount, role.name),
            );
            // ExternalSecrets whose store logs in with this role: those Vault refused with 403,
            // and those failing for a reason the bundle does not show (never network failures)
            let mut denied: Vec<&ExternalSecret> = Vec::new();
            let mut unexplained: Vec<&ExternalSecret> = Vec::new();
            let mut kinds: Vec<Kind> = Vec::new();
            for es in &snap.external_secrets {
                let store = snap.store_for(es);
                let uses_role = store.and_then(|s| s.vault.as_ref()).is_some_and(|v| {
                    matches!(&v.auth, VaultAuth::Kubernetes { mount_path, role: r, .. } if *mount_path == role.mount && *r == role.name)
                });
                if !uses_role {
                    continue;
                }
                let st = es_sync(snap, es);
                if st.failing != Some(true) {
                    continue;
                }
                let network = st.detail.as_deref().and_then(network_failure).is_some()
                    || store
                        .and_then(|s| store_error(snap, s))
                        .is_some_and(|(m, _, _)| network_failure(&m).is_some());
                match &st.vault_error {
                    Some((e, _)) if e.is_permission_denied() => denied.push(es),
                    None if !network => unexplained.push(es),
                    _ => continue,
                }
                if !kinds.contains(&es.kind()) {
                    kinds.push(es.kind());
                }
            }
            for (policy, ploc) in &role.policies {
                if snap.presence(Kind::VaultPolicy, None, policy) != Presence::Missing {
                    continue;
                }
                let subject = ObjRef::new(Kind::VaultPolicy, None, policy);
                let dels = deletions(snap, policy);
                let who = dels.first().map(|d| {
                    format!(
                        " (deleted {}{})",
                        d.time
                            .map(fmt_time)
                            .unwrap_or_else(|| "at an unknown time".into()),
                        d.display_name
                            .as_deref()
                            .map(|n| format!(" by {n}"))
                            .unwrap_or_default()
                    )
                });
                let mut msg = format!(
                    "Vault role {}/{} lists policy {policy}, which does not exist{}",
                    role.mount,
                    role.name,
                    who.unwrap_or_default()
                );
                // what logs in with the role: ExternalSecrets through their store, Certificates
                // through their issuer, ...
                let who_logs_in = match kinds.as_slice() {
                    [Kind::ExternalSecret] | [] => "ExternalSecrets logging in".to_string(),
                    [k] => format!(
                        "{}s logging in through their {}",
                        k.as_str(),
                        store_word(*k)
                    ),
                    _ => "objects logging in".to_string(),
                };
                if !denied.is_empty() {
                    let names: Vec<String> = denied.iter().map(|e| es_name(e)).collect();
                    msg.push_str(&format!(
                        "; {who_logs_in} with this role get 403 permission denied: {}",
                        names.join(", ")
                    ));
                }
                if !unexplained.is_empty() {
                    let names: Vec<String> = unexplained.iter().map(|e| es_name(e)).collect();
                    msg.push_str(&format!(
                        "; {who_logs_in} with this role fail to sync (their Vault error is not in the bundle): {}",
                        names.join(", ")
                    ));
                }
                let mut f = sink.finding(subject.clone(), msg);
                if denied.is_empty() && unexplained.is_empty() {
                    f.severity = Severity::Warning;
                }
                // who deleted it first, then the role's reference, then the proof of absence
                for d in &dels {
                    f.evidence.push(d.loc.clone());
                }
                f.evidence.push(ploc.clone());
                if let Some(l) = snap.vault.policies_absent.get(policy) {
                    f.evidence.push(l.clone());
                }
                if let Some((_, l)) = &snap.vault.policy_list {
                    f.evidence.push(l.clone());
                }
                if let Some(d) = dels.first() {
                    f.since = d.time;
                    if let Some(t) = d.time {
                        f.events.push((
                            t,
                            subject.clone(),
                            format!(
                                "policy {policy} deleted{}",
                                d.display_name
                                    .as_deref()
                                    .map(|n| format!(" by {n}"))
                                    .unwrap_or_default()
                            ),
                        ));
                    }
                }
                f.related.push(role_ref.clone());
                f.remediation.push(format!("restore the policy from version control: vault policy write {policy} {policy}.hcl"));
                let others: Vec<&str> = role
                    .policies
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .filter(|p| p != policy)
                    .collect();
                f.remediation.push(format!(
                    "or, if it was removed on purpose, drop it from the role: vault write auth/{}/role/{} token_policies={}",
                    role.mount,
                    role.name,
                    others.join(",")
                ));
                for es in denied.iter().chain(&unexplained) {
                    f.remediation.push(resync_command(snap, es));
                }
                sink.report(f);
            }
        }
    }
}

/// What a sync object of this kind logs in to Vault through.
fn store_word(k: Kind) -> &'static str {
    match k {
        Kind::Certificate => "issuer",
        Kind::VaultStaticSecret | Kind::VaultDynamicSecret | Kind::VaultPKISecret => "VaultAuth",
        _ => "store",
    }
}
