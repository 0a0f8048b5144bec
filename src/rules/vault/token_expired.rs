//! CT-VAULT-012 static-token-expired.

use crate::graph::access::{store_token, token_name, token_refusals, users};
use crate::model::time::{fmt_time, human};
use crate::model::{Kind, ObjRef, VaultAuth};
use crate::rules::vault::support::{
    add_failures, names, store_failing_since, store_name, store_ref,
};
use crate::rules::{resync_command, Ctx, Rule, RuleMeta, Severity, Sink};

pub struct TokenExpired;
pub static RULE: TokenExpired = TokenExpired;

static META: RuleMeta = RuleMeta {
    id: "CT-VAULT-012",
    name: "static-token-expired",
    severity: Severity::Error,
    covers: &["FM-17"],
    summary: "a store authenticates with a static Vault token that has expired, been revoked, or cannot be renewed",
    docs: "## What it checks\n\
Stores with `auth.tokenSecretRef`: the `vault token lookup` of their token (`expire_time` before the capture \
time; `renewable false` without a `period`), and the store's own errors (`403` on `auth/token/lookup-self`, which \
the `default` policy always allows, so the token itself is invalid; newer Vault adds `invalid token`). Without a \
lookup the rule names what is missing rather than guessing which token the store holds.\n\n\
## Why it matters\n\
A non-periodic token dies at its TTL or `explicit_max_ttl` and ESO cannot renew it; every ExternalSecret behind \
the store stops refreshing at once, while the Secrets keep their last values.\n\n\
## Example\n\
`vault token lookup -accessor ...` shows `expire_time 2026-02-01T00:00:00Z`, `renewable false`, no `period`.\n\n\
## How to fix\n\
Issue a periodic token for ESO (`vault token create -orphan -period=768h -policy=POLICY`), store it in the \
referenced Secret, and force the ExternalSecrets to resync; better, switch the store to Kubernetes auth.",
};

impl Rule for TokenExpired {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Ctx, sink: &mut Sink) {
        let snap = ctx.snap;
        let cap = snap.captured_at;
        let mut missing: Vec<String> = Vec::new();
        for store in &snap.stores {
            let Some(VaultAuth::Token {
                secret,
                key,
                namespace,
                loc,
            }) = store.vault.as_ref().map(|v| &v.auth)
            else {
                continue;
            };
            let token = store_token(snap, store);
            let refused = token_refusals(snap, store);
            let t = token.as_ref().ok();
            let expired = t.and_then(|t| t.expire_time).filter(|x| *x <= cap);
            let renewable = t.and_then(|t| t.renewable);
            let periodic = t
                .and_then(|t| t.period)
                .is_some_and(|p| p > chrono::Duration::zero());
            let latent = t
                .and_then(|t| t.expire_time)
                .filter(|x| *x > cap && renewable == Some(false) && !periodic);
            if expired.is_none() && refused.is_empty() && latent.is_none() {
                if let Err(m) = &token {
                    missing.push(m.clone());
                }
                continue;
            }
            let name = token_name(snap, store).unwrap_or_default();
            let subject = ObjRef::new(Kind::VaultToken, None, &name);
            let ess = users(snap, store);
            let secret_ns = namespace
                .as_deref()
                .or(store.meta.namespace.as_deref())
                .unwrap_or("default");
            let state = match (expired, refused.first(), latent) {
                (Some(x), _, _) => format!("expired at {}", fmt_time(x)),
                (None, Some(e), _) => format!(
                    "is refused by Vault ({}): it expired or was revoked",
                    e.error.summary()
                ),
                (None, None, Some(x)) => format!(
                    "expires at {} (in {}) and cannot be renewed (renewable false, no period)",
                    fmt_time(x),
                    human(x - cap)
                ),
                _ => unreachable!("one of the three holds"),
            };
            let mut msg = format!(
                "the Vault token {} uses (Secret {secret_ns}/{secret} key {key}) {state}",
                store_name(store)
            );
            if !ess.is_empty() {
                msg.push_str(&format!(
                    "; {} {}",
                    names(&ess),
                    if latent.is_some() && expired.is_none() && refused.is_empty() {
                        "will stop syncing then"
                    } else {
                        "cannot sync"
                    }
                ));
            }
            let mut f = sink.finding(subject.clone(), msg);
            if expired.is_none() && refused.is_empty() {
                f.severity = Severity::Warning;
                f.predicted = latent;
            }
            if let Some(t) = t {
                f.evidence.push(t.loc.clone());
            }
            f.evidence.push(loc.clone());
            for e in &refused {
                f.evidence.push(e.loc.clone());
            }
            f.since = expired
                .or_else(|| refused.iter().filter_map(|e| e.first).min())
                .or_else(|| store_failing_since(store).map(|x| x.0));
            if let Some(x) = expired {
                f.events.push((x, subject.clone(), "token expired".into()));
            }
            add_failures(snap, &mut f, &ess);
            f.related.push(store_ref(store));
            f.remediation.push(
                "issue a periodic token for ESO: vault token create -orphan -period=768h -policy=POLICY".to_string(),
            );
            f.remediation.push(format!(
                "store it where the store reads it: kubectl create secret generic {secret} -n {secret_ns} --from-literal={key}=NEW_TOKEN --dry-run=client -o yaml | kubectl apply -f -"
            ));
            for es in &ess {
                f.remediation.push(resync_command(snap, es));
            }
            sink.report(f);
        }
        if !missing.is_empty() && sink.findings.is_empty() {
            missing.sort();
            missing.dedup();
            sink.skip(missing.join("; "));
        }
    }
}
