//! Streaming a bundle into ingest: files are handed to the parsing workers as they are read,
//! so reading overlaps parsing and only the files being parsed are in memory, never the
//! whole bundle.
//!
//! What every file is parsed with must be known before the first one is: its display path
//! (a top folder shared by every entry is stripped) and the manifest's commands, which may be
//! the last member of an archive. So a bundle is opened in two steps. [`open`] learns that
//! much: a directory is walked (paths and sizes, the walk applies the limits), an archive is
//! scanned once without keeping what it reads. [`Opened::run`] then reads the files again
//! and hands each to the workers: in parallel for a directory, and through a bounded channel
//! from a reader thread for an archive, so decompression overlaps parsing. Scanning an
//! archive twice costs a second decompression but never holds it; holding the files until a
//! late manifest arrives would hold the whole bundle, and parsing them before it would parse
//! most of them twice.
//!
//! Both reads of an archive run the same reader over the same bytes, so they take the same
//! decisions (limits, skipped members, notes) as [`super::open`], which reads into memory;
//! stdin and FIFOs cannot be read twice and are read that way.

use super::{
    finish_paths, read_file, read_file_into, read_stream, shared_prefix, BundleError, Entry,
    Limits, Sink, Skipped, Walk,
};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex};

/// A bundle whose layout is known and whose files are read by [`Opened::run`].
pub struct Opened {
    /// Where the bundle came from, as given by the user.
    pub source: String,
    /// The file or folder name, a hint for the capture time.
    pub name_hint: Option<String>,
    pub limits: Limits,
    /// The files `upfront` picked, read before the others (the manifest, troubleshoot's
    /// `version.yaml`), by display path, sorted by it. They are handed to `run` again.
    pub upfront: Vec<Entry>,
    /// `T/` when every entry is under one top folder `T`: stripped from display paths.
    prefix: Option<String>,
    /// What the walk skipped (a directory); an archive's are found again by `run`.
    skipped: Vec<Skipped>,
    files: Files,
}

enum Files {
    /// Display path before stripping, and the file to read.
    Dir(Vec<(String, PathBuf)>),
    /// An archive or a single file, read again from the start.
    Stream { path: PathBuf, name: String },
}

/// Opens `source` for streaming; `None` when it can only be read once (stdin, a FIFO): read
/// it with [`super::open`]. `upfront` picks, by path in the bundle before a top folder is
/// stripped, the files wanted before any other.
pub fn open(
    source: &str,
    limits: Limits,
    upfront: &dyn Fn(&str) -> bool,
) -> Result<Option<Opened>, BundleError> {
    if source == "-" {
        return Ok(None);
    }
    let path = Path::new(source);
    let (meta, name) = super::stat(source)?;
    let mut opened = Opened {
        source: source.to_string(),
        name_hint: Some(name.clone()),
        limits,
        upfront: Vec::new(),
        prefix: None,
        skipped: Vec::new(),
        files: Files::Dir(Vec::new()),
    };
    let mut raw_upfront: Vec<Entry> = Vec::new();
    if meta.is_dir() {
        let mut b = super::Bundle::new(source, &name, limits);
        let mut walk = Walk {
            root: path,
            total: 0,
            seen: 0,
            stopped: false,
            later: Some(Vec::new()),
        };
        walk.dir(path, &mut b, 0)?;
        let files = walk.later.unwrap_or_default();
        opened.prefix = shared_prefix(files.iter().map(|(p, _)| p.as_str()));
        for (rel, p) in &files {
            if upfront(rel) {
                match read_file(p, &limits) {
                    Ok(data) => raw_upfront.push(Entry {
                        path: Arc::from(rel.as_str()),
                        data,
                    }),
                    // reported when `run` reads it again
                    Err(_) => continue,
                }
            }
        }
        opened.skipped = b.skipped;
        opened.files = Files::Dir(files);
    } else if meta.is_file() {
        let file = std::fs::File::open(path).map_err(|e| BundleError::Io(source.into(), e))?;
        let mut scan = Scan {
            upfront,
            first: None,
            shared: true,
            kept: Vec::new(),
        };
        read_stream(source, &name, io::BufReader::new(file), limits, &mut scan)?;
        opened.prefix = match scan.first {
            Some(Some(top)) if scan.shared => Some(format!("{top}/")),
            _ => None,
        };
        raw_upfront = scan.kept;
        opened.files = Files::Stream {
            path: path.to_path_buf(),
            name,
        };
    } else {
        return Ok(None);
    }
    for mut e in raw_upfront {
        e.path = Arc::from(opened.display(&e.path));
        opened.upfront.push(e);
    }
    opened.upfront.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Some(opened))
}

/// The first pass over an archive: what its entries share, and the files wanted upfront.
struct Scan<'a> {
    upfront: &'a dyn Fn(&str) -> bool,
    /// The first entry's top folder (`Some(None)`: it is at the root).
    first: Option<Option<String>>,
    shared: bool,
    kept: Vec<Entry>,
}

impl Sink for Scan<'_> {
    fn entry(&mut self, path: String, data: Vec<u8>, _note: Option<String>) {
        match &self.first {
            None => self.first = Some(path.split_once('/').map(|(t, _)| t.to_string())),
            Some(Some(top)) => {
                self.shared &= path.len() > top.len()
                    && path.starts_with(top.as_str())
                    && path.as_bytes()[top.len()] == b'/'
            }
            Some(None) => {}
        }
        if (self.upfront)(&path) {
            self.kept.push(Entry {
                path: Arc::from(path.as_str()),
                data,
            });
        }
    }

    fn skip(&mut self, _s: Skipped) {}
}

/// Bytes handed to the workers and not yet parsed: the reader waits while they are over
/// the bound (one file over it alone still passes, or nothing would).
struct InFlight {
    /// Bytes in flight, and whether the workers stopped (a panic): the reader then stops
    /// waiting.
    state: Mutex<(u64, bool)>,
    freed: Condvar,
    max: u64,
}

impl InFlight {
    fn take(&self, n: u64) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !st.1 && st.0 > 0 && st.0 + n > self.max {
            st = self.freed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.0 += n;
    }

    fn give(&self, n: u64) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = st.0.saturating_sub(n);
        self.freed.notify_all();
    }
}

/// Tells the reader the workers are gone, however they ended.
struct Closed<'a>(&'a InFlight);

impl Drop for Closed<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        st.1 = true;
        self.0.freed.notify_all();
    }
}

/// Bytes of files in flight between an archive's reader and the workers, at most.
const MAX_IN_FLIGHT: u64 = 64 << 20;
/// A worker's read buffer is kept for the next file up to this capacity.
const KEPT_BUFFER: usize = 16 << 20;
/// Files in the channel, at most.
const CHANNEL_FILES: usize = 64;

/// The second pass over an archive: files go to the workers, skipped entries are kept.
struct Send<'a> {
    tx: SyncSender<(Entry, Vec<String>)>,
    in_flight: &'a InFlight,
    prefix: Option<&'a str>,
    skipped: Vec<Skipped>,
}

impl Sink for Send<'_> {
    fn entry(&mut self, path: String, data: Vec<u8>, note: Option<String>) {
        self.in_flight.take(data.len() as u64);
        let path = strip(self.prefix, &path);
        let e = Entry {
            path: Arc::from(path),
            data,
        };
        // the workers stop listening only when they fail; the reader then has nothing to do
        let _ = self.tx.send((e, note.into_iter().collect()));
    }

    fn skip(&mut self, s: Skipped) {
        self.skipped.push(s);
    }
}

fn strip<'a>(prefix: Option<&str>, p: &'a str) -> &'a str {
    prefix.and_then(|x| p.strip_prefix(x)).unwrap_or(p)
}

impl Opened {
    /// A path in the bundle as reports show it: without the shared top folder.
    pub fn display(&self, raw: &str) -> String {
        strip(self.prefix.as_deref(), raw).to_string()
    }

    /// Reads every file and hands it, with what the reader notes about it, to `parse` on
    /// the parallel workers. Returns what `parse` returned, in no particular order, and
    /// the entries not read with their reasons (display paths, sorted).
    pub fn run<T: std::marker::Send>(
        self,
        parse: impl Fn(&Entry, Vec<String>) -> T + Sync,
    ) -> Result<(Vec<T>, Vec<Skipped>), BundleError> {
        use rayon::prelude::*;
        let prefix = self.prefix.as_deref();
        let limits = self.limits;
        let (out, mut skipped) = match &self.files {
            Files::Dir(files) => {
                thread_local! {
                    /// The worker's read buffer: a fresh one per file was memory the kernel
                    /// had to fault in and zero for every file.
                    static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
                }
                let read: Vec<Result<T, Skipped>> = files
                    .par_iter()
                    .map(|(rel, p)| {
                        let mut data = BUFFER.take();
                        let read = read_file_into(p, &limits, &mut data);
                        let mut e = Entry {
                            path: Arc::from(strip(prefix, rel)),
                            data,
                        };
                        let r = match read {
                            Ok(()) => Ok(parse(&e, Vec::new())),
                            Err(reason) => Err(Skipped {
                                path: rel.clone(),
                                reason,
                            }),
                        };
                        // a buffer much larger than files usually are is not kept
                        if e.data.capacity() <= KEPT_BUFFER {
                            BUFFER.set(std::mem::take(&mut e.data));
                        }
                        r
                    })
                    .collect();
                let mut skipped = self.skipped;
                let mut out = Vec::with_capacity(read.len());
                for r in read {
                    match r {
                        Ok(t) => out.push(t),
                        Err(s) => skipped.push(s),
                    }
                }
                (out, skipped)
            }
            Files::Stream { path, name } => {
                let file = std::fs::File::open(path)
                    .map_err(|e| BundleError::Io(self.source.clone(), e))?;
                let in_flight = InFlight {
                    state: Mutex::new((0, false)),
                    freed: Condvar::new(),
                    max: MAX_IN_FLIGHT,
                };
                let (tx, rx) = sync_channel::<(Entry, Vec<String>)>(CHANNEL_FILES);
                std::thread::scope(|s| {
                    let reader = s.spawn(|| {
                        let mut send = Send {
                            tx,
                            in_flight: &in_flight,
                            prefix,
                            skipped: Vec::new(),
                        };
                        let r = io::BufReader::new(file);
                        read_stream(&self.source, name, r, limits, &mut send).map(|()| send.skipped)
                    });
                    let closed = Closed(&in_flight);
                    let out: Vec<T> = rx
                        .into_iter()
                        .par_bridge()
                        .map(|(e, notes)| {
                            let n = e.data.len() as u64;
                            let t = parse(&e, notes);
                            in_flight.give(n);
                            t
                        })
                        .collect();
                    drop(closed);
                    let skipped = reader
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
                    Ok::<_, BundleError>((out, skipped))
                })?
            }
        };
        finish_paths(prefix, &mut skipped);
        Ok((out, skipped))
    }
}
