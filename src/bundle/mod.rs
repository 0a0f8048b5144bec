//! Opening a bundle: a directory, a `.tar`, a `.tar.gz`/`.tgz`, one file, or `-` (stdin).
//!
//! This is the only stage that touches the file system, and it only reads: archives are
//! walked in memory and never extracted. Every entry gets a display path relative to the
//! bundle root (for an archive whose entries share one top folder, relative to that
//! folder), so a directory, its archive and the same archive on stdin give identical
//! findings. What cannot be read (links, devices, paths escaping the root, entries over the
//! limits) is reported, never silently dropped.

use flate2::read::GzDecoder;
use std::fmt;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Size and count limits; the defaults suit any real support bundle.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_total_bytes: u64,
    pub max_entry_bytes: u64,
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 4 << 30,
            max_entry_bytes: 512 << 20,
            max_entries: 500_000,
        }
    }
}

/// One file of the bundle.
#[derive(Clone, Debug)]
pub struct Entry {
    pub path: Arc<str>,
    pub data: Vec<u8>,
}

/// An entry that was not read, and why.
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

/// Opens `source` (a path, or `-` for stdin).
pub fn open(source: &str, limits: Limits) -> Result<Bundle, BundleError> {
    if source == "-" {
        let mut data = Vec::new();
        io::stdin()
            .lock()
            .take(limits.max_total_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| BundleError::Io("-".into(), e))?;
        return from_bytes("-", "stdin", data, limits);
    }
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
    if meta.is_dir() {
        let mut b = Bundle {
            source: source.to_string(),
            name_hint: Some(name),
            ..Default::default()
        };
        let mut total = 0u64;
        walk_dir(path, path, &mut b, limits, &mut total, 0)?;
        finish(&mut b);
        return Ok(b);
    }
    let data = std::fs::read(path).map_err(|e| BundleError::Io(source.to_string(), e))?;
    from_bytes(source, &name, data, limits)
}

/// Reads a bundle from bytes: a gzip'd tar, a plain tar, or a single file named `name`.
pub fn from_bytes(
    source: &str,
    name: &str,
    data: Vec<u8>,
    limits: Limits,
) -> Result<Bundle, BundleError> {
    let mut b = Bundle {
        source: source.to_string(),
        name_hint: Some(name.to_string()),
        ..Default::default()
    };
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut dec = GzDecoder::new(&data[..]);
        let mut peek = vec![0u8; 512];
        let n = read_up_to(&mut dec, &mut peek)
            .map_err(|e| BundleError::Archive(source.into(), e.to_string()))?;
        peek.truncate(n);
        let rest = GzDecoder::new(&data[..]);
        if is_tar(&peek) {
            read_tar(rest, &mut b, limits, source)?;
        } else {
            // a single gzip'd file
            let mut out = Vec::new();
            rest.take(limits.max_entry_bytes + 1)
                .read_to_end(&mut out)
                .map_err(|e| BundleError::Archive(source.into(), e.to_string()))?;
            let inner = name.trim_end_matches(".gz").to_string();
            if out.len() as u64 > limits.max_entry_bytes {
                b.skipped.push(Skipped {
                    path: inner,
                    reason: format!(
                        "larger than the {} byte entry limit",
                        limits.max_entry_bytes
                    ),
                });
            } else {
                b.entries.push(Entry {
                    path: Arc::from(inner.as_str()),
                    data: out,
                });
            }
        }
    } else if is_tar(&data) {
        read_tar(&data[..], &mut b, limits, source)?;
    } else {
        b.entries.push(Entry {
            path: Arc::from(name),
            data,
        });
    }
    finish(&mut b);
    Ok(b)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn is_tar(head: &[u8]) -> bool {
    head.len() >= 262 && &head[257..262] == b"ustar"
}

fn walk_dir(
    root: &Path,
    dir: &Path,
    b: &mut Bundle,
    limits: Limits,
    total: &mut u64,
    depth: usize,
) -> Result<(), BundleError> {
    let mut items: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| BundleError::Io(dir.display().to_string(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    items.sort();
    for p in items {
        let rel = rel_path(root, &p);
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) => {
                b.skipped.push(Skipped {
                    path: rel,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if meta.file_type().is_symlink() {
            b.skipped.push(Skipped {
                path: rel,
                reason: "symbolic link, not followed".into(),
            });
        } else if meta.is_dir() {
            if depth >= 64 {
                b.skipped.push(Skipped {
                    path: rel,
                    reason: "directory nested deeper than 64 levels".into(),
                });
            } else {
                walk_dir(root, &p, b, limits, total, depth + 1)?;
            }
        } else if !meta.is_file() {
            b.skipped.push(Skipped {
                path: rel,
                reason: "not a regular file".into(),
            });
        } else if b.entries.len() >= limits.max_entries {
            b.skipped.push(Skipped {
                path: rel,
                reason: format!("over the {} entry limit", limits.max_entries),
            });
        } else if meta.len() > limits.max_entry_bytes {
            b.skipped.push(Skipped {
                path: rel,
                reason: format!(
                    "{} bytes, over the {} byte entry limit",
                    meta.len(),
                    limits.max_entry_bytes
                ),
            });
        } else if *total + meta.len() > limits.max_total_bytes {
            b.skipped.push(Skipped {
                path: rel,
                reason: format!("over the {} byte bundle limit", limits.max_total_bytes),
            });
        } else {
            match std::fs::read(&p) {
                Ok(data) => {
                    *total += data.len() as u64;
                    b.entries.push(Entry {
                        path: Arc::from(rel.as_str()),
                        data,
                    });
                }
                Err(e) => b.skipped.push(Skipped {
                    path: rel,
                    reason: e.to_string(),
                }),
            }
        }
    }
    Ok(())
}

fn rel_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
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
        return Err("empty path");
    }
    Ok(parts.join("/"))
}

fn read_tar<R: Read>(
    r: R,
    b: &mut Bundle,
    limits: Limits,
    source: &str,
) -> Result<(), BundleError> {
    let mut ar = tar::Archive::new(r);
    let entries = ar
        .entries()
        .map_err(|e| BundleError::Archive(source.into(), e.to_string()))?;
    let mut total = 0u64;
    let mut seen = std::collections::BTreeSet::new();
    for (count, entry) in entries.enumerate() {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                b.skipped.push(Skipped {
                    path: source.to_string(),
                    reason: format!("archive is truncated or corrupt after {count} entries: {e}"),
                });
                break;
            }
        };
        let raw = entry.path().map(|p| p.into_owned()).unwrap_or_default();
        let display = raw.to_string_lossy().into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        let path = match safe_member_path(&raw) {
            Ok(p) => p,
            Err(why) => {
                b.skipped.push(Skipped {
                    path: display,
                    reason: why.to_string(),
                });
                continue;
            }
        };
        if kind.is_symlink() || kind.is_hard_link() {
            b.skipped.push(Skipped {
                path,
                reason: "link, not followed".into(),
            });
            continue;
        }
        if !kind.is_file() {
            b.skipped.push(Skipped {
                path,
                reason: "not a regular file".into(),
            });
            continue;
        }
        if b.entries.len() >= limits.max_entries {
            b.skipped.push(Skipped {
                path,
                reason: format!("over the {} entry limit", limits.max_entries),
            });
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        if size > limits.max_entry_bytes {
            b.skipped.push(Skipped {
                path,
                reason: format!(
                    "{size} bytes, over the {} byte entry limit",
                    limits.max_entry_bytes
                ),
            });
            continue;
        }
        if total + size > limits.max_total_bytes {
            b.skipped.push(Skipped {
                path,
                reason: format!("over the {} byte bundle limit", limits.max_total_bytes),
            });
            continue;
        }
        if !seen.insert(path.clone()) {
            b.skipped.push(Skipped {
                path,
                reason: "duplicate name in the archive, first copy kept".into(),
            });
            continue;
        }
        let mut data = Vec::with_capacity(size as usize);
        if let Err(e) = (&mut entry)
            .take(limits.max_entry_bytes)
            .read_to_end(&mut data)
        {
            b.skipped.push(Skipped {
                path,
                reason: format!("unreadable: {e}"),
            });
            continue;
        }
        total += data.len() as u64;
        b.entries.push(Entry {
            path: Arc::from(path.as_str()),
            data,
        });
    }
    Ok(())
}

/// Strips a top folder shared by every entry and sorts entries by path.
fn finish(b: &mut Bundle) {
    if b.entries.len() > 1 || b.entries.iter().any(|e| e.path.contains('/')) {
        let first_top = b
            .entries
            .first()
            .and_then(|e| e.path.split_once('/').map(|(t, _)| t.to_string()));
        if let Some(top) = first_top {
            let prefix = format!("{top}/");
            if b.entries.iter().all(|e| e.path.starts_with(&prefix)) {
                for e in &mut b.entries {
                    e.path = Arc::from(&e.path[prefix.len()..]);
                }
                for s in &mut b.skipped {
                    if let Some(rest) = s.path.strip_prefix(&prefix) {
                        s.path = rest.to_string();
                    }
                }
            }
        }
    }
    b.entries.sort_by(|a, b| a.path.cmp(&b.path));
    b.skipped.sort_by(|a, b| a.path.cmp(&b.path));
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn unsafe_member_paths_are_refused() {
        assert!(safe_member_path(Path::new("../etc/passwd")).is_err());
        assert!(safe_member_path(Path::new("/etc/passwd")).is_err());
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
}
