//! Vault state as the CLI outputs and the audit log show it.

use super::{Loc, Time, When};
use chrono::Duration;
use std::collections::BTreeMap;

/// A secrets or auth mount, with its effective TTLs (`sys/mounts/M/tune`, `vault secrets list -detailed`).
#[derive(Clone, Debug, Default)]
pub struct VaultMount {
    /// Mount path without slashes, e.g. `secret` or `registry-creds`.
    pub path: String,
    /// true for auth mounts (`sys/auth/M`, `vault auth list`).
    pub auth: bool,
    pub type_: Option<String>,
    pub default_lease_ttl: Option<(Duration, Loc)>,
    pub max_lease_ttl: Option<(Duration, Loc)>,
    /// KV version from `options` (`map[version:2]`).
    pub kv_version: Option<u8>,
    pub loc: Loc,
}

/// One `path "..." { capabilities = [...] }` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyRule {
    pub path: String,
    pub capabilities: Vec<String>,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct VaultPolicy {
    pub name: String,
    pub rules: Vec<PolicyRule>,
    pub loc: Loc,
}

/// A Kubernetes (or JWT/AppRole) auth role (`vault read auth/M/role/R`).
#[derive(Clone, Debug, Default)]
pub struct VaultRole {
    pub mount: String,
    pub name: String,
    pub bound_sa_names: Vec<String>,
    pub bound_sa_namespaces: Vec<String>,
    /// `bound_service_account_namespace_selector`, when set (a label selector Vault evaluates).
    pub namespace_selector: Option<String>,
    /// `token_policies` ∪ `policies`, each with the line that lists it.
    pub policies: Vec<(String, Loc)>,
    pub no_default_policy: bool,
    pub token_ttl: Option<Duration>,
    pub token_max_ttl: Option<Duration>,
    pub audience: Option<String>,
    pub loc: Loc,
}

/// A read that returned a lease (dynamic credentials), or `vault lease lookup`.
#[derive(Clone, Debug, Default)]
pub struct VaultLease {
    /// The path read (from the command or the lease id).
    pub path: String,
    pub lease_id: Option<String>,
    /// Remaining/granted duration as printed (`0s` = expired or none).
    pub duration: Option<(Duration, Loc)>,
    pub renewable: Option<bool>,
    pub expire_time: Option<(Time, Loc)>,
    pub issue_time: Option<Time>,
    pub loc: Loc,
}

/// TTLs read from a role or config (`vault read database/roles/app`: `default_ttl`, `max_ttl`).
#[derive(Clone, Debug, Default)]
pub struct VaultTtl {
    pub path: String,
    pub default_ttl: Option<Duration>,
    pub max_ttl: Option<Duration>,
    pub loc: Loc,
}

/// `vault token lookup`.
#[derive(Clone, Debug, Default)]
pub struct VaultToken {
    pub accessor: Option<String>,
    pub display_name: Option<String>,
    pub policies: Vec<String>,
    pub expire_time: Option<Time>,
    pub ttl: Option<Duration>,
    pub renewable: Option<bool>,
    pub period: Option<Duration>,
    pub loc: Loc,
}

/// `vault list PATH`.
#[derive(Clone, Debug, Default)]
pub struct VaultList {
    pub path: String,
    pub keys: Vec<String>,
    pub loc: Loc,
}

/// `vault status`.
#[derive(Clone, Debug, Default)]
pub struct VaultStatus {
    pub sealed: Option<bool>,
    pub version: Option<String>,
    pub loc: Loc,
}

/// A Vault API error printed by the CLI, or embedded in an ESO event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VaultError {
    pub method: Option<String>,
    /// The API path after `/v1/`.
    pub path: Option<String>,
    pub code: Option<u16>,
    pub errors: Vec<String>,
    /// `Raw Message:` bodies: the reply did not come from Vault (a proxy, a load balancer).
    pub raw_message: bool,
    pub namespace: Option<String>,
    /// The object a Secrets Store CSI provider was reading (`couldn't read secret "NAME": ...`
    /// before the error): how a paste without its Pod is joined to a SecretProviderClass.
    pub csi_object: Option<String>,
}

/// One audit log entry.
#[derive(Clone, Debug, Default)]
pub struct AuditEvent {
    pub time: Option<Time>,
    pub type_: String,
    pub operation: String,
    pub path: String,
    pub display_name: Option<String>,
    pub policies: Vec<String>,
    pub remote_address: Option<String>,
    pub error: Option<String>,
    pub namespace: Option<String>,
    pub loc: Loc,
}

/// A KV secret as `vault kv get`, `vault kv metadata get` or a KV v1 `vault read` shows it.
/// Metadata only: the key names of the data, never a value.
#[derive(Clone, Debug, Default)]
pub struct VaultSecretMeta {
    /// The path as given on the command line (`secret/app/db`) or printed (`secret/data/app/db`).
    pub path: String,
    pub kv_version: Option<u8>,
    /// Key names of the data (values are dropped at ingest).
    pub keys: Vec<String>,
    /// `version` (kv get) or `current_version` (kv metadata get).
    pub version: Option<u64>,
    pub created_time: Option<Time>,
    pub updated_time: Option<Time>,
    pub deletion_time: Option<Time>,
    pub destroyed: Option<bool>,
    /// `kv metadata get` lists every version.
    pub versions: Vec<VaultSecretVersion>,
    /// `refresh_interval` of a KV v1 read (the mount's default TTL).
    pub refresh_interval: Option<Duration>,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct VaultSecretVersion {
    pub version: u64,
    pub created_time: Option<Time>,
    pub deletion_time: Option<Time>,
    pub destroyed: bool,
}

/// `vault read auth/M/config` of a Kubernetes auth mount (the CA certificate is not kept).
#[derive(Clone, Debug, Default)]
pub struct VaultAuthConfig {
    pub mount: String,
    pub kubernetes_host: Option<String>,
    pub issuer: Option<String>,
    pub disable_iss_validation: Option<bool>,
    pub disable_local_ca_jwt: Option<bool>,
    pub token_reviewer_jwt_set: Option<bool>,
    pub has_ca_cert: bool,
    pub loc: Loc,
}

/// Everything the bundle says about Vault.
#[derive(Clone, Debug, Default)]
pub struct VaultState {
    pub mounts: BTreeMap<(bool, String), VaultMount>,
    pub policies: BTreeMap<String, VaultPolicy>,
    /// `vault policy list`: the names, and where the list was.
    pub policy_list: Option<(Vec<String>, Loc)>,
    /// `No policy named: X` answers.
    pub policies_absent: BTreeMap<String, Loc>,
    pub roles: BTreeMap<(String, String), VaultRole>,
    pub leases: Vec<VaultLease>,
    pub ttls: Vec<VaultTtl>,
    pub tokens: Vec<VaultToken>,
    pub lists: Vec<VaultList>,
    pub status: Option<VaultStatus>,
    pub errors: Vec<(VaultError, Loc)>,
    pub audit: Vec<AuditEvent>,
    /// `vault secrets list` / `vault auth list` were collected (so an absent mount is missing).
    pub mounts_listed: bool,
    pub auth_mounts_listed: bool,
    /// KV secrets read (metadata and key names only).
    pub secrets: Vec<VaultSecretMeta>,
    /// Auth method configurations (`auth/M/config`), by mount.
    pub auth_configs: BTreeMap<String, VaultAuthConfig>,
    /// Time stamps read from Vault outputs with `When::Ago` semantics are not used; kept for symmetry.
    pub when_hint: Option<When>,
}

/// The object name of the last `couldn't read secret "NAME"` in `text` (the vault CSI
/// provider's wrapping of a read error).
pub fn csi_object_of(text: &str) -> Option<&str> {
    const P: &str = "couldn't read secret \"";
    let rest = &text[text.rfind(P)? + P.len()..];
    rest.split('"').next().filter(|n| !n.is_empty())
}

impl VaultError {
    /// Finds a Vault API error inside free text: a CLI error, or the tail of an ESO/VSO event
    /// message (`... Error making API request.\n\nURL: GET https://v/v1/p\nCode: 403. Errors:\n\n* permission denied`).
    pub fn parse(text: &str) -> Option<VaultError> {
        let start = text
            .find("Error making API request")
            .or_else(|| text.find("Code: "))?;
        let body = &text[start..];
        let mut e = VaultError {
            csi_object: csi_object_of(&text[..start]).map(str::to_string),
            ..Default::default()
        };
        // a paste may start at `URL:`, before the `Code:` line that anchors the body
        let url_src = if body.contains("URL: ") { body } else { text };
        if let Some(p) = url_src.find("URL: ") {
            let rest = &url_src[p + 5..];
            let line = rest.lines().next().unwrap_or("");
            let mut w = line.split_whitespace();
            e.method = w.next().map(str::to_string);
            // the rest of the line: a redacted host may hold spaces (`https://<vault URL>/v1/x`)
            let url = line.trim_start()[e.method.as_deref().unwrap_or("").len()..].trim();
            if !url.is_empty() {
                if let Some(i) = url.find("/v1/") {
                    let p = &url[i + 4..];
                    e.path = Some(
                        p.split('?')
                            .next()
                            .unwrap_or(p)
                            .trim_matches('/')
                            .to_string(),
                    );
                }
            }
        }
        if let Some(p) = body.find("Namespace: ") {
            e.namespace = body[p + 11..]
                .split_whitespace()
                .next()
                .map(|s| s.trim_matches('/').to_string());
        }
        let p = body.find("Code: ")?;
        let rest = &body[p + 6..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        e.code = digits.parse().ok();
        e.code?;
        let after = &rest[digits.len()..];
        if after
            .trim_start_matches('.')
            .trim_start()
            .starts_with("Raw Message")
        {
            e.raw_message = true;
            return Some(e);
        }
        for line in after.lines().skip(1) {
            let t = line.trim().trim_start_matches("\\t").trim();
            if let Some(msg) = t.strip_prefix("* ") {
                let msg = msg.trim();
                if !msg.ends_with("error occurred:")
                    && !msg.ends_with("errors occurred:")
                    && !msg.is_empty()
                {
                    e.errors.push(msg.to_string());
                }
            }
        }
        // escaped forms inside JSON strings: "* 1 error occurred:\n\t* permission denied"
        if e.errors.is_empty() {
            for part in after.split("* ").skip(1) {
                let msg = part
                    .split("\\n")
                    .next()
                    .unwrap_or("")
                    .split('\n')
                    .next()
                    .unwrap_or("")
                    .trim();
                if !msg.is_empty() && !msg.ends_with("occurred:") {
                    e.errors
                        .push(msg.trim_end_matches("\\t").trim().to_string());
                }
            }
        }
        Some(e)
    }

    /// A 403 from Vault itself (not from a proxy) saying `permission denied`.
    pub fn is_permission_denied(&self) -> bool {
        self.code == Some(403)
            && !self.raw_message
            && self.errors.iter().any(|e| e.contains("permission denied"))
    }

    /// Vault says the token itself is bad (newer Vault adds `invalid token`).
    pub fn is_invalid_token(&self) -> bool {
        self.errors
            .iter()
            .any(|e| e.contains("invalid token") || e.contains("bad token"))
    }

    /// One line for a report: `403 permission denied on GET registry-creds/creds/x`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if let Some(c) = self.code {
            s.push_str(&c.to_string());
        }
        if self.raw_message {
            s.push_str(" (a non-Vault reply: proxy or load balancer)");
        } else if !self.errors.is_empty() {
            s.push(' ');
            s.push_str(&self.errors.join("; "));
        }
        if let Some(p) = &self.path {
            s.push_str(" on ");
            if let Some(m) = &self.method {
                s.push_str(m);
                s.push(' ');
            }
            s.push_str(p);
        }
        s.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csi_object_names() {
        assert_eq!(
            csi_object_of(
                "error making mount request: couldn't read secret \"es-username\": Error"
            ),
            Some("es-username")
        );
        assert_eq!(csi_object_of("failed to login"), None);
        let e = VaultError::parse("err: rpc error: code = Unknown desc = error making mount request: couldn't read secret \"db-pass\": Error making API request.\n\nURL: GET http://vault:8200/v1/secret/data/db\nCode: 403. Errors:\n\n* permission denied").unwrap();
        assert_eq!(e.csi_object.as_deref(), Some("db-pass"));
    }

    #[test]
    fn parses_vault_errors() {
        let eso = "error processing spec.data[0] (key: creds/x), err: cannot read secret data from Vault: Error making API request.\n\nURL: GET https://vault.internal:8200/v1/registry-creds/creds/x\nCode: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n";
        let e = VaultError::parse(eso).unwrap();
        assert_eq!(e.code, Some(403));
        assert_eq!(e.path.as_deref(), Some("registry-creds/creds/x"));
        assert_eq!(e.method.as_deref(), Some("GET"));
        assert_eq!(e.errors, ["permission denied"]);
        assert!(e.is_permission_denied());

        let proxy = "invalid vault credentials: Error making API request.\n\nURL: GET https://v/v1/auth/token/lookup-self\nCode: 403. Raw Message:\n\n<html>\n<head><title>403 Forbidden</title></head>";
        let e = VaultError::parse(proxy).unwrap();
        assert!(e.raw_message);
        assert!(!e.is_permission_denied());

        let role = "URL: PUT https://v/v1/auth/kubernetes/login\nCode: 400. Errors:\n\n* invalid role name \"r\"";
        let e = VaultError::parse(role).unwrap();
        assert_eq!(e.errors, ["invalid role name \"r\""]);

        let escaped = r#"Code: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n"#;
        assert_eq!(
            VaultError::parse(escaped).unwrap().errors,
            ["permission denied"]
        );
        assert!(VaultError::parse("all good").is_none());
    }
}
