//! Event rows in text: the `kubectl describe` Events table (`Type Reason Age From Message`)
//! and `kubectl get events` rows (`LAST SEEN TYPE REASON OBJECT MESSAGE`), with or without
//! their headers, aligned or with whitespace collapsed by a copy-paste.

use crate::model::time::parse_duration;
use crate::model::When;
use chrono::Duration;

/// One describe-style row.
#[derive(Clone, Debug, PartialEq)]
pub struct DescribeRow {
    pub type_: String,
    pub reason: String,
    pub last: Option<Duration>,
    pub first: Option<Duration>,
    pub count: u32,
    pub from: String,
    pub message: String,
}

fn is_type(w: &str) -> bool {
    matches!(w, "Normal" | "Warning")
}

/// Parses an age cell at the start of `words`: `3m`, `3m (x3 over 4m)`, `<unknown>`.
/// Returns (last, first, count, words consumed).
pub fn parse_age(words: &[&str]) -> Option<(Option<Duration>, Option<Duration>, u32, usize)> {
    let w0 = *words.first()?;
    let last = if w0 == "<unknown>" || w0 == "<invalid>" {
        None
    } else {
        Some(parse_duration(w0)?)
    };
    if words.len() >= 4
        && words[1].starts_with("(x")
        && words[2] == "over"
        && words[3].ends_with(')')
    {
        let count = words[1][2..].parse().unwrap_or(1);
        let first = parse_duration(words[3].trim_end_matches(')'));
        return Some((last, first.or(last), count, 4));
    }
    Some((last, last, 1, 1))
}

/// Parses `Warning  Failed  3m (x3 over 4m)  kubelet  Failed to pull image ...`.
pub fn describe_row(line: &str) -> Option<DescribeRow> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 4 || !is_type(words[0]) {
        return None;
    }
    let reason = words[1];
    if !reason.chars().next()?.is_ascii_alphabetic() {
        return None;
    }
    let (last, first, count, used) = parse_age(&words[2..])?;
    let mut i = 2 + used;
    let mut from = (*words.get(i)?).to_string();
    i += 1;
    if from.ends_with(',') {
        // old kubelets: `kubelet, node-name`
        if let Some(node) = words.get(i) {
            from = format!("{from} {node}");
            i += 1;
        }
    }
    let message = rest_after_words(line, i);
    Some(DescribeRow {
        type_: words[0].to_string(),
        reason: reason.to_string(),
        last,
        first,
        count,
        from,
        message,
    })
}

/// The original text of `line` after skipping `n` whitespace-separated words, so the
/// message keeps its own spacing.
pub fn rest_after_words(line: &str, n: usize) -> String {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end().to_string()
}

/// One `kubectl get events` row.
#[derive(Clone, Debug, PartialEq)]
pub struct GetEventRow {
    pub namespace: Option<String>,
    pub last: Option<Duration>,
    pub type_: String,
    pub reason: String,
    pub kind: String,
    pub name: String,
    pub message: String,
}

/// Parses `8m23s  Warning  Failed  pod/NAME  MESSAGE`, optionally led by a namespace.
pub fn get_event_row(line: &str) -> Option<GetEventRow> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (ns, off) =
        if words.len() > 5 && is_type(words.get(2).copied().unwrap_or("")) && !is_type(words[1]) {
            (Some(words[0].to_string()), 1)
        } else {
            (None, 0)
        };
    if words.len() < off + 4 {
        return None;
    }
    let (last, _, _, used) = parse_age(&words[off..])?;
    if used != 1 {
        return None;
    }
    let type_ = words[off + 1];
    if !is_type(type_) {
        return None;
    }
    let reason = words[off + 2];
    let object = words[off + 3];
    let (kind, name) = object.split_once('/')?;
    Some(GetEventRow {
        namespace: ns,
        last,
        type_: type_.to_string(),
        reason: reason.to_string(),
        kind: super::super::text::kube_kind(kind)
            .unwrap_or(kind)
            .to_string(),
        name: name.to_string(),
        message: rest_after_words(line, off + 4),
    })
}

pub fn ago(d: Option<Duration>) -> Option<When> {
    d.map(When::Ago)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Want = Option<(
        &'static str,
        &'static str,
        i64,
        u32,
        &'static str,
        &'static str,
    )>;

    #[test]
    fn describe_rows() {
        let cases: &[(&str, Want)] = &[
            (
                "Warning Failed 3m (x3 over 4m) kubelet Failed to pull image: rpc error",
                Some(("Warning", "Failed", 180, 3, "kubelet", "Failed to pull image: rpc error")),
            ),
            (
                "  Warning  Failed     2s (x5 over 54s)  kubelet            Error: couldn't find key VALUE in Secret default/x",
                Some(("Warning", "Failed", 2, 5, "kubelet", "Error: couldn't find key VALUE in Secret default/x")),
            ),
            (
                "Warning  Failed     4m11s (x6 over 4m53s)  kubelet, <redacted-address>  Error: secrets \"s\" not found",
                Some(("Warning", "Failed", 251, 6, "kubelet, <redacted-address>", "Error: secrets \"s\" not found")),
            ),
            (
                "Normal Scheduled 4m default-scheduler Successfully assigned prod/x to worker-node-02",
                Some(("Normal", "Scheduled", 240, 1, "default-scheduler", "Successfully assigned prod/x to worker-node-02")),
            ),
            ("Type Reason Age From Message", None),
            ("Name: foo", None),
        ];
        for (line, want) in cases {
            let got = describe_row(line);
            match want {
                None => assert!(got.is_none(), "{line}"),
                Some((t, r, secs, count, from, msg)) => {
                    let g = got.unwrap_or_else(|| panic!("no row for {line}"));
                    assert_eq!(
                        (
                            g.type_.as_str(),
                            g.reason.as_str(),
                            g.last.unwrap().num_seconds(),
                            g.count,
                            g.from.as_str(),
                            g.message.as_str()
                        ),
                        (*t, *r, *secs, *count, *from, *msg),
                        "{line}"
                    );
                }
            }
        }
    }

    #[test]
    fn get_event_rows() {
        let r = get_event_row("8m22s       Warning   Failed                pod/octarine-x          Error: ErrImagePull").unwrap();
        assert_eq!(
            (r.kind.as_str(), r.name.as_str(), r.message.as_str()),
            ("Pod", "octarine-x", "Error: ErrImagePull")
        );
        let r =
            get_event_row("prod  5m  Warning  UpdateFailed  externalsecret/es-1  error processing")
                .unwrap();
        assert_eq!(r.namespace.as_deref(), Some("prod"));
        assert_eq!(r.kind, "ExternalSecret");
        assert!(get_event_row("NAME READY STATUS RESTARTS AGE").is_none());
    }
}
