//! Opening a bundle: a directory, a `.tar`, a `.tar.gz`/`.tgz`, one file, or `-` (stdin).
//!
//! This is the only stage that touches the file system, and it only reads: archives are
//! streamed and walked in memory, never extracted, and nothing is ever written. Every entry
//! gets a display path relative to the bundle root (for an archive whose entries share one
//! top folder, relative to that folder), so a directory, its archive and the same archive on
//! stdin give identical findings.
//!
//! Bundles come from strangers, so every read is bounded by [`Limits`]: the uncompressed
//! stream, each entry, the number of entries and the nesting depth. What cannot be read
//! (links, devices, paths escaping the root, duplicates, binary files, entries over a limit)
//! is reported with the limit or the reason, never silently dropped; what comes after a
//! bad entry is still read when the format allows it.

pub mod stream;

use flate2::read::MultiGzDecoder;
use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Size, count and depth limits. The defaults suit real support bundles and keep a hostile
/// one (a gzip bomb, a million entries, a multi-GB file) to a fraction of a second and a
/// bounded amount of memory; each is a command-line flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Uncompressed bytes read from an archive stream (members, headers and skipped data),
    /// or kept from a directory.
    pub max_total_bytes: u64,
    /// Bytes of one file.
    pub max_entry_bytes: u64,
    /// Archive members or directory entries looked at.
    pub max_entries: usize,
    /// Nesting of directories, and of JSON/YAML documents.
    pub max_depth: usize,
    /// Bytes of one line of text; longer lines are not read.
    pub max_line_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 128 << 20,
            max_entry_bytes: 32 << 20,
            max_entries: 100_000,
            max_depth: 128,
            max_line_length: 1 << 20,
        }
    }
}

/// One file of the bundle.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: Arc<str>,
    pub data: Vec<u8>,
}

/// An entry that was not read (or, in [`Bundle::notes`], read only in part), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Bundle {
    /// Where the bundle came from, as given by the user (`-` for stdin).
    pub source: String,
    /// The file or archive name, a hint for the capture time.
    pub name_hint: Option<String>,
    pub entries: Vec<Entry>,
    pub skipped: Vec<Skipped>,
    /// Entries that were read but are incomplete (a truncated archive): what is there is
    /// still parsed, and the note says what is missing.
    pub notes: Vec<Skipped>,
    /// The limits the bundle was read with; ingest applies the depth and line limits.
    pub limits: Limits,
}

#[derive(Debug)]
pub enum BundleError {
    NotFound(String),
    Io(String, io::Error),
    Archive(String, String),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleError::NotFound(p) => write!(f, "{p}: no such file or directory"),
            BundleError::Io(p, e) => write!(f, "{p}: {e}"),
            BundleError::Archive(p, e) => write!(f, "{p}: not a readable archive: {e}"),
        }
    }
}

impl std::error::Error for BundleError {}

/// `134217728` -> `128 MiB`; exact values stay exact (`1000` -> `1000 bytes`).
pub fn human_bytes(n: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n >= 1 << shift && n.is_multiple_of(1 << shift) {
            return format!("{} {unit}", n >> shift);
        }
    }
    format!("{n} bytes")
}

fn over_entry(size: Option<u64>, l: &Limits) -> String {
    let size = size
        .map(|s| format!("{s} bytes, over"))
        .unwrap_or_else(|| "larger than".into());
    format!(
        "{size} the {} per-file limit (--max-entry-bytes), not read",
        human_bytes(l.max_entry_bytes)
    )
}

/// How much uncompressed data an archive may stream, skipped members included: skipping a
/// member still means decompressing it, so this bounds the time a bomb can take, while a
/// large log the bundle does not need is skipped and what follows it is still read.
pub fn stream_budget(l: &Limits) -> u64 {
    l.max_total_bytes.saturating_mul(STREAM_FACTOR)
}

const STREAM_FACTOR: u64 = 8;

fn over_stream(l: &Limits) -> String {
    format!(
        "stopped reading the archive: its uncompressed stream passed {} ({STREAM_FACTOR} x \
         --max-total-bytes, skipped members included); {STOPPED} is not read",
        human_bytes(stream_budget(l))
    )
}

fn over_total(l: &Limits) -> String {
    format!(
        "would take the files read past {} (--max-total-bytes), not read",
        human_bytes(l.max_total_bytes)
    )
}

fn over_count(l: &Limits) -> String {
    format!(
        "the bundle holds more than {} entries (--max-entries): stopped reading here, this \
         entry and {STOPPED} are not read",
        l.max_entries
    )
}

/// The words of a reason above that says reading stopped at the entry: the entries after
/// it are not listed.
const STOPPED: &str = "what follows";

/// The flags of the size and count limits, as the reasons above name them.
pub const LIMIT_FLAGS: [&str; 3] = ["--max-total-bytes", "--max-entry-bytes", "--max-entries"];

/// The size and count limits a skipped entry's reason names (in [`LIMIT_FLAGS`] order),
/// and whether reading stopped there: how a report tells that it covers only part of a
/// bundle. Read here, beside the functions that word the reasons.
pub fn limits_named(reason: &str) -> (Vec<&'static str>, bool) {
    let flags = LIMIT_FLAGS
        .into_iter()
        .filter(|f| reason.contains(f))
        .collect();
    (flags, reason.contains(STOPPED))
}

/// What `source` is on disk, and its file name (the name hints at a capture time).
pub(crate) fn stat(source: &str) -> Result<(std::fs::Metadata, String), BundleError> {
    let path = Path::new(source);
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            BundleError::NotFound(source.to_string())
        } else {
            BundleError::Io(source.to_string(), e)
        }
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_string());
    Ok((meta, name))
}

/// Opens `source` (a path, or `-` for stdin). Reads only; never follows a link inside the
/// bundle, never reads a device or a FIFO inside a directory.
pub fn open(source: &str, limits: Limits) -> Result<Bundle, BundleError> {
    if source == "-" {
        return from_reader("-", "stdin", io::stdin().lock(), limits);
    }
    let path = Path::new(source);
    let (meta, name) = stat(source)?;
    if meta.is_dir() {
        let mut b = Bundle::new(source, &name, limits);
        let mut walk = Walk {
            root: path,
            total: 0,
            seen: 0,
            stopped: false,
            later: None,
        };
        walk.dir(path, &mut b, 0)?;
        finish(&mut b);
        return Ok(b);
    }
    // a file, or whatever the user named (a FIFO, /dev/stdin): streamed, so its size does
    // not matter
    let file = std::fs::File::open(path).map_err(|e| BundleError::Io(source.to_string(), e))?;
    from_reader(source, &name, io::BufReader::new(file), limits)
}

/// Reads a bundle from bytes: a gzip'd tar, a plain tar, a gzip'd file, or a single file
/// named `name`.
pub fn from_bytes(
    source: &str,
    name: &str,
    data: Vec<u8>,
    limits: Limits,
) -> Result<Bundle, BundleError> {
    from_reader(source, name, &data[..], limits)
}

/// Reads a bundle from a stream without holding more of it than the limits allow: the
/// format is sniffed from the first bytes, gzip and tar are decoded as they stream.
pub fn from_reader<R: Read>(
    source: &str,
    name: &str,
    r: R,
    limits: Limits,
) -> Result<Bundle, BundleError> {
    let mut b = Bundle::new(source, name, limits);
    read_stream(source, name, r, limits, &mut b)?;
    finish(&mut b);
    Ok(b)
}

/// Where the reader puts what it finds: a [`Bundle`] in memory, or a scan or a channel
/// when the bundle is streamed into ingest.
trait Sink {
    /// A file read, with a note when it is incomplete (a truncated member).
    fn entry(&mut self, path: String, data: Vec<u8>, note: Option<String>);
    fn skip(&mut self, s: Skipped);
    /// A buffer to read the next file (of `size` bytes) into: one a worker is done with,
    /// when the sink gets them back (see [`read_member`]).
    fn buffer(&mut self, _size: u64) -> Vec<u8> {
        Vec::new()
    }
}

impl Sink for Bundle {
    fn entry(&mut self, path: String, data: Vec<u8>, note: Option<String>) {
        if let Some(reason) = note {
            self.notes.push(Skipped {
                path: path.clone(),
                reason,
            });
        }
        self.entries.push(Entry {
            path: Arc::from(path.as_str()),
            data,
        });
    }

    fn skip(&mut self, s: Skipped) {
        self.skipped.push(s);
    }
}

/// What the reader says about the stream as a whole (in errors and skipped entries).
struct Label<'a> {
    source: &'a str,
    name: &'a str,
    limits: Limits,
}

fn read_stream<R: Read>(
    source: &str,
    name: &str,
    mut r: R,
    limits: Limits,
    sink: &mut dyn Sink,
) -> Result<(), BundleError> {
    let label = Label {
        source,
        name,
        limits,
    };
    let mut head = vec![0u8; 512];
    let n = read_up_to(&mut r, &mut head).map_err(|e| BundleError::Io(source.into(), e))?;
    head.truncate(n);
    let gz = head.starts_with(&[0x1f, 0x8b]);
    let raw = io::Cursor::new(head).chain(r);
    if gz {
        let inner = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".gzip"))
            .unwrap_or(name)
            .to_string();
        let dec = Budget::new(MultiGzDecoder::new(raw), stream_budget(&limits));
        read_plain(dec, &inner, &label, sink, true)
    } else {
        let plain = Budget::new(raw, stream_budget(&limits));
        read_plain(plain, name, &label, sink, false)
    }
}

/// An uncompressed stream: a tar, or one file named `name`.
fn read_plain<R: Read>(
    mut r: Budget<R>,
    name: &str,
    label: &Label,
    sink: &mut dyn Sink,
    compressed: bool,
) -> Result<(), BundleError> {
    let mut head = vec![0u8; 512];
    let n = match read_up_to(&mut r, &mut head) {
        Ok(n) => n,
        Err(e) if compressed && !r.hit.get() => {
            return Err(BundleError::Archive(label.source.into(), e.to_string()))
        }
        Err(e) if !r.hit.get() => return Err(BundleError::Io(label.source.into(), e)),
        Err(_) => {
            // a limit under 512 bytes: reported as the single file being over it
            0
        }
    };
    head.truncate(n);
    let hit = r.hit.clone();
    if is_tar(&head) {
        read_tar(io::Cursor::new(head).chain(r), hit, label, sink);
        return Ok(());
    }
    // a single file
    let limits = label.limits;
    let mut data = head;
    let mut rest = r.take(
        limits
            .max_entry_bytes
            .saturating_add(1)
            .saturating_sub(data.len() as u64),
    );
    let res = rest.read_to_end(&mut data);
    let path = display_path(name);
    if data.len() as u64 > limits.max_entry_bytes {
        sink.skip(Skipped {
            path,
            reason: over_entry(None, &limits),
        });
        return Ok(());
    }
    if data.len() as u64 > limits.max_total_bytes || res.is_err() && hit.get() {
        sink.skip(Skipped {
            path,
            reason: over_total(&limits),
        });
        return Ok(());
    }
    let note = match res {
        Ok(_) => None,
        Err(e) if data.is_empty() => {
            return Err(BundleError::Archive(label.source.into(), e.to_string()));
        }
        Err(e) => Some(format!(
            "truncated or corrupt stream after {} bytes ({e}): what was there is read",
            data.len()
        )),
    };
    sink.entry(path, data, note);
    Ok(())
}

/// A reader that fails once more than `left` bytes were asked of it, and says so in `hit`:
/// the one bound on how much a (decompressed) stream may produce, skipped data included.
struct Budget<R> {
    inner: R,
    left: u64,
    hit: Rc<Cell<bool>>,
}

impl<R> Budget<R> {
    fn new(inner: R, limit: u64) -> Self {
        Budget {
            inner,
            left: limit,
            hit: Rc::new(Cell::new(false)),
        }
    }
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut one = [0u8; 1];
            return match self.inner.read(&mut one)? {
                0 => Ok(0),
                _ => {
                    self.hit.set(true);
                    Err(io::Error::other("over the uncompressed size limit"))
                }
            };
        }
        let max = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn is_tar(head: &[u8]) -> bool {
    head.len() >= 262 && &head[257..262] == b"ustar"
}

/// Binary content (NUL bytes in the first 8 KiB, not UTF-16): no format credtrace reads.
fn is_binary(data: &[u8]) -> bool {
    let head = &data[..data.len().min(8192)];
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    !utf16 && head.contains(&0)
}

const ARCHIVE_SUFFIXES: &[&str] = &[".tar", ".tar.gz", ".tgz", ".zip", ".gz"];

/// A path fit to print: control characters (a hostile name may carry terminal escapes)
/// are escaped, and very long names are cut.
fn display_path(p: &str) -> String {
    let mut s = String::with_capacity(p.len().min(512));
    for c in p.chars() {
        if s.len() >= 512 {
            s.push_str("...");
            break;
        }
        if c.is_control() {
            s.extend(c.escape_default());
        } else {
            s.push(c);
        }
    }
    s
}

struct Walk<'a> {
    root: &'a Path,
    total: u64,
    seen: usize,
    stopped: bool,
    /// When streaming: the files to read later (display path, path), in walk order,
    /// instead of reading them now.
    later: Option<Vec<(String, PathBuf)>>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, b: &mut Bundle, depth: usize) -> Result<(), BundleError> {
        let limits = b.limits;
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if depth == 0 => return Err(BundleError::Io(dir.display().to_string(), e)),
            Err(e) => {
                b.skipped.push(Skipped {
                    path: self.rel(dir),
                    reason: format!("directory not readable: {e}"),
                });
                return Ok(());
            }
        };
        // bounded: a directory with millions of entries is not listed in full
        let mut items: Vec<(std::ffi::OsString, std::fs::DirEntry)> = Vec::new();
        for e in rd {
            if items.len() > limits.max_entries {
                break;
            }
            if let Ok(e) = e {
                items.push((e.file_name(), e));
            }
        }
        // in path order: paths of one directory differ in their last component alone (a
        // sort of the paths compared them component by component, a third of the walk)
        items.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (_, e) in items {
            if self.stopped {
                return Ok(());
            }
            let p = e.path();
            let rel = self.rel(&p);
            if self.seen >= limits.max_entries {
                b.skipped.push(Skipped {
                    path: rel,
                    reason: over_count(&limits),
                });
                self.stopped = true;
                return Ok(());
            }
            self.seen += 1;
            // as `symlink_metadata`, looked up in the directory already open
            let meta = match e.metadata() {
                Ok(m) => m,
                Err(e) => {
                    b.skipped.push(Skipped {
                        path: rel,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let ft = meta.file_type();
            if ft.is_symlink() {
                let target = std::fs::read_link(&p)
                    .map(|t| display_path(&t.to_string_lossy()))
                    .unwrap_or_default();
                b.skipped.push(Skipped {
                    path: rel,
                    reason: format!("symbolic link to {target}, not followed"),
                });
            } else if ft.is_dir() {
                if depth + 1 > limits.max_depth {
                    b.skipped.push(Skipped {
                        path: rel,
                        reason: format!(
                            "directory nested deeper than {} levels (--max-depth), not read",
                            limits.max_depth
                        ),
                    });
                } else {
                    self.dir(&p, b, depth + 1)?;
                }
            } else if !ft.is_file() {
                b.skipped.push(Skipped {
                    path: rel,
                    reason: "not a regular file (device, FIFO or socket), not read".into(),
                });
            } else if meta.len() > limits.max_entry_bytes {
                b.skipped.push(Skipped {
                    path: rel,
                    reason: over_entry(Some(meta.len()), &limits),
                });
            } else if self.total + meta.len() > limits.max_total_bytes {
                b.skipped.push(Skipped {
                    path: rel,
                    reason: over_total(&limits),
                });
            } else if let Some(later) = &mut self.later {
                // counted at the size the walk saw: the file is read after the walk
                self.total += meta.len();
                later.push((rel, p));
            } else {
                self.file(&p, rel, b);
            }
        }
        Ok(())
    }

    fn file(&mut self, p: &Path, rel: String, b: &mut Bundle) {
        match read_file(p, &b.limits) {
            Ok(data) => {
                self.total += data.len() as u64;
                b.entries.push(Entry {
                    path: Arc::from(rel.as_str()),
                    data,
                });
            }
            Err(reason) => b.skipped.push(Skipped { path: rel, reason }),
        }
    }

    fn rel(&self, p: &Path) -> String {
        let s = p
            .strip_prefix(self.root)
            .unwrap_or(p)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        display_path(&s)
    }
}

/// One file of a directory bundle, or why it could not be read.
fn read_file(p: &Path, limits: &Limits) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    read_file_into(p, limits, &mut data).map(|()| data)
}

/// [`read_file`] into `data` (cleared first), so a worker reuses one buffer for its files.
fn read_file_into(p: &Path, limits: &Limits, data: &mut Vec<u8>) -> Result<(), String> {
    data.clear();
    let read = std::fs::File::open(p).and_then(|f| {
        // sized from the file's length (within the limit): grown by doubling instead, a large
        // file was copied a dozen times, each a fresh allocation the kernel had to fault in
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        data.reserve(len.min(limits.max_entry_bytes) as usize + 1);
        // the file may grow while it is read: never more than the limit. (`read_to_end` on a
        // `Take` knows no size and reads 8 KiB, then 16 KiB and so on, four to five calls per
        // file of a fleet; but it never zeroes the buffer, and reading as archive members are
        // read, in one call into a reused buffer, zeroed its growth and was slower)
        f.take(limits.max_entry_bytes + 1).read_to_end(data)
    });
    match read {
        Ok(n) if n as u64 > limits.max_entry_bytes => Err(over_entry(None, limits)),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("not readable: {e}")),
    }
}

/// A safe relative path for an archive member, or the reason it is unsafe.
fn safe_member_path(raw: &Path) -> Result<String, &'static str> {
    let mut parts = Vec::new();
    for c in raw.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err("path contains '..', not read"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path, not read"),
        }
    }
    if parts.is_empty() {
        return Err("empty path, not read");
    }
    let joined = parts.join("/");
    if joined.len() > 4096 {
        return Err("path longer than 4096 bytes, not read");
    }
    if joined.chars().any(char::is_control) {
        return Err("path holds control characters, not read");
    }
    Ok(joined)
}

/// What a member's buffer is given at once: its whole size up to this, more as bytes arrive.
const FIRST_READ: usize = 1 << 20;

/// Reads a member of `size` bytes (as its header says) into `data`, which may be a buffer
/// an earlier member was read into: its bytes up to its length are initialised already, so
/// only growth past it is zeroed (`read_to_end` zeroes its spare room on every call: a
/// pass over every byte of the archive). The buffer gets the header's size up to
/// [`FIRST_READ`] at once, and grows past that only as bytes arrive; it holds what was
/// read, also on an error.
fn read_member(r: &mut impl Read, size: u64, data: &mut Vec<u8>) -> io::Result<()> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let first = size.min(FIRST_READ);
    if data.capacity() < first {
        // a reused buffer too small: its bytes are stale, and growing it would copy them
        *data = Vec::with_capacity(first);
    }
    data.truncate(size);
    let mut filled = 0;
    let res = loop {
        if filled == data.len() {
            if filled >= size {
                break Ok(());
            }
            let grow = filled.max(first).min(size - filled);
            data.resize(filled + grow, 0);
        }
        match r.read(&mut data[filled..]) {
            Ok(0) => break Ok(()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    data.truncate(filled);
    res
}

fn read_tar<R: Read>(r: R, hit: Rc<Cell<bool>>, label: &Label, sink: &mut dyn Sink) {
    let limits = label.limits;
    let source = label.name;
    let mut ar = tar::Archive::new(r);
    let entries = match ar.entries() {
        Ok(e) => e,
        Err(e) => {
            sink.skip(Skipped {
                path: display_path(source),
                reason: format!("not a readable archive: {e}"),
            });
            return;
        }
    };
    let mut total = 0u64;
    let mut seen = std::collections::BTreeSet::new();
    for (members, entry) in entries.enumerate() {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let reason = if hit.get() {
                    over_stream(&limits)
                } else {
                    format!("archive is truncated or corrupt after {members} entries ({e}): what follows is not read")
                };
                sink.skip(Skipped {
                    path: display_path(source),
                    reason,
                });
                break;
            }
        };
        let raw = entry.path().map(|p| p.into_owned()).unwrap_or_default();
        let display = display_path(&raw.to_string_lossy());
        if members >= limits.max_entries {
            sink.skip(Skipped {
                path: display,
                reason: over_count(&limits),
            });
            break;
        }
        let kind = entry.header().entry_type();
        if kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
            || kind.is_gnu_longlink()
        {
            continue;
        }
        let path = match safe_member_path(&raw) {
            Ok(p) => p,
            Err(why) => {
                sink.skip(Skipped {
                    path: display,
                    reason: why.to_string(),
                });
                continue;
            }
        };
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .ok()
                .flatten()
                .map(|t| display_path(&t.to_string_lossy()))
                .unwrap_or_default();
            let what = if kind.is_symlink() {
                "symbolic link"
            } else {
                "hard link"
            };
            sink.skip(Skipped {
                path,
                reason: format!("{what} to {target}, not followed"),
            });
            continue;
        }
        if !kind.is_file() {
            let what = if kind.is_character_special() || kind.is_block_special() {
                "device file"
            } else if kind.is_fifo() {
                "FIFO"
            } else {
                "not a regular file"
            };
            sink.skip(Skipped {
                path,
                reason: format!("{what}, not read"),
            });
            continue;
        }
        if !seen.insert(path.clone()) {
            sink.skip(Skipped {
                path,
                reason: "duplicate name in the archive: the first copy is read, this one is not"
                    .into(),
            });
            continue;
        }
        let size = entry.size();
        if size > limits.max_entry_bytes {
            sink.skip(Skipped {
                path,
                reason: over_entry(Some(size), &limits),
            });
            continue;
        }
        if total + size > limits.max_total_bytes {
            sink.skip(Skipped {
                path,
                reason: over_total(&limits),
            });
            continue;
        }
        let mut data = sink.buffer(size);
        let res = read_member(&mut entry, size, &mut data);
        let note = match res {
            Err(_) if hit.get() => {
                sink.skip(Skipped {
                    path,
                    reason: over_stream(&limits),
                });
                break;
            }
            Err(e) if data.is_empty() => {
                sink.skip(Skipped {
                    path,
                    reason: format!("not readable: {e}"),
                });
                continue;
            }
            Err(e) => Some(format!(
                "truncated: the archive ends after {} of its {size} bytes ({e}); what was there is read",
                data.len()
            )),
            Ok(_) if (data.len() as u64) < size => Some(format!(
                "truncated: the archive ends after {} of its {size} bytes; what was there is read",
                data.len()
            )),
            Ok(_) => None,
        };
        let lower = path.to_ascii_lowercase();
        if is_binary(&data) && !ARCHIVE_SUFFIXES.iter().any(|x| lower.ends_with(x)) {
            // not kept: a gzip bomb of zeros costs no memory
            sink.skip(Skipped {
                path,
                reason: "binary file".into(),
            });
            continue;
        }
        total += data.len() as u64;
        sink.entry(path, data, note);
    }
}

impl Bundle {
    fn new(source: &str, name: &str, limits: Limits) -> Bundle {
        Bundle {
            source: source.to_string(),
            name_hint: Some(name.to_string()),
            limits,
            ..Default::default()
        }
    }
}

/// Strips `prefix` (a top folder shared by every entry) from skipped entries' paths and
/// sorts them, as [`finish`] does.
fn finish_paths(prefix: Option<&str>, skipped: &mut [Skipped]) {
    if let Some(prefix) = prefix {
        for s in skipped.iter_mut() {
            if let Some(rest) = s.path.strip_prefix(prefix) {
                s.path = rest.to_string();
            }
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
}

/// The top folder every path is under, as `T/` (display paths strip it); `None` when the
/// first path is at the root or another path is outside its folder.
pub(crate) fn shared_prefix<'a>(mut paths: impl Iterator<Item = &'a str>) -> Option<String> {
    let top = paths.next()?.split_once('/')?.0;
    let prefix = format!("{top}/");
    paths.all(|p| p.starts_with(&prefix)).then_some(prefix)
}

/// Strips a top folder shared by every entry and sorts entries by path.
fn finish(b: &mut Bundle) {
    let prefix = shared_prefix(b.entries.iter().map(|e| &*e.path));
    if let Some(prefix) = &prefix {
        for e in &mut b.entries {
            e.path = Arc::from(&e.path[prefix.len()..]);
        }
    }
    b.entries.sort_by(|a, b| a.path.cmp(&b.path));
    finish_paths(prefix.as_deref(), &mut b.skipped);
    finish_paths(prefix.as_deref(), &mut b.notes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_a_reason_names() {
        let l = Limits::default();
        assert_eq!(
            limits_named(&over_entry(Some(1), &l)),
            (vec!["--max-entry-bytes"], false)
        );
        assert_eq!(
            limits_named(&over_total(&l)),
            (vec!["--max-total-bytes"], false)
        );
        assert_eq!(
            limits_named(&over_stream(&l)),
            (vec!["--max-total-bytes"], true)
        );
        assert_eq!(limits_named(&over_count(&l)), (vec!["--max-entries"], true));
        assert_eq!(limits_named("empty file"), (vec![], false));
    }

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (p, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append_data(&mut h, p, body.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn tar_shares_top_folder_stripped() {
        let t = tar_of(&[("bundle/a.txt", "a"), ("bundle/sub/b.txt", "b")]);
        let b = from_bytes("x.tar", "x.tar", t, Limits::default()).unwrap();
        let paths: Vec<_> = b.entries.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(paths, ["a.txt", "sub/b.txt"]);
    }

    #[test]
    fn tar_gz_equals_tar() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let t = tar_of(&[("top/x.yaml", "kind: Pod")]);
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&t).unwrap();
        let gz = enc.finish().unwrap();
        let a = from_bytes("a", "a.tar", t, Limits::default()).unwrap();
        let b = from_bytes("b", "b.tgz", gz, Limits::default()).unwrap();
        assert_eq!(a.entries[0].path, b.entries[0].path);
        assert_eq!(a.entries[0].data, b.entries[0].data);
    }

    #[test]
    fn members_are_read_into_reused_buffers() {
        // (what the member holds, the size its header gives, the buffer's earlier content)
        let long = vec![7u8; 200_000];
        let cases: [(&[u8], u64, &[u8]); 6] = [
            (b"abc", 3, b""),
            (b"abc", 3, b"a much longer earlier file"),
            (b"a longer member than before", 27, b"short"),
            (&long, 200_000, b"xy"),
            (b"", 0, b"earlier"),
            // the archive ends early: what was there is kept
            (b"abc", 10, b"0123456789abcdef"),
        ];
        for (member, size, earlier) in cases {
            let mut data = earlier.to_vec();
            let mut r = member;
            read_member(&mut r, size, &mut data).unwrap();
            assert_eq!(data, member, "header size {size}");
        }
        // a read error keeps what came before it
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("corrupt"));
                }
                let n = self.0.min(buf.len()).min(4);
                buf[..n].fill(b'z');
                self.0 -= n;
                Ok(n)
            }
        }
        let mut data = b"earlier content".to_vec();
        assert!(read_member(&mut Failing(6), 100, &mut data).is_err());
        assert_eq!(data, b"zzzzzz");
        // a header's size is given at most FIRST_READ before the bytes arrive
        let mut data = Vec::new();
        read_member(&mut &b"tiny"[..], 1 << 40, &mut data).unwrap();
        assert_eq!(data, b"tiny");
        assert!(data.capacity() <= FIRST_READ);
    }

    #[test]
    fn files_are_read_whole_up_to_the_entry_limit() {
        let dir = std::env::temp_dir().join(format!("credtrace-read-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let limits = Limits {
            max_entry_bytes: 1000,
            ..Limits::default()
        };
        // one reused buffer, as a worker has: content left from a longer file never shows
        let mut data = vec![b'x'; 5000];
        for (name, len, ok) in [
            ("at-limit", 1000, true),
            ("small", 3, true),
            ("empty", 0, true),
            ("over", 1001, false),
            ("far-over", 300_000, false),
            ("after", 999, true),
        ] {
            let p = dir.join(name);
            let content: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            std::fs::write(&p, &content).unwrap();
            let r = read_file_into(&p, &limits, &mut data);
            if ok {
                assert_eq!(r, Ok(()), "{name}");
                assert_eq!(data, content, "{name}");
            } else {
                assert_eq!(r, Err(over_entry(None, &limits)), "{name}");
                assert!(data.len() as u64 <= limits.max_entry_bytes + 1, "{name}");
            }
        }
        let missing = read_file_into(&dir.join("missing"), &limits, &mut data);
        assert!(missing.is_err_and(|e| e.starts_with("not readable:")));
        assert!(data.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unsafe_member_paths_are_refused() {
        assert!(safe_member_path(Path::new("../etc/passwd")).is_err());
        assert!(safe_member_path(Path::new("/etc/passwd")).is_err());
        assert!(safe_member_path(Path::new("a/\x1b[2Jb")).is_err());
        assert_eq!(safe_member_path(Path::new("./a/b")).unwrap(), "a/b");
    }

    #[test]
    fn single_file_keeps_its_name() {
        let b = from_bytes(
            "x",
            "get-pods.txt",
            b"NAME READY".to_vec(),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(&*b.entries[0].path, "get-pods.txt");
    }

    #[test]
    fn budget_stops_a_stream() {
        let mut r = Budget::new(&[1u8; 100][..], 10);
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert!(r.hit.get());
        assert_eq!(out.len(), 10);
        // exactly at the limit is fine
        let mut r = Budget::new(&[1u8; 10][..], 10);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert!(!r.hit.get());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(128 << 20), "128 MiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
        assert_eq!(human_bytes(2048), "2 KiB");
    }

    #[test]
    fn display_paths_escape_control_characters() {
        assert_eq!(display_path("a\x1b[31mb"), "a\\u{1b}[31mb");
    }
}
