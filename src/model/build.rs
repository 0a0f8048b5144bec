//! Assembling facts into a [`Snapshot`]: merging duplicates, settling the capture time,
//! resolving relative ages, and recording coverage.

use super::*;
use crate::model::time::When;
use std::cmp::Ordering;
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
        for (i, f) in facts.into_iter().enumerate() {
            b.add(i as u32, f);
        }
        b.merge_sightings();
        b.finish(clock)
    }
}

/// The sightings of one kind of object, each with the position of its fact: the boxes the
/// facts came in, sorted and merged where they lie (a map keyed by cloned names, then a
/// copy of every object into it and out of it, was a third of the peak memory on a fleet).
type Sightings<T> = Vec<(u32, Box<T>)>;

#[derive(Default)]
struct Builder {
    pods: Sightings<Pod>,
    secrets: Sightings<Secret>,
    sas: Sightings<ServiceAccount>,
    namespaces: Sightings<Namespace>,
    workloads: Sightings<Workload>,
    events: Vec<Event>,
    ess: Sightings<ExternalSecret>,
    stores: Sightings<SecretStore>,
    connections: Sightings<VaultConnection>,
    generators: Vec<Generator>,
    vault: VaultState,
    coverage: Coverage,
    manifest: Option<(Option<Time>, Option<String>, Loc)>,
    hint: Option<(Time, Loc)>,
    /// Conflicts found while merging, with the position of the fact that revealed each.
    conflicts: Conflicts,
}

/// Conflicts, each with the position of the fact that revealed it.
type Conflicts = Vec<(u32, String)>;

fn key(meta: &Meta) -> (Option<&str>, &str) {
    (meta.namespace.as_deref(), meta.name.as_str())
}

fn workload_key(w: &Workload) -> (&str, Option<&str>, &str) {
    (&w.kind, w.meta.namespace.as_deref(), &w.meta.name)
}

fn es_key(e: &ExternalSecret) -> (Kind, Option<&str>, &str) {
    (e.kind(), e.meta.namespace.as_deref(), &e.meta.name)
}

fn store_key(s: &SecretStore) -> (&str, Option<&str>, &str) {
    let ns = if is_cluster_store(&s.kind) {
        None
    } else {
        s.meta.namespace.as_deref()
    };
    (&s.kind, ns, &s.meta.name)
}

/// Sorts sightings by key, ties in fact order, and merges each run of sightings of one
/// object in that order: the leader of the two (see [`leads`]) keeps its fields and the
/// other fills its gaps, as if they had been merged one by one as the facts came.
/// Returns the conflicts found, in the order found.
fn merge_runs<T>(
    v: &mut Sightings<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
    meta: fn(&T) -> &Meta,
    merge: fn(&mut T, &T, &mut Vec<String>),
) -> Conflicts {
    v.sort_by(|a, b| cmp(&a.1, &b.1));
    let mut conflicts = Vec::new();
    let mut found = Vec::new();
    v.dedup_by(|later, kept| {
        if cmp(&later.1, &kept.1) != Ordering::Equal {
            return false;
        }
        if leads(meta(&kept.1), meta(&later.1)) {
            std::mem::swap(&mut later.1, &mut kept.1);
        }
        merge(&mut kept.1, &later.1, &mut found);
        conflicts.extend(found.drain(..).map(|c| (later.0, c)));
        true
    });
    conflicts
}

/// [`merge_runs`] for objects known by namespace and name.
fn merge_by_name<T>(
    v: &mut Sightings<T>,
    meta: fn(&T) -> &Meta,
    merge: fn(&mut T, &T, &mut Vec<String>),
) -> Conflicts {
    merge_runs(v, |a, b| key(meta(a)).cmp(&key(meta(b))), meta, merge)
}

/// Sorts sightings by key, ties in fact order, and keeps the first of each key.
fn keep_first<T>(v: &mut Sightings<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    v.sort_by(|a, b| cmp(&a.1, &b.1));
    v.dedup_by(|later, kept| cmp(&later.1, &kept.1) == Ordering::Equal);
}

/// The objects of sightings, in their order.
fn objects<T>(v: Sightings<T>) -> Vec<T> {
    v.into_iter().map(|(_, o)| *o).collect()
}

/// The objects of sightings in their boxes, in their order.
fn boxes<T>(v: Sightings<T>) -> Vec<Box<T>> {
    v.into_iter().map(|(_, o)| o).collect()
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
    /// Takes fact number `i`; objects are merged later, by [`Builder::merge_sightings`].
    fn add(&mut self, i: u32, f: Fact) {
        match f {
            Fact::Pod(p) => self.pods.push((i, p)),
            Fact::Secret(s) => self.secrets.push((i, s)),
            Fact::ServiceAccount(s) => self.sas.push((i, s)),
            Fact::Namespace(n) => self.namespaces.push((i, n)),
            Fact::Workload(w) => self.workloads.push((i, w)),
            Fact::Event(e) => self.events.push(*e),
            Fact::ExternalSecret(e) => self.ess.push((i, e)),
            Fact::VaultConnection(v) => self.connections.push((i, v)),
            Fact::SecretStore(s) => self.stores.push((i, s)),
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

    /// Merges the sightings of each object (in fact order), then keeps the conflicts in the
    /// order of the facts that revealed them.
    fn merge_sightings(&mut self) {
        let Builder {
            pods,
            secrets,
            sas,
            namespaces,
            workloads,
            ess,
            connections,
            stores,
            conflicts,
            ..
        } = self;
        // the kinds are sorted and merged apart, in parallel (sorting a fleet's names is
        // most of the model stage); their conflicts are joined in the order merging one kind
        // after another finds them, then put in fact order
        let ((from_pods, from_secrets), (from_others, from_ess)) = rayon::join(
            || {
                rayon::join(
                    || merge_by_name(pods, |p| &p.meta, merge_pod),
                    || merge_by_name(secrets, |s| &s.meta, merge_secret),
                )
            },
            || {
                rayon::join(
                    || {
                        let mut c = merge_by_name(sas, |s| &s.meta, merge_sa);
                        keep_first(namespaces, |a, b| a.meta.name.cmp(&b.meta.name));
                        let by_key =
                            |a: &Workload, b: &Workload| workload_key(a).cmp(&workload_key(b));
                        c.extend(merge_runs(workloads, by_key, |w| &w.meta, merge_workload));
                        c
                    },
                    || {
                        let by_key =
                            |a: &ExternalSecret, b: &ExternalSecret| es_key(a).cmp(&es_key(b));
                        let c = merge_runs(ess, by_key, |e| &e.meta, merge_es);
                        keep_first(connections, |a, b| key(&a.meta).cmp(&key(&b.meta)));
                        c
                    },
                )
            },
        );
        let by_key = |a: &SecretStore, b: &SecretStore| store_key(a).cmp(&store_key(b));
        let from_stores = merge_runs(stores, by_key, |s| &s.meta, merge_store);
        for c in [from_pods, from_secrets, from_others, from_ess, from_stores] {
            conflicts.extend(c);
        }
        conflicts.sort_by_key(|(i, _)| *i);
    }

    /// Objects seen without a namespace (a `kubectl get` table without `-n`) join the one
    /// object of that name with a namespace, when there is exactly one.
    fn settle_namespaces(&mut self) -> Vec<String> {
        /// `same(orphan, other)`: `other` has a namespace and is the orphan's object.
        fn settle<T>(
            v: &mut Sightings<T>,
            orphan: fn(&T) -> bool,
            same: fn(&T, &T) -> bool,
            merge: fn(&mut T, &T, &mut Vec<String>),
            c: &mut Vec<String>,
        ) {
            // in key order; merging an orphan removes it, and the next takes its place
            let mut at = 0;
            while at < v.len() {
                if !orphan(&v[at].1) {
                    at += 1;
                    continue;
                }
                let candidates: Vec<usize> =
                    (0..v.len()).filter(|&j| same(&v[at].1, &v[j].1)).collect();
                if let [target] = candidates[..] {
                    let (_, o) = v.remove(at);
                    let target = if target > at { target - 1 } else { target };
                    merge(&mut v[target].1, &o, c);
                } else {
                    at += 1;
                }
            }
        }
        let mut c = Vec::new();
        settle(
            &mut self.pods,
            |p| p.meta.namespace.is_none(),
            |o, p| p.meta.namespace.is_some() && p.meta.name == o.meta.name,
            merge_pod,
            &mut c,
        );
        settle(
            &mut self.secrets,
            |s| s.meta.namespace.is_none(),
            |o, s| s.meta.namespace.is_some() && s.meta.name == o.meta.name,
            merge_secret,
            &mut c,
        );
        settle(
            &mut self.ess,
            |e| e.meta.namespace.is_none(),
            |o, e| e.kind() == o.kind() && e.meta.namespace.is_some() && e.meta.name == o.meta.name,
            merge_es,
            &mut c,
        );
        c
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
            .iter()
            .map(|p| &p.1.meta)
            .chain(self.secrets.iter().map(|s| &s.1.meta))
            .chain(self.ess.iter().map(|e| &e.1.meta))
            .chain(self.stores.iter().map(|s| &s.1.meta))
            .chain(self.workloads.iter().map(|w| &w.1.meta))
            .chain(self.sas.iter().map(|s| &s.1.meta))
        {
            see(at(&m.created), &m.loc);
            for f in &m.managed_fields {
                see(f.time, &f.loc);
            }
        }
        for (_, p) in &self.pods {
            see(p.start_time, &p.meta.loc);
            for s in &p.statuses {
                see(s.started_at, &s.loc);
            }
        }
        for (_, e) in &self.ess {
            see(e.refresh_time, &e.meta.loc);
            for c in &e.conditions {
                see(c.last_transition, &c.loc);
            }
        }
        for (_, s) in &self.stores {
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
        let settled = self.settle_namespaces();
        let mut conflicts: Vec<String> = std::mem::take(&mut self.conflicts)
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        conflicts.extend(settled);
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

        // the large kinds stay in their boxes (see [`Snapshot::pods`])
        let (pods, secrets) = (boxes(self.pods), boxes(self.secrets));
        let (external_secrets, workloads) = (boxes(self.ess), boxes(self.workloads));

        let events = self.events;
        // the same Event object seen in two dumps (JSON and YAML, or two captures) is kept once:
        // same object, reason, message and absolute first time; the higher count wins
        type EventKey = (Option<Name>, Name, Name, Name, String, Time);
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
            pods,
            secrets,
            service_accounts: objects(self.sas),
            namespaces: objects(self.namespaces),
            workloads,
            events,
            external_secrets,
            stores: objects(self.stores),
            vault_connections: objects(self.connections),
            generators: self.generators,
            vault: self.vault,
            coverage: self.coverage,
            conflicts,
            index: Default::default(),
        };
        super::link::link(&mut snap);
        for (i, es) in snap.external_secrets.iter_mut().enumerate() {
            es.position = i as u32;
        }
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
            table_status: Some(Box::new((
                "SecretSyncedError".into(),
                Some("False".into()),
                loc("get.txt", 2),
            ))),
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
