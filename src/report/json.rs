//! The JSON output contract (DESIGN.md, `schema_version: 1`).

use crate::model::{Loc, ObjRef};
use crate::Analysis;
use serde_json::Value;

/// A subject as a JSON value, written as the report writes one (for the reports that build
/// a value: the graph, the diff).
pub fn subject(o: &ObjRef) -> Value {
    serde_json::to_value(view::subject(o, ())).expect("a subject always serialises")
}

/// A citation as a JSON value, written as the report writes one.
pub fn evidence(l: &Loc) -> Value {
    serde_json::to_value(view::citation(l)).expect("a citation always serialises")
}

pub fn render(a: &Analysis) -> String {
    let mut s = serde_json::to_string_pretty(&view::Report(a)).expect("a report always serialises");
    s.push('\n');
    s
}

/// The report as it is written: borrowed views of the analysis, serialised straight to text
/// in the order of the output contract. (Built as a `serde_json::Value` first, a fleet's
/// report was a tree of small maps made and freed again: two thirds of the time to render
/// it.)
mod view {
    use crate::diagnose::{ChainLink, Diagnosis, LatentRisk, Symptom, TimelineEvent};
    use crate::model::time::fmt_time;
    use crate::model::{CaptureSource, Loc, ObjRef, Time};
    use crate::rules::Finding;
    use crate::suppress::Suppressed;
    use crate::Analysis;
    use serde::ser::{SerializeMap, Serializer};
    use serde::Serialize;

    /// Members of an object, written in order into a map being serialised.
    pub trait Members {
        fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error>;
    }

    impl Members for () {
        fn write<M: SerializeMap>(&self, _: &mut M) -> Result<(), M::Error> {
            Ok(())
        }
    }

    /// One member: its name and value.
    pub struct Member<V>(pub &'static str, pub V);

    impl<V: Serialize> Members for Member<V> {
        fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
            map.serialize_entry(self.0, &self.1)
        }
    }

    /// A member written only when there is one.
    impl<V: Serialize> Members for Option<Member<V>> {
        fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
            self.as_ref().map_or(Ok(()), |m| m.write(map))
        }
    }

    /// Members one after the other: a tuple of them.
    macro_rules! members_of_tuples {
        ($(($($t:ident $i:tt),+))+) => {$(
            impl<$($t: Members),+> Members for ($($t,)+) {
                fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                    $(self.$i.write(map)?;)+
                    Ok(())
                }
            }
        )+};
    }
    members_of_tuples! {
        (A 0, B 1)
        (A 0, B 1, C 2)
        (A 0, B 1, C 2, D 3, E 4)
        (A 0, B 1, C 2, D 3, E 4, F 5)
        (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
        (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
    }

    /// An object of `.0`'s members.
    pub struct Object<T>(pub T);

    impl<T: Members> Serialize for Object<T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(None)?;
            self.0.write(&mut map)?;
            map.end()
        }
    }

    /// A subject's members (`kind`, `name`, and `namespace` when it has one), then `.1`'s.
    pub struct Subject<'a, T>(pub &'a ObjRef, pub T);

    impl<T: Members> Members for Subject<'_, T> {
        fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
            map.serialize_entry("kind", self.0.kind.as_str())?;
            map.serialize_entry("name", &self.0.name)?;
            if let Some(ns) = &self.0.namespace {
                map.serialize_entry("namespace", ns)?;
            }
            self.1.write(map)
        }
    }

    /// A subject as an object of its own, with `more` members after its own.
    pub fn subject<T: Members>(o: &ObjRef, more: T) -> Object<Subject<'_, T>> {
        Object(Subject(o, more))
    }

    /// A list, each item as `.1` makes it.
    pub struct List<'a, T, F>(pub &'a [T], pub F);

    impl<'a, T, V: Serialize, F: Fn(&'a T) -> V> Serialize for List<'a, T, F> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(&self.1))
        }
    }

    /// Citations: `path`, `excerpt`, and `line` (null when only the file is known).
    fn evidence(locs: &[Loc]) -> impl Serialize + '_ {
        List(locs, citation)
    }

    pub fn citation(l: &Loc) -> impl Serialize + '_ {
        Object((
            Member("path", &*l.path),
            Member("excerpt", &*l.excerpt),
            Member("line", (l.line > 0).then_some(l.line)),
        ))
    }

    fn time(t: Option<Time>) -> Option<String> {
        t.map(fmt_time)
    }

    fn finding(f: &Finding) -> impl Serialize + '_ {
        Object((
            Member("rule", f.rule),
            Member("name", f.name),
            Member("severity", f.severity.as_str()),
            Member("subject", subject(&f.subject, ())),
            Member("message", &f.message),
            Member("evidence", evidence(&f.evidence)),
            Member("since", time(f.since)),
            Member("remediation", &f.remediation),
        ))
    }

    fn symptom(s: &Symptom) -> impl Serialize + '_ {
        subject(&s.subject, Member("message", &s.message))
    }

    fn link(l: &ChainLink) -> impl Serialize + '_ {
        subject(
            &l.subject,
            (
                Member("edge", l.edge),
                l.state.as_ref().map(|s| Member("state", s)),
                Member("evidence", evidence(&l.evidence)),
            ),
        )
    }

    fn diagnosis(d: &Diagnosis) -> impl Serialize + '_ {
        let root = &d.root_cause;
        Object((
            Member("symptom", symptom(&d.symptom)),
            Member("symptoms", List(&d.symptoms, symptom)),
            Member(
                "root_cause",
                subject(
                    &root.subject,
                    (Member("rule", &root.rule), Member("message", &root.message)),
                ),
            ),
            Member("chain", List(&d.chain, link)),
            Member("domains", &d.domains),
            Member("confidence", d.confidence),
            Member("since", time(d.since)),
            Member("remediation", &d.remediation),
        ))
    }

    fn timeline(t: &TimelineEvent) -> impl Serialize + '_ {
        Object((
            Member("at", fmt_time(t.at)),
            Member("subject", subject(&t.subject, ())),
            Member("event", &t.event),
        ))
    }

    fn latent(l: &LatentRisk) -> impl Serialize + '_ {
        subject(
            &l.subject,
            (
                Member("rule", &l.rule),
                Member("message", &l.message),
                Member("predicted_at", fmt_time(l.predicted_at)),
            ),
        )
    }

    fn suppressed(s: &Suppressed) -> impl Serialize + '_ {
        Object((
            Member("rule", s.finding.rule),
            Member("subject", subject(&s.finding.subject, ())),
            Member("message", &s.finding.message),
            Member("reason", &s.reason),
            Member("origin", &s.origin),
        ))
    }

    /// The whole report.
    pub struct Report<'a>(pub &'a Analysis);

    impl Serialize for Report<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let a = self.0;
            let snap = &a.snapshot;
            let skipped: Vec<_> = (a.files.iter())
                .filter_map(|f| {
                    let reason = f.skipped.as_ref()?;
                    Some(Object((Member("path", &f.path), Member("reason", reason))))
                })
                .collect();
            let inferred = !matches!(
                snap.capture_source,
                CaptureSource::Manifest | CaptureSource::AsOf
            );
            let files = Object((
                Member("total", a.files.len()),
                Member("parsed", a.files.len() - skipped.len()),
                Member("skipped", &skipped),
            ));
            let bundle = Object((
                Member("source", &a.source),
                Member("cluster", &snap.cluster),
                Member("captured_at", fmt_time(snap.captured_at)),
                Member("captured_at_inferred", inferred),
                Member("captured_at_source", &snap.capture_source),
                Member("files", files),
            ));
            Object((
                Member("schema_version", 1),
                Member("bundle", bundle),
                Member("findings", List(&a.findings, finding)),
                Member("diagnoses", List(&a.diagnoses, diagnosis)),
                Member("timeline", List(&a.timeline, timeline)),
                Member("latent_risks", List(&a.latent, latent)),
                Member("rules_skipped", &a.skipped_rules),
                Member("conflicts", &snap.conflicts),
                Member("suppressed", List(&a.suppressed, suppressed)),
                Member("suppressions_expired", &a.expired_suppressions),
            ))
            .serialize(s)
        }
    }
}
