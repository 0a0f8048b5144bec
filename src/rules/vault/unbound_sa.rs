//! CT-VAULT-006 role-does-not-bind-service-account and CT-VAULT-007
//! role-does-not-bind-namespace share this check; each reports its own kind of miss.

use crate::graph::access::{self, audit_on, binding, logins, store_errors, store_role, Binding};
use crate::graph::derive::es_sync;
use crate::model::{ExternalSecret, Kind, ObjRef};
use crate::rules::vault::support::{add_audit_change, add_failures, names, store_name, store_ref};
use crate::rules::{resync_command, Ctx, Severity, Sink};

/// Checks every Kubernetes-auth store's logins against its role; reports the misses of kind
/// `want` (name or namespace).
pub fn check(ctx: &Ctx, sink: &mut Sink, want: Binding) {
    let snap = ctx.snap;
    let mut checked = 0;
    let mut missing: Vec<String> = Vec::new();
    for store in &snap.stores {
        let Some((mount, role_name, role)) = store_role(snap, store) else {
            continue;
        };
        let Some(role) = role else {
            missing.push(format!("`vault read auth/{mount}/role/{role_name}`"));
            continue;
        };
        let users = access::users(snap, store);
        if !users.is_empty()
            && users
                .iter()
                .all(|e| es_sync(snap, e).failing == Some(false))
        {
            // every ExternalSecret behind the store syncs: its logins work
            checked += 1;
            continue;
        }
        let ls = match logins(snap, store) {
            Ok(l) => l,
            Err(m) => {
                missing.push(m);
                continue;
            }
        };
        checked += 1;
        let mut hits = Vec::new();
        for l in &ls {
            if binding(role, l) != want {
                continue;
            }
            let ess: Vec<&ExternalSecret> = (l.external_secrets.iter().copied())
                // (one without a namespace is in no table: never counted)
                .filter(|es| es.meta.namespace.is_some())
                .filter(|es| es_sync(snap, es).failing != Some(false))
                .collect();
            if ess.is_empty() && !l.external_secrets.is_empty() {
                continue;
            }
            hits.push((l, ess));
        }
        if hits.is_empty() {
            continue;
        }
        let subject = ObjRef::new(Kind::VaultRole, None, &format!("{mount}/{role_name}"));
        let bound = if want == Binding::NameNotBound {
            role.bound_sa_names.join(", ")
        } else {
            role.bound_sa_namespaces.join(", ")
        };
        let who: Vec<String> = hits
            .iter()
            .map(|(l, _)| {
                if want == Binding::NameNotBound {
                    format!(
                        "ServiceAccount {}/{}{}",
                        l.namespace,
                        l.sa,
                        if l.controller {
                            " (the ESO controller's own)"
                        } else {
                            ""
                        }
                    )
                } else {
                    format!("namespace {} (ServiceAccount {})", l.namespace, l.sa)
                }
            })
            .collect();
        let mut ess: Vec<&ExternalSecret> =
            hits.iter().flat_map(|(_, e)| e.iter().copied()).collect();
        ess.sort_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
        ess.dedup_by_key(|e| (e.meta.namespace.clone(), e.meta.name.clone()));
        let failing = ess.iter().any(|e| es_sync(snap, e).failing == Some(true));
        let field = if want == Binding::NameNotBound {
            "bound_service_account_names"
        } else {
            "bound_service_account_namespaces"
        };
        let mut msg = format!(
            "role {mount}/{role_name} does not bind {} that {} logs in with ({field} is [{bound}])",
            who.join(", "),
            store_name(store)
        );
        if store.kind == "ClusterSecretStore" && want == Binding::NamespaceNotBound {
            msg.push_str("; the store's serviceAccountRef has no namespace, so ESO uses each ExternalSecret's namespace");
        }
        if !ess.is_empty() {
            msg.push_str(&format!(
                "; {} {}",
                if failing { "failing" } else { "affected" },
                names(&ess)
            ));
        }
        let mut f = sink.finding(subject.clone(), msg);
        if !failing {
            f.severity = Severity::Warning;
        }
        f.evidence.push(role.loc.clone());
        for (l, _) in &hits {
            f.evidence.push(l.loc.clone());
        }
        let marker = if want == Binding::NameNotBound {
            "service account name not authorized"
        } else {
            "namespace not authorized"
        };
        if let Some(e) = store_errors(snap, store)
            .into_iter()
            .find(|e| e.error.errors.iter().any(|x| x.contains(marker)))
        {
            f.evidence.push(e.loc.clone());
            f.since = e.first;
        }
        add_failures(snap, &mut f, &ess);
        let role_path = format!("auth/{mount}/role/{role_name}");
        if !audit_on(snap, &["create", "update"], &role_path).is_empty() {
            add_audit_change(
                &mut f,
                snap,
                &["create", "update"],
                &role_path,
                &subject,
                &format!("role {mount}/{role_name} written"),
            );
        }
        f.related.push(store_ref(store));
        let mut values: Vec<String> = if want == Binding::NameNotBound {
            role.bound_sa_names.clone()
        } else {
            role.bound_sa_namespaces.clone()
        };
        for (l, _) in &hits {
            let v = if want == Binding::NameNotBound {
                &l.sa
            } else {
                &l.namespace
            };
            if !values.contains(v) {
                values.push(v.clone());
            }
        }
        f.remediation.push(format!(
            "bind it: vault write auth/{mount}/role/{role_name} {field}={}",
            values.join(",")
        ));
        if want == Binding::NameNotBound {
            f.remediation.push(format!(
                "or make the store log in as a bound ServiceAccount ({} of {})",
                crate::rules::vault::support::sa_field(store),
                store_name(store)
            ));
        }
        for es in &ess {
            f.remediation.push(resync_command(snap, es));
        }
        sink.report(f);
    }
    if checked == 0 && !missing.is_empty() {
        missing.dedup();
        sink.skip(missing.join("; "));
    }
}
