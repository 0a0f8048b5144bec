//! `credtrace collect-script`: a read-only POSIX shell script for the customer that gathers
//! a bundle credtrace reads, with a `credtrace.yaml` manifest (capture time, cluster, every
//! command with its output file and exit code).
//!
//! The script only runs `kubectl get`, `kubectl logs` (the ESO and VSO controllers, Vault
//! Agent init containers), `kubectl config current-context`, and Vault reads
//! (`status`, `secrets list`, `auth list`, `policy list/read`, `list`/`read` of auth roles
//! and mount tunes). It never reads a credential path, because reading a dynamic secret
//! issues one. Secret values are replaced by their SHA-256 before they reach the disk, and
//! the `last-applied-configuration` annotation (which can hold the data again) is dropped.

/// What to collect.
#[derive(Clone, Debug, Default)]
pub struct CollectSpec {
    pub namespaces: Vec<String>,
    pub vault_mounts: Vec<String>,
}

/// Quotes a word for POSIX sh.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

const HEADER: &str = r#"#!/bin/sh
# Collects a support bundle for credtrace. Read-only: it runs `kubectl get`, `kubectl logs`,
# `kubectl config current-context` and Vault reads, and writes only below the output directory.
# Secret values never reach the disk: each value is replaced by its SHA-256 and the
# last-applied-configuration annotation is dropped. Dynamic credential paths are never read.
#
# Usage: sh collect.sh [OUTPUT_DIR]     then: tar czf bundle.tgz -C OUTPUT_DIR .
# Needs: kubectl (with a context), and vault with VAULT_ADDR and a token for the Vault part.
set -u

OUT=${1:-credtrace-bundle}
mkdir -p "$OUT/kubernetes" "$OUT/vault" || exit 2
CMDS="$OUT/.commands.yaml"
: > "$CMDS"
CAPTURED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)

if command -v sha256sum >/dev/null 2>&1; then
  SHA="sha256sum"
elif command -v shasum >/dev/null 2>&1; then
  SHA="shasum -a 256"
else
  echo "collect: neither sha256sum nor shasum found; cannot hash Secret values" >&2
  exit 2
fi

# yaml_str TEXT: TEXT as a double-quoted YAML string
yaml_str() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# record DESCRIPTION OUTPUT CODE: add one command to the manifest
record() {
  {
    printf -- '- command: %s\n' "$(yaml_str "$1")"
    printf '  output: %s\n' "$(yaml_str "$2")"
    printf '  exit_code: %s\n' "$3"
  } >> "$CMDS"
}

# run OUTPUT COMMAND...: run a read-only command, keep stdout and stderr in OUTPUT
run() {
  out=$1
  shift
  "$@" > "$OUT/$out" 2>&1
  code=$?
  record "$*" "$out" "$code"
  return 0
}

# redact: Secret YAML on stdin, values of data/stringData replaced by sha256:HEX,
# last-applied-configuration dropped
redact() {
  awk -v sha="$SHA" -v mode=-1 -v skip=-1 '
    function indent(s) { match(s, /^ */); return RLENGTH }
    function hash(v,   cmd, h) {
      gsub(/'\''/, "", v)
      cmd = "printf %s '\''" v "'\'' | " sha
      cmd | getline h
      close(cmd)
      split(h, parts, " ")
      return "sha256:" parts[1]
    }
    {
      ind = indent($0)
      if (skip >= 0 && ind > skip) next
      skip = -1
      if (mode >= 0 && ind > mode && $0 ~ /^ *[^ :]+: /) {
        key = $0; sub(/: .*/, "", key)
        val = $0; sub(/^ *[^ :]+: /, "", val)
        print key ": " hash(val)
        next
      }
      mode = -1
      if ($0 ~ /^ *(data|stringData):[ ]*$/) { mode = ind; print; next }
      if ($0 ~ /kubectl\.kubernetes\.io\/last-applied-configuration:/) { skip = ind; next }
      print
    }
  '
}

# secrets NAMESPACE OUTPUT: kubectl get secrets, values hashed before they are written
secrets() {
  tmp="$OUT/.secrets.tmp"
  kubectl get secrets -n "$1" -o yaml > "$tmp" 2>&1
  code=$?
  if [ "$code" -eq 0 ]; then
    redact < "$tmp" > "$OUT/$2"
  else
    cat "$tmp" > "$OUT/$2"
  fi
  rm -f "$tmp"
  record "kubectl get secrets -n $1 -o yaml (values replaced by sha256)" "$2" "$code"
}

CLUSTER=$(kubectl config current-context 2>/dev/null || echo unknown)

run kubernetes/clustersecretstores.yaml kubectl get clustersecretstores -o yaml
run kubernetes/clusterissuers.yaml kubectl get clusterissuers -o yaml
"#;

const NS_BLOCK: &str = r#"
# namespace NS: every kind the supply chain touches in NS
namespace() {
  ns=$1
  for kind in pods serviceaccounts events deployments replicasets statefulsets daemonsets jobs cronjobs externalsecrets secretstores; do
    run "kubernetes/$kind-$ns.yaml" kubectl get "$kind" -n "$ns" -o yaml
  done
  # the other delivery paths; a kind whose CRD is not installed just records its error
  for kind in vaultconnections vaultauths vaultstaticsecrets vaultdynamicsecrets vaultpkisecrets secretproviderclasses certificates certificaterequests issuers; do
    run "kubernetes/$kind-$ns.yaml" kubectl get "$kind" -n "$ns" -o yaml
  done
  run "kubernetes/get-pods-$ns-wide.txt" kubectl get pods -n "$ns" -o wide
  run "kubernetes/get-externalsecrets-$ns.txt" kubectl get externalsecrets -n "$ns"
  secrets "$ns" "kubernetes/secrets-$ns.yaml"
  # the Vault Agent's log is where an injected Pod's Vault error is
  for pod in $(kubectl get pods -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.initContainers[*].name}{"\n"}{end}' 2>/dev/null | awk '/vault-agent-init/ { print $1 }'); do
    run "kubernetes/logs-$ns-$pod-vault-agent-init.txt" kubectl logs "$pod" -n "$ns" -c vault-agent-init --tail=500
  done
}

# controller_logs LABEL: the last day of logs of the controllers with that app label
controller_logs() {
  kubectl get deployments -A -l "app.kubernetes.io/name=$1" -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' 2>/dev/null |
  while read -r cns cdeploy; do
    [ -n "$cdeploy" ] || continue
    run "kubernetes/logs-$cns-$cdeploy.txt" kubectl logs "deployment/$cdeploy" -n "$cns" --since=24h --tail=5000
  done
}

"#;

const VAULT_BLOCK: &str = r#"
if command -v vault >/dev/null 2>&1; then
  run vault/status.txt vault status
  run vault/secrets-list-detailed.txt vault secrets list -detailed
  run vault/auth-list.txt vault auth list
  run vault/policy-list.txt vault policy list
  for p in $(vault policy list 2>/dev/null); do
    case "$p" in
      root) continue ;;
    esac
    run "vault/policy-read-$p.txt" vault policy read "$p"
  done
  for m in $(vault auth list 2>/dev/null | awk '$2 == "kubernetes" { sub(/\/$/, "", $1); print $1 }'); do
    safe=$(printf '%s' "$m" | tr '/' '-')
    run "vault/list-auth-$safe-role.txt" vault list "auth/$m/role"
    for r in $(vault list "auth/$m/role" 2>/dev/null | awk 'NR > 2'); do
      run "vault/read-auth-$safe-role-$r.txt" vault read "auth/$m/role/$r"
    done
  done
__MOUNTS__else
  echo "collect: vault CLI not found; the bundle will hold Kubernetes only" >&2
fi
"#;

const MOUNT_FN: &str = r#"
# mount M: the TTLs of a secrets mount, and what it lists
mount() {
  m=$1
  safe=$(printf '%s' "$m" | tr '/' '-')
  run "vault/read-sys-mounts-$safe-tune.txt" vault read "sys/mounts/$m/tune"
  run "vault/list-$safe.txt" vault list "$m"
}
"#;

const FOOTER: &str = r#"
{
  printf 'captured_at: %s\n' "$(yaml_str "$CAPTURED_AT")"
  printf 'cluster: %s\n' "$(yaml_str "$CLUSTER")"
  printf 'commands:\n'
  cat "$CMDS"
} > "$OUT/credtrace.yaml"
rm -f "$CMDS"
echo "collect: bundle written to $OUT; send it as: tar czf bundle.tgz -C $OUT ." >&2
"#;

/// The script text.
pub fn script(spec: &CollectSpec) -> String {
    let mut s = String::from(HEADER);
    s.push_str(NS_BLOCK);
    if spec.namespaces.is_empty() {
        s.push_str("namespace default\n");
    }
    for n in &spec.namespaces {
        s.push_str(&format!("namespace {}\n", sh_quote(n)));
    }
    s.push_str("controller_logs external-secrets\ncontroller_logs vault-secrets-operator\n");
    s.push_str(MOUNT_FN);
    let mounts: String = spec
        .vault_mounts
        .iter()
        .map(|m| format!("  mount {}\n", sh_quote(m.trim_matches('/'))))
        .collect();
    s.push_str(&VAULT_BLOCK.replace("__MOUNTS__", &mounts));
    s.push_str(FOOTER);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_names() {
        assert_eq!(sh_quote("prod"), "prod");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("x'$(rm)"), "'x'\\''$(rm)'");
    }

    #[test]
    fn no_mount_loop_without_mounts() {
        let s = script(&CollectSpec::default());
        assert!(!s.contains("__MOUNTS__"));
        assert!(!s.contains("  mount "));
        let s = script(&CollectSpec {
            namespaces: vec!["prod".into()],
            vault_mounts: vec!["registry-creds/".into()],
        });
        assert!(s.contains("  mount registry-creds\n"));
        assert!(s.contains("\nnamespace prod\n"));
    }
}
