//! The command line: clap types, their conversion into validated settings, and the
//! commands. Nothing else in the crate imports clap.

use crate::bundle::{self, Limits};
use crate::model::time::parse_rfc3339;
use crate::report::{self, Format};
use crate::rules::{self, Severity};
use crate::Options;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;

#[derive(Parser, Debug)]
#[command(
    name = "credtrace",
    version,
    about = "Diagnose broken secret supply chains (Vault -> External Secrets Operator -> Kubernetes) from a support bundle, offline"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Analyse a bundle: diagnoses first, then evidence, timeline and findings
    Analyze {
        /// A directory, .tar, .tar.gz/.tgz, a single file, or - for stdin
        bundle: String,
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
        /// Use this time (RFC 3339) as the capture time
        #[arg(long, value_name = "RFC3339")]
        as_of: Option<String>,
        /// Exit 1 when a finding is at or above this severity
        #[arg(long, value_enum, default_value_t = FailOn::Error)]
        fail_on: FailOn,
        /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always, never
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// List what each file of a bundle became, or why it was skipped, and what the bundle covers
    Ingest {
        bundle: String,
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
        #[arg(long, value_name = "RFC3339")]
        as_of: Option<String>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Print every timed event of the diagnosed chains in order (policy deleted, last sync, expiry, first failure, capture)
    Timeline {
        bundle: String,
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
        #[arg(long, value_name = "RFC3339")]
        as_of: Option<String>,
    },
    /// List the rules
    Rules {
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
    },
    /// Print the documentation of one rule
    Explain {
        /// A rule id (CT-VAULT-001) or name (role-references-missing-policy)
        id: String,
    },
}

/// Bounds on what a bundle may make credtrace read; a file over a limit is reported as
/// skipped, with the limit that stopped it.
#[derive(Args, Debug)]
pub struct LimitArgs {
    /// Read at most this many bytes of files (an archive may stream 8 times as much,
    /// skipped members included); suffixes K, M, G
    #[arg(long, value_name = "BYTES", default_value = "128M", value_parser = parse_size, help_heading = "Limits")]
    pub max_total_bytes: u64,
    /// Skip a file larger than this; suffixes K, M, G
    #[arg(long, value_name = "BYTES", default_value = "32M", value_parser = parse_size, help_heading = "Limits")]
    pub max_entry_bytes: u64,
    /// Stop after this many archive members or directory entries
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Limits")]
    pub max_entries: u64,
    /// Refuse directories and JSON/YAML documents nested deeper than this
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..=100_000), help_heading = "Limits")]
    pub max_depth: u64,
    /// Do not read lines longer than this many bytes; suffixes K, M, G
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_size, help_heading = "Limits")]
    pub max_line_length: u64,
}

impl LimitArgs {
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_total_bytes: self.max_total_bytes,
            max_entry_bytes: self.max_entry_bytes,
            max_entries: usize::try_from(self.max_entries).unwrap_or(usize::MAX),
            max_depth: usize::try_from(self.max_depth).unwrap_or(usize::MAX),
            max_line_length: usize::try_from(self.max_line_length).unwrap_or(usize::MAX),
        }
    }
}

/// `4096`, `64K`, `32M`, `1G` (also `KiB`, `MB`...; powers of 1024), at least 1.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 4096, 64K, 32M or 1G"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("{s:?}: unknown unit (use K, M or G)")),
    };
    let v = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if v == 0 {
        return Err("must be at least 1".into());
    }
    Ok(v)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A failure the user must act on: unusable input or bad usage (exit 2).
#[derive(Debug)]
pub struct UsageError(pub String);

fn parse_as_of(s: Option<&str>) -> Result<Option<crate::model::Time>, UsageError> {
    match s {
        None => Ok(None),
        Some(v) => parse_rfc3339(v).map(Some).ok_or_else(|| {
            UsageError(format!(
                "--as-of {v:?} is not an RFC 3339 time (e.g. 2026-03-19T10:30:00Z)"
            ))
        }),
    }
}

/// A bundle of which not one file could be read is unusable input (exit 2), not a healthy
/// cluster: says why, naming the first files and their reasons.
fn ensure_readable(src: &str, a: &crate::Analysis) -> Result<(), UsageError> {
    if a.files.iter().any(|f| f.skipped.is_none()) {
        return Ok(());
    }
    if a.files.is_empty() {
        return Err(UsageError(format!("{src}: the bundle holds no file")));
    }
    // a limit that stopped the reading says more than the files before it
    let mut files: Vec<_> = a.files.iter().collect();
    files.sort_by_key(|f| !f.skipped.as_deref().unwrap_or("").contains("(--max-"));
    let shown: Vec<String> = files
        .iter()
        .take(5)
        .map(|f| format!("{}: {}", f.path, f.skipped.as_deref().unwrap_or("")))
        .collect();
    let more = if a.files.len() > 5 {
        format!("\n  ... and {} more", a.files.len() - 5)
    } else {
        String::new()
    };
    Err(UsageError(format!(
        "{src}: nothing in the bundle could be read\n  {}{more}",
        shown.join("\n  ")
    )))
}

/// Runs the command; returns the text for stdout and the exit code.
pub fn run(cli: Cli) -> Result<(String, i32), UsageError> {
    match cli.command {
        Cmd::Analyze {
            bundle: src,
            format,
            as_of,
            fail_on,
            color,
            limits,
        } => {
            let opts = Options {
                as_of: parse_as_of(as_of.as_deref())?,
                limits: limits.to_limits(),
            };
            let b = bundle::open(&src, opts.limits).map_err(|e| UsageError(e.to_string()))?;
            let a = crate::analyze(&b, &opts);
            ensure_readable(&src, &a)?;
            let color = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
                }
            };
            let fmt = match format {
                OutFormat::Table => Format::Table,
                OutFormat::Json => Format::Json,
            };
            let threshold = match fail_on {
                FailOn::Error => Severity::Error,
                FailOn::Warning => Severity::Warning,
                FailOn::Info => Severity::Info,
            };
            let code = if a.findings.iter().any(|f| f.severity >= threshold) {
                1
            } else {
                0
            };
            Ok((report::render(&a, fmt, color), code))
        }
        Cmd::Ingest {
            bundle: src,
            format,
            as_of,
            limits,
        } => {
            let opts = Options {
                as_of: parse_as_of(as_of.as_deref())?,
                limits: limits.to_limits(),
            };
            let b = bundle::open(&src, opts.limits).map_err(|e| UsageError(e.to_string()))?;
            let a = crate::analyze(&b, &opts);
            ensure_readable(&src, &a)?;
            Ok((
                report::ingest::render(&a, matches!(format, OutFormat::Json)),
                0,
            ))
        }
        Cmd::Timeline {
            bundle: src,
            format,
            as_of,
        } => {
            let opts = Options {
                as_of: parse_as_of(as_of.as_deref())?,
                limits: Limits::default(),
            };
            let b = bundle::open(&src, opts.limits).map_err(|e| UsageError(e.to_string()))?;
            let a = crate::analyze(&b, &opts);
            Ok((
                report::timeline::render(&a, matches!(format, OutFormat::Json)),
                0,
            ))
        }
        Cmd::Rules { format } => Ok((report::rules::list(matches!(format, OutFormat::Json)), 0)),
        Cmd::Explain { id } => match rules::find(&id) {
            Some(r) => Ok((report::rules::explain(r.meta()), 0)),
            None => Err(UsageError(format!(
                "no rule {id:?}; `credtrace rules` lists them"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("32M"), Ok(32 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("99999999999G").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn default_flags_are_the_default_limits() {
        let cli = Cli::try_parse_from(["credtrace", "analyze", "x"]).unwrap();
        let Cmd::Analyze { limits, .. } = cli.command else {
            panic!("analyze")
        };
        assert_eq!(limits.to_limits(), Limits::default());
    }
}
