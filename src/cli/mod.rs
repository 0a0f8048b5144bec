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
        #[arg(long, value_enum, default_value_t = AnalyzeFormat::Table)]
        format: AnalyzeFormat,
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
        #[command(flatten)]
        reports: ReportArgs,
    },
    // -- reports (issue 6) --
    /// Draw the dependency graph: broken edges red and dashed, stale edges amber
    Graph {
        bundle: String,
        #[arg(long, value_enum, default_value_t = GraphFormatArg::Dot)]
        format: GraphFormatArg,
        /// Draw only what is near this node: KIND/NAMESPACE/NAME or KIND/NAME
        #[arg(long, value_name = "KIND/NS/NAME")]
        focus: Option<String>,
        /// With --focus: how many edges away from the focus to draw (both directions)
        #[arg(long, value_name = "N", default_value_t = 3)]
        depth: usize,
        #[arg(long, value_name = "RFC3339")]
        as_of: Option<String>,
    },
    /// Compare two captures of the same cluster: objects, edges and findings that changed
    Diff {
        old: String,
        new: String,
        #[arg(long, value_enum, default_value_t = OutFormat::Table)]
        format: OutFormat,
        /// Exit 1 when a new finding is at or above this severity
        #[arg(long, value_enum, default_value_t = FailOn::Error)]
        fail_on: FailOn,
        #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
    },
    /// Print a read-only POSIX shell script that collects a bundle with kubectl and vault
    CollectScript {
        /// A namespace to collect (repeatable; default: default)
        #[arg(long = "namespace", short = 'n', value_name = "NS")]
        namespaces: Vec<String>,
        /// A Vault secrets mount whose TTLs to read (repeatable)
        #[arg(long = "vault-mount", value_name = "MOUNT")]
        vault_mounts: Vec<String>,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
    // -- end reports --
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
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
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

// -- reports (issue 6) --
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AnalyzeFormat {
    Table,
    Json,
    /// A postmortem draft
    Markdown,
    /// SARIF 2.1.0
    Sarif,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GraphFormatArg {
    Dot,
    Mermaid,
    Json,
    Svg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
    Markdown,
}

/// Report files, suppressions and severity overrides for `analyze`.
#[derive(clap::Args, Debug, Default)]
pub struct ReportArgs {
    /// Also write FORMAT to PATH (repeatable; FORMAT: table, json, markdown, sarif). With
    /// --output, stdout stays empty unless PATH is -
    #[arg(long = "output", short = 'o', value_name = "FORMAT=PATH")]
    pub outputs: Vec<String>,
    /// YAML file of suppressions (rule, subject, reason, expires) and severity overrides
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<String>,
    /// Override a rule's severity: RULE=error|warning|info (repeatable)
    #[arg(long = "severity", value_name = "RULE=LEVEL")]
    pub severities: Vec<String>,
}

impl ReportArgs {
    /// The policy from the ignore file and the flags (flags win).
    fn policy(&self) -> Result<crate::suppress::Policy, UsageError> {
        let mut p = match &self.ignore_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| UsageError(format!("--ignore-file {path}: {e}")))?;
                crate::suppress::Policy::parse(path, &text).map_err(UsageError)?
            }
            None => crate::suppress::Policy::default(),
        };
        for s in &self.severities {
            let (id, sev) = crate::suppress::parse_override(s).map_err(UsageError)?;
            p.severity.insert(id, sev);
        }
        Ok(p)
    }

    fn outputs(&self) -> Result<Vec<(Format, String)>, UsageError> {
        self.outputs
            .iter()
            .map(|o| {
                let (f, path) = o.split_once('=').ok_or_else(|| {
                    UsageError(format!(
                        "--output {o:?} is not FORMAT=PATH (e.g. json=out.json)"
                    ))
                })?;
                let fmt = Format::parse(f).ok_or_else(|| {
                    UsageError(format!(
                        "--output {o:?}: {f:?} is not table, json, markdown or sarif"
                    ))
                })?;
                if path.is_empty() {
                    return Err(UsageError(format!("--output {o:?} has no path")));
                }
                Ok((fmt, path.to_string()))
            })
            .collect()
    }
}

fn color_on(c: ColorChoice, stream_is_terminal: bool) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && stream_is_terminal,
    }
}

/// Opens and analyses a bundle, with a spinner on stderr when stderr is a terminal (files
/// are read as they are parsed: how large the bundle is is not known upfront).
fn open_and_analyze(src: &str, opts: &Options) -> Result<crate::Analysis, UsageError> {
    let progress = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(format!("analysing {src}"));
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    });
    let a = crate::analyze_source(src, opts).map_err(|e| UsageError(e.to_string()));
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let a = a?;
    ensure_readable(src, &a)?;
    Ok(a)
}

/// The clap command, named for how it was invoked (`kubectl credtrace` as a plugin).
pub fn command_for(argv0: &str) -> clap::Command {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let base = std::path::Path::new(argv0)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("credtrace");
    if base.starts_with("kubectl-credtrace") {
        cmd.bin_name("kubectl credtrace")
            .display_name("kubectl credtrace")
    } else {
        cmd
    }
}
// -- end reports --

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
            reports,
        } => {
            let outputs = reports.outputs()?;
            let opts = Options {
                as_of: parse_as_of(as_of.as_deref())?,
                limits: limits.to_limits(),
                policy: reports.policy()?,
                // no report of an analysis draws the graph
                graph: crate::GraphScope::Diagnosis,
            };
            let a = open_and_analyze(&src, &opts)?;
            let color = color_on(color, std::io::stdout().is_terminal());
            let fmt = match format {
                AnalyzeFormat::Table => Format::Table,
                AnalyzeFormat::Json => Format::Json,
                AnalyzeFormat::Markdown => Format::Markdown,
                AnalyzeFormat::Sarif => Format::Sarif,
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
            if outputs.is_empty() {
                let text = crate::analysis::stage("render", || report::render(&a, fmt, color));
                // freeing a fleet's model takes a noticeable share of the run: let another
                // thread do it while the output is written
                std::thread::spawn(move || drop(a));
                return Ok((text, code));
            }
            let mut stdout = String::new();
            for (f, path) in outputs {
                // files never get colour; stdout only when asked for
                let text = report::render(&a, f, path == "-" && color);
                if path == "-" {
                    stdout.push_str(&text);
                } else {
                    std::fs::write(&path, text)
                        .map_err(|e| UsageError(format!("cannot write {path}: {e}")))?;
                }
            }
            Ok((stdout, code))
        }
        Cmd::Graph {
            bundle: src,
            format,
            focus,
            depth,
            as_of,
        } => {
            let opts = Options {
                as_of: parse_as_of(as_of.as_deref())?,
                ..Options::default()
            };
            let a = open_and_analyze(&src, &opts)?;
            let focus = match focus {
                Some(f) => Some(report::graph::resolve(&a.graph, &f).map_err(UsageError)?),
                None => None,
            };
            let depth = focus.is_some().then_some(depth);
            let view = report::graph::select(&a.graph, focus, depth);
            let fmt = match format {
                GraphFormatArg::Dot => report::graph::GraphFormat::Dot,
                GraphFormatArg::Mermaid => report::graph::GraphFormat::Mermaid,
                GraphFormatArg::Json => report::graph::GraphFormat::Json,
                GraphFormatArg::Svg => report::graph::GraphFormat::Svg,
            };
            Ok((report::graph::render(&view, fmt), 0))
        }
        Cmd::Diff {
            old,
            new,
            format,
            fail_on,
            color,
        } => {
            let opts = Options::default();
            let a = open_and_analyze(&old, &opts)?;
            let b = open_and_analyze(&new, &opts)?;
            let d = report::diff::diff(&a, &b);
            let threshold = match fail_on {
                FailOn::Error => Severity::Error,
                FailOn::Warning => Severity::Warning,
                FailOn::Info => Severity::Info,
            };
            let code = i32::from(d.findings_new.iter().any(|f| f.severity >= threshold));
            let text = match format {
                OutFormat::Table => {
                    report::diff::render_text(&d, color_on(color, std::io::stdout().is_terminal()))
                }
                OutFormat::Json => report::diff::render_json(&d),
            };
            Ok((text, code))
        }
        Cmd::CollectScript {
            namespaces,
            vault_mounts,
        } => Ok((
            report::collect::script(&report::collect::CollectSpec {
                namespaces,
                vault_mounts,
            }),
            0,
        )),
        Cmd::Completions { shell } => {
            let mut cmd = command_for("credtrace");
            let mut buf: Vec<u8> = Vec::new();
            clap_complete::generate(shell, &mut cmd, "credtrace", &mut buf);
            Ok((String::from_utf8_lossy(&buf).into_owned(), 0))
        }
        Cmd::Man => {
            let mut buf: Vec<u8> = Vec::new();
            clap_mangen::Man::new(command_for("credtrace"))
                .render(&mut buf)
                .map_err(|e| UsageError(format!("cannot render the man page: {e}")))?;
            Ok((String::from_utf8_lossy(&buf).into_owned(), 0))
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
                ..Default::default()
            };
            let a = open_and_analyze(&src, &opts)?;
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
                ..Options::default()
            };
            let b = bundle::open(&src, opts.limits).map_err(|e| UsageError(e.to_string()))?;
            let a = crate::analyze(&b, &opts);
            Ok((
                report::timeline::render(&a, matches!(format, OutFormat::Json)),
                0,
            ))
        }
        Cmd::Rules { format } => Ok((
            report::rules::list_as(match format {
                RulesFormat::Table => "table",
                RulesFormat::Json => "json",
                RulesFormat::Markdown => "markdown",
            }),
            0,
        )),
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
