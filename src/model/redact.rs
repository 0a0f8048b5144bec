//! Redaction of anything that looks like a secret value.
//!
//! credtrace never prints secret values. Secret `data` is reduced to key names and a
//! fingerprint at ingest, but evidence excerpts are lines of text from the bundle, and a
//! pasted line may still carry a token or a password. Every excerpt passes through
//! [`redact_line`] before it is stored.

/// Vault token prefixes (service, batch, recovery, legacy) and other credential shapes.
const TOKEN_PREFIXES: &[&str] = &[
    "hvs.", "hvb.", "hvr.", "s.", "b.", "r.", "ghp_", "glpat-", "AKIA",
];

/// Keys whose values are secrets whatever they look like.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "client_token",
    "secret_id",
    "private_key",
    "auth",
    "api_key",
    "apikey",
    "access_key",
    "secret_key",
    ".dockerconfigjson",
    ".dockercfg",
];

/// The first bytes of [`SECRET_KEYS`], in either case.
const KEY_FIRST: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < SECRET_KEYS.len() {
        let b = SECRET_KEYS[i].as_bytes()[0];
        t[b.to_ascii_lowercase() as usize] = true;
        t[b.to_ascii_uppercase() as usize] = true;
        i += 1;
    }
    t
};

/// Returns `line` with credential-like values replaced by `<redacted>`.
pub fn redact_line(line: &str) -> String {
    // indentation (a cited JSON line has dozens of spaces) passed a byte at a time, not a
    // character at a time by `trim`, which then finds nothing more to take there
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    let line = line[indent..].trim();
    // a line of at most 240 bytes has at most 240 chars: counted only when longer
    let cut;
    let line = if line.len() > 240 && line.chars().count() > 240 {
        cut = format!("{}...", line.chars().take(240).collect::<String>());
        cut.as_str()
    } else {
        line
    };
    match secret_value_at(line) {
        Some(value_start) => format!("{}<redacted>", &line[..value_start]),
        None => redact_tokens(line),
    }
}

/// Where the value of a secret-named key starts in `line` (`key: value`, `key=value`,
/// `"key": "value"`, `key  value` of a table row), if it has one.
fn secret_value_at(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    // A key counts where the text before it (or before its opening quote) is blank or
    // ends with `{`, `,` or `-`. Those places are found once, and kept only where a secret
    // key's first letter sits, so a line without one is not tried against each key.
    let first_letter = |b: u8| KEY_FIRST[usize::from(b)];
    let may_start = |i: usize| match bytes[i] {
        b'"' => bytes.get(i + 1).is_some_and(|&b| first_letter(b)),
        b => first_letter(b),
    };
    let mut starts = Vec::new();
    if line.is_ascii() {
        // `after` holds while the last non-blank byte is none or one of `{`, `,`, `-`
        let mut after = true;
        for (i, &b) in bytes.iter().enumerate() {
            if after && may_start(i) {
                starts.push(i);
            }
            if !matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
                after = matches!(b, b'{' | b',' | b'-');
            }
        }
    } else {
        let mut last = None;
        for (i, c) in line.char_indices() {
            if matches!(last, None | Some('{' | ',' | '-')) && may_start(i) {
                starts.push(i);
            }
            if !c.is_whitespace() {
                last = Some(c);
            }
        }
    }
    for key in SECRET_KEYS {
        for &kstart in &starts {
            // the key may be quoted
            let quoted = bytes[kstart] == b'"';
            let pos = if quoted { kstart + 1 } else { kstart };
            let at_key = bytes.get(pos..pos + key.len());
            if !at_key.is_some_and(|k| k.eq_ignore_ascii_case(key.as_bytes())) {
                continue;
            }
            let mut after = pos + key.len();
            if quoted {
                if bytes.get(after) != Some(&b'"') {
                    continue;
                }
                after += 1;
            }
            // the separator: `:`, `=`, or whitespace (a table row)
            let sep = match bytes.get(after) {
                Some(b':') | Some(b'=') => 1,
                Some(b' ') | Some(b'\t') => 0,
                _ => continue,
            };
            let spaced = sep == 0;
            let rest_start = after + sep;
            let ws = line[rest_start..].len() - line[rest_start..].trim_start().len();
            let value_start = rest_start + ws;
            let rest = line[value_start..].trim();
            // `key value` (a Vault table row) only when the value is one word
            let table_row = !spaced || rest.split_whitespace().count() == 1;
            if table_row && !rest.is_empty() && rest != "\"\"" && rest != "|" && rest != ">" {
                return Some(value_start);
            }
        }
    }
    None
}

/// Returns a command line with its secret arguments replaced by `<redacted>`: a
/// token-shaped word (`vault login hvs.X`), and the value of any `KEY=VALUE` whose key names
/// a secret (`--from-literal=password=X`, `VAULT_TOKEN=X`, `secret_id=X`,
/// `--docker-password=X`).
pub fn redact_command(cmd: &str) -> String {
    let mut out = String::with_capacity(cmd.len());
    for (i, word) in cmd.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Some((key, _)) = word.rsplit_once('=') {
            let k = key.to_ascii_lowercase().replace('-', "_");
            let named = SECRET_KEYS
                .iter()
                .any(|s| k.ends_with(s.trim_start_matches('.')));
            if named {
                out.push_str(key);
                out.push_str("=<redacted>");
                continue;
            }
        }
        let bare = word.trim_matches(|c| c == '\'' || c == '"');
        if looks_like_secret(bare) {
            out.push_str("<redacted>");
        } else {
            out.push_str(word);
        }
    }
    out
}

/// The bytes a word of [`redact_tokens`] is made of: ASCII letters and digits and `._-+/=`.
const WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'+' | b'/' | b'=');
        b += 1;
    }
    t
};

/// Replaces token-shaped words and long base64 runs inside free text.
pub fn redact_tokens(text: &str) -> String {
    // words are runs of ASCII bytes, so slicing at their ends stays on char boundaries; a
    // byte is looked up (every cited line passes here, a byte at a time)
    let in_word = |b: u8| WORD[usize::from(b)];
    let bytes = text.as_bytes();
    // only a word of 16 bytes or more can be a secret (see `looks_like_secret`); the text is
    // copied once, and rebuilt only around the words that are
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !in_word(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && in_word(bytes[i]) {
            i += 1;
        }
        if i - start >= 16 && looks_like_secret(&text[start..i]) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..start]);
            o.push_str("<redacted>");
            copied = i;
        }
    }
    match out {
        None => text.to_string(),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            o
        }
    }
}

/// True for a word shaped like a credential: a Vault token, a JWT, or a long base64 run.
pub fn looks_like_secret(word: &str) -> bool {
    let w = word.trim_matches(|c: char| c == '.' || c == '-' || c == '/');
    if w.len() < 16 {
        return false;
    }
    if w.contains('/') && w.matches('/').count() > 1 && !w.contains("==") {
        // paths such as registry-creds/creds/order-service are not secrets
        return false;
    }
    for p in TOKEN_PREFIXES {
        if let Some(rest) = w.strip_prefix(p) {
            if rest.len() >= 12 && !rest.contains('.') && rest.chars().any(|c| c.is_ascii_digit()) {
                return true;
            }
        }
    }
    if w.starts_with("eyJ") && w.matches('.').count() >= 2 {
        return true; // JWT
    }
    if w.starts_with("hmac-sha256:") {
        return false;
    }
    // long base64 with mixed classes (most long words are names or times: a byte outside
    // base64 ends the look at the first one, before the classes are counted)
    let b = w.as_bytes();
    b.len() >= 20
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
        && b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter().any(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first implementation, kept to check the faster one against.
    fn reference_line(line: &str) -> String {
        let line = line.trim();
        let line: String = if line.chars().count() > 240 {
            let cut: String = line.chars().take(240).collect();
            format!("{cut}...")
        } else {
            line.to_string()
        };
        // key: value / key=value / "key": "value" / `key  value` where key names a secret
        let lower = line.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        for key in SECRET_KEYS {
            let mut from = 0;
            while let Some(off) = lower[from..].find(key) {
                let pos = from + off;
                from = pos + 1;
                // the key may be quoted
                let (kstart, mut after) = (pos, pos + key.len());
                let quoted =
                    kstart > 0 && bytes[kstart - 1] == b'"' && bytes.get(after) == Some(&b'"');
                let kstart = if quoted { kstart - 1 } else { kstart };
                if quoted {
                    after += 1;
                }
                let boundary_ok = kstart == 0
                    || !bytes[kstart - 1].is_ascii_alphanumeric() && bytes[kstart - 1] != b'_';
                let starts_line = lower[..kstart].trim().is_empty()
                    || lower[..kstart].trim_end().ends_with(['{', ',', '-']);
                if !boundary_ok || !starts_line {
                    continue;
                }
                // the separator: `:`, `=`, or whitespace (a table row)
                let sep = match bytes.get(after) {
                    Some(b':') | Some(b'=') => 1,
                    Some(b' ') | Some(b'\t') => 0,
                    _ => continue,
                };
                let spaced = sep == 0;
                let rest_start = after + sep;
                let ws = lower[rest_start..].len() - lower[rest_start..].trim_start().len();
                let value_start = rest_start + ws;
                let rest = line[value_start..].trim();
                // `key value` (a Vault table row) only when the value is one word
                let table_row = !spaced || rest.split_whitespace().count() == 1;
                if table_row && !rest.is_empty() && rest != "\"\"" && rest != "|" && rest != ">" {
                    return format!("{}<redacted>", &line[..value_start]);
                }
            }
        }
        reference_tokens(&line)
    }

    fn reference_tokens(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if looks_like_secret(word) {
                out.push_str("<redacted>");
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '/' | '=') {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    const PIECES: &[&str] = &[
        "password",
        "\"token\"",
        "token",
        ":",
        "=",
        " ",
        "  ",
        "\t",
        "{",
        ",",
        "-",
        "\"",
        "secret_id",
        "secret",
        "auth",
        "x",
        "client_token",
        "hvs.CAESIGabcdefghijk1234",
        "é",
        "\u{3000}",
        "\u{a0}",
        "|",
        ">",
        ".dockercfg",
        "AKIAabcdefghijkl1234",
        "_",
        "aZ09+/aZ09+/aZ09+/aZ09+/",
        "eyJa.b.c",
        "\"\"",
        "PassWord",
        "\"TOKEN\"",
        "Secret_Key",
        "\u{b}",
        "\u{c}",
        "\u{1c}",
    ];

    proptest::proptest! {
        #[test]
        fn same_as_the_first_implementation(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..14)
        ) {
            let line = parts.concat();
            proptest::prop_assert_eq!(redact_line(&line), reference_line(&line));
            proptest::prop_assert_eq!(redact_tokens(&line), reference_tokens(&line));
        }

        #[test]
        fn long_words_are_told_as_the_first_implementation_told_them(
            w in proptest::prop_oneof!["[A-Za-z0-9+/=._:é-]{16,40}", "[A-Za-z0-9+/=]{17,23}"]
        ) {
            let w = w.as_str();
            // the first implementation's test for a long base64 word, by characters
            let t = w.trim_matches(|c: char| c == '.' || c == '-' || c == '/');
            let b64 = t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
            let classes = t.chars().any(|c| c.is_ascii_uppercase())
                && t.chars().any(|c| c.is_ascii_lowercase())
                && t.chars().any(|c| c.is_ascii_digit());
            let paths = t.contains('/') && t.matches('/').count() > 1 && !t.contains("==");
            let prefixed = TOKEN_PREFIXES.iter().any(|p| t.starts_with(p))
                || t.starts_with("eyJ")
                || t.starts_with("hmac-sha256:");
            if !prefixed {
                let want = t.len() >= 16 && !paths && b64 && t.len() >= 20 && classes;
                proptest::prop_assert_eq!(looks_like_secret(w), want);
            }
        }
    }

    #[test]
    fn redacts_secret_keys_and_tokens() {
        let cases = [
            (
                "password            hvs.CAESIGabcdefghijk1234",
                "password            <redacted>",
            ),
            ("\"password\": \"hunter2\",", "\"password\": <redacted>"),
            (
                "  .dockerconfigjson: eyJhdXRocyI6e30=",
                ".dockerconfigjson: <redacted>",
            ),
            (
                "token is hvs.CAESIGabcdefghijk12345 here",
                "token is <redacted> here",
            ),
            (
                "lease_id registry-creds/creds/order-service/abc123",
                "lease_id registry-creds/creds/order-service/abc123",
            ),
            ("Reason: SecretSyncedError", "Reason: SecretSyncedError"),
            (
                "auth: c3ZjLW9yZGVyLXNlcnZpY2U6aHZzLkNBRVNJRy4uLg==",
                "auth: <redacted>",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_line(input), want, "input {input:?}");
        }
    }

    #[test]
    fn redacts_secret_arguments_of_commands() {
        let cases = [
            (
                "vault login hvs.CAESIGabcdefghijk1234",
                "vault login <redacted>",
            ),
            (
                "kubectl create secret generic app --from-literal=password=hunter2",
                "kubectl create secret generic app --from-literal=password=<redacted>",
            ),
            (
                "VAULT_TOKEN=s.abc vault read x",
                "VAULT_TOKEN=<redacted> vault read x",
            ),
            (
                "vault write auth/approle/login role_id=r secret_id=9b1f",
                "vault write auth/approle/login role_id=r secret_id=<redacted>",
            ),
            (
                "kubectl create secret docker-registry r --docker-password=p --docker-username=u",
                "kubectl create secret docker-registry r --docker-password=<redacted> --docker-username=u",
            ),
            (
                "kubectl get secret regcred -n prod -o jsonpath={.type}",
                "kubectl get secret regcred -n prod -o jsonpath={.type}",
            ),
            (
                "vault write auth/kubernetes/role/eso token_policies=a,b token_ttl=1h",
                "vault write auth/kubernetes/role/eso token_policies=a,b token_ttl=1h",
            ),
            (
                "vault read -format=json sys/mounts/registry-creds/tune",
                "vault read -format=json sys/mounts/registry-creds/tune",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_command(input), want, "input {input:?}");
        }
    }
}
