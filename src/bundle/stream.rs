//! Streaming a bundle into ingest: files are handed to the parsing workers as they are read,
//! so reading overlaps parsing and only the files being parsed are in memory, never the
//! whole bundle.
//!
//! What every file is parsed with should be known before the first one is: its display path
//! (a top folder shared by every entry is stripped) and the manifest's commands. A directory
//! gives both from its walk: [`open`] walks it (paths and sizes, the walk applies the
//! limits) and [`Opened::run`] reads the files in parallel. An archive's manifest may be its
//! last member, and decompressing it twice (once to find the manifest) cost as much as a
//! third of the run; holding its files until the manifest arrives would hold the whole
//! bundle. So [`Opened::run_once`] reads an archive once, on its own thread, through a
//! bounded channel to the workers, which parse each file as it comes; the caller then
//! settles each file against the manifest (ingest knows which readings a command can
//! change), parsing again the few files it must, kept from the pass or read again by
//! [`Opened::read_again`]. Display paths assume the top folder the first entry suggests;
//! when a later entry disproves it, [`Opened::scan`] learns the layout first and
//! [`Opened::run`] reads the archive a second time.
//!
//! Every read of an archive runs the same reader over the same bytes, so they take the same
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
    /// The files `upfront` picked (the manifest, troubleshoot's `version.yaml`), by display
    /// path, sorted by it: a directory's read before the others (and handed to `run` again),
    /// an archive's once [`Opened::scan`] or [`Opened::run_once`] has read it.
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
    /// An archive or a single file. `scanned` once [`Opened::scan`] learnt its layout and
    /// upfront files; until then it can be read once by [`Opened::run_once`].
    Stream {
        path: PathBuf,
        name: String,
        scanned: bool,
    },
}

/// Opens `source` for streaming; `None` when it can only be read once (stdin, a FIFO): read
/// it with [`super::open`]. `upfront` picks, by path in the bundle before a top folder is
/// stripped, the files wanted before any other; a directory's are read here, an archive is
/// not read yet (see [`Opened::needs_scan`]).
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
        opened.files = Files::Stream {
            path: path.to_path_buf(),
            name,
            scanned: false,
        };
    } else {
        return Ok(None);
    }
    opened.set_upfront(raw_upfront);
    Ok(Some(opened))
}

/// The top folder an archive's entries share, learnt entry by entry.
struct TopFolder {
    /// The first entry's top folder (`Some(None)`: it is at the root).
    first: Option<Option<String>>,
    shared: bool,
}

impl TopFolder {
    fn new() -> Self {
        TopFolder {
            first: None,
            shared: true,
        }
    }

    fn see(&mut self, path: &str) {
        match &self.first {
            None => self.first = Some(path.split_once('/').map(|(t, _)| t.to_string())),
            Some(Some(top)) => {
                self.shared &= path.len() > top.len()
                    && path.starts_with(top.as_str())
                    && path.as_bytes()[top.len()] == b'/'
            }
            Some(None) => {}
        }
    }

    /// `T/` when every entry so far is under the first one's top folder `T`.
    fn prefix(&self) -> Option<String> {
        match &self.first {
            Some(Some(top)) if self.shared => Some(format!("{top}/")),
            _ => None,
        }
    }
}

/// The first pass over an archive: what its entries share, and the files wanted upfront.
struct Scan<'a> {
    upfront: &'a dyn Fn(&str) -> bool,
    top: TopFolder,
    kept: Vec<Entry>,
}

impl Sink for Scan<'_> {
    fn entry(&mut self, path: String, data: Vec<u8>, _note: Option<String>) {
        self.top.see(&path);
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

/// Read buffers the workers are done with, at most this many: the reader reads the next
/// files into them.
const POOLED_BUFFERS: usize = 16;

/// Read buffers handed back by the workers, for the reader to read files into: a fresh
/// buffer per file was memory to fault in and zero for every file.
#[derive(Default)]
struct Pool(Mutex<Vec<Vec<u8>>>);

impl Pool {
    /// A buffer for a file of `size` bytes: the shortest that holds it, else the longest.
    /// Only growth past a buffer's length is zeroed (see `read_member`), and a fleet's files
    /// come in a few sizes (a list of each kind per namespace): a buffer a file of the same
    /// kind was read into usually fits.
    fn take(&self, size: u64) -> Vec<u8> {
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let fits = (0..p.len())
            .filter(|&i| p[i].len() >= size)
            .min_by_key(|&i| p[i].len());
        let pick = fits.or_else(|| (0..p.len()).max_by_key(|&i| p[i].len()));
        pick.map(|i| p.swap_remove(i)).unwrap_or_default()
    }

    /// Keeps `buf` for a later file, unless enough are kept or it is much larger than files
    /// usually are.
    fn give(&self, buf: Vec<u8>) {
        if buf.capacity() == 0 || buf.capacity() > KEPT_BUFFER {
            return;
        }
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if p.len() < POOLED_BUFFERS {
            p.push(buf);
        }
    }
}

/// The second pass over an archive: files go to the workers, skipped entries are kept.
struct Send<'a> {
    tx: SyncSender<(Entry, Vec<String>)>,
    in_flight: &'a InFlight,
    pool: &'a Pool,
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

    fn buffer(&mut self, size: u64) -> Vec<u8> {
        self.pool.take(size)
    }
}

fn strip<'a>(prefix: Option<&str>, p: &'a str) -> &'a str {
    prefix.and_then(|x| p.strip_prefix(x)).unwrap_or(p)
}

/// A file read again, or kept to be: the entry and what the reader noted about it.
pub type Reread = (Entry, Vec<String>);

/// What one pass over an archive gave: see [`Opened::run_once`].
pub struct OnePass<T> {
    /// What `parse` returned for each file, with the file and its reader notes when `parse`
    /// asked to keep it (`None` past [`MAX_KEPT`]: [`Opened::read_again`] reads it).
    pub results: Vec<(T, Option<Reread>)>,
    /// The entries not read, with their reasons (display paths, sorted).
    pub skipped: Vec<Skipped>,
}

/// Bytes of files [`Opened::run_once`] keeps for a second parse, at most.
const MAX_KEPT: u64 = 64 << 20;

/// The one pass over an archive: files go to the workers under the top folder the first
/// entry suggests, as long as every entry bears it out.
struct Speculate<'a> {
    send: Send<'a>,
    upfront: &'a (dyn Fn(&str) -> bool + Sync),
    top: TopFolder,
    kept: Vec<Entry>,
}

impl Sink for Speculate<'_> {
    fn entry(&mut self, path: String, data: Vec<u8>, note: Option<String>) {
        self.top.see(&path);
        if !self.top.shared {
            // the display paths of the files sent are wrong: the caller reads it again
            return;
        }
        if (self.upfront)(&path) {
            self.kept.push(Entry {
                path: Arc::from(path.as_str()),
                data: data.clone(),
            });
        }
        let prefix = self.top.prefix();
        let path = strip(prefix.as_deref(), &path).to_string();
        self.send.entry(path, data, note);
    }

    fn skip(&mut self, s: Skipped) {
        self.send.skip(s);
    }

    fn buffer(&mut self, size: u64) -> Vec<u8> {
        self.send.buffer(size)
    }
}

/// The entries of an archive read again: only the files named (by display path).
struct Again<'a> {
    prefix: Option<&'a str>,
    wanted: &'a std::collections::BTreeSet<String>,
    found: Vec<Reread>,
}

impl Sink for Again<'_> {
    fn entry(&mut self, path: String, data: Vec<u8>, note: Option<String>) {
        let path = strip(self.prefix, &path);
        if self.wanted.contains(path) {
            let e = Entry {
                path: Arc::from(path),
                data,
            };
            self.found.push((e, note.into_iter().collect()));
        }
    }

    fn skip(&mut self, _s: Skipped) {}
}

/// Reads the archive at `path` on its own thread and hands each file, as it arrives, to
/// `work` on the parallel workers, through a bounded channel. `reader` reads the archive into
/// a sink built around the channel's sending end ([`Send`], stripping `prefix` from paths)
/// and returns what the sink learnt; returns what `work` returned for each file, in no
/// particular order, with it. `work` gives back the file's buffer when it is done with it
/// (empty when it keeps the file), for the reader to read a later file into.
fn pump<T, R>(
    source: &str,
    path: &Path,
    prefix: Option<&str>,
    reader: impl for<'a> FnOnce(Send<'a>, io::BufReader<std::fs::File>) -> Result<R, BundleError>
        + std::marker::Send,
    work: impl Fn(Entry, Vec<String>) -> (T, Vec<u8>) + Sync,
) -> Result<(Vec<T>, R), BundleError>
where
    T: std::marker::Send,
    R: std::marker::Send,
{
    use rayon::prelude::*;
    let file = std::fs::File::open(path).map_err(|e| BundleError::Io(source.to_string(), e))?;
    let in_flight = InFlight {
        state: Mutex::new((0, false)),
        freed: Condvar::new(),
        max: MAX_IN_FLIGHT,
    };
    let (tx, rx) = sync_channel::<(Entry, Vec<String>)>(CHANNEL_FILES);
    let pool = Pool::default();
    std::thread::scope(|s| {
        let reading = s.spawn(|| {
            let send = Send {
                tx,
                in_flight: &in_flight,
                pool: &pool,
                prefix,
                skipped: Vec::new(),
            };
            reader(send, io::BufReader::new(file))
        });
        let closed = Closed(&in_flight);
        let out: Vec<T> = rx
            .into_iter()
            .par_bridge()
            .map(|(e, notes)| {
                let n = e.data.len() as u64;
                let (t, buf) = work(e, notes);
                in_flight.give(n);
                pool.give(buf);
                t
            })
            .collect();
        drop(closed);
        let learnt = reading
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        Ok((out, learnt))
    })
}

impl Opened {
    /// Whether this is an archive whose layout is not known yet: read it once with
    /// [`Opened::run_once`], or [`Opened::scan`] it first and [`Opened::run`] it.
    pub fn needs_scan(&self) -> bool {
        matches!(self.files, Files::Stream { scanned: false, .. })
    }

    /// Scans an archive once, without keeping what it reads, for what [`Opened::run`]
    /// needs first: the shared top folder and the files `upfront` picks (which may be its
    /// last members).
    pub fn scan(&mut self, upfront: &dyn Fn(&str) -> bool) -> Result<(), BundleError> {
        let Files::Stream {
            path,
            name,
            scanned,
        } = &mut self.files
        else {
            return Ok(());
        };
        let file =
            std::fs::File::open(&*path).map_err(|e| BundleError::Io(self.source.clone(), e))?;
        let mut scan = Scan {
            upfront,
            top: TopFolder::new(),
            kept: Vec::new(),
        };
        read_stream(
            &self.source,
            name,
            io::BufReader::new(file),
            self.limits,
            &mut scan,
        )?;
        *scanned = true;
        self.prefix = scan.top.prefix();
        self.set_upfront(scan.kept);
        Ok(())
    }

    fn set_upfront(&mut self, raw: Vec<Entry>) {
        for mut e in raw {
            e.path = Arc::from(self.display(&e.path));
            self.upfront.push(e);
        }
        self.upfront.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// Reads an archive that has not been scanned once, handing each file to `parse` on the
    /// parallel workers before the upfront files are known (they may come last); `parse`
    /// says whether to keep the file, for a second parse once they are. Display paths
    /// assume the top folder of the first entry; when a later entry disproves it, returns
    /// `None`: [`Opened::scan`] then [`Opened::run`] instead. Afterwards
    /// [`Opened::upfront`] holds the upfront files, as [`Opened::scan`] leaves them.
    pub fn run_once<T: std::marker::Send>(
        &mut self,
        upfront: &(dyn Fn(&str) -> bool + Sync),
        parse: impl Fn(&Entry, Vec<String>) -> (T, bool) + Sync,
    ) -> Result<Option<OnePass<T>>, BundleError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        let Files::Stream {
            path,
            name,
            scanned: false,
        } = &self.files
        else {
            return Ok(None);
        };
        let kept_bytes = AtomicU64::new(0);
        let (limits, source) = (self.limits, &self.source);
        let (results, spec) = pump(
            source,
            path,
            None,
            |send, r| {
                let mut spec = Speculate {
                    send,
                    upfront,
                    top: TopFolder::new(),
                    kept: Vec::new(),
                };
                read_stream(source, name, r, limits, &mut spec)?;
                let (prefix, shared) = (spec.top.prefix(), spec.top.shared);
                Ok((prefix, shared, spec.kept, spec.send.skipped))
            },
            |mut e, notes| {
                let n = e.data.len() as u64;
                let (t, keep) = parse(&e, notes.clone());
                let room = keep && kept_bytes.fetch_add(n, Ordering::Relaxed) + n <= MAX_KEPT;
                if room {
                    ((t, Some((e, notes))), Vec::new())
                } else {
                    ((t, None), std::mem::take(&mut e.data))
                }
            },
        )?;
        let (prefix, shared, kept, mut skipped) = spec;
        if !shared {
            return Ok(None);
        }
        if let Files::Stream { scanned, .. } = &mut self.files {
            *scanned = true;
        }
        self.prefix = prefix;
        self.set_upfront(kept);
        finish_paths(self.prefix.as_deref(), &mut skipped);
        Ok(Some(OnePass { results, skipped }))
    }

    /// Reads the files named (by display path) from an archive again, with their reader
    /// notes: those [`Opened::run_once`] could not keep.
    pub fn read_again(
        &self,
        wanted: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<Reread>, BundleError> {
        let Files::Stream { path, name, .. } = &self.files else {
            return Ok(Vec::new());
        };
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let file =
            std::fs::File::open(path).map_err(|e| BundleError::Io(self.source.clone(), e))?;
        let mut again = Again {
            prefix: self.prefix.as_deref(),
            wanted,
            found: Vec::new(),
        };
        read_stream(
            &self.source,
            name,
            io::BufReader::new(file),
            self.limits,
            &mut again,
        )?;
        Ok(again.found)
    }

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
            Files::Stream { path, name, .. } => pump(
                &self.source,
                path,
                prefix,
                |mut send, r| {
                    read_stream(&self.source, name, r, limits, &mut send)?;
                    Ok(send.skipped)
                },
                |mut e, notes| {
                    let t = parse(&e, notes);
                    (t, std::mem::take(&mut e.data))
                },
            )?,
        };
        finish_paths(prefix, &mut skipped);
        Ok((out, skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_gives_the_shortest_buffer_that_fits() {
        let pool = Pool::default();
        assert!(pool.take(10).is_empty());
        for len in [10, 1000, 100] {
            pool.give(vec![1; len]);
        }
        // none is given back without room, or past the kept size
        pool.give(Vec::new());
        pool.give(Vec::with_capacity(KEPT_BUFFER + 1));
        assert_eq!(pool.take(50).len(), 100);
        assert_eq!(pool.take(100_000).len(), 1000, "none fits: the longest");
        assert_eq!(pool.take(0).len(), 10);
        assert!(pool.take(0).is_empty(), "the pool is empty");
        for _ in 0..POOLED_BUFFERS + 3 {
            pool.give(vec![0; 8]);
        }
        let kept = (0..POOLED_BUFFERS + 3)
            .filter(|_| !pool.take(1).is_empty())
            .count();
        assert_eq!(kept, POOLED_BUFFERS);
    }
}
