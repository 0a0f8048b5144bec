//! How ESO turns a `remoteRef.key` into the Vault API path it requests.
//!
//! Vault policies are written against API paths, but an ExternalSecret names a key relative
//! to a SecretStore (`spec.provider.vault.path` and `version`). Before the ACL can be asked
//! about a read, the key must be rewritten exactly as ESO rewrites it
//! (`providers/v1/vault/client_get.go` `buildPath` and `buildMetadataPath`), including its
//! quirks: a key that repeats the mount is not doubled, KV v2 gets a `data/` segment, and
//! without a mount the `data/` goes after the first segment. [`strip_kv2_data`] gives the
//! KV v1 shape of a path, to recognise a policy written for the wrong KV version (FM-02).

/// true for a KV v2 store. ESO's default `version` is `v2`, so anything but `v1` is v2.
fn is_v2(version: &str) -> bool {
    trim(version) != "v1"
}

/// The store's mount with its slashes trimmed; `None` when unset or blank.
fn mount(store_path: Option<&str>) -> Option<&str> {
    store_path
        .map(|m| trim_slashes_end(trim_slashes_start(trim(m))))
        .filter(|m| !m.is_empty())
}

// A path is resolved per key of every sync object, several times per run: these trims look
// at bytes (`/` is ASCII, so a cut after one is a character boundary) where `str`'s set up a
// character searcher per call.

/// `s.trim()`, without a look at the characters when `s` starts and ends with printable ASCII.
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// `s.trim_start_matches('/')`.
fn trim_slashes_start(s: &str) -> &str {
    &s[s.bytes().take_while(|&b| b == b'/').count()..]
}

/// `s.trim_end_matches('/')`.
fn trim_slashes_end(s: &str) -> &str {
    &s[..s.len() - s.bytes().rev().take_while(|&b| b == b'/').count()]
}

/// The key with the mount (and, on KV v2, a following `data/`) removed, as `buildPath` does.
fn strip_mount<'k>(key: &'k str, mount: &str, v2: bool) -> &'k str {
    match key
        .strip_prefix(mount)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(rest) if v2 => rest.strip_prefix("data/").unwrap_or(rest),
        Some(rest) => rest,
        None => key,
    }
}

/// The API path (without `/v1/`) ESO reads for `remoteRef.key` = `key` on a store with
/// `path` = `store_path` and `version` = `version` (`"v1"` or `"v2"`).
///
/// With a mount `M`: a leading `M/` is stripped from the key (on v2 also a following
/// `data/`), then the result is `M/data/<rest>` (v2) or `M/<rest>` (v1). Without a mount,
/// a v2 key that does not contain `/data/` gets `data` after its first segment; anything
/// else is used as is. Leading slashes of the key and surrounding slashes of the mount are
/// dropped; a trailing slash of the key is kept (ESO sends it).
pub fn resolve_read_path(store_path: Option<&str>, version: &str, key: &str) -> String {
    let v2 = is_v2(version);
    let key = trim_slashes_start(key);
    match mount(store_path) {
        Some(m) => {
            let rest = strip_mount(key, m, v2);
            // concatenated, not formatted: a fleet resolves a path per ExternalSecret key
            if v2 {
                [m, "/data/", rest].concat()
            } else {
                [m, "/", rest].concat()
            }
        }
        None if v2 && !key.contains("/data/") => match key.split_once('/') {
            Some((first, rest)) => [first, "/data/", rest].concat(),
            None => [key, "/data"].concat(),
        },
        None => key.to_string(),
    }
}

/// The metadata path ESO reads for `metadataPolicy: Fetch` (and writes for PushSecret):
/// `M/metadata/<rest>` on KV v2. `None` on KV v1 (ESO refuses metadata there) and when ESO
/// itself would refuse the key (no mount and no `data` in the key).
pub fn resolve_metadata_path(store_path: Option<&str>, version: &str, key: &str) -> Option<String> {
    if !is_v2(version) {
        return None;
    }
    let key = trim_slashes_start(key);
    match mount(store_path) {
        Some(m) => Some(format!("{m}/metadata/{}", strip_mount(key, m, true))),
        None if !key.contains("data") => None,
        None => Some(key.replacen("/data/", "/metadata/", 1)),
    }
}

/// The path without its KV v2 `data` segment (the first `data` segment after the mount's
/// first segment): `secret/data/app/x` -> `secret/app/x`. `None` when there is none.
pub fn strip_kv2_data(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let at = parts.iter().skip(1).position(|p| *p == "data")? + 1;
    let kept: Vec<&str> = parts
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != at)
        .map(|(_, p)| *p)
        .collect();
    Some(kept.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte trims cut what `str`'s trims cut, on text with slashes, ASCII and
        /// Unicode whitespace at either end.
        #[test]
        fn trims_by_bytes_cut_as_str_trims_do(s in "[/ \t\u{3000}\u{a0}a-z\u{e9}.]{0,12}") {
            proptest::prop_assert_eq!(trim(&s), s.trim());
            proptest::prop_assert_eq!(trim_slashes_start(&s), s.trim_start_matches('/'));
            proptest::prop_assert_eq!(trim_slashes_end(&s), s.trim_end_matches('/'));
        }
    }

    /// (what it checks, store path, version, key, expected)
    type MetadataRow = (
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static str,
        Option<&'static str>,
    );

    #[test]
    fn read_paths() {
        // (what it checks, store path, version, key, expected)
        let rows: &[(&str, Option<&str>, &str, &str, &str)] = &[
            (
                "v2 with mount prepends mount and data",
                Some("secret"),
                "v2",
                "app/regcred",
                "secret/data/app/regcred",
            ),
            (
                "v1 with mount prepends the mount only",
                Some("secret"),
                "v1",
                "app/regcred",
                "secret/app/regcred",
            ),
            (
                "v2 key repeating the mount is not doubled",
                Some("secret"),
                "v2",
                "secret/app/regcred",
                "secret/data/app/regcred",
            ),
            (
                "v2 key with mount and data/ is unchanged",
                Some("secret"),
                "v2",
                "secret/data/app/regcred",
                "secret/data/app/regcred",
            ),
            (
                "v1 key repeating the mount is not doubled",
                Some("secret"),
                "v1",
                "secret/app/regcred",
                "secret/app/regcred",
            ),
            (
                "v1 keeps a data/ segment of the key",
                Some("secret"),
                "v1",
                "secret/data/app",
                "secret/data/app",
            ),
            (
                "nested mount",
                Some("secret/path"),
                "v2",
                "foo",
                "secret/path/data/foo",
            ),
            (
                "nested mount repeated in the key",
                Some("secret/path"),
                "v2",
                "secret/path/data/foo",
                "secret/path/data/foo",
            ),
            (
                "mount is a prefix of the key but not a segment",
                Some("secret"),
                "v2",
                "secrets/app",
                "secret/data/secrets/app",
            ),
            (
                "data/ without the mount is kept as part of the key",
                Some("secret"),
                "v2",
                "data/app",
                "secret/data/data/app",
            ),
            (
                "no mount, v2: data after the first segment",
                None,
                "v2",
                "secret/path/foo",
                "secret/data/path/foo",
            ),
            (
                "no mount, v2: key with /data/ unchanged",
                None,
                "v2",
                "secret/path/data/foo",
                "secret/path/data/foo",
            ),
            (
                "no mount, v1: key unchanged",
                None,
                "v1",
                "secret/path/foo",
                "secret/path/foo",
            ),
            (
                "no mount, v2, one segment",
                None,
                "v2",
                "secret",
                "secret/data",
            ),
            (
                "mount slashes are trimmed",
                Some("/secret/"),
                "v2",
                "app",
                "secret/data/app",
            ),
            (
                "leading slash of the key is dropped",
                Some("secret"),
                "v2",
                "/app/x",
                "secret/data/app/x",
            ),
            (
                "blank mount counts as unset",
                Some(""),
                "v2",
                "kv/app",
                "kv/data/app",
            ),
            (
                "an unknown version is treated as v2 (the default)",
                Some("secret"),
                "",
                "app",
                "secret/data/app",
            ),
            (
                "trailing slash of the key is kept",
                Some("secret"),
                "v2",
                "app/",
                "secret/data/app/",
            ),
        ];
        assert!(rows.len() >= 12);
        for (what, mount, version, key, want) in rows {
            assert_eq!(&resolve_read_path(*mount, version, key), want, "{what}");
        }
    }

    #[test]
    fn metadata_paths() {
        let rows: &[MetadataRow] = &[
            (
                "v2 with mount",
                Some("secret"),
                "v2",
                "app/x",
                Some("secret/metadata/app/x"),
            ),
            (
                "v2 key repeating mount and data/",
                Some("secret"),
                "v2",
                "secret/data/app/x",
                Some("secret/metadata/app/x"),
            ),
            (
                "v2 key repeating the mount",
                Some("secret"),
                "v2",
                "secret/app/x",
                Some("secret/metadata/app/x"),
            ),
            ("v1 has no metadata", Some("secret"), "v1", "app/x", None),
            (
                "no mount: data/ becomes metadata/",
                None,
                "v2",
                "secret/data/app/x",
                Some("secret/metadata/app/x"),
            ),
            (
                "no mount and no data: refused by ESO",
                None,
                "v2",
                "secret/app/x",
                None,
            ),
        ];
        for (what, mount, version, key, want) in rows {
            assert_eq!(
                resolve_metadata_path(*mount, version, key).as_deref(),
                *want,
                "{what}"
            );
        }
    }

    #[test]
    fn strip_data() {
        let rows: &[(&str, Option<&str>)] = &[
            ("secret/data/app/x", Some("secret/app/x")),
            ("kv/team/data/app", Some("kv/team/app")),
            ("secret/data/data/x", Some("secret/data/x")),
            ("secret/data", Some("secret")),
            ("secret/app/x", None),
            ("data/app", None),
            ("secret/database/x", None),
        ];
        for (path, want) in rows {
            assert_eq!(strip_kv2_data(path).as_deref(), *want, "{path}");
        }
    }

    #[test]
    fn resolved_path_and_acl_agree_on_fm02() {
        use crate::acl::Acl;
        use crate::model::{PolicyRule, VaultPolicy};
        let policy = VaultPolicy {
            name: "eso-read".into(),
            rules: vec![PolicyRule {
                path: "secret/app/*".into(),
                capabilities: vec!["read".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let acl = Acl::new(&[&policy]);
        let path = resolve_read_path(Some("secret"), "v2", "app/regcred");
        assert!(!acl.check(&path, "read").allowed);
        let v1_shape = strip_kv2_data(&path).expect("data segment");
        assert!(acl.check(&v1_shape, "read").allowed);
    }
}
