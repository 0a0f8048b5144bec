//! Times and durations as the bundle states them.
//!
//! Text outputs give ages (`47d`, `3m (x3 over 4m)`) relative to when they were captured, JSON
//! gives RFC 3339 stamps, Vault gives Go durations (`768h`, `1h0m0s`) or integer seconds. All of
//! them are parsed here, and an age becomes a time only once the capture time is known.

use chrono::{DateTime, Duration, Utc};

pub type Time = DateTime<Utc>;

/// A point in time as stated by the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// An absolute timestamp.
    At(Time),
    /// An age relative to the capture time (`kubectl get` AGE, describe Events).
    Ago(Duration),
}

impl When {
    pub fn resolve(self, capture: Time) -> Time {
        match self {
            When::At(t) => t,
            When::Ago(d) => capture - d,
        }
    }
}

/// Parses an RFC 3339 timestamp (with or without fractional seconds).
pub fn parse_rfc3339(s: &str) -> Option<Time> {
    parse_canonical(s).or_else(|| parse_general(s))
}

/// [`parse_rfc3339`] of any form it reads.
fn parse_general(s: &str) -> Option<Time> {
    let s = s.trim().trim_matches('"');
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            // `2026-03-18 09:00:00 +0000 UTC` (Go's time.String())
            let cut = s.split(" +").next()?;
            chrono::NaiveDateTime::parse_from_str(cut, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form Kubernetes writes its timestamps in, read without the
/// general parser (a fleet holds hundreds of thousands, and chrono's parser was a tenth of
/// reading an object's metadata). `None` for any other text, and for a date or time this
/// form cannot hold (a leap second), which the general parser then reads.
fn parse_canonical(s: &str) -> Option<Time> {
    let b = s.as_bytes();
    let shaped = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    if !shaped {
        return None;
    }
    let num = |at: std::ops::Range<usize>| {
        b[at].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    Some(
        date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?
            .and_utc(),
    )
}

/// Parses a Go/Vault/kubectl duration: `768h`, `1h0m0s`, `90s`, `3d3h`, `2m22s`, `500ms`, or
/// bare integer seconds (`2592000`). Only the first whitespace-separated word is read, so a
/// trailing annotation (`720h # 30 days`) is ignored. `∞` and `<unknown>` give `None`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let word = s.split_whitespace().next()?;
    let word = word.trim_matches('"');
    if word.is_empty() {
        return None;
    }
    if let Ok(secs) = word.parse::<i64>() {
        return secs
            .checked_mul(1000)
            .filter(|ms| ms.abs() <= MAX_DURATION_MS)
            .map(Duration::milliseconds);
    }
    let bytes = word.as_bytes();
    let mut i = 0;
    let mut total_ms: i64 = 0;
    let mut any = false;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return None;
        }
        let num: f64 = word[start..i].parse().ok()?;
        let ustart = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &word[ustart..i];
        let ms = match unit {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "y" => 365.0 * 86_400_000.0,
            "us" | "µs" | "ns" => 0.0,
            _ => return None,
        };
        total_ms = total_ms.checked_add((num * ms) as i64)?;
        any = true;
    }
    // no age or TTL is longer: larger values are garbage, and would overflow the
    // date arithmetic that uses them
    (any && total_ms <= MAX_DURATION_MS).then(|| Duration::milliseconds(total_ms))
}

/// 1000 years, in milliseconds.
const MAX_DURATION_MS: i64 = 1000 * 365 * 86_400_000;

/// Renders a duration the way kubectl prints ages: `47d`, `3d3h`, `5h`, `4m`, `12s`.
pub fn human(d: Duration) -> String {
    let secs = d.num_seconds();
    let neg = secs < 0;
    let s = secs.abs();
    let out = if s >= 2 * 86_400 {
        let days = s / 86_400;
        let hours = (s % 86_400) / 3600;
        if hours > 0 && days < 8 {
            format!("{days}d{hours}h")
        } else {
            format!("{days}d")
        }
    } else if s >= 3600 {
        let h = s / 3600;
        let m = (s % 3600) / 60;
        if m > 0 && h < 10 {
            format!("{h}h{m}m")
        } else {
            format!("{h}h")
        }
    } else if s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    };
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// RFC 3339 with seconds precision and a `Z`, the one format credtrace prints.
pub fn fmt_time(t: Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The canonical form is read as chrono reads it, out-of-range fields and stray bytes
        /// included: the fast reading gives the general reading's time, or leaves the text to it.
        #[test]
        fn canonical_stamps_read_as_chrono_reads_them(
            s in "[0-9]{4}-[0-1][0-9]-[0-3][0-9][Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9][Zz]",
            stray in proptest::option::of((0usize..20, "[-0-9a+:. ]")),
        ) {
            let mut s = s;
            if let Some((at, c)) = stray {
                s.replace_range(at..at + 1, &c);
            }
            if let Some(t) = parse_canonical(&s) {
                proptest::prop_assert_eq!(Some(t), parse_general(&s));
            }
        }
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Option<i64>)] = &[
            ("768h", Some(768 * 3600)),
            ("720h # 30 days", Some(720 * 3600)),
            ("1h0m0s", Some(3600)),
            ("0s", Some(0)),
            ("1m30s", Some(90)),
            ("3d3h", Some(3 * 86400 + 3 * 3600)),
            ("47d", Some(47 * 86400)),
            ("2592000", Some(2_592_000)),
            ("2m22s", Some(142)),
            ("<unknown>", None),
            ("", None),
            ("∞", None),
            ("1.5h", Some(5400)),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_duration(input).map(|d| d.num_seconds()),
                *want,
                "{input}"
            );
        }
    }

    #[test]
    fn timestamps() {
        assert!(parse_rfc3339("2026-03-19T10:30:00Z").is_some());
        assert!(parse_rfc3339("2017-07-26T11:51:02.123456789Z").is_some());
        assert!(parse_rfc3339("\"2026-03-19T10:30:00+02:00\"").is_some());
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn human_ages() {
        assert_eq!(human(Duration::days(47)), "47d");
        // found by fuzzing: out of chrono's range, or absurd
        assert_eq!(parse_duration("99999999999999999"), None);
        assert_eq!(parse_duration("9999999999999999999999h"), None);
        assert_eq!(human(Duration::minutes(4)), "4m");
        assert_eq!(human(Duration::hours(27)), "27h");
        assert_eq!(human(Duration::hours(75)), "3d3h");
    }
}
