//! CT-ESO-010 generator-ttl-shorter-than-refresh.

use crate::graph::derive::{last_write, mount_of};
use crate::model::time::{fmt_time, human};
use crate::model::{DataFrom, Kind, Loc, ObjRef, VaultTtl};
use crate::rules::{Ctx, Rule, RuleMeta, Severity, Sink};
use chrono::Duration;

pub struct GeneratorTtl;
pub static RULE: GeneratorTtl = GeneratorTtl;

static META: RuleMeta = RuleMeta {
    id: "CT-ESO-010",
    name: "generator-ttl-shorter-than-refresh",
    severity: Severity::Warning,
    covers: &["FM-28"],
    summary: "a VaultDynamicSecret generator issues credentials that expire before the ExternalSecret refreshes",
    docs: "## What it checks\n\
ExternalSecrets fed by a `VaultDynamicSecret` generator (`dataFrom[].sourceRef.generatorRef`): the generator's \
Vault path (`database/creds/app`), the role's TTL read from the bundle (`vault read database/roles/app`: \
`default_ttl`, else `max_ttl`), capped by the mount's `max_lease_ttl`, against the ExternalSecret's \
`refreshInterval` (default 1h).\n\n\
## Why it matters\n\
ESO does not renew generator leases: the credential lives for the role TTL and is replaced only at the next \
refresh. When the refresh is slower, the Secret holds an expired credential for part of every cycle: \
intermittent authentication failures.\n\n\
## Example\n\
`default_ttl 1h` on `database/roles/app`, `refreshInterval: 24h`.\n\n\
## How to fix\n\
Set the ExternalSecret's `refreshInterval` below the role TTL, or raise the role's `default_ttl` \
(`vault write database/roles/app default_ttl=...`).",
};

fn role_ttl<'a>(ttls: &'a [VaultTtl], path: &str) -> Option<&'a VaultTtl> {
    let role_path = path.replacen("/creds/", "/roles/", 1);
    let static_path = path.replacen("/static-creds/", "/static-roles/", 1);
    ttls.iter()
        .find(|t| t.path == role_path || t.path == static_path || t.path == path)
}

impl Rule for GeneratorTtl {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        let mut needs_ttl = false;
        for es in snap.external_secrets.iter().filter(|e| e.source.is_eso()) {
            let Some(ns) = es.meta.namespace.as_deref() else {
                continue;
            };
            for d in &es.data_from {
                let DataFrom::Generator { kind, name, loc } = d else {
                    continue;
                };
                if kind != "VaultDynamicSecret" {
                    continue;
                }
                let Some(g) = snap.generators.iter().find(|g| {
                    g.kind == *kind
                        && g.meta.name == *name
                        && g.meta.namespace.as_deref() == Some(ns)
                }) else {
                    continue;
                };
                let Some(path) = g.path.as_deref().map(|p| p.trim_matches('/')) else {
                    continue;
                };
                let mut cands: Vec<(Duration, String, Loc)> = Vec::new();
                if let Some(t) = role_ttl(&snap.vault.ttls, path) {
                    if let Some(d) = t
                        .default_ttl
                        .filter(|d| !d.is_zero())
                        .or(t.max_ttl.filter(|d| !d.is_zero()))
                    {
                        cands.push((d, format!("the TTL of {}", t.path), t.loc.clone()));
                    }
                }
                if let Some(m) = mount_of(snap, path) {
                    if let Some((d, l)) = &m.max_lease_ttl {
                        cands.push((*d, format!("max_lease_ttl of mount {}", m.path), l.clone()));
                    }
                }
                let Some((ttl, why, tloc)) = cands
                    .into_iter()
                    .filter(|c| !c.0.is_zero())
                    .min_by_key(|c| c.0)
                else {
                    needs_ttl = true;
                    continue;
                };
                let refresh = es.refresh_interval.unwrap_or(Duration::hours(1));
                let never = refresh.is_zero();
                if !never && refresh <= ttl {
                    continue;
                }
                let written = snap
                    .secret(ns, &es.target_name)
                    .and_then(|s| last_write(s, cap))
                    .map(|x| x.0);
                let expired = written.map(|w| w + ttl).filter(|t| *t <= cap);
                let mut f = sink.finding(
                    ObjRef::new(Kind::ExternalSecret, Some(ns), &es.meta.name),
                    format!(
                        "ExternalSecret {ns}/{} gets credentials from generator {name} ({path}) that live {} ({why}) but {}{}",
                        es.meta.name,
                        human(ttl),
                        if never { "never refreshes".to_string() } else { format!("refreshes every {}", human(refresh)) },
                        expired.map(|t| format!("; the current one expired {}", fmt_time(t))).unwrap_or_default()
                    ),
                );
                if expired.is_some() {
                    f.severity = Severity::Error;
                    f.since = expired;
                }
                f.evidence.push(loc.clone());
                f.evidence.push(g.loc.clone());
                f.evidence.push(tloc);
                f.remediation.push(format!(
                    "refresh faster than the TTL: kubectl -n {ns} patch externalsecret {} --type merge -p '{{\"spec\":{{\"refreshInterval\":\"{}s\"}}}}'",
                    es.meta.name,
                    (ttl.num_seconds() / 2).max(60)
                ));
                sink.report(f);
            }
        }
        if needs_ttl {
            sink.skip("a VaultDynamicSecret generator's role TTL (`vault read <mount>/roles/<role>`) or mount tune is not in the bundle");
        }
    }
}
