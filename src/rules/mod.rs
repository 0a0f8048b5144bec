//! Rules: one file per rule, each with a stable id, a kebab-case name that names the
//! problem, a default severity and its documentation beside its code.
//!
//! A rule reads the snapshot and the graph and reports findings into a [`Sink`]. Rules do not
//! depend on each other or on their order. A rule whose evidence is absent from the bundle
//! says so ([`Sink::skip`]); it never reports absence of evidence as health. Rules copy
//! provenance from the model; they never invent it.

mod delivery;
mod eso;
mod kube;
mod vault;

use crate::graph::Graph;
use crate::model::{Loc, ObjRef, Snapshot, Time};
use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// Static description of a rule, shown by `credtrace rules` and `credtrace explain`.
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// The failure modes of the domain reference this rule covers (`FM-01`, ...).
    pub covers: &'static [&'static str],
    pub summary: &'static str,
    /// Markdown with the sections What it checks / Why it matters / Example / How to fix.
    pub docs: &'static str,
}

/// What a finding is about, beyond its subject: lets the diagnosis join findings to the graph.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub subject: ObjRef,
    pub message: String,
    pub evidence: Vec<Loc>,
    pub since: Option<Time>,
    pub remediation: Vec<String>,
    /// Other subjects the finding names (siblings, the role that references a policy).
    #[serde(skip)]
    pub related: Vec<ObjRef>,
    /// Timed events for the timeline: (when, subject, what happened).
    #[serde(skip)]
    pub events: Vec<(Time, ObjRef, String)>,
    /// A predicted time (a credential that will expire), for latent risks.
    #[serde(skip)]
    pub predicted: Option<Time>,
}

impl Default for ObjRef {
    fn default() -> Self {
        ObjRef::new(crate::model::Kind::Pod, None, "")
    }
}

/// A rule that could not run, and what it was missing.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SkippedRule {
    pub rule: &'static str,
    pub missing: String,
}

/// Where rules report.
pub struct Sink<'m> {
    meta: &'m RuleMeta,
    pub findings: Vec<Finding>,
    pub skipped: Vec<SkippedRule>,
}

impl<'m> Sink<'m> {
    /// A finding pre-filled with the rule's id, name and default severity.
    pub fn finding(&self, subject: ObjRef, message: String) -> Finding {
        Finding {
            rule: self.meta.id,
            name: self.meta.name,
            severity: self.meta.severity,
            subject,
            message,
            ..Default::default()
        }
    }

    pub fn report(&mut self, mut f: Finding) {
        f.evidence.retain(Loc::is_known);
        f.evidence.dedup();
        // one fix step per command, in the order the rule gave them
        let mut seen = std::collections::BTreeSet::new();
        f.remediation.retain(|r| seen.insert(r.clone()));
        self.findings.push(f);
    }

    /// The rule could not run: `missing` says what the bundle lacks.
    pub fn skip(&mut self, missing: impl Into<String>) {
        self.skipped.push(SkippedRule {
            rule: self.meta.id,
            missing: missing.into(),
        });
    }
}

/// What rules read: the snapshot, and the graph for the rules that say they read it.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    graph: Option<&'a Graph>,
    /// The requests Vault's policies refuse ([`vault::support::refusals`]), which several
    /// ACL rules read: worked out once for them all, on a fleet a pass over every sync
    /// object's store, role and policies.
    refusals: std::sync::OnceLock<Result<Vec<vault::support::Refusal<'a>>, String>>,
    /// The sync objects grouped by the mount problem of a path they read, for the two
    /// mount rules ([`vault::kv_version::groups`]): one pass for both.
    mount_groups:
        std::sync::OnceLock<(vault::kv_version::Groups<'a>, vault::kv_version::Groups<'a>)>,
}

impl<'a> Ctx<'a> {
    /// The rules' view of `snap` (and of `graph`, for the rules that read it).
    fn new(snap: &'a Snapshot, graph: Option<&'a Graph>) -> Ctx<'a> {
        Ctx {
            snap,
            graph,
            refusals: Default::default(),
            mount_groups: Default::default(),
        }
    }

    fn mount_groups(&self) -> &(vault::kv_version::Groups<'a>, vault::kv_version::Groups<'a>) {
        self.mount_groups
            .get_or_init(|| vault::kv_version::both_groups(self.snap))
    }

    /// Every request the role's policies refuse ([`vault::support::refusals`]).
    pub fn refusals(&self) -> &Result<Vec<vault::support::Refusal<'a>>, String> {
        self.refusals
            .get_or_init(|| vault::support::refusals(self.snap))
    }

    /// The dependency graph; only for a rule whose [`Rule::uses_graph`] is true.
    pub fn graph(&self) -> &'a Graph {
        self.graph
            .expect("a rule that reads the graph says so in Rule::uses_graph")
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, ctx: &Ctx, sink: &mut Sink);
    /// Whether `check` reads [`Ctx::graph`]. The rules that do not (the snapshot and the
    /// joins in `graph::derive` and `graph::access` are enough for every rule so far) run
    /// while the graph is built.
    fn uses_graph(&self) -> bool {
        false
    }
}

/// Every rule, in id order. Adding a rule means adding its file and a line here.
pub fn registry() -> Vec<&'static dyn Rule> {
    let mut v: Vec<&'static dyn Rule> = vec![
        &kube::image_pull_auth::RULE,
        &kube::sibling_outlier::RULE,
        &kube::pod_secret_failure::RULE,
        &kube::secret_not_produced::RULE,
        &kube::secret_key_missing::RULE,
        &kube::pull_secret_unusable::RULE,
        &kube::stale_env::RULE,
        &kube::clock_skew::RULE,
        &kube::tls_expiring::RULE,
        &eso::sync_failing::RULE,
        &eso::stale_credential::RULE,
        &eso::store_not_ready::RULE,
        &eso::store_ref_dangling::RULE,
        &eso::cluster_store_denied::RULE,
        &eso::vault_unreachable::RULE,
        &eso::target_conflict::RULE,
        &eso::immutable_target::RULE,
        &eso::refresh_slower::RULE,
        &eso::generator_ttl::RULE,
        &eso::sa_token::RULE,
        &eso::provider_secret_deleted::RULE,
        &vault::dangling_policy::RULE,
        &vault::kv2_prefix::RULE,
        &vault::malformed_path::RULE,
        &vault::grant_shadowed::RULE,
        &vault::role_missing::RULE,
        &vault::bind_sa::RULE,
        &vault::bind_ns::RULE,
        &vault::auth_mount_rejects::RULE,
        &vault::auth_mount_missing::RULE,
        &vault::kv_version::RULE,
        &vault::mount_missing::RULE,
        &vault::token_expired::RULE,
        &vault::sealed::RULE,
        &vault::namespace_mismatch::RULE,
        &vault::metadata_capability::RULE,
        &delivery::vso_sync_failing::RULE,
        &delivery::vso_auth_invalid::RULE,
        &delivery::vso_lease_expired::RULE,
        &delivery::vso_rollout_target_missing::RULE,
        &delivery::csi_mount_failing::RULE,
        &delivery::agent_init_failing::RULE,
        &delivery::cert_not_renewed::RULE,
        &delivery::cert_issuer_not_ready::RULE,
    ];
    v.sort_by_key(|r| r.meta().id);
    v
}

pub fn find(id: &str) -> Option<&'static dyn Rule> {
    registry()
        .into_iter()
        .find(|r| r.meta().id.eq_ignore_ascii_case(id) || r.meta().name == id)
}

/// Runs every rule; findings come back sorted (severity, rule, subject).
pub fn run(snap: &Snapshot, graph: &Graph) -> (Vec<Finding>, Vec<SkippedRule>) {
    gather(run_some(snap, Some(graph), |_| true))
}

/// Builds the graph with `build` and runs every rule: those that do not read the graph
/// while it is built (on the other cores), the others after. The same findings as
/// [`run`] on the built graph.
pub fn run_with_graph(
    snap: &Snapshot,
    build: impl FnOnce() -> Graph + Send,
) -> (Graph, Vec<Finding>, Vec<SkippedRule>) {
    let (graph, mut done) = rayon::join(build, || run_some(snap, None, |r| !r.uses_graph()));
    done.extend(run_some(snap, Some(&graph), |r| r.uses_graph()));
    let (findings, skipped) = gather(done);
    (graph, findings, skipped)
}

/// What one rule found, by its place in the registry.
type RuleOutput = (usize, Vec<Finding>, Vec<SkippedRule>);

/// Runs the rules `pick` selects, in parallel: rules are independent.
fn run_some(
    snap: &Snapshot,
    graph: Option<&Graph>,
    pick: impl Fn(&dyn Rule) -> bool + Sync,
) -> Vec<RuleOutput> {
    use rayon::prelude::*;
    let ctx = Ctx::new(snap, graph);
    registry()
        .into_par_iter()
        .enumerate()
        .filter(|(_, rule)| pick(*rule))
        .map(|(i, rule)| {
            let mut sink = Sink {
                meta: rule.meta(),
                findings: Vec::new(),
                skipped: Vec::new(),
            };
            rule.check(&ctx, &mut sink);
            (i, sink.findings, sink.skipped)
        })
        .collect()
}

/// The rules' findings gathered in registry order before the sort, as if the rules had
/// run one after another, and what the rules could not check.
fn gather(mut outputs: Vec<RuleOutput>) -> (Vec<Finding>, Vec<SkippedRule>) {
    outputs.sort_by_key(|(i, ..)| *i);
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    for (_, f, s) in outputs {
        findings.extend(f);
        skipped.extend(s);
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule.cmp(b.rule))
            .then(a.subject.cmp(&b.subject))
    });
    skipped.sort_by(|a, b| (a.rule, &a.missing).cmp(&(b.rule, &b.missing)));
    skipped.dedup();
    (findings, skipped)
}

/// `kubectl annotate` command that forces ESO to resync now.
pub fn force_sync(namespace: Option<&str>, es: &str) -> String {
    format!(
        "kubectl annotate externalsecret {es}{} force-sync=$(date +%s) --overwrite",
        namespace.map(|n| format!(" -n {n}")).unwrap_or_default()
    )
}

/// `5 ExternalSecret(s)`, or `5 sync object(s)` when kinds are mixed.
pub fn count_of(ess: &[&crate::model::ExternalSecret]) -> String {
    let mut kinds: Vec<&str> = ess.iter().map(|e| e.kind().as_str()).collect();
    kinds.sort();
    kinds.dedup();
    match kinds.as_slice() {
        [k] => format!("{} {k}(s)", ess.len()),
        _ => format!("{} sync object(s)", ess.len()),
    }
}

/// The command that makes a sync object's controller try again now, once the cause is fixed.
pub fn resync_command(snap: &Snapshot, es: &crate::model::ExternalSecret) -> String {
    use crate::model::Source;
    let ns = es.meta.namespace.as_deref();
    let nsflag = ns.map(|n| format!(" -n {n}")).unwrap_or_default();
    match &es.source {
        Source::Eso => force_sync(ns, &es.meta.name),
        // VSO re-reads Vault when the spec's generation changes or the operator restarts
        Source::VsoStatic { .. } | Source::VsoDynamic | Source::VsoPki => {
            "VSO retries with backoff; to retry now restart the operator: kubectl rollout restart deployment -n vault-secrets-operator-system vault-secrets-operator-controller-manager".into()
        }
        Source::Certificate => format!("cmctl renew {}{nsflag}", es.meta.name),
        // the CSI driver and the agent read Vault when a Pod starts: restart the Pods
        Source::Csi => {
            let pods: Vec<&crate::model::Pod> = snap
                .pods
                .iter()
                .map(|p| &**p)
                .filter(|p| {
                    p.meta.namespace == es.meta.namespace
                        && p.volumes
                            .iter()
                            .any(|v| v.csi_provider_class.as_deref() == Some(&es.meta.name))
                })
                .collect();
            match pods.first() {
                Some(p) => crate::graph::derive::restart_command(snap, p),
                None => format!(
                    "restart the Pods that mount SecretProviderClass {}{nsflag}",
                    es.meta.name
                ),
            }
        }
        Source::Agent => match snap
            .pods
            .iter()
            .find(|p| p.meta.namespace == es.meta.namespace && p.meta.name == es.meta.name)
        {
            Some(p) => crate::graph::derive::restart_command(snap, p),
            None => format!("kubectl delete pod {}{nsflag}", es.meta.name),
        },
    }
}
