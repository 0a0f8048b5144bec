//! Assembling facts into a [`Snapshot`]: merging duplicates, settling the capture time,
//! resolving relative ages, and recording coverage.

use super::*;
use crate::model::time::When;
use std::collections::BTreeMap;

/// How the caller wants the capture time chosen.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClockPolicy {
    /// `--as-of`: overrides everything.
    pub as_of: Option<Time>,
}

impl Snapshot {
    /// Builds the snapshot. Never fails: conflicts are recorded, not fatal.
    pub fn build(facts: Vec<Fact>, clock: ClockPolicy) -> Snapshot {
        let mut b = Builder::default();
        for f in facts {
            b.add(f);
        }
        b.finish(clock)
    }
}

#[derive(Default)]
struct Builder {
    pods: BTreeMap<(Option<String>, String), Pod>,
    secrets: BTreeMap<(Option<String>, String), Secret>,
    sas: BTreeMap<(Option<String>, String), ServiceAccount>,
    namespaces: BTreeMap<String, Namespace>,
    workloads: BTreeMap<(String, Option<String>, String), Workload>,
    events: Vec<Event>,
    ess: BTreeMap<(Kind, Option<String>, String), ExternalSecret>,
    stores: BTreeMap<(String, Option<String>, String), SecretStore>,
    connections: BTreeMap<(Option<String>, String), VaultConnection>,
    generators: Vec<Generator>,
    vault: VaultState,
    coverage: Coverage,
    manifest: Option<(Option<Time>, Option<String>, Loc)>,
    hint: Option<(Time, Loc)>,
    conflicts: Vec<String>,
}

fn key(meta: &Meta) -> (Option<String>, String) {
    (meta.namespace.clone(), meta.name.clone())
}

fn fill<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
    if dst.is_none() {
        dst.clone_from(src);
    }
}

fn fill_vec<T: Clone>(dst: &mut Vec<T>, src: &[T]) {
    if dst.is_empty() {
        dst.extend_from_slice(src);
    }
}

fn merge_meta(dst: &mut Meta, src: &Meta, conflicts: &mut Vec<String>, what: &str) {
    let id = match &dst.namespace {
        Some(ns) => format!("{what} {ns}/{}", dst.name),
        None => format!("{what} {}", dst.name),
    };
    if let (Some(a), Some(b)) = (&dst.uid, &src.uid) {
        if a != b {
            conflicts.push(format!(
                "{id}: uid {a} ({}) differs from {b} ({}): the object was deleted and recreated between the two sources",
                dst.loc.cite(),
                src.loc.cite()
            ));
        }
    }
    fill(&mut dst.uid, &src.uid);
    if let (Some(When::At(a)), Some(When::At(b))) = (&dst.created, &src.created) {
        if a != b {
            conflicts.push(format!(
                "{id}: creationTimestamp {} ({}) disagrees with {} ({})",
                time::fmt_time(*a),
                dst.loc.cite(),
                time::fmt_time(*b),
                src.loc.cite()
            ));
        }
    }
    // an absolute time beats an age
    match (&dst.created, &src.created) {
        (None, _) | (Some(When::Ago(_)), Some(When::At(_))) => dst.created = src.created,
        _ => {}
    }
    if dst.labels.is_empty() {
        dst.labels.clone_from(&src.labels);
    }
    if dst.annotations.is_empty() {
        dst.annotations.clone_from(&src.annotations);
    }
    fill_vec(&mut dst.owners, &src.owners);
    fill_vec(&mut dst.managed_fields, &src.managed_fields);
    fill(&mut dst.resource_version, &src.resource_version);
    if !dst.loc.is_known() || (dst.loc.line == 0 && src.loc.line > 0) {
        dst.loc = src.loc.clone();
    }
}

/// Which of two sightings of the same object leads the merge: the richer source (a full
/// dump beats a table row or a describe excerpt), and between equally rich sources the newer
/// one (higher resourceVersion, else the latest managedFields write). The leader's fields
/// win; the other only fills gaps.
fn leads(a: &Meta, b: &Meta) -> bool {
    let score = |m: &Meta| {
        m.uid.is_some() as u8 * 4
            + (!m.managed_fields.is_empty()) as u8 * 2
            + m.resource_version.is_some() as u8
    };
    let (sa, sb) = (score(a), score(b));
    if sa != sb {
        return sb > sa;
    }
    let rv = |m: &Meta| {
        m.resource_version
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let (Some(x), Some(y)) = (rv(a), rv(b)) {
        if x != y {
            return y > x;
        }
    }
    let written = |m: &Meta| m.managed_fields.iter().filter_map(|f| f.time).max();
    match (written(a), written(b)) {
        (Some(x), Some(y)) => y > x,
        (None, Some(_)) => true,
        _ => false,
    }
}

macro_rules! upsert {
    ($map:expr, $key:expr, $obj:expr, $merge:expr, $conflicts:expr) => {{
        let k = $key;
        let mut obj = $obj;
        if let Some(mut old) = $map.remove(&k) {
            if leads(&old.meta, &obj.meta) {
                std::mem::swap(&mut old, &mut obj);
            }
            // `old` now leads; fill its gaps from `obj`
            $merge(&mut old, &obj, $conflicts);
            $map.insert(k, old);
        } else {
            $map.insert(k, obj);
        }
    }};
}

fn merge_pod(d: &mut Pod, s: &Pod, c: &mut Vec<String>) {
    merge_meta(&mut d.meta, &s.meta, c, "Pod");
    if let (Some(a), Some(b)) = (&d.service_account, &s.service_account) {
        if a != b {
            c.push(format!(
                "Pod {}: serviceAccountName {a} ({}) disagrees with {b} ({})",
                d.meta.name,
                d.meta.loc.cite(),
                s.meta.loc.cite()
            ));
        }
    }
    fill(&mut d.service_account, &s.service_account);
    fill(&mut d.node, &s.node);
    fill_vec(&mut d.image_pull_secrets, &s.image_pull_secrets);
    fill_vec(&mut d.containers, &s.containers);
    fill_vec(&mut d.volumes, &s.volumes);
    fill(&mut d.phase, &s.phase);
    fill(&mut d.start_time, &s.start_time);
    fill_vec(&mut d.statuses, &s.statuses);
    fill(&mut d.table_status, &s.table_status);
    d.spec_known |= s.spec_known;
}

fn merge_secret(d: &mut Secret, s: &Secret, c: &mut Vec<String>) {
    let what = format!("Secret {}", d.meta.name);
    merge_meta(&mut d.meta, &s.meta, c, &what);
    if let (Some(a), Some(b)) = (&d.type_, &s.type_) {
        if a != b {
            c.push(format!(
                "Secret {}: type {a} ({}) disagrees with {b} ({})",
                d.meta.name,
                d.meta.loc.cite(),
                s.meta.loc.cite()
            ));
        }
    }
    fill(&mut d.type_, &s.type_);
    fill_vec(&mut d.keys, &s.keys);
    fill(&mut d.key_count, &s.key_count);
    fill(&mut d.fingerprint, &s.fingerprint);
    fill(&mut d.docker, &s.docker);
    d.immutable |= s.immutable;
    d.has_data |= s.has_data;
    if d.certs.is_empty() && d.cert_error.is_none() {
        d.certs.clone_from(&s.certs);
        d.cert_error.clone_from(&s.cert_error);
    }
}

fn merge_es(d: &mut ExternalSecret, s: &ExternalSecret, c: &mut Vec<String>) {
    let what = d.kind().as_str();
    merge_meta(&mut d.meta, &s.meta, c, what);
    if !d.store.name.is_empty()
        && !s.store.name.is_empty()
        && (d.store.name != s.store.name || d.store.kind != s.store.kind)
    {
        c.push(format!(
            "{} {}: store {} {} ({}) disagrees with {} {} ({})",
            d.kind().as_str(),
            d.meta.name,
            d.store.kind,
            d.store.name,
            d.store.loc.cite(),
            s.store.kind,
            s.store.name,
            s.store.loc.cite()
        ));
    }
    if d.store.name.is_empty() {
        d.store = s.store.clone();
    }
    fill(&mut d.refresh_interval, &s.refresh_interval);
    fill(&mut d.refresh_time, &s.refresh_time);
    fill_vec(&mut d.conditions, &s.conditions);
    fill(&mut d.table_status, &s.table_status);
    fill_vec(&mut d.data, &s.data);
    fill_vec(&mut d.data_from, &s.data_from);
    fill(&mut d.template_type, &s.template_type);
    fill(&mut d.refresh_policy, &s.refresh_policy);
    fill_vec(&mut d.template_keys, &s.template_keys);
    if d.target_name.is_empty() || (d.target_name == d.meta.name && s.target_name != s.meta.name) {
        d.target_name.clone_from(&s.target_name);
    }
    if !d.loc_spec.is_known() {
        d.loc_spec = s.loc_spec.clone();
    }
    fill_vec(&mut d.rollout_targets, &s.rollout_targets);
    fill(&mut d.cert, &s.cert);
    fill(&mut d.lease, &s.lease);
}

fn merge_store(d: &mut SecretStore, s: &SecretStore, c: &mut Vec<String>) {
    let what = d.kind.clone();
    merge_meta(&mut d.meta, &s.meta, c, &what);
    fill(&mut d.connection, &s.connection);
    if d.vault.is_none() {
        d.vault.clone_from(&s.vault);
    }
    fill_vec(&mut d.conditions, &s.conditions);
    fill(&mut d.table_status, &s.table_status);
    fill(&mut d.other_provider, &s.other_provider);
    fill_vec(&mut d.allowed_namespaces, &s.allowed_namespaces);
}

fn merge_sa(d: &mut ServiceAccount, s: &ServiceAccount, c: &mut Vec<String>) {
    merge_meta(&mut d.meta, &s.meta, c, "ServiceAccount");
}

fn merge_workload(d: &mut Workload, s: &Workload, c: &mut Vec<String>) {
    let what = d.kind.clone();
    merge_meta(&mut d.meta, &s.meta, c, &what);
    fill(&mut d.replicas, &s.replicas);
    fill(&mut d.ready, &s.ready);
    fill_vec(&mut d.conditions, &s.conditions);
}

impl Builder {
    fn add(&mut self, f: Fact) {
        let c = &mut self.conflicts;
        match f {
            Fact::Pod(p) => upsert!(self.pods, key(&p.meta), *p, merge_pod, c),
            Fact::Secret(s) => upsert!(self.secrets, key(&s.meta), *s, merge_secret, c),
            Fact::ServiceAccount(s) => {
                upsert!(self.sas, key(&s.meta), *s, merge_sa, c)
            }
            Fact::Namespace(n) => {
                self.namespaces.entry(n.meta.name.clone()).or_insert(*n);
            }
            Fact::Workload(w) => {
                let k = (
                    w.kind.clone(),
                    w.meta.namespace.clone(),
                    w.meta.name.clone(),
                );
                upsert!(self.workloads, k, *w, merge_workload, c)
            }
            Fact::Event(e) => self.events.push(*e),
            Fact::ExternalSecret(e) => {
                let k = (e.kind(), e.meta.namespace.clone(), e.meta.name.clone());
                upsert!(self.ess, k, *e, merge_es, c)
            }
            Fact::VaultConnection(v) => {
                self.connections.entry(key(&v.meta)).or_insert(*v);
            }
            Fact::SecretStore(s) => {
                let ns = if is_cluster_store(&s.kind) {
                    None
                } else {
                    s.meta.namespace.clone()
                };
                let k = (s.kind.clone(), ns, s.meta.name.clone());
                upsert!(self.stores, k, *s, merge_store, c)
            }
            Fact::VaultMount(m) => {
                let k = (m.auth, m.path.clone());
                match self.vault.mounts.get_mut(&k) {
                    Some(old) => {
                        fill(&mut old.type_, &m.type_);
                        fill(&mut old.default_lease_ttl, &m.default_lease_ttl);
                        fill(&mut old.max_lease_ttl, &m.max_lease_ttl);
                        fill(&mut old.kv_version, &m.kv_version);
                    }
                    None => {
                        self.vault.mounts.insert(k, *m);
                    }
                }
            }
            Fact::VaultPolicy(p) => {
                self.vault.policies.insert(p.name.clone(), *p);
            }
            Fact::PolicyList(names, loc) => match &mut self.vault.policy_list {
                Some((old, _)) => {
                    for n in names {
                        if !old.contains(&n) {
                            old.push(n);
                        }
                    }
                }
                None => self.vault.policy_list = Some((names, loc)),
            },
            Fact::PolicyAbsent(name, loc) => {
                self.vault.policies_absent.insert(name, loc);
            }
            Fact::VaultRole(r) => {
                self.vault
                    .roles
                    .insert((r.mount.clone(), r.name.clone()), *r);
            }
            Fact::VaultLease(l) => self.vault.leases.push(*l),
            Fact::VaultTtl(t) => self.vault.ttls.push(*t),
            Fact::Generator(g) => self.generators.push(*g),
            Fact::VaultToken(t) => self.vault.tokens.push(*t),
            Fact::VaultList(l) => self.vault.lists.push(*l),
            Fact::VaultStatus(s) => self.vault.status = Some(*s),
            Fact::VaultError(e) => self.vault.errors.push(*e),
            Fact::Audit(a) => self.vault.audit.push(*a),
            Fact::VaultSecret(m) => self.vault.secrets.push(*m),
            Fact::VaultAuthConfig(a) => {
                let k = a.mount.clone();
                self.vault.auth_configs.entry(k).or_insert(*a);
            }
            Fact::MountsListed { auth } => {
                if auth {
                    self.vault.auth_mounts_listed = true
                } else {
                    self.vault.mounts_listed = true
                }
            }
            Fact::Covered { kind, namespace } => {
                self.coverage.collected.insert((kind, namespace));
            }
            Fact::NotCollected {
                kind,
                namespace,
                reason,
            } => {
                self.coverage
                    .not_collected
                    .insert((kind, namespace), reason);
            }
            Fact::Manifest {
                captured_at,
                cluster,
                loc,
            } => self.manifest = Some((captured_at, cluster, loc)),
            Fact::CaptureHint(t, loc) => {
                if self.hint.as_ref().is_none_or(|(old, _)| t > *old) {
                    self.hint = Some((t, loc));
                }
            }
        }
    }

    /// Objects seen without a namespace (a `kubectl get` table without `-n`) join the one
    /// object of that name with a namespace, when there is exactly one.
    fn settle_namespaces(&mut self) {
        fn settle<T: Clone>(
            map: &mut BTreeMap<(Option<String>, String), T>,
            merge: fn(&mut T, &T, &mut Vec<String>),
            c: &mut Vec<String>,
        ) {
            let orphans: Vec<_> = map.keys().filter(|(ns, _)| ns.is_none()).cloned().collect();
            for k in orphans {
                let candidates: Vec<_> = map
                    .keys()
                    .filter(|(ns, n)| ns.is_some() && *n == k.1)
                    .cloned()
                    .collect();
                if candidates.len() == 1 {
                    let orphan = map.remove(&k).expect("key listed above");
                    let target = map.get_mut(&candidates[0]).expect("key listed above");
                    merge(target, &orphan, c);
                }
            }
        }
        settle(&mut self.pods, merge_pod, &mut self.conflicts);
        settle(&mut self.secrets, merge_secret, &mut self.conflicts);
        let orphans: Vec<_> = self
            .ess
            .keys()
            .filter(|(_, ns, _)| ns.is_none())
            .cloned()
            .collect();
        for k in orphans {
            let candidates: Vec<_> = self
                .ess
                .keys()
                .filter(|(kind, ns, n)| *kind == k.0 && ns.is_some() && *n == k.2)
                .cloned()
                .collect();
            if candidates.len() == 1 {
                let orphan = self.ess.remove(&k).expect("key listed above");
                let target = self.ess.get_mut(&candidates[0]).expect("key listed above");
                merge_es(target, &orphan, &mut self.conflicts);
            }
        }
    }

    fn newest_observed(&self) -> Option<(Time, Loc)> {
        let mut best: Option<(Time, Loc)> = None;
        let mut see = |t: Option<Time>, loc: &Loc| {
            if let Some(t) = t {
                if best.as_ref().is_none_or(|(b, _)| t > *b) {
                    best = Some((t, loc.clone()));
                }
            }
        };
        let at = |w: &Option<When>| match w {
            Some(When::At(t)) => Some(*t),
            _ => None,
        };
        for m in self
            .pods
            .values()
            .map(|p| &p.meta)
            .chain(self.secrets.values().map(|s| &s.meta))
            .chain(self.ess.values().map(|e| &e.meta))
            .chain(self.stores.values().map(|s| &s.meta))
            .chain(self.workloads.values().map(|w| &w.meta))
            .chain(self.sas.values().map(|s| &s.meta))
        {
            see(at(&m.created), &m.loc);
            for f in &m.managed_fields {
                see(f.time, &f.loc);
            }
        }
        for p in self.pods.values() {
            see(p.start_time, &p.meta.loc);
            for s in &p.statuses {
                see(s.started_at, &s.loc);
            }
        }
        for e in self.ess.values() {
            see(e.refresh_time, &e.meta.loc);
            for c in &e.conditions {
                see(c.last_transition, &c.loc);
            }
        }
        for s in self.stores.values() {
            for c in &s.conditions {
                see(c.last_transition, &c.loc);
            }
        }
        for e in &self.events {
            see(at(&e.last), &e.loc);
            see(at(&e.first), &e.loc);
        }
        for a in &self.vault.audit {
            see(a.time, &a.loc);
        }
        best
    }

    fn finish(mut self, clock: ClockPolicy) -> Snapshot {
        self.settle_namespaces();
        let (captured_at, capture_source, capture_loc) = if let Some(t) = clock.as_of {
            (t, CaptureSource::AsOf, None)
        } else if let Some((Some(t), _, loc)) = &self.manifest {
            (*t, CaptureSource::Manifest, Some(loc.clone()))
        } else if let Some((t, loc)) = &self.hint {
            (*t, CaptureSource::ArchiveName, Some(loc.clone()))
        } else if let Some((t, loc)) = self.newest_observed() {
            (t, CaptureSource::Inferred, Some(loc))
        } else {
            (chrono::DateTime::UNIX_EPOCH, CaptureSource::None, None)
        };
        let cluster = self.manifest.as_ref().and_then(|m| m.1.clone());

        let mut secrets: Vec<Secret> = self.secrets.into_values().collect();
        secrets.sort_by_key(|s| key(&s.meta));

        let events = self.events;
        // the same Event object seen in two dumps (JSON and YAML, or two captures) is kept once:
        // same object, reason, message and absolute first time; the higher count wins
        type EventKey = (Option<String>, String, String, String, String, Time);
        let mut seen: BTreeMap<EventKey, usize> = BTreeMap::new();
        let mut kept: Vec<Event> = Vec::with_capacity(events.len());
        for e in events {
            let Some(When::At(first)) = e.first else {
                kept.push(e);
                continue;
            };
            let k = (
                e.namespace.clone(),
                e.object_kind.clone(),
                e.object_name.clone(),
                e.reason.clone(),
                e.message.clone(),
                first,
            );
            match seen.get(&k) {
                Some(&i) => {
                    let old = &mut kept[i];
                    let newer = match (old.last, e.last) {
                        (Some(When::At(a)), Some(When::At(b))) => b > a,
                        _ => e.count > old.count,
                    };
                    if newer {
                        *old = e;
                    }
                }
                None => {
                    seen.insert(k, kept.len());
                    kept.push(e);
                }
            }
        }
        let mut events = kept;
        events.sort_by_key(|e| {
            (
                e.last.map(|w| w.resolve(captured_at)),
                e.loc.path.clone(),
                e.loc.line,
            )
        });
        let mut snap = Snapshot {
            captured_at,
            capture_source,
            capture_loc,
            cluster,
            pods: self.pods.into_values().collect(),
            secrets,
            service_accounts: self.sas.into_values().collect(),
            namespaces: self.namespaces.into_values().collect(),
            workloads: self.workloads.into_values().collect(),
            events,
            external_secrets: self.ess.into_values().collect(),
            stores: self.stores.into_values().collect(),
            vault_connections: self.connections.into_values().collect(),
            generators: self.generators,
            vault: self.vault,
            coverage: self.coverage,
            conflicts: self.conflicts,
            index: Default::default(),
        };
        super::link::link(&mut snap);
        snap.index = Index::build(&snap);
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn loc(path: &str, line: u32) -> Loc {
        let p: Arc<str> = Arc::from(path);
        Loc::new(&p, line, "x")
    }

    fn es(rv: Option<&str>, uid: Option<&str>, reason: &str, path: &str) -> Fact {
        Fact::ExternalSecret(Box::new(ExternalSecret {
            meta: Meta {
                namespace: Some("prod".into()),
                name: "es".into(),
                uid: uid.map(str::to_string),
                resource_version: rv.map(str::to_string),
                loc: loc(path, 3),
                ..Default::default()
            },
            store: StoreRef {
                name: "vault".into(),
                kind: "SecretStore".into(),
                loc: loc(path, 9),
                ..Default::default()
            },
            target_name: "es".into(),
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: if reason == "SecretSynced" {
                    "True"
                } else {
                    "False"
                }
                .into(),
                reason: Some(reason.into()),
                ..Default::default()
            }],
            ..Default::default()
        }))
    }

    #[test]
    fn a_table_row_and_a_dump_merge_the_dump_leading() {
        let row = Fact::ExternalSecret(Box::new(ExternalSecret {
            meta: Meta {
                namespace: Some("prod".into()),
                name: "es".into(),
                created: Some(When::Ago(chrono::Duration::days(3))),
                loc: loc("get.txt", 2),
                ..Default::default()
            },
            refresh_interval: Some(chrono::Duration::hours(1)),
            table_status: Some((
                "SecretSyncedError".into(),
                Some("False".into()),
                loc("get.txt", 2),
            )),
            ..Default::default()
        }));
        let dump = es(Some("10"), Some("u1"), "SecretSyncedError", "es.yaml");
        let s = Snapshot::build(vec![row, dump], ClockPolicy::default());
        assert_eq!(s.external_secrets.len(), 1);
        let e = &s.external_secrets[0];
        assert_eq!(e.meta.loc.path.as_ref(), "es.yaml", "the dump leads");
        assert_eq!(
            e.refresh_interval.map(|d| d.num_hours()),
            Some(1),
            "the row fills gaps"
        );
        assert!(e.table_status.is_some());
        assert!(s.conflicts.is_empty());
    }

    #[test]
    fn the_newer_of_two_dumps_wins_and_a_recreated_object_is_a_conflict() {
        let old = es(Some("10"), Some("u1"), "SecretSyncedError", "old.yaml");
        let new = es(Some("42"), Some("u1"), "SecretSynced", "new.yaml");
        for facts in [
            vec![old.clone(), new.clone()],
            vec![new.clone(), old.clone()],
        ] {
            let s = Snapshot::build(facts, ClockPolicy::default());
            let e = &s.external_secrets[0];
            assert_eq!(e.conditions[0].reason.as_deref(), Some("SecretSynced"));
            assert!(s.conflicts.is_empty(), "{:?}", s.conflicts);
        }
        let other = es(Some("50"), Some("u2"), "SecretSynced", "later.yaml");
        let s = Snapshot::build(vec![old, other], ClockPolicy::default());
        assert_eq!(s.conflicts.len(), 1, "{:?}", s.conflicts);
        assert!(s.conflicts[0].contains("recreated"));
    }

    #[test]
    fn the_same_event_in_two_dumps_is_kept_once() {
        let t = crate::model::time::parse_rfc3339("2026-03-01T00:00:00Z").unwrap();
        let ev = |count: u32, path: &str| {
            Fact::Event(Box::new(Event {
                namespace: Some("prod".into()),
                object_kind: "Pod".into(),
                object_name: "p".into(),
                type_: "Warning".into(),
                reason: "Failed".into(),
                message: "Error: ErrImagePull".into(),
                count,
                first: Some(When::At(t)),
                last: Some(When::At(t + chrono::Duration::minutes(count as i64))),
                loc: loc(path, 1),
                ..Default::default()
            }))
        };
        let s = Snapshot::build(
            vec![ev(3, "a.json"), ev(5, "a.yaml")],
            ClockPolicy::default(),
        );
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].count, 5);
    }

    #[test]
    fn coverage_is_three_valued() {
        let facts = vec![
            Fact::Covered {
                kind: Kind::Secret,
                namespace: Some("prod".into()),
            },
            Fact::NotCollected {
                kind: Kind::Secret,
                namespace: Some("dev".into()),
                reason: "forbidden".into(),
            },
        ];
        let s = Snapshot::build(facts, ClockPolicy::default());
        assert_eq!(
            s.presence(Kind::Secret, Some("prod"), "x"),
            Presence::Missing
        );
        assert_eq!(
            s.presence(Kind::Secret, Some("dev"), "x"),
            Presence::Unknown
        );
        assert_eq!(s.presence(Kind::Secret, Some("qa"), "x"), Presence::Unknown);
    }
}
