//! Joins the Vault rules share: the ACL verdicts of every ExternalSecret read through a
//! Kubernetes-auth role, the failure window of a set of ExternalSecrets, subject names.
//! Helpers only; no rule depends on another rule's findings.

use crate::acl::explain::{Denial, RuleRef};
use crate::graph::access::{self, Request};
use crate::graph::derive::es_sync;
use crate::model::*;
use crate::rules::{resync_command, Ctx, Finding, Severity, Sink};

/// One refused request of one ExternalSecret.
pub struct Refusal<'a> {
    pub es: &'a ExternalSecret,
    /// `MOUNT/ROLE`.
    pub role: String,
    pub request: Request,
    pub denial: Denial,
    /// The refusal is why the ExternalSecret fails now (Vault answered `permission denied`).
    pub current: bool,
}

/// Every request the role's policies refuse, for ExternalSecrets that are not known to sync.
/// `Err` when no ExternalSecret could be evaluated, saying what the bundle lacks.
pub fn refusals(snap: &Snapshot) -> Result<Vec<Refusal<'_>>, String> {
    let mut out = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut evaluated = 0;
    let mut roles_known: crate::model::FastMap<(&str, &str), Result<(), String>> =
        Default::default();
    for es in &snap.external_secrets {
        let Some(store) = snap.store_for(es) else {
            continue;
        };
        let Some((mount, role, known_role)) = access::store_role(snap, store) else {
            continue;
        };
        // an ExternalSecret that syncs has nothing refused: count it evaluated when its role's
        // policies are known, without evaluating every request (fleets have thousands)
        if es_sync(snap, es).failing == Some(false) {
            if let Some(role) = known_role {
                let known = roles_known
                    .entry((role.mount.as_str(), role.name.as_str()))
                    .or_insert_with(|| access::token_policies(snap, role).map(|_| ()));
                match known {
                    Ok(()) => evaluated += 1,
                    Err(m) => {
                        if !missing.contains(m) {
                            missing.push(m.clone());
                        }
                    }
                }
            }
            continue;
        }
        match access::verdicts(snap, es) {
            Ok(Some(vs)) => {
                evaluated += 1;
                let current = access::acl_can_explain(snap, es);
                for v in vs {
                    let Some(denial) = v.denial else { continue };
                    if access::mount_problem(snap, store, es, &v.request.path).is_some() {
                        continue;
                    }
                    out.push(Refusal {
                        es,
                        role: format!("{mount}/{role}"),
                        request: v.request,
                        denial,
                        current,
                    });
                }
            }
            Ok(None) => {}
            Err(m) => {
                if !missing.contains(&m) {
                    missing.push(m);
                }
            }
        }
    }
    if evaluated == 0 {
        return Err(if missing.is_empty() {
            "an ExternalSecret that reads Vault through a Kubernetes-auth store".into()
        } else {
            missing.join("; ")
        });
    }
    Ok(out)
}

/// `ns/name`.
pub fn es_name(es: &ExternalSecret) -> String {
    format!(
        "{}/{}",
        es.meta.namespace.as_deref().unwrap_or("-"),
        es.meta.name
    )
}

pub fn es_ref(es: &ExternalSecret) -> ObjRef {
    es.obj()
}

pub fn store_ref(store: &SecretStore) -> ObjRef {
    store.obj()
}

/// `SecretStore ns/name` or `ClusterSecretStore name`.
pub fn store_name(store: &SecretStore) -> String {
    match &store.meta.namespace {
        Some(ns) if !is_cluster_store(&store.kind) => {
            format!("{} {ns}/{}", store.kind, store.meta.name)
        }
        _ => format!("{} {}", store.kind, store.meta.name),
    }
}

/// The field of a store that names the ServiceAccount it logs in as.
pub fn sa_field(store: &SecretStore) -> &'static str {
    match store.kind.as_str() {
        "VaultAuth" => "spec.kubernetes.serviceAccount",
        "Issuer" | "ClusterIssuer" => "spec.vault.auth.kubernetes.serviceAccountRef.name",
        "Pod" | "SecretProviderClass" => "the Pod's spec.serviceAccountName",
        _ => "spec.provider.vault.auth.kubernetes.serviceAccountRef",
    }
}

/// The `kubectl` resource and namespace flag of a store, for patch commands.
pub fn store_kubectl(store: &SecretStore) -> String {
    if is_cluster_store(&store.kind) {
        format!("{} {}", store.kind.to_ascii_lowercase(), store.meta.name)
    } else {
        format!(
            "{} {} -n {}",
            store.kind.to_ascii_lowercase(),
            store.meta.name,
            store.meta.namespace.as_deref().unwrap_or("default")
        )
    }
}

/// Adds the failure window of the ExternalSecrets to a finding: evidence (condition, event),
/// timeline events, and `since` (the earliest failure) unless one is set.
pub fn add_failures(snap: &Snapshot, f: &mut Finding, ess: &[&ExternalSecret]) {
    let mut earliest: Option<Time> = None;
    for es in ess {
        let st = es_sync(snap, es);
        if st.failing != Some(true) {
            continue;
        }
        if let Some((_, l)) = &st.vault_error {
            f.evidence.push(l.clone());
        } else if let Some(l) = st.evidence.first() {
            f.evidence.push(l.clone());
        }
        if let Some((t, _)) = &st.since {
            earliest = Some(earliest.map_or(*t, |e: Time| e.min(*t)));
            f.events
                .push((*t, es_ref(es), "sync starts failing".to_string()));
        }
        f.related.push(es_ref(es));
    }
    if f.since.is_none() {
        f.since = earliest;
    }
}

/// The failure window of a store: its Ready condition's transition when it is False.
pub fn store_failing_since(store: &SecretStore) -> Option<(Time, Loc)> {
    store
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "False")
        .and_then(|c| c.last_transition.map(|t| (t, c.loc.clone())))
}

/// Adds the latest successful audit write of `path` (who changed it, when) to a finding.
pub fn add_audit_change(
    f: &mut Finding,
    snap: &Snapshot,
    ops: &[&str],
    path: &str,
    subject: &ObjRef,
    what: &str,
) {
    let evs = access::audit_on(snap, ops, path);
    if let Some(a) = evs.iter().rev().find(|a| a.error.is_none()) {
        f.evidence.insert(0, a.loc.clone());
        if let Some(t) = a.time {
            f.events.push((
                t,
                subject.clone(),
                format!(
                    "{what}{}",
                    a.display_name
                        .as_deref()
                        .map(|n| format!(" by {n}"))
                        .unwrap_or_default()
                ),
            ));
            if f.since.is_none_or(|s| t <= s) {
                f.since = Some(t);
            }
        }
    }
}

/// The sync objects with their kind, sorted and deduplicated: `ExternalSecret a/x, b/y;
/// VaultStaticSecret c/z`.
pub fn names(ess: &[&ExternalSecret]) -> String {
    let mut by_kind: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for e in ess {
        by_kind
            .entry(e.kind().as_str())
            .or_default()
            .push(es_name(e));
    }
    by_kind
        .into_iter()
        .map(|(k, mut v)| {
            v.sort();
            v.dedup();
            format!("{k} {}", v.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A policy rule to blame and the refusals it explains, with the finding every ACL rule starts
/// from: the ExternalSecrets refused, whether it fails now (403) or would be refused, the
/// blamed rule's evidence, the requests, the failures, the policy's last write in the audit
/// log, and the role. The caller adds what is specific to its failure mode (evidence, fix).
pub struct PolicyGroup<'a> {
    pub policy: String,
    pub first: &'a Refusal<'a>,
    pub ess: Vec<&'a ExternalSecret>,
    pub finding: Finding,
}

/// Runs an ACL rule that blames one policy rule per refusal: evaluates the refusals (the rule
/// is skipped when the bundle cannot say), groups them by the blamed rule, lets `finish` add what
/// is specific to the failure mode (evidence, the policy fix), adds each sync object's resync
/// step and reports.
pub fn report_policy_groups(
    ctx: &Ctx,
    sink: &mut Sink,
    blame: fn(&Denial) -> Option<&RuleRef>,
    finish: impl Fn(&mut PolicyGroup),
) {
    let snap = ctx.snap;
    let all = match ctx.refusals() {
        Ok(r) => r,
        Err(missing) => {
            sink.skip(missing.clone());
            return;
        }
    };
    for mut g in policy_groups(snap, sink, all, blame) {
        finish(&mut g);
        for es in &g.ess {
            g.finding.remediation.push(resync_command(snap, es));
        }
        sink.report(g.finding);
    }
}

/// Groups refusals by the rule `blame` picks from each denial and builds the base findings.
pub fn policy_groups<'a>(
    snap: &Snapshot,
    sink: &Sink,
    all: &'a [Refusal<'a>],
    blame: impl Fn(&Denial) -> Option<&RuleRef>,
) -> Vec<PolicyGroup<'a>> {
    let mut groups: std::collections::BTreeMap<(String, String), Vec<&'a Refusal<'a>>> =
        Default::default();
    for r in all {
        if let Some(rule) = blame(&r.denial) {
            groups
                .entry((rule.policy.clone(), rule.pattern.clone()))
                .or_default()
                .push(r);
        }
    }
    groups
        .into_iter()
        .map(|((policy, _), rs)| {
            let subject = ObjRef::new(Kind::VaultPolicy, None, &policy);
            let first = rs[0];
            let current = rs.iter().any(|r| r.current);
            let mut ess: Vec<&ExternalSecret> = rs.iter().map(|r| r.es).collect();
            ess.sort_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
            ess.dedup_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
            let why = first
                .denial
                .describe(&first.request.path, first.request.capability);
            let effect = if current {
                "gets 403 permission denied"
            } else {
                "would be refused"
            };
            let msg = format!(
                "{} {effect} on {} {}: {why}",
                names(&ess),
                first.request.purpose.describe(),
                first.request.path
            );
            let mut f = sink.finding(subject.clone(), msg);
            if !current {
                f.severity = Severity::Warning;
            }
            if let Some(rule) = blame(&first.denial) {
                f.evidence.push(rule.loc.clone());
            }
            for r in &rs {
                f.evidence.push(r.request.loc.clone());
            }
            add_failures(snap, &mut f, &ess);
            add_audit_change(
                &mut f,
                snap,
                &["create", "update"],
                &format!("sys/policies/acl/{policy}"),
                &subject,
                &format!("policy {policy} written"),
            );
            f.related
                .push(ObjRef::new(Kind::VaultRole, None, &first.role));
            PolicyGroup {
                policy,
                first,
                ess,
                finding: f,
            }
        })
        .collect()
}
