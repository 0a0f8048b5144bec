//! Fleet-sized synthetic bundles: a healthy fleet stays quiet; a broken one gets exactly
//! the planted root causes.

use super::synth::{subject_id, write, Spec};
use super::util::{analyze_path, json, tempdir};
use std::collections::BTreeSet;

#[test]
fn healthy_fleet_is_quiet() {
    let dir = tempdir("fleet-healthy");
    let planted = write(
        &Spec {
            services: 300,
            per_namespace: 25,
            broken: 0.0,
            seed: 11,
        },
        &dir,
    );
    assert!(planted.is_empty());
    let v = json(&analyze_path(&dir));
    let loud: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| f["message"].clone())
        .collect();
    assert!(
        loud.is_empty(),
        "a healthy fleet produced findings: {loud:#?}"
    );
    assert_eq!(v["bundle"]["files"]["skipped"].as_array().unwrap().len(), 0);
}

#[test]
fn planted_chains_are_diagnosed_and_nothing_else() {
    let dir = tempdir("fleet-broken");
    let planted = write(
        &Spec {
            services: 400,
            per_namespace: 20,
            broken: 0.05,
            seed: 5,
        },
        &dir,
    );
    assert!(
        planted.len() >= 8,
        "the seed should plant several failures, got {}",
        planted.len()
    );
    let v = json(&analyze_path(&dir));
    let roots: BTreeSet<String> = v["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| subject_id(&d["root_cause"]))
        .collect();
    let want: BTreeSet<String> = planted.iter().map(|p| p.root_cause.clone()).collect();
    let missed: Vec<_> = want.difference(&roots).collect();
    let extra: Vec<_> = roots.difference(&want).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed {missed:?}; extra {extra:?}"
    );
}
