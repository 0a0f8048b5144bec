//! The certificate chain in a Secret's `tls.crt`, reduced to public facts.
//!
//! This module exists so that a TLS Secret can be checked for expiry without anything
//! secret leaving ingest: it reads `tls.crt` only (a certificate is public), never
//! `tls.key`, and turns each certificate into a [`CertInfo`] (subject, issuer, serial,
//! validity, DNS names, CA flag). The bytes come from a support bundle and may be anything:
//! every failure is an error string that describes the problem without quoting the input,
//! and nothing here may panic. Decoding uses RustCrypto's `x509-cert` (pure Rust, no C).

use crate::model::{CertInfo, Loc, Time};
use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
use x509_cert::der::oid::db::rfc4519;
use x509_cert::der::Decode;
use x509_cert::ext::pkix::{name::GeneralName, BasicConstraints, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::Certificate;

/// A `tls.crt` larger than this is not a certificate chain a server would load.
pub const MAX_INPUT: usize = 1 << 20;
/// At most this many certificates are read from one chain.
pub const MAX_CERTS: usize = 32;

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";

/// Reads the PEM certificate chain in `bytes` (a decoded `tls.crt`), leaf first. Every
/// certificate cites `loc`. PEM blocks of other types (a private key pasted by mistake) are
/// skipped unread. A single DER certificate is accepted too.
pub fn read_chain(bytes: &[u8], loc: &Loc) -> Result<Vec<CertInfo>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("tls.crt is empty".into());
    }
    if bytes.len() > MAX_INPUT {
        return Err(format!(
            "tls.crt is {} bytes, more than the {} a certificate chain needs",
            bytes.len(),
            MAX_INPUT
        ));
    }
    let mut certs = Vec::new();
    let mut blocks = 0usize;
    let mut at = 0usize;
    while let Some((start, label)) = next_begin(bytes, at) {
        let end_marker = [b"-----END ", label, DASHES].concat();
        let Some(end) = find(&bytes[start..], &end_marker).map(|i| start + i + end_marker.len())
        else {
            return Err(format!(
                "PEM block {} has no END line (the chain is truncated)",
                blocks + 1
            ));
        };
        blocks += 1;
        at = end;
        if label != b"CERTIFICATE" {
            continue;
        }
        if certs.len() == MAX_CERTS {
            return Err(format!("tls.crt holds more than {MAX_CERTS} certificates"));
        }
        let n = certs.len() + 1;
        let (_, der) = x509_cert::der::pem::decode_vec(&bytes[start..end])
            .map_err(|e| format!("certificate {n} is not valid PEM ({e})"))?;
        let cert = Certificate::from_der(&der)
            .map_err(|e| format!("certificate {n} is not valid X.509 DER ({})", e.kind()))?;
        certs.push(info(&cert, certs.len(), loc)?);
    }
    if certs.is_empty() {
        if blocks > 0 {
            return Err("tls.crt has PEM blocks but no CERTIFICATE block".into());
        }
        if bytes.first() == Some(&0x30) {
            let cert = Certificate::from_der(bytes)
                .map_err(|e| format!("tls.crt is neither PEM nor X.509 DER ({})", e.kind()))?;
            return Ok(vec![info(&cert, 0, loc)?]);
        }
        return Err("tls.crt holds no PEM CERTIFICATE block".into());
    }
    Ok(certs)
}

/// The next `-----BEGIN LABEL-----` at or after `from`: its offset and label.
fn next_begin(bytes: &[u8], from: usize) -> Option<(usize, &[u8])> {
    let mut at = from;
    loop {
        let start = at + find(bytes.get(at..)?, BEGIN)?;
        let rest = &bytes[start + BEGIN.len()..];
        let line_end = rest
            .iter()
            .position(|&c| c == b'\n' || c == b'\r')
            .unwrap_or(rest.len());
        if let Some(label) = rest[..line_end].strip_suffix(DASHES) {
            return Some((start, label));
        }
        at = start + BEGIN.len();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn info(cert: &Certificate, position: usize, loc: &Loc) -> Result<CertInfo, String> {
    let tbs = &cert.tbs_certificate;
    let n = position + 1;
    let time = |t: x509_cert::time::Time| -> Result<Time, String> {
        i64::try_from(t.to_unix_duration().as_secs())
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .ok_or_else(|| format!("certificate {n} has a validity date out of range"))
    };
    // malformed extensions make the fact unknown, not the certificate unreadable
    let dns_names = tbs
        .get::<SubjectAltName>()
        .ok()
        .flatten()
        .map(|(_, san)| {
            san.0
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DnsName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let is_ca = tbs
        .get::<BasicConstraints>()
        .ok()
        .flatten()
        .is_some_and(|(_, bc)| bc.ca);
    Ok(CertInfo {
        position,
        subject: tbs.subject.to_string(),
        subject_cn: common_name(&tbs.subject),
        issuer: tbs.issuer.to_string(),
        issuer_cn: common_name(&tbs.issuer),
        serial: tbs
            .serial_number
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect(),
        not_before: time(tbs.validity.not_before)?,
        not_after: time(tbs.validity.not_after)?,
        dns_names,
        is_ca,
        loc: loc.clone(),
    })
}

/// The last commonName of a name, decoded from the string types certificates use.
fn common_name(name: &Name) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == rfc4519::CN)
        .filter_map(|atv| {
            let v = &atv.value;
            v.decode_as::<Utf8StringRef>()
                .map(|s| s.to_string())
                .or_else(|_| v.decode_as::<PrintableStringRef>().map(|s| s.to_string()))
                .or_else(|_| v.decode_as::<Ia5StringRef>().map(|s| s.to_string()))
                .or_else(|_| v.decode_as::<TeletexStringRef>().map(|s| s.to_string()))
                .ok()
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use x509_cert::der::Encode;

    /// A test chain (see tests/certs/gen.sh): leaf `CN=shop.example.com`, then its intermediate.
    const CHAIN: &str = include_str!("../../../tests/certs/healthy.pem");

    /// The DER of the first certificate of `pem`, for tests that corrupt it.
    fn der_of(pem: &str) -> Vec<u8> {
        let c = Certificate::load_pem_chain(pem.as_bytes()).unwrap();
        c[0].to_der().unwrap()
    }

    fn loc() -> Loc {
        Loc::new(&std::sync::Arc::from("k.yaml"), 7, "tls.crt: ...")
    }

    #[test]
    fn reads_a_chain_leaf_first() {
        let c = read_chain(CHAIN.as_bytes(), &loc()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].position, 0);
        assert_eq!(c[0].subject_cn.as_deref(), Some("shop.example.com"));
        assert_eq!(c[0].issuer_cn.as_deref(), Some("Example Intermediate CA"));
        assert!(c[0].dns_names.contains(&"shop.example.com".to_string()));
        assert!(!c[0].is_ca);
        assert!(c[1].is_ca);
        assert_eq!(c[1].subject_cn.as_deref(), Some("Example Intermediate CA"));
        assert!(!c[1].self_signed());
        assert!(c[0].not_before < c[0].not_after);
        assert_eq!(c[0].loc, loc());
        assert!(!c[0].serial.is_empty());
    }

    #[test]
    fn other_pem_blocks_are_skipped_unread() {
        let with_key = format!(
            "-----BEGIN PRIVATE KEY-----\nzz-not-base64\n-----END PRIVATE KEY-----\n{CHAIN}"
        );
        let c = read_chain(with_key.as_bytes(), &loc()).unwrap();
        assert_eq!(c.len(), 2);
        let only_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let e = read_chain(only_key.as_bytes(), &loc()).unwrap_err();
        assert!(e.contains("no CERTIFICATE block"), "{e}");
    }

    #[test]
    fn a_single_der_certificate_is_read() {
        let der = der_of(CHAIN);
        let c = read_chain(&der, &loc()).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].subject_cn.as_deref(), Some("shop.example.com"));
    }

    #[test]
    fn bad_inputs_are_errors_that_quote_nothing() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "empty"),
            (b"  \n".to_vec(), "empty"),
            (b"zz-planted-garbage".to_vec(), "no PEM CERTIFICATE"),
            (
                b"-----BEGIN CERTIFICATE-----\nzz-planted!!\n-----END CERTIFICATE-----\n".to_vec(),
                "not valid PEM",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec(),
                "no END line",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
                "not valid X.509 DER",
            ),
            (
                vec![0x30, 0x82, 0xff, 0xff, 0x01],
                "neither PEM nor X.509 DER",
            ),
        ];
        for (input, want) in cases {
            let e = read_chain(&input, &loc()).unwrap_err();
            assert!(e.contains(want), "{e:?} should say {want:?}");
            assert!(!e.contains("zz-planted"), "{e}");
        }
    }

    #[test]
    fn truncated_der_is_an_error() {
        let der = der_of(CHAIN);
        for cut in [1, 2, 4, 10, der.len() / 2, der.len() - 1] {
            assert!(read_chain(&der[..cut], &loc()).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_chain(&bytes, &loc());
        }

        #[test]
        fn corrupted_certificates_never_panic(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut der = der_of(CHAIN);
            for (i, b) in flips {
                let i = i.index(der.len());
                der[i] = b;
            }
            let len = cut.index(der.len()) + 1;
            let _ = read_chain(&der[..len], &loc());
            let pem = x509_cert::der::pem::encode_string(
                "CERTIFICATE",
                x509_cert::der::pem::LineEnding::LF,
                &der[..len],
            ).unwrap();
            let _ = read_chain(pem.as_bytes(), &loc());
        }

        #[test]
        fn pem_noise_never_panics(
            prefix in "[-A-Z \n]{0,40}",
            cut in any::<prop::sample::Index>(),
        ) {
            let text = format!("{prefix}{CHAIN}");
            let at = cut.index(text.len());
            let _ = read_chain(&text.as_bytes()[..at], &loc());
        }
    }
}
