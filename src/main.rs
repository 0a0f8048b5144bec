//! The `credtrace` binary: parse arguments, run, print, and map the outcome to an exit code
//! (0 nothing at or above --fail-on, 1 findings at or above it, 2 unusable input or usage).
//! A closed stdout (`credtrace ... | head`) is a quiet exit.

use clap::FromArgMatches;
use std::io::Write;

/// mimalloc instead of the system allocator: ingest allocates and frees millions of small
/// objects from two threads; glibc's per-thread arenas then kept the freed file buffers and
/// trees resident, so the model was built on top of them (peak memory), and malloc/free were
/// a tenth of the CPU time. Built without transparent huge pages (`no_thp`): a 2 MiB page
/// counts whole toward resident memory however little of it is used, and was zeroed anew
/// each time freed memory was taken back.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option: how long freed memory stays resident before it is
/// returned to the OS (the C enum's value; the Rust bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // Freed memory is returned after 50 ms: the default delay (a second) outlived the stages,
    // so what ingest freed (file buffers, parse trees) was still resident while the model
    // and the graph were built on top of it, a quarter of the peak on a fleet. No delay at
    // all saves 4 MB more there but doubles the system time (a purge per free). The
    // environment variable still overrides this.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called before any other thread exists (mi_option_set is not thread-safe).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 50) };
    }
    // installed (or symlinked) as `kubectl-credtrace`, it is a kubectl plugin and says so
    let argv0 = std::env::args().next().unwrap_or_default();
    let parsed = credtrace::cli::command_for(&argv0)
        .try_get_matches()
        .and_then(|m| credtrace::cli::Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    match credtrace::cli::run(cli) {
        Ok((text, code)) => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("credtrace: cannot write output: {e}");
                    std::process::exit(2);
                }
            }
            std::process::exit(code);
        }
        Err(e) => {
            eprintln!("credtrace: {}", e.0);
            std::process::exit(2);
        }
    }
}
