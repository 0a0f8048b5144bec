//! Encodings: UTF-16 with a BOM, a UTF-8 BOM, CRLF, ANSI colours, invalid UTF-8 and
//! truncated files. What can be parsed is parsed the same as the clean file; what cannot
//! is skipped with a reason, never silently.

use super::util::*;
use credtrace::ingest::ingest_file;
use std::collections::BTreeMap;
use std::sync::Arc;

fn kinds(
    path: &str,
    data: &[u8],
) -> (
    BTreeMap<String, usize>,
    &'static str,
    Option<String>,
    Vec<String>,
) {
    let p: Arc<str> = Arc::from(path);
    let (out, format, skipped) = ingest_file(&p, data, None);
    (out.kinds, format, skipped, out.notes)
}

fn utf16(text: &str, le: bool) -> Vec<u8> {
    let mut v = if le {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in text.encode_utf16() {
        v.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
    }
    v
}

fn colour(text: &str) -> String {
    // what `kubectl` plugins and `grep --color` leave in a paste
    text.replace("ImagePullBackOff", "\x1b[31;1mImagePullBackOff\x1b[0m")
        .replace("Running", "\x1b[32mRunning\x1b[m")
        .replace("Warning", "\x1b[33mWarning\x1b[0m")
        .replace("$ kubectl", "\x1b]0;user@host: ~\x07$ kubectl")
}

const FILES: &[&str] = &[
    "kubernetes/get-pods-prod-wide.txt",
    "kubernetes/pods-prod.yaml",
    "kubernetes/describe-pod-order-service-8c7d6e5f4-p2n8q-events.txt",
    "kubernetes/describe-externalsecret-order-service-regcred.txt",
    "vault/read-auth-kubernetes-role-eso-prod.txt",
    "vault/policy-read-order-service-registry.txt",
    "vault/audit.log",
];

#[test]
fn re_encoded_files_parse_like_the_original() {
    let dir = sample("order-service-imagepull");
    for f in FILES {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        let (want, want_format, want_skip, _) = kinds(f, text.as_bytes());
        assert!(
            want_skip.is_none() && !want.is_empty(),
            "{f} is a good sample"
        );
        let variants: Vec<(&str, Vec<u8>)> = vec![
            ("utf-16le", utf16(&text, true)),
            ("utf-16be", utf16(&text, false)),
            (
                "utf-8 bom",
                [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
            ),
            ("crlf", text.replace('\n', "\r\n").into_bytes()),
            ("colour", colour(&text).into_bytes()),
            (
                "crlf+colour+utf16",
                utf16(&colour(&text).replace('\n', "\r\n"), true),
            ),
        ];
        for (what, data) in variants {
            let (got, format, skip, _) = kinds(f, &data);
            assert_eq!(skip, None, "{f} as {what}");
            assert_eq!(format, want_format, "{f} as {what}");
            assert_eq!(got, want, "{f} as {what}");
        }
    }
}

#[test]
fn invalid_utf8_is_read_with_a_note() {
    let dir = sample("order-service-imagepull");
    let f = "kubernetes/get-pods-prod-wide.txt";
    let mut data = std::fs::read(dir.join(f)).unwrap();
    let (want, ..) = kinds(f, &data);
    // a stray Latin-1 byte in the header comment line
    data.splice(2..2, [0xE9, 0xFF]);
    let (got, _, skip, notes) = kinds(f, &data);
    assert_eq!(skip, None);
    assert_eq!(got, want);
    assert!(
        notes.iter().any(|n| n.contains("invalid UTF-8 at byte 2")),
        "{notes:?}"
    );
}

#[test]
fn truncated_files_are_parsed_where_possible_else_skipped_with_a_reason() {
    let dir = sample("order-service-imagepull");
    for f in FILES {
        let data = std::fs::read(dir.join(f)).unwrap();
        for cut in [1, data.len() / 3, data.len() / 2, data.len() - 7] {
            let (k, format, skip, notes) = kinds(f, &data[..cut]);
            // never silence: either something was read, or there is a reason
            assert!(
                !k.is_empty() || skip.as_deref().is_some_and(|r| !r.is_empty()),
                "{f} cut at {cut}: {format} {notes:?}"
            );
        }
    }
    // a JSON document cut short says where
    let (_, _, skip, _) = kinds(
        "x.json",
        b"{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"meta",
    );
    assert!(skip.unwrap().starts_with("invalid JSON at line 1"));
}

#[test]
fn binary_and_empty_files_are_skipped_with_a_reason() {
    let cases: [(&str, &[u8], &str); 4] = [
        ("x.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "binary file"),
        ("empty.yaml", b"", "empty file"),
        ("blank.txt", b" \n\r\n\t\n", "empty file"),
        (
            "nested.tar.gz",
            b"\x1f\x8b\x08\0",
            "nested archive, not read",
        ),
    ];
    for (name, data, want) in cases {
        let (_, _, skip, _) = kinds(name, data);
        assert_eq!(skip.as_deref(), Some(want), "{name}");
    }
}
