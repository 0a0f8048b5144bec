//! Every input a fuzz target crashed on, kept as a regression test: each runs through the
//! target that found it (and the others, which must not crash on it either).

use credtrace::fuzzing;

/// (target that found it, what broke, the input)
const CRASHES: &[(&str, &str, &[u8])] = &[
    (
        "ingest_file",
        "mount table whose header names columns out of order: slice begin > end",
        b"\x00\x00$ vault secrets list -detailed\nPath          Plugin       Accessor              Default TTL    Max TTL    Force No\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6\xa6 Cache    Replication    Seal Wrap    External Entropy Access    Options  \xff        Description                                                UUID                                    Version    Running Version          Running SHA128    Deprecation Status\n----          ------       --------              -----------    -------    --------------    -----------    ---------    -----------------------    -------           -----------                                                ----                                    -------    ---------------          --------------    ------------------\ncubbyhole/    cubbyhole    cubbyhole_2e9f6b71    n/a            n$ vault policy list\nadmint-service-registry\nuser-sero/a        false             local          false        false                      map[]             per-token private secret storage                           e4ae1a8a-bdca-5b35-bd92-f16103a34c42    n/a        v1.17.6+builtin.vault    n/a               n/a\nidentity/     identity     identity_c07a5e39     system         system     false             replicated     false        false                      map[]             identity store                                             d62109da-b2e5-5851-9e3b-c2005187ba5b    n/a        v1.17.6+builtin.vault    n/a               n/a\nsecret/       kv         = kv_a41d7c03           system         system     false             replicated     false        false                      map[version:2]    shop team application secrets                              cfc627ab-99c0-5511-bb4a-ef9215bcdaf3    n/a     0   v.19.0+builtin          n/a               supported\nsys/          system       systemi8b3d4f26       n/a            n/a        false             replicated     true         false                      map[]             system endpoints used for control, policy and debugging    4914e229-c60f-5a87-bd60-5f102ec0c004    n/a        v1.17.6+builtin.vault    n/a               n/a\n",
    ),
    (
        "ingest_file",
        "an event age of 10^17 seconds: chrono's TimeDelta::seconds out of bounds",
        b"\x00\x00bectl get pods -n prod -o wide\nNAME                                READY   STATUe\nNAME   0\n3445173350830411320                    Error    READY   STATUS             RESTARTS   AGE    IP            NODE             NOMINATED NODE   REA&IN\xff\xff\xff\xff\xff\xff\xff\nESS GATES\ninventory-service-83node-01   <none>           <none>\nuser-service-7b5d9c8f6d-h6r2j       1/1     R\"access_key\"unning            0          25h    10.244.2.44   worker-node-02   <none>           <none>\n",
    ),
];

#[test]
fn crash_inputs_stay_fixed() {
    for (found_by, what, input) in CRASHES {
        for (name, target) in fuzzing::TARGETS {
            let r = std::panic::catch_unwind(|| target(input));
            assert!(
                r.is_ok(),
                "{name} panics on the input {found_by} found ({what})"
            );
        }
    }
}
