//! The command line: clap types, their conversion into validated settings, and the
//! commands. Nothing else in the crate imports clap.

use crate::bundle::{self, Limits};
use crate::model::time::parse_rfc3339;
use crate::report::{self, Format};
use crate::rules::{self, Severity};
use crate::Options;
use clap::{Parser, Subcommand, ValueEnum};
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
    },
    /// List what each file of a bundle became, or why it was skipped, and what the bundle covers
    Ingest {
        bundle: String,
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
        #[arg(long, value_name = "RFC3339")]
        as_of: Option<String>,
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

/// Runs the command; returns the text for stdout and the exit code.
pub fn run(cli: Cli) -> Result<(String, i32), UsageError> {
    match cli.command {
        Cmd::Analyze {
            bundle: src,
            format,
            as_of,
            fail_on,
            color,
        } => {
            let opts = Options {
                as_of: parse_as_of(as_of.as_deref())?,
                limits: Limits::default(),
            };
            let b = bundle::open(&src, opts.limits).map_err(|e| UsageError(e.to_string()))?;
            let a = crate::analyze(&b, &opts);
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
        } => {
            let opts = Options {
                as_of: parse_as_of(as_of.as_deref())?,
                limits: Limits::default(),
            };
            let b = bundle::open(&src, opts.limits).map_err(|e| UsageError(e.to_string()))?;
            let a = crate::analyze(&b, &opts);
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
