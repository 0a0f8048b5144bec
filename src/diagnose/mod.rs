//! Diagnoses: from each symptom (a Pod that cannot start, an ExternalSecret that cannot
//! sync) walk the dependency graph to the deepest broken link, and report the chain, the
//! domains it crosses, a confidence, fix steps, and a timeline. Symptoms that share a root
//! cause are grouped into one diagnosis.

use crate::graph::{EdgeKind, EdgeStatus, Graph};
use crate::model::{is_cluster_store, store_kind, Kind, Loc, ObjRef, Snapshot, Time};
use crate::rules::{Finding, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Serialize)]
pub struct Symptom {
    #[serde(flatten)]
    pub subject: ObjRef,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct RootCause {
    #[serde(flatten)]
    pub subject: ObjRef,
    pub rule: String,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChainLink {
    #[serde(flatten)]
    pub subject: ObjRef,
    /// The edge from this link to the next one (none on the last link).
    pub edge: Option<&'static str>,
    /// What is wrong with this link, when something is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub evidence: Vec<Loc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub symptom: Symptom,
    /// Every symptom explained by this root cause (the first is `symptom`).
    pub symptoms: Vec<Symptom>,
    pub root_cause: RootCause,
    pub chain: Vec<ChainLink>,
    pub domains: Vec<&'static str>,
    pub confidence: Confidence,
    pub since: Option<Time>,
    pub remediation: Vec<String>,
}

/// A root cause with no visible symptom yet, and when it will bite.
#[derive(Clone, Debug, Serialize)]
pub struct LatentRisk {
    #[serde(flatten)]
    pub subject: ObjRef,
    pub rule: String,
    pub message: String,
    pub predicted_at: Time,
}

#[derive(Clone, Debug, Serialize)]
pub struct TimelineEvent {
    pub at: Time,
    pub subject: ObjRef,
    pub event: String,
}

/// Findings that predict a failure (an expiry ahead) which no diagnosis covers yet, soonest first.
/// A subject that is only a symptom of a diagnosis, with nothing failing for its users yet
/// (a renewal refused while the certificate is still valid), stays: the diagnosis says why,
/// the risk says when.
pub fn latent_risks(findings: &[Finding], diagnoses: &[Diagnosis]) -> Vec<LatentRisk> {
    let latent = latent_subjects(findings);
    let on_chain: BTreeSet<&ObjRef> = diagnoses
        .iter()
        .flat_map(|d| {
            d.chain
                .iter()
                .map(|l| &l.subject)
                .filter(|s| !(latent.contains(s) && d.symptoms.iter().any(|x| &x.subject == *s)))
        })
        .collect();
    let mut v: Vec<LatentRisk> = findings
        .iter()
        .filter_map(|f| {
            let at = f.predicted?;
            (!on_chain.contains(&f.subject)).then(|| LatentRisk {
                subject: f.subject.clone(),
                rule: f.rule.to_string(),
                message: f.message.clone(),
                predicted_at: at,
            })
        })
        .collect();
    v.sort_by(|a, b| (a.predicted_at, &a.subject).cmp(&(b.predicted_at, &b.subject)));
    v
}

/// Subjects with a predicted failure and no error: nothing fails for their users yet.
fn latent_subjects(findings: &[Finding]) -> BTreeSet<&ObjRef> {
    let errors: BTreeSet<&ObjRef> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| &f.subject)
        .collect();
    findings
        .iter()
        .filter(|f| f.predicted.is_some() && !errors.contains(&f.subject))
        .map(|f| &f.subject)
        .collect()
}

/// The diagnoses (ranked: pods first, then confidence) and the timeline of their chains.
pub fn diagnose(
    snap: &Snapshot,
    graph: &Graph,
    findings: &[Finding],
) -> (Vec<Diagnosis>, Vec<TimelineEvent>) {
    let by_subject: BTreeMap<&ObjRef, Vec<&Finding>> =
        findings.iter().fold(BTreeMap::new(), |mut m, f| {
            m.entry(&f.subject).or_insert_with(Vec::new).push(f);
            m
        });
    let mut symptoms: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.subject.kind == Kind::Pod && f.severity == Severity::Error)
        .collect();
    let mut covered: BTreeSet<ObjRef> = BTreeSet::new();
    let mut out: Vec<Diagnosis> = Vec::new();
    let walk_from = |sym: &Finding, covered: &mut BTreeSet<ObjRef>, out: &mut Vec<Diagnosis>| {
        let path = deepest(snap, graph, &sym.subject);
        let d = build(&sym.subject, &sym.message, path, &by_subject, sym);
        for l in &d.chain {
            covered.insert(l.subject.clone());
        }
        match out
            .iter_mut()
            .find(|x| x.root_cause.subject == d.root_cause.subject)
        {
            Some(existing) => {
                if !existing
                    .symptoms
                    .iter()
                    .any(|s| s.subject == d.symptom.subject)
                {
                    existing.symptoms.push(d.symptom.clone());
                }
            }
            None => out.push(d),
        }
    };
    for s in symptoms.drain(..) {
        walk_from(s, &mut covered, &mut out);
    }
    // sync failures no pod shows yet
    for f in findings
        .iter()
        .filter(|f| SYNC_SYMPTOM_RULES.contains(&f.rule))
    {
        if !covered.contains(&f.subject) {
            walk_from(f, &mut covered, &mut out);
        }
    }
    // an error no chain explains is an incident of its own (a credential that expired
    // while its ExternalSecret looks green), unless another diagnosis already names it
    for f in findings
        .iter()
        .filter(|f| f.severity == Severity::Error && specificity(f.rule) > 0)
    {
        let named = out.iter().any(|d| {
            d.root_cause.subject == f.subject || d.symptoms.iter().any(|s| s.subject == f.subject)
        });
        if !covered.contains(&f.subject) && !named && !f.related.iter().any(|r| covered.contains(r))
        {
            walk_from(f, &mut covered, &mut out);
        }
    }
    // last, a sync object that fails now while what it delivered is still valid (a renewal that
    // Vault refuses before notAfter): an incident with a date, though no error yet
    for f in findings.iter().filter(|f| {
        f.predicted.is_some()
            && f.subject.kind.is_sync()
            && snap
                .sync_object(
                    f.subject.kind,
                    f.subject.namespace.as_deref().unwrap_or(""),
                    &f.subject.name,
                )
                .is_some_and(|es| crate::graph::derive::es_sync(snap, es).failing == Some(true))
    }) {
        if !covered.contains(&f.subject) {
            walk_from(f, &mut covered, &mut out);
        }
    }
    let mut out = group_unexplained_by_store(snap, out);
    out.sort_by(|a, b| {
        let pods = |d: &Diagnosis| {
            d.symptoms
                .iter()
                .filter(|s| s.subject.kind == Kind::Pod)
                .count()
        };
        pods(b)
            .cmp(&pods(a))
            .then(b.symptoms.len().cmp(&a.symptoms.len()))
            .then(b.confidence.cmp(&a.confidence))
            .then(a.root_cause.subject.cmp(&b.root_cause.subject))
    });

    // timeline: the timed events of every finding on a chain, plus the capture
    let mut on_chain: BTreeSet<&ObjRef> = BTreeSet::new();
    for d in &out {
        for l in &d.chain {
            on_chain.insert(&l.subject);
        }
    }
    let mut timeline: Vec<TimelineEvent> = Vec::new();
    for f in findings {
        if !on_chain.contains(&f.subject) {
            continue;
        }
        for (at, subject, event) in &f.events {
            timeline.push(TimelineEvent {
                at: *at,
                subject: subject.clone(),
                event: event.clone(),
            });
        }
    }
    if !timeline.is_empty() {
        timeline.push(TimelineEvent {
            at: snap.captured_at,
            subject: ObjRef::new(
                Kind::Cluster,
                None,
                snap.cluster.as_deref().unwrap_or("bundle"),
            ),
            event: "bundle captured".into(),
        });
    }
    timeline.sort_by(|a, b| (a.at, &a.subject, &a.event).cmp(&(b.at, &b.subject, &b.event)));
    timeline.dedup_by(|a, b| a.at == b.at && a.subject == b.subject && a.event == b.event);
    (out, timeline)
}

/// The rules whose finding is a sync object that fails (a symptom even when no Pod shows it).
const SYNC_SYMPTOM_RULES: &[&str] = &["CT-ESO-001", "CT-VSO-001", "CT-CERT-001"];

/// The rules whose finding is "this sync object does not sync" with no more specific cause.
const SYNC_FAILING_RULES: &[&str] = &["CT-ESO-001", "CT-VSO-001"];

/// ExternalSecrets that fail for a reason the bundle does not show (their own sync failure is
/// the only finding) and share a store are one incident: the store is the common link.
fn group_unexplained_by_store(snap: &Snapshot, diagnoses: Vec<Diagnosis>) -> Vec<Diagnosis> {
    let mut out: Vec<Diagnosis> = Vec::new();
    let mut by_store: BTreeMap<ObjRef, usize> = BTreeMap::new();
    for d in diagnoses {
        let unexplained = SYNC_FAILING_RULES.contains(&d.root_cause.rule.as_str())
            && d.chain.len() == 1
            && d.symptom.subject.kind.is_sync();
        let store = unexplained
            .then(|| {
                snap.sync_object(
                    d.symptom.subject.kind,
                    d.symptom.subject.namespace.as_deref().unwrap_or(""),
                    &d.symptom.subject.name,
                )
            })
            .flatten()
            .filter(|es| !es.store.name.is_empty())
            .map(|es| match snap.store_for(es) {
                Some(s) => s.obj(),
                None => {
                    let cluster = is_cluster_store(&es.store.kind);
                    let ns = es
                        .store
                        .namespace
                        .as_deref()
                        .or(es.meta.namespace.as_deref());
                    ObjRef::new(
                        store_kind(&es.store.kind),
                        if cluster { None } else { ns },
                        &es.store.name,
                    )
                }
            })
            .filter(|s| !s.kind.is_sync() && s.kind != Kind::Pod);
        match store {
            Some(s) => match by_store.get(&s) {
                Some(&i) => {
                    let target = &mut out[i];
                    target.symptoms.extend(d.symptoms);
                    for l in d.chain {
                        target.chain[0]
                            .evidence
                            .extend(l.evidence.into_iter().take(1));
                    }
                }
                None => {
                    by_store.insert(s, out.len());
                    out.push(d);
                }
            },
            None => out.push(d),
        }
    }
    for (store, i) in by_store {
        let d = &mut out[i];
        if d.symptoms.len() < 2 {
            continue;
        }
        let cause = d
            .symptom
            .message
            .split_once(": ")
            .map(|x| x.1)
            .unwrap_or("failing")
            .to_string();
        d.root_cause = RootCause {
            subject: store.clone(),
            rule: d.root_cause.rule.clone(),
            message: format!(
                "{} {}s using {} fail to sync ({cause}); their common link is the store, whose status and events are not in the bundle",
                d.symptoms.len(),
                d.symptom.subject.kind.as_str(),
                store.display()
            ),
        };
        let kind = store.kind.as_str().to_ascii_lowercase();
        let ns = store
            .namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default();
        d.remediation.insert(
            0,
            format!(
                "collect the store's state: kubectl describe {kind} {}{ns}",
                store.name
            ),
        );
    }
    out
}

/// How specific a rule is as a root cause: 0 for symptoms (a Pod that fails, a sync that
/// fails), 1 for broad causes, 2 for a specific broken link. Among several findings about
/// one subject, the diagnosis names the most specific.
fn specificity(rule: &str) -> u8 {
    match rule {
        "CT-K8S-001" | "CT-K8S-003" | "CT-ESO-001" | "CT-VSO-001" | "CT-CSI-001"
        | "CT-AGENT-001" | "CT-CERT-001" => 0,
        "CT-ESO-003" | "CT-K8S-002" | "CT-VSO-002" | "CT-CERT-002" => 1,
        _ => 2,
    }
}

/// One step of a walk: the node, and the edge that led to it.
type Step = (ObjRef, Option<(EdgeKind, EdgeStatus, Vec<Loc>)>);

/// The path from `start` to its deepest relevant broken or stale edge.
fn deepest(snap: &Snapshot, graph: &Graph, start: &ObjRef) -> Vec<Step> {
    let mut best: Vec<Step> = vec![(start.clone(), None)];
    let mut best_score = (0usize, 0u8);
    let mut stack: Vec<Vec<Step>> = vec![vec![(start.clone(), None)]];
    let mut expanded = 0usize;
    while let Some(path) = stack.pop() {
        expanded += 1;
        if expanded > 10_000 || path.len() > 12 {
            continue;
        }
        let (node, _) = path.last().expect("non-empty path").clone();
        for e in graph.out_edges(&node) {
            if path.iter().any(|(o, _)| o == e.to) {
                continue;
            }
            if !relevant(snap, &path, e.edge.kind, &e.edge.status) {
                continue;
            }
            let mut next = path.clone();
            next.push((
                e.to.clone(),
                Some((e.edge.kind, e.edge.status.clone(), e.edge.evidence.clone())),
            ));
            if e.edge.status.is_bad() {
                let weight = match e.edge.status {
                    EdgeStatus::Broken(_) => 2,
                    _ => 1,
                };
                let score = (next.len(), weight);
                if score > best_score {
                    best_score = score;
                    best = next.clone();
                }
            }
            stack.push(next);
        }
    }
    best
}

/// Whether walking `kind` from the end of `path` can explain the symptom: past an
/// ExternalSecret only when its sync is failing, and into ACL policies only when Vault
/// answered `permission denied` (or the error is unknown).
fn relevant(snap: &Snapshot, path: &[Step], kind: EdgeKind, status: &EdgeStatus) -> bool {
    let es_failing = |p: &[Step]| {
        p.iter().all(|(o, via)| {
            !o.kind.is_sync()
                || via.as_ref().is_some_and(|(k, s, _)| {
                    matches!(k, EdgeKind::SyncedBy | EdgeKind::Mounts) && s.is_bad()
                })
                || p[0].0 == *o
        })
    };
    // a store that cannot reach Vault explains everything behind it: never walk into
    // roles and policies past it (a proxy's 403 is not an ACL decision)
    let unreachable_store = path.iter().any(|(o, _)| {
        snap.store_by(o)
            .and_then(|s| crate::graph::derive::store_error(snap, s))
            .is_some_and(|(m, _, _)| crate::graph::derive::network_failure(&m).is_some())
    });
    if unreachable_store && !matches!(kind, EdgeKind::UsesStore | EdgeKind::ServedBy) {
        return false;
    }
    match kind {
        EdgeKind::UsesStore | EdgeKind::ReadsPath => es_failing(path),
        EdgeKind::AuthenticatesAs
        | EdgeKind::BoundToRole
        | EdgeKind::RoleGrantsPolicy
        | EdgeKind::PolicyGrantsPath => {
            if !es_failing(path) {
                return false;
            }
            if kind == EdgeKind::RoleGrantsPolicy && status.is_bad() {
                // the ExternalSecret on this path must have been denied by the ACL
                return path.iter().filter(|(o, _)| o.kind.is_sync()).all(|(o, _)| {
                    o.namespace
                        .as_deref()
                        .and_then(|ns| snap.sync_object(o.kind, ns, &o.name))
                        .map(|es| crate::graph::derive::es_sync(snap, es))
                        .is_none_or(|st| {
                            st.vault_error
                                .as_ref()
                                .is_none_or(|(e, _)| e.is_permission_denied())
                        })
                });
            }
            true
        }
        _ => true,
    }
}

fn build(
    start: &ObjRef,
    start_msg: &str,
    path: Vec<Step>,
    by_subject: &BTreeMap<&ObjRef, Vec<&Finding>>,
    sym: &Finding,
) -> Diagnosis {
    let mut chain: Vec<ChainLink> = Vec::new();
    for (i, (obj, _)) in path.iter().enumerate() {
        let next_edge = path.get(i + 1).and_then(|(_, via)| via.as_ref());
        let finding = by_subject.get(obj).and_then(|v| v.first());
        let mut evidence: Vec<Loc> = finding.map(|f| f.evidence.clone()).unwrap_or_default();
        if let Some((_, _, ev)) = next_edge {
            for l in ev {
                if !evidence.contains(l) {
                    evidence.push(l.clone());
                }
            }
        }
        let state = finding
            .map(|f| f.message.clone())
            .or_else(|| match next_edge {
                Some((_, EdgeStatus::Broken(r) | EdgeStatus::Stale(r), _)) => Some(r.clone()),
                _ => None,
            });
        chain.push(ChainLink {
            subject: obj.clone(),
            edge: next_edge.map(|(k, _, _)| k.as_str()),
            state,
            evidence,
        });
    }
    let last = path.last().expect("non-empty");
    let pick = |o: &ObjRef| {
        by_subject.get(o).and_then(|v| {
            v.iter()
                .max_by_key(|f| (specificity(f.rule), f.severity))
                .copied()
        })
    };
    let root_finding = pick(&last.0)
        .filter(|f| specificity(f.rule) > 0)
        .or_else(|| {
            path.len()
                .checked_sub(2)
                .and_then(|i| pick(&path[i].0))
                .filter(|f| specificity(f.rule) > 0)
        })
        .or_else(|| {
            // nothing on the chain explains it: a specific finding that names the symptom does
            // (two ExternalSecrets fighting over one Secret name each other, not a graph edge)
            by_subject
                .values()
                .flatten()
                .filter(|f| specificity(f.rule) > 0 && f.related.contains(&sym.subject))
                .max_by_key(|f| (f.severity, specificity(f.rule)))
                .copied()
        })
        .or_else(|| pick(&last.0))
        .unwrap_or(sym);
    // no rule names the policy (it matches the path and lacks the capability), but the
    // ACL does: the graph's refused policy -> path edge is the root cause
    let refused_by_policy = match (&last.1, path.len().checked_sub(2).map(|i| &path[i].0)) {
        (Some((EdgeKind::PolicyGrantsPath, EdgeStatus::Broken(why), _)), Some(policy))
            if std::ptr::eq(root_finding, sym) && policy.kind == Kind::VaultPolicy =>
        {
            Some((policy.clone(), why.clone()))
        }
        _ => None,
    };
    let root_cause = match &refused_by_policy {
        Some((policy, why)) => RootCause {
            subject: policy.clone(),
            rule: sym.rule.to_string(),
            message: format!("Vault refuses {}: {why}", start.display()),
        },
        None => RootCause {
            subject: root_finding.subject.clone(),
            rule: root_finding.rule.to_string(),
            message: root_finding.message.clone(),
        },
    };
    let mut domains: Vec<&'static str> = Vec::new();
    for l in &chain {
        let d = l.subject.kind.domain();
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    let unknown_links = path
        .iter()
        .filter(|(_, via)| matches!(via, Some((_, EdgeStatus::Unknown, _))))
        .count();
    let confidence = if refused_by_policy.is_some() {
        // the policy text and Vault's 403 on the path agree
        if unknown_links == 0 {
            Confidence::High
        } else {
            Confidence::Medium
        }
    } else if root_finding.rule != sym.rule
        && !root_finding.evidence.is_empty()
        && unknown_links == 0
    {
        Confidence::High
    } else if root_finding.rule != sym.rule {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    // fix steps: the root cause first, then each link back to the symptom
    let mut remediation: Vec<String> = Vec::new();
    let mut push = |r: &String| {
        if !remediation.contains(r) {
            remediation.push(r.clone());
        }
    };
    if let Some((policy, why)) = &refused_by_policy {
        let p = &policy.name;
        let write = format!("vault policy write {p} ");
        if !root_finding.remediation.iter().any(|r| r.contains(&write)) {
            // the refusal says which capability is missing (`... lacks update on PATH`)
            let cap = why
                .split("lacks ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .map(|c| format!("\"{c}\""))
                .unwrap_or_else(|| "the missing capability".into());
            push(&format!(
                "grant it in policy {p}: vault policy read {p} > {p}.hcl, add {cap} to the path block that matches {}, then vault policy write {p} {p}.hcl",
                last.0.name
            ));
        }
    }
    root_finding.remediation.iter().for_each(&mut push);
    for (obj, _) in path.iter().rev() {
        if let Some(fs) = by_subject.get(obj) {
            // fix steps come from errors; warnings on the chain are evidence
            for f in fs.iter().filter(|f| f.severity == Severity::Error) {
                f.remediation.iter().for_each(&mut push);
            }
        }
    }
    let since = root_finding.since.or(sym.since);
    let symptom = Symptom {
        subject: start.clone(),
        message: start_msg.to_string(),
    };
    Diagnosis {
        symptoms: vec![symptom.clone()],
        symptom,
        root_cause,
        chain,
        domains,
        confidence,
        since,
        remediation,
    }
}
