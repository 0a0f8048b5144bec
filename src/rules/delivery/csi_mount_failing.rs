//! CT-CSI-001 csi-mount-failing.

use crate::graph::derive::restart_command;
use crate::model::link::is_csi_mount_failure;
use crate::model::time::fmt_time;
use crate::model::vault::csi_object_of;
use crate::model::{Event, Kind, Name, ObjRef, VaultError};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};

pub struct CsiMountFailing;
pub static RULE: CsiMountFailing = CsiMountFailing;

static META: RuleMeta = RuleMeta {
    id: "CT-CSI-001",
    name: "csi-mount-failing",
    severity: Severity::Error,
    covers: &["FM-01", "FM-05", "FM-06"],
    summary: "a Pod cannot start because the Secrets Store CSI driver cannot mount its SecretProviderClass from Vault",
    docs: "## What it checks\n\
Pods with `FailedMount` events from the Secrets Store CSI driver (`failed to mount secrets store objects for pod \
NS/POD, err: ... error making mount request: couldn't read secret \"NAME\": Error making API request. ... \
Code: 403`), joined with the SecretProviderClass the failing volume names. The class's `roleName`, \
`vaultKubernetesMountPath` and `objects[].secretPath` give the Vault side, and the Pod's ServiceAccount is the one \
that logs in, so the Vault rules trace a refusal to its policy. A provider error pasted without its Pod is joined \
to the one class whose `objects` hold the `objectName` it names, and reported on that class.\n\n\
## Why it matters\n\
The kubelet does not start a Pod whose CSI volume cannot be mounted: it stays `ContainerCreating`, and a synced \
Secret (`secretObjects`) is not updated either.\n\n\
## Example\n\
`MountVolume.SetUp failed for volume \"secrets-store-inline\" : rpc error: code = Unknown desc = failed to mount \
secrets store objects for pod app/web-0, err: rpc error: code = Unknown desc = error making mount request: \
couldn't read secret \"db-password\": Error making API request. URL: GET http://vault:8200/v1/secret/data/db \
Code: 403. Errors: * permission denied`.\n\n\
## How to fix\n\
Fix what the Vault error names (the role's policy, the role's bound ServiceAccount, the mount path), then \
restart the Pod's workload so the driver mounts again.",
};

impl Rule for CsiMountFailing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        // (namespace, pod) -> its CSI mount failures
        let mut by_pod: std::collections::BTreeMap<(Option<Name>, Name), Vec<&Event>> =
            Default::default();
        for e in snap
            .events
            .iter()
            .filter(|e| e.object_kind.eq_ignore_ascii_case("pod") && is_csi_mount_failure(e))
        {
            by_pod
                .entry((e.namespace.clone(), e.object_name.clone()))
                .or_default()
                .push(e);
        }
        // failures joined to a class from a pasted provider error, with no Pod event behind
        let orphans: Vec<&Event> = snap
            .events
            .iter()
            .filter(|e| {
                e.object_kind == "SecretProviderClass"
                    && e.reason == "FailedMount"
                    && !e.source.starts_with("Pod ")
            })
            .collect();
        if by_pod.is_empty() && orphans.is_empty() {
            // a delivery path the cluster does not use: nothing to check, nothing to report
            return;
        }
        let mut by_class: std::collections::BTreeMap<(Option<Name>, Name), Vec<&Event>> =
            Default::default();
        for e in orphans {
            let pod_events = snap
                .events_for(
                    "SecretProviderClass",
                    e.namespace.as_deref(),
                    &e.object_name,
                )
                .into_iter()
                .any(|x| x.reason == "FailedMount" && x.source.starts_with("Pod "));
            if !pod_events {
                by_class
                    .entry((e.namespace.clone(), e.object_name.clone()))
                    .or_default()
                    .push(e);
            }
        }
        for ((ns, class), events) in by_class {
            let e = events[0];
            let cause = VaultError::parse(&e.message)
                .map(|v| format!("Vault answered {}", v.summary()))
                .unwrap_or_else(|| e.message.lines().next().unwrap_or("").to_string());
            let object = csi_object_of(&e.message)
                .map(|o| format!(" (object {o})"))
                .unwrap_or_default();
            let subject = ObjRef::new(Kind::SecretProviderClass, ns.as_deref(), &class);
            let mut f = sink.finding(
                subject,
                format!(
                    "the Secrets Store CSI driver cannot mount SecretProviderClass {}/{class}: {cause}{object}; the Pods that mount it cannot start",
                    ns.as_deref().unwrap_or("-")
                ),
            );
            f.evidence.extend(events.iter().map(|e| e.loc.clone()));
            if let Some(es) = snap.sync_object(
                Kind::SecretProviderClass,
                ns.as_deref().unwrap_or_default(),
                &class,
            ) {
                f.evidence.push(es.meta.loc.clone());
                f.remediation.push(crate::rules::resync_command(snap, es));
            }
            sink.report(f);
        }
        for ((ns, pod_name), events) in by_pod {
            let pod = snap
                .pods
                .iter()
                .find(|p| p.meta.namespace == ns && p.meta.name == pod_name);
            // a Pod running now mounted its volume since the failure: nothing to report
            if pod.is_some_and(|p| {
                p.phase.as_deref() == Some("Running")
                    && p.statuses.iter().all(|s| s.ready)
                    && !p.statuses.is_empty()
            }) {
                continue;
            }
            let newest = events
                .iter()
                .max_by_key(|e| e.last.map(|w| w.resolve(cap)))
                .copied()
                .unwrap_or(events[0]);
            let since = events
                .iter()
                .filter_map(|e| e.first.map(|w| w.resolve(cap)))
                .min();
            let class = pod.and_then(|p| {
                let classes: Vec<&str> = p
                    .volumes
                    .iter()
                    .filter_map(|v| v.csi_provider_class.as_deref())
                    .collect();
                match classes.as_slice() {
                    [c] => Some(c.to_string()),
                    _ => None,
                }
            });
            let cause = match VaultError::parse(&newest.message) {
                Some(v) => format!("Vault answered {}", v.summary()),
                None => newest
                    .message
                    .rsplit("desc = ")
                    .next()
                    .unwrap_or(&newest.message)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            let object = csi_object_of(&newest.message)
                .map(|o| format!(" (object {o})"))
                .unwrap_or_default();
            let subject = ObjRef::new(Kind::Pod, ns.as_deref(), &pod_name);
            let msg = format!(
                "Pod {}/{pod_name} cannot start: the Secrets Store CSI driver cannot mount {}{}: {cause}{object}",
                ns.as_deref().unwrap_or("-"),
                class
                    .as_deref()
                    .map(|c| format!("SecretProviderClass {c}"))
                    .unwrap_or_else(|| "its secrets volume".into()),
                since
                    .map(|t| format!(" since {}", fmt_time(t)))
                    .unwrap_or_default(),
            );
            let mut f = sink.finding(subject.clone(), msg);
            f.evidence.push(newest.loc.clone());
            f.evidence
                .extend(events.iter().take(3).map(|e| e.loc.clone()));
            if let Some(p) = pod {
                f.evidence.push(p.meta.loc.clone());
            }
            f.since = since;
            if let Some(t) = since {
                f.events.push((
                    t,
                    subject.clone(),
                    format!("CSI mount starts failing: {cause}"),
                ));
            }
            if let Some(c) = &class {
                f.related
                    .push(ObjRef::new(Kind::SecretProviderClass, ns.as_deref(), c));
            }
            f.remediation.push(match pod {
                Some(p) => restart_command(snap, p),
                None => format!(
                    "after the fix, delete the Pod so it mounts again: kubectl delete pod {pod_name}{}",
                    ns.as_deref().map(|n| format!(" -n {n}")).unwrap_or_default()
                ),
            });
            sink.report(f);
        }
    }
}
