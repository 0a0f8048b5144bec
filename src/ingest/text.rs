//! Text helpers shared by every parser: decoding, lines, locating fields, and recognising the
//! shell prompt or echoed command that produced a paste.

use crate::model::Loc;
use memchr::memmem::Finder;
use std::borrow::Cow;
use std::sync::Arc;

/// Decodes bytes as text: UTF-8 (with or without BOM), UTF-16 with a BOM, otherwise lossy
/// UTF-8. ANSI colour codes and carriage returns are removed. Returns the text and a note
/// when the decoding was not clean.
pub fn decode(data: &[u8]) -> (String, Option<String>) {
    let (text, note) = decode_borrowed(data);
    (text.into_owned(), note)
}

/// [`decode`], borrowing `data` when it is clean UTF-8 already (the usual case: a fleet's
/// JSON is then never copied).
pub fn decode_borrowed(data: &[u8]) -> (Cow<'_, str>, Option<String>) {
    let (text, note): (Cow<str>, _) = if let Some(rest) = data.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        (String::from_utf8_lossy(rest), None)
    } else if data.starts_with(&[0xFF, 0xFE]) || data.starts_with(&[0xFE, 0xFF]) {
        let le = data[0] == 0xFF;
        let units: Vec<u16> = data[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        (Cow::Owned(String::from_utf16_lossy(&units)), None)
    } else {
        // every byte of a bundle passes here: checked with vector instructions where the
        // processor has them, and again by std only to word an error
        match simdutf8::basic::from_utf8(data).map_err(|_| std::str::from_utf8(data)) {
            Ok(s) => (Cow::Borrowed(s), None),
            Err(Ok(s)) => (Cow::Borrowed(s), None),
            Err(Err(e)) => (
                String::from_utf8_lossy(data),
                Some(format!(
                    "invalid UTF-8 at byte {}, replaced",
                    e.valid_up_to()
                )),
            ),
        }
    };
    if !has_escape_or_cr(&text) {
        return (text, note);
    }
    (Cow::Owned(strip_ansi(&text)), note)
}

/// Whether `s` holds an ESC or a carriage return: one vectorised search for both bytes
/// (memchr2; a block-wise fold the compiler vectorised took half as long again).
fn has_escape_or_cr(s: &str) -> bool {
    memchr::memchr2(0x1b, b'\r', s.as_bytes()).is_some()
}

/// Blanks lines longer than `max` bytes (keeping line numbers true): no parser sees them.
/// Returns the text and a note naming the first such line and the limit.
pub fn drop_long_lines(text: Cow<'_, str>, max: usize) -> (Cow<'_, str>, Option<String>) {
    if text.len() <= max || !text.split('\n').any(|l| l.len() > max) {
        return (text, None);
    }
    let mut first = None;
    let mut count = 0;
    let mut out = String::with_capacity(text.len().min(1 << 20));
    for (i, l) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if l.len() > max {
            count += 1;
            first.get_or_insert((i + 1, l.len()));
        } else {
            out.push_str(l);
        }
    }
    let (line, len) = first.unwrap_or_default();
    let more = if count > 1 {
        format!(" and {} more", count - 1)
    } else {
        String::new()
    };
    let note = format!(
        "line {line}{more} not read: {len} bytes, over the {max} byte line limit (--max-line-length)"
    );
    (Cow::Owned(out), Some(note))
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

/// A source's lines as they are held (see [`Source::view`]).
enum Lines<'s, 'a> {
    /// The lines, and the text they are slices of.
    Split(&'s [&'a str], &'a str),
    /// The text's line break offsets, and the text.
    Breaks(&'s [u32], &'a str),
}

impl<'a> Lines<'_, 'a> {
    /// The text.
    fn text(&self) -> &'a str {
        match *self {
            Lines::Split(_, text) | Lines::Breaks(_, text) => text,
        }
    }

    /// Where line `i` starts in the text.
    #[inline]
    fn start(&self, i: usize) -> Option<usize> {
        match *self {
            Lines::Split(l, text) => Some(l.get(i)?.as_ptr() as usize - text.as_ptr() as usize),
            Lines::Breaks(_, _) if i == 0 => Some(0),
            Lines::Breaks(b, _) => Some(*b.get(i - 1)? as usize + 1),
        }
    }

    /// Line `i`, as [`lines_at`] cuts it.
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        match *self {
            Lines::Split(l, _) => l.get(i).copied(),
            Lines::Breaks(b, text) => {
                let start = match i {
                    0 => 0,
                    _ => *b.get(i - 1)? as usize + 1,
                };
                match b.get(i) {
                    // a `\r` before the break is not the line's
                    Some(&end) => {
                        let line = &text[start..end as usize];
                        Some(line.strip_suffix('\r').unwrap_or(line))
                    }
                    None if start < text.len() => Some(&text[start..]),
                    None => None,
                }
            }
        }
    }
}

/// A file's lines, with helpers to cite them.
pub struct Source<'a> {
    pub path: Arc<str>,
    /// The lines (see [`Source::lines`]), split on first use.
    lines: std::cell::OnceCell<Vec<&'a str>>,
    /// Where the text's line breaks are, when the JSON parser found them (it crosses every
    /// one anyway, [`Source::set_lines`]): a line is then cut from the text when it is asked
    /// for ([`Source::line`]), and the list of lines is not built unless something needs
    /// all of it (a fleet's files have millions of lines, few of them cited).
    breaks: std::cell::OnceCell<Vec<u32>>,
    /// The text the lines are slices of: a search over many lines is one search of it.
    text: &'a str,
    /// Lines that hold a secret value (a Secret's `data` on one line, a KV read printed as
    /// compact JSON): cited by number only, their text never becomes an excerpt.
    withheld: std::cell::RefCell<std::collections::BTreeSet<usize>>,
    /// The field names lines start with (YAML `key:` or JSON `"key":`), as `(line, start,
    /// end)` byte ranges, for the lines that start with one, in line order: given by the JSON
    /// parser ([`Source::set_keys`], its list taken as it is) or found on the first
    /// [`Source::field`]. A field is then looked for among the keyed lines of a span only,
    /// not by a trim, two formatted prefixes and a search per line.
    keys: std::cell::OnceCell<Vec<(u32, u32, u32)>>,
    /// Redacted excerpts by line text: the same line (`"type": "Ready",`) is cited by many
    /// objects of a file, and is redacted once. (This table, keyed by the borrowed line,
    /// shares them; `Loc::new`'s table of a file's excerpts is not asked again.)
    excerpts: std::cell::RefCell<crate::model::FastMap<&'a str, Arc<str>>>,
    /// The line each item of the document's list starts on, when the JSON parser read the
    /// text and met a list ([`Source::set_items`]).
    items: std::cell::OnceCell<Vec<u32>>,
}

/// `text.lines()`: split at `\n`, a `\r` before it dropped. Newlines are found by one
/// vectorised search over the whole text (memchr); pretty-printed JSON has short lines, and
/// a search call per line cost more than the search.
fn split_lines(text: &str) -> Vec<&str> {
    lines_at(text, memchr::memchr_iter(b'\n', text.as_bytes()))
}

/// The lines of `text` whose line breaks (`\n`) are at `breaks`, as [`split_lines`].
fn lines_at(text: &str, breaks: impl Iterator<Item = usize>) -> Vec<&str> {
    let mut lines = Vec::with_capacity(text.len() / 32 + 1);
    let mut start = 0;
    for n in breaks {
        let line = &text[start..n];
        lines.push(line.strip_suffix('\r').unwrap_or(line));
        start = n + 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// A line's text after its indentation and list markers.
fn field_text(l: &str) -> &str {
    let mut t = trim_indent(l);
    while let Some(rest) = t.strip_prefix("- ") {
        t = rest;
    }
    t
}

/// `l.trim_start()`, byte by byte over ASCII indentation (kubectl indents deeply, and a
/// Unicode-aware trim decodes every char); other text goes through `trim_start`.
pub fn trim_indent(l: &str) -> &str {
    let b = l.as_bytes();
    let mut i = 0;
    while b.len() - i >= 8 && b[i..i + 8] == *b"        " {
        i += 8;
    }
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
        i += 1;
    }
    let rest = &l[i..];
    if rest.as_bytes().first().is_some_and(|&c| c >= 0x80) {
        rest.trim_start()
    } else {
        rest
    }
}

/// The width in bytes of a line's indentation (`l.len() - l.trim_start().len()`).
pub fn indent_width(l: &str) -> usize {
    l.len() - trim_indent(l).len()
}

/// Whether `line` has `marker` (an ASCII byte) right after exactly `indent` bytes of
/// indentation: where an item of a printed list starts ([`Source::lines_marked`]).
pub fn is_marked(line: &str, indent: usize, marker: u8) -> bool {
    // the marker is ASCII, so `indent` is a character boundary when it is found there
    line.as_bytes().get(indent) == Some(&marker) && indent_width(&line[..indent]) == indent
}

/// The field name a line starts with: `key` of `key: ...` or of `"key": ...`.
fn field_key(t: &str) -> Option<&str> {
    // byte loops: keys are short, and a search call per line cost more than the search
    let b = t.as_bytes();
    if b.first() == Some(&b'"') {
        let end = 1 + b[1..].iter().position(|&c| c == b'"')?;
        return (b.get(end + 1) == Some(&b':')).then(|| &t[1..end]);
    }
    let end = b.iter().position(|&c| c == b':')?;
    (!b[..end].contains(&b'"')).then(|| &t[..end])
}

impl<'a> Source<'a> {
    pub fn new(path: &Arc<str>, text: &'a str) -> Source<'a> {
        Source {
            path: path.clone(),
            lines: Default::default(),
            breaks: Default::default(),
            text,
            withheld: Default::default(),
            keys: Default::default(),
            excerpts: Default::default(),
            items: Default::default(),
        }
    }

    /// The file's lines, as `str::lines` gives them.
    pub fn lines(&self) -> &[&'a str] {
        self.lines.get_or_init(|| match self.breaks.get() {
            Some(b) => lines_at(self.text, b.iter().map(|&b| b as usize)),
            None => split_lines(self.text),
        })
    }

    /// How many lines the file has ([`Source::lines`]`.len()`).
    pub fn line_count(&self) -> usize {
        match (self.lines.get(), self.breaks.get()) {
            (None, Some(b)) => {
                let last = b.last().map_or(0, |&x| x as usize + 1);
                b.len() + usize::from(last < self.text.len())
            }
            _ => self.lines().len(),
        }
    }

    /// Line `i` ([`Source::lines`]`.get(i)`).
    pub fn line(&self, i: usize) -> Option<&'a str> {
        self.view().get(i)
    }

    /// The lines as they are held: split, or cut from the text at the breaks on demand.
    fn view(&self) -> Lines<'_, 'a> {
        match (self.lines.get(), self.breaks.get()) {
            (None, Some(b)) => Lines::Breaks(b, self.text),
            _ => Lines::Split(self.lines(), self.text),
        }
    }

    /// The lines in `from..to` that have `marker` (an ASCII byte, not a line break) right
    /// after `indent` bytes of indentation: where the items of a printed list start. Over the
    /// breaks, a line is looked at by its bytes (a list's file is walked whole for this).
    pub fn lines_marked(&self, from: usize, to: usize, indent: usize, marker: u8) -> Vec<usize> {
        let marked = |l: &str| is_marked(l, indent, marker);
        let mut out = Vec::new();
        match self.view() {
            Lines::Breaks(b, text) => {
                let bytes = text.as_bytes();
                let to = to.min(self.line_count());
                // indentation of spaces alone keeps the marker in the line; anything else is
                // looked at as the line
                let mut check = |i: usize, start: usize| {
                    if bytes[start..start + indent].iter().all(|&c| c == b' ')
                        || self.line(i).is_some_and(marked)
                    {
                        out.push(i);
                    }
                };
                if from == 0 && to > 0 && bytes.get(indent) == Some(&marker) {
                    check(0, 0);
                }
                // every other line starts after a break: the breaks are walked as they lie,
                // one byte looked at per line (a list's file is walked whole for this)
                let first = from.max(1);
                if first < to {
                    for (k, &br) in b[first - 1..to - 1].iter().enumerate() {
                        let at = br as usize + 1 + indent;
                        if at < bytes.len() && bytes[at] == marker {
                            check(first + k, br as usize + 1);
                        }
                    }
                }
            }
            Lines::Split(lines, _) => {
                let found = lines.iter().enumerate().take(to).skip(from);
                out.extend(found.filter(|(_, l)| marked(l)).map(|(i, _)| i));
            }
        }
        out
    }

    /// Gives the line each item of the document's list starts on, as the JSON parser of the
    /// whole text met them (0-based, in order). Ignored when given before.
    pub fn set_items(&self, lines: Vec<u32>) {
        let _ = self.items.set(lines);
    }

    /// The lines [`Source::set_items`] gave, if any.
    pub fn items(&self) -> Option<&[u32]> {
        self.items.get().map(Vec::as_slice)
    }

    /// Gives the lines as a parser of the whole text found them, by the offset of each line
    /// break in `text`, when they were not needed before: they must be every `\n` of the
    /// text (a test checks the JSON parser's). Ignored for another text.
    pub fn set_lines(&self, text: &str, breaks: Vec<u32>) {
        if !std::ptr::eq(text, self.text) || self.lines.get().is_some() {
            return;
        }
        let _ = self.breaks.set(breaks);
    }

    /// Withholds the text of every line in `from..to` that contains one of `values` (values
    /// shorter than 4 characters are too common to mean anything and are ignored).
    pub fn withhold_values<'v>(
        &self,
        from: usize,
        to: usize,
        values: impl IntoIterator<Item = &'v str>,
    ) {
        let values: Vec<&str> = values
            .into_iter()
            .map(str::trim)
            .filter(|v| v.len() >= 4)
            .collect();
        if values.is_empty() {
            return;
        }
        let to = to.min(self.line_count());
        let Some((at, span)) = self.span_text(from, to) else {
            return;
        };
        let mut w = self.withheld.borrow_mut();
        for v in values {
            // one search of the lines' text per value; a value running over lines (a
            // multi-line string) withholds each line it touches
            for m in find_all(span.as_bytes(), v.as_bytes()) {
                let (first, last) = (self.line_at(at + m), self.line_at(at + m + v.len() - 1));
                w.extend(first.max(from)..=last.min(to - 1));
            }
        }
    }

    /// A location for 0-based line index `i`.
    pub fn loc(&self, i: usize) -> Loc {
        if self.withheld.borrow().contains(&i) {
            return Loc::new(
                &self.path,
                (i + 1) as u32,
                "<line withheld: it holds a secret value>",
            );
        }
        let Some(l) = self.line(i) else {
            return Loc::file(&self.path);
        };
        let excerpt = self
            .excerpts
            .borrow_mut()
            .entry(l)
            .or_insert_with(|| Loc::excerpt(l))
            .clone();
        Loc {
            path: self.path.clone(),
            line: (i + 1) as u32,
            excerpt,
        }
    }

    /// Gives the field names lines start with, as a parser found them: for the lines after
    /// `first` that start with one, in line order, `(line, start, end)` byte ranges of the
    /// name in it; lines up to `first` are looked at here. Ignored once names were looked up.
    pub fn set_keys(&self, first: usize, mut found: Vec<(u32, u32, u32)>) {
        if self.keys.get().is_some() {
            return;
        }
        let n = self.line_count();
        // in line order (as `field` relies on too): the lines after `first` and before the
        // end are one run of the list, found by two binary searches, not a pass over it
        let end = found.partition_point(|&(line, ..)| (line as usize) < n);
        found.truncate(end);
        let start = found.partition_point(|&(line, ..)| line as usize <= first);
        found.drain(..start);
        let mut keys = self.scan_keys(first.saturating_add(1).min(n));
        if keys.is_empty() {
            keys = found;
        } else {
            keys.extend(found);
        }
        let _ = self.keys.set(keys);
    }

    /// The field names the lines before line `to` start with, found by looking at each.
    fn scan_keys(&self, to: usize) -> Vec<(u32, u32, u32)> {
        let mut keys = Vec::new();
        for (i, l) in (0..to).map_while(|i| self.line(i)).enumerate() {
            let Some(k) = field_key(field_text(l)) else {
                continue;
            };
            let start = k.as_ptr() as usize - l.as_ptr() as usize;
            // a file past 4 GiB lines or bytes is refused long before
            let (Ok(i), Ok(a), Ok(b)) = (
                u32::try_from(i),
                u32::try_from(start),
                u32::try_from(start + k.len()),
            ) else {
                break;
            };
            keys.push((i, a, b));
        }
        keys
    }

    /// First line index in `from..to` for which `pred` holds.
    pub fn find(&self, from: usize, to: usize, pred: impl Fn(&str) -> bool) -> Option<usize> {
        let to = to.min(self.line_count());
        (from..to).find(|&i| self.line(i).is_some_and(&pred))
    }

    /// The first line in `from..to` that contains `needle`: one search of the lines' text.
    pub fn find_text(&self, from: usize, to: usize, needle: &str) -> Option<usize> {
        let to = to.min(self.line_count());
        let (at, span) = self.span_text(from, to)?;
        if needle.is_empty() {
            return Some(from);
        }
        let matches = find_all(span.as_bytes(), needle.as_bytes());
        self.first_whole_match(at, needle.len(), matches)
    }

    /// The line of the first of `matches` (offsets in the text from `at`, each `len` bytes)
    /// that ends within its line's text: a match is a line's when it does not run into a
    /// line break.
    fn first_whole_match(
        &self,
        at: usize,
        len: usize,
        matches: impl Iterator<Item = usize>,
    ) -> Option<usize> {
        matches
            .map(|m| (self.line_at(at + m), at + m + len))
            .find(|&(i, end)| end <= self.offset(i) + self.line(i).map_or(0, str::len))
            .map(|(i, _)| i)
    }

    /// [`Source::find_text`] for a field name many objects are searched for, with a searcher
    /// made once for it: it skips ahead by the needle's rarest bytes, where a search for its
    /// first byte stopped at every `s` or `i` of a fleet's objects. Matches are taken one
    /// after the other, not overlapping: for a needle that cannot overlap itself (a field
    /// name) they are the same.
    pub fn find_field_name(&self, from: usize, to: usize, needle: &Finder<'_>) -> Option<usize> {
        let to = to.min(self.line_count());
        let (at, span) = self.span_text(from, to)?;
        let len = needle.needle().len();
        if len == 0 {
            return Some(from);
        }
        self.first_whole_match(at, len, needle.find_iter(span.as_bytes()))
    }

    /// The offset in the text of line `i`.
    fn offset(&self, i: usize) -> usize {
        self.view().start(i).expect("a line of the text")
    }

    /// The text of lines `from..to` (one slice: lines are consecutive) and its offset.
    fn span_text(&self, from: usize, to: usize) -> Option<(usize, &'a str)> {
        if from >= to {
            return None;
        }
        let (a, b) = (
            self.offset(from),
            self.offset(to - 1) + self.line(to - 1).map_or(0, str::len),
        );
        Some((a, &self.text[a..b]))
    }

    /// The line holding the byte at offset `pos` of the text.
    fn line_at(&self, pos: usize) -> usize {
        match (self.lines.get(), self.breaks.get()) {
            // the lines starting at or before `pos`: the first, and one after each break
            // before `pos`
            (None, Some(b)) => b
                .partition_point(|&x| (x as usize) < pos)
                .min(self.line_count().saturating_sub(1)),
            _ => self
                .lines()
                .partition_point(|l| l.as_ptr() as usize - self.text.as_ptr() as usize <= pos)
                .saturating_sub(1),
        }
    }

    /// The line in `from..to` holding field `key` (YAML `key:` or JSON `"key":`) whose text
    /// contains `value` (empty: any value). Falls back to `fallback`.
    pub fn field(&self, from: usize, to: usize, key: &str, value: &str, fallback: usize) -> Loc {
        let needle = searchable(value);
        if key.contains(['"', ':']) {
            // not a name the index holds: scan
            let (yaml_key, json_key) = (format!("{key}:"), format!("\"{key}\":"));
            let i = self.find(from, to, |l| {
                let t = field_text(l);
                let keyed = t.starts_with(&yaml_key) || t.starts_with(&json_key);
                keyed && (needle.is_empty() || t.contains(needle))
            });
            return self.loc(i.unwrap_or(fallback));
        }
        let keys = self.keys.get_or_init(|| self.scan_keys(self.line_count()));
        let lines = self.view();
        let at = keys.partition_point(|&(line, ..)| (line as usize) < from);
        let i = keys[at..]
            .iter()
            .take_while(|&&(line, ..)| (line as usize) < to)
            .find_map(|&(line, a, b)| {
                // most names differ in length: told apart without reading the line
                if (b - a) as usize != key.len() {
                    return None;
                }
                // the name compared in the text, the line cut only for a name that matches
                let at = lines.start(line as usize)?;
                let name = lines
                    .text()
                    .as_bytes()
                    .get(at + a as usize..at + b as usize)?;
                // the first byte before the rest: names of one length mostly differ there,
                // and a comparison call per candidate was a visible share
                if name.first() != key.as_bytes().first() || name != key.as_bytes() {
                    return None;
                }
                let l = lines.get(line as usize)?;
                let k = l.get(a as usize..b as usize)?;
                // a line is short: a search by its first byte, not a searcher set up per line
                let found = needle.is_empty()
                    || value_starts_with(l, k, needle)
                    || find_all(field_text(l).as_bytes(), needle.as_bytes())
                        .next()
                        .is_some();
                found.then_some(line as usize)
            });
        self.loc(i.unwrap_or(fallback))
    }

    /// The first line in `from..to` containing `value` (its searchable prefix).
    pub fn containing(&self, from: usize, to: usize, value: &str, fallback: usize) -> Loc {
        let needle = searchable(value);
        let i = if needle.is_empty() {
            None
        } else {
            self.find_text(from, to, needle)
        };
        self.loc(i.unwrap_or(fallback))
    }
}

/// Where `needle` occurs in `hay`, overlapping matches included: candidates found by a
/// vectorised search for its first byte, each compared. Nothing to set up, so it pays on the
/// short texts of one object (a search object costs thousands of instructions to make).
fn find_all<'h>(hay: &'h [u8], needle: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let first = needle.first().copied();
    let last = needle.last().copied().unwrap_or_default();
    let end = (hay.len() + 1).saturating_sub(needle.len());
    // a candidate's last byte is looked at before the comparison call: most candidates of a
    // common first byte (a base64 letter) differ there
    // an empty needle searches nothing (one searcher, not a flattened optional one: a layer
    // of iterator state on every step of every search)
    let searched = if first.is_some() { &hay[..end] } else { &[] };
    memchr::memchr_iter(first.unwrap_or_default(), searched)
        .filter(move |&i| hay[i + needle.len() - 1] == last && hay[i..].starts_with(needle))
}

/// Whether the value after key `k` (a slice of `line`) starts with `needle`, quoted or not:
/// where a cited value usually sits, checked before a search of the line. True only when
/// the line's text holds `needle`.
fn value_starts_with(line: &str, k: &str, needle: &str) -> bool {
    let (l, kp) = (line.as_bytes().as_ptr_range(), k.as_ptr());
    if !l.contains(&kp) {
        return false;
    }
    let Some(rest) = line.get(kp as usize - l.start as usize + k.len()..) else {
        return false;
    };
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let Some(rest) = rest.strip_prefix(':') else {
        return false;
    };
    let rest = rest.trim_start_matches(' ');
    rest.strip_prefix(['"', '\''])
        .unwrap_or(rest)
        .starts_with(needle)
}

/// The longest prefix of `value` that appears verbatim in both JSON and YAML renderings
/// (stops before characters that would be escaped or folded), at most 60 bytes.
pub fn searchable(value: &str) -> &str {
    // the characters that stop it are ASCII, so a byte search finds them; past 60 bytes the
    // character that straddles the limit is kept whole (as a search by characters does)
    const LIMIT: usize = 60;
    let b = value.as_bytes();
    let stop = b[..b.len().min(LIMIT)]
        .iter()
        .position(|&c| matches!(c, b'\n' | b'\t' | b'"' | b'\\' | b'\''));
    let end = match stop {
        Some(i) => i,
        None if b.len() <= LIMIT => b.len(),
        None => (LIMIT..=b.len())
            .find(|&i| value.is_char_boundary(i))
            .unwrap_or(b.len()),
    };
    value[..end].trim_end()
}

/// A command line at the top of (or inside) a paste: `$ kubectl get ...`, `+ vault read ...`,
/// `root@host:/# vault read ...`, `[nix-shell:~]# kubectl ...`, or a bare `kubectl ...` line.
/// Returns the command without the prompt.
pub fn command_in(line: &str) -> Option<String> {
    let t = line.trim();
    let candidates = [
        t.strip_prefix("$ "),
        t.strip_prefix("+ "),
        t.strip_prefix("> "),
        t.strip_prefix("% "),
        after_prompt(t),
        Some(t),
    ];
    for (i, c) in candidates.into_iter().enumerate() {
        let Some(c) = c else { continue };
        let c = c.trim();
        let mut words = c.split_whitespace();
        let first = words.next().unwrap_or("");
        let second = words.next().unwrap_or("");
        // the short alias `k` only after a prompt: a bare `k ...` line is more likely a table row
        let bare = i == 5;
        let program =
            matches!(first, "kubectl" | "vault" | "oc" | "bao") || (first == "k" && !bare);
        let verb = if first == "vault" || first == "bao" {
            VAULT_VERBS.contains(&second)
        } else {
            KUBECTL_VERBS.contains(&second)
        };
        if program && verb {
            return Some(c.to_string());
        }
    }
    None
}

const KUBECTL_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "events",
    "explain",
    "top",
    "auth",
    "api-resources",
    "version",
    "config",
    "exec",
    "rollout",
    "annotate",
    "apply",
    "create",
    "delete",
    "edit",
    "patch",
    "label",
    "run",
    "debug",
    "cluster-info",
    "cp",
    "port-forward",
    "wait",
    "krew",
    "credtrace",
];

const VAULT_VERBS: &[&str] = &[
    "read",
    "list",
    "write",
    "delete",
    "policy",
    "policies",
    "token",
    "lease",
    "secrets",
    "auth",
    "kv",
    "status",
    "login",
    "operator",
    "audit",
    "namespace",
    "path-help",
    "print",
    "version",
    "plugin",
    "monitor",
    "debug",
    "mounts",
    "unwrap",
];

/// The text after a shell prompt such as `user@host:/path# `, `[nix-shell:~]# ` or `~ # `.
fn after_prompt(t: &str) -> Option<&str> {
    for marker in ["# ", "$ ", "> "] {
        if let Some(p) = t.find(marker) {
            let prefix = t[..p].trim_end();
            let prompt_like = prefix == "~"
                || prefix.ends_with(']')
                || (!prefix.contains(' ')
                    && (prefix.contains('@') || prefix.contains(':') || prefix.ends_with('~')));
            if p > 0 && prompt_like {
                return Some(&t[p + 2..]);
            }
        }
    }
    None
}

/// A parsed `kubectl`/`vault` command line: the words after the program name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    pub program: String,
    pub words: Vec<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub output: Option<String>,
    /// Text after the first pipe (`| grep regcred`): the output is filtered.
    pub filtered: bool,
}

impl Command {
    pub fn parse(cmd: &str) -> Command {
        let (main, piped) = match cmd.split_once('|') {
            Some((a, _)) => (a, true),
            None => (cmd, false),
        };
        let mut words = main
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '\'' || c == '"').to_string());
        let program = words.next().unwrap_or_default();
        let program = if program == "k" || program == "oc" {
            "kubectl".to_string()
        } else if program == "bao" {
            "vault".to_string()
        } else {
            program
        };
        let mut c = Command {
            program,
            filtered: piped,
            ..Default::default()
        };
        let rest: Vec<String> = words.collect();
        let mut i = 0;
        while i < rest.len() {
            let w = &rest[i];
            let next = rest.get(i + 1).cloned();
            if w == "-n" || w == "--namespace" {
                c.namespace = next;
                i += 2;
                continue;
            }
            if let Some(v) = w
                .strip_prefix("--namespace=")
                .or_else(|| w.strip_prefix("-n="))
            {
                c.namespace = Some(v.to_string());
            } else if w == "-A" || w == "--all-namespaces" {
                c.all_namespaces = true;
            } else if w == "-o" || w == "--output" || w == "-format" || w == "--format" {
                c.output = next;
                i += 2;
                continue;
            } else if let Some(v) = w
                .strip_prefix("-o=")
                .or_else(|| w.strip_prefix("--output="))
                .or_else(|| w.strip_prefix("-format="))
                .or_else(|| w.strip_prefix("--format="))
            {
                c.output = Some(v.to_string());
            } else if w.starts_with("-o") && w.len() > 2 && !w.starts_with("-o=") {
                c.output = Some(w[2..].to_string());
            } else if w.starts_with('-') {
                // other flags, some take a value we cannot know; keep going
            } else {
                c.words.push(w.clone());
            }
            i += 1;
        }
        c
    }

    /// `kubectl get pods NAME` -> ("get", "pods", Some("NAME")).
    pub fn verb(&self) -> &str {
        self.words.first().map(String::as_str).unwrap_or("")
    }

    pub fn arg(&self, i: usize) -> Option<&str> {
        self.words.get(i).map(String::as_str)
    }
}

/// Maps a kubectl resource word (`po`, `pods`, `externalsecret`, `es`,
/// `externalsecrets.external-secrets.io`) to its kind.
pub fn kube_kind(resource: &str) -> Option<&'static str> {
    let r = resource.to_ascii_lowercase();
    let r = r.split('.').next().unwrap_or("");
    let r = r.split('/').next().unwrap_or("");
    Some(match r {
        "po" | "pod" | "pods" => "Pod",
        "secret" | "secrets" => "Secret",
        "sa" | "serviceaccount" | "serviceaccounts" => "ServiceAccount",
        "ns" | "namespace" | "namespaces" => "Namespace",
        "ev" | "event" | "events" => "Event",
        "deploy" | "deployment" | "deployments" => "Deployment",
        "rs" | "replicaset" | "replicasets" => "ReplicaSet",
        "sts" | "statefulset" | "statefulsets" => "StatefulSet",
        "ds" | "daemonset" | "daemonsets" => "DaemonSet",
        "job" | "jobs" => "Job",
        "cj" | "cronjob" | "cronjobs" => "CronJob",
        "es" | "externalsecret" | "externalsecrets" => "ExternalSecret",
        "ss" | "secretstore" | "secretstores" => "SecretStore",
        "css" | "clustersecretstore" | "clustersecretstores" => "ClusterSecretStore",
        "vaultstaticsecret" | "vaultstaticsecrets" => "VaultStaticSecret",
        "vaultdynamicsecret" | "vaultdynamicsecrets" => "VaultDynamicSecret",
        "vaultpkisecret" | "vaultpkisecrets" => "VaultPKISecret",
        "vaultauth" | "vaultauths" => "VaultAuth",
        "vaultconnection" | "vaultconnections" => "VaultConnection",
        "secretproviderclass" | "secretproviderclasses" => "SecretProviderClass",
        "cert" | "certs" | "certificate" | "certificates" => "Certificate",
        "issuer" | "issuers" => "Issuer",
        "clusterissuer" | "clusterissuers" => "ClusterIssuer",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`searchable`] as it was first written, a character at a time.
    fn searchable_by_chars(value: &str) -> &str {
        let mut end = 0;
        for (i, c) in value.char_indices() {
            if matches!(c, '\n' | '\t' | '"' | '\\' | '\'') || i >= 60 {
                break;
            }
            end = i + c.len_utf8();
        }
        value[..end].trim_end()
    }

    proptest! {
        #[test]
        fn find_all_finds_every_overlapping_match(hay in "[ab\n]{0,40}", needle in "[ab]{0,4}") {
            let (h, n) = (hay.as_bytes(), needle.as_bytes());
            let want: Vec<usize> = if n.is_empty() {
                Vec::new()
            } else {
                (0..h.len()).filter(|&i| h[i..].starts_with(n)).collect()
            };
            prop_assert_eq!(find_all(h, n).collect::<Vec<_>>(), want);
        }

        #[test]
        fn marked_lines_are_found_alike_over_breaks_and_split_lines(
            text in prop_oneof!["[ \t{a\r\n\u{3000}-]{0,60}", "[ {a\n-]{0,60}"],
            indent in 0usize..5,
            dash in any::<bool>(),
        ) {
            let marker = if dash { b'-' } else { b'{' };
            let path: Arc<str> = Arc::from("t.json");
            let split = Source::new(&path, &text);
            let cut = Source::new(&path, &text);
            let breaks: Vec<u32> = memchr::memchr_iter(b'\n', text.as_bytes()).map(|b| b as u32).collect();
            cut.set_lines(&text, breaks);
            let n = split.lines().len();
            // as item_starts first wrote it, over the split lines
            let want: Vec<usize> = (0..n)
                .filter(|&i| {
                    let l = split.lines()[i];
                    l.as_bytes().get(indent) == Some(&marker) && indent_width(&l[..indent]) == indent
                })
                .collect();
            for (from, to) in [(0, n + 1), (1, n + 1), (0, n.saturating_sub(1)), (1, n / 2)] {
                let expect: Vec<usize> =
                    want.iter().copied().filter(|&i| i >= from && i < to).collect();
                prop_assert_eq!(&cut.lines_marked(from, to, indent, marker), &expect);
                prop_assert_eq!(&split.lines_marked(from, to, indent, marker), &expect);
            }
        }

        #[test]
        fn searchable_is_what_a_scan_by_characters_finds(
            head in "[a-z é€\u{1F600}]{0,70}",
            tail in "[a-z \"\\\\'\n\té€\u{1F600}]{0,20}",
        ) {
            let v = format!("{head}{tail}");
            prop_assert_eq!(searchable(&v), searchable_by_chars(&v));
        }
    }

    /// The field names the JSON parser gives a source are the ones a line scan finds.
    fn parser_keys_agree(text: &str) -> bool {
        let path: Arc<str> = Arc::from("t.json");
        let scanned = Source::new(&path, text);
        let given = Source::new(&path, text);
        let body = text.trim_start_matches(|c| c != '{' && c != '[');
        let offset = text.len() - body.len();
        let padded: String = text[..offset]
            .chars()
            .filter(|c| *c == '\n')
            .collect::<String>()
            + body;
        let arena = bumpalo::Bump::new();
        let (_, found) = crate::ingest::kube::json::Node::parse_limited_keyed(&padded, 128, &arena);
        let Some(found) = found else {
            return true;
        };
        given.set_keys(found.first_line as usize, found.keys.clone());
        scanned.field(0, 0, "x", "", 0);
        // and the lines it crossed are the lines a split finds
        let split = Source::new(&path, &padded);
        let parsed = Source::new(&path, &padded);
        parsed.set_lines(&padded, found.breaks.clone());
        // lines cut from the breaks one at a time (before the list is built from them) are
        // the split lines, and so are their offsets and the line of each byte
        let n = split.lines().len();
        let cut_alike = parsed.line_count() == n
            && (0..=n).all(|i| parsed.line(i) == split.lines().get(i).copied())
            && (0..n).all(|i| parsed.offset(i) == split.offset(i))
            && (0..=padded.len()).all(|pos| parsed.line_at(pos) == split.line_at(pos));
        cut_alike && scanned.keys.get() == given.keys.get() && split.lines() == parsed.lines()
    }

    #[test]
    fn given_names_outside_the_lines_after_first_are_dropped() {
        let path: Arc<str> = Arc::from("t.json");
        let src = Source::new(&path, "# a\n{\n  \"a\": 1,\n  \"b\": 2\n}\n");
        // line 1 (`{`) is the first token's: names on it or before it, and past the last
        // line, are not kept
        src.set_keys(1, vec![(1, 0, 1), (2, 3, 4), (3, 3, 4), (9, 0, 1)]);
        assert_eq!(src.keys.get(), Some(&vec![(2, 3, 4), (3, 3, 4)]));
    }

    #[test]
    fn parser_finds_the_field_names_a_line_scan_finds() {
        for t in [
            "{\n    \"a\": 1,\n    \"b\": {\n        \"c\": \"d\"\n    },\n    \"e\": [\n        \"x\",\n        \"y:z\"\n    ]\n}\n",
            "# source: somewhere\n$ kubectl get pods -o json\n{\n  \"kind\": \"List\",\n  \"items\": []\n}\n",
            "{\"a\": 1, \"b\": 2}",
            "[\n  \"a\\\\\": 1\n]",
            "{\n  \"a\\\\\": 1,\n  \"q\\\"x\": 2, \"r\": 3\n  , \"s\": 4\n}\r\n",
            "[\n  \"a\\\":b\",\n  {}\n]",
            "{\r\n  \"a\": 1\r\n}",
            "{\n  \"a\": 1\n}\r",
            "\n\n  [1,\n2]\n\n",
            // a tab or a carriage return after a line's indentation, before its field name
            "{\n\t\"a\": 1,\n  \t\"b\": 2\n}",
            "{\n  \r\n\"a\": 1\n}",
        ] {
            assert!(parser_keys_agree(t), "{t:?}");
        }
    }

    proptest! {
        #[test]
        fn parser_keys_agree_on_any_json(
            v in prop::collection::btree_map(
                "[a-z:\"\\\\]{0,4}",
                prop::collection::vec("[a-z:\"\\\\ ]{0,5}", 0..3),
                0..5,
            ),
            pretty in any::<bool>(),
            comment in any::<bool>(),
        ) {
            let mut text = if comment { String::from("# note: x\n") } else { String::new() };
            text += &if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            prop_assert!(parser_keys_agree(&text), "{:?}", text);
        }
    }

    #[test]
    fn prompts() {
        let cases = [
            (
                "$ kubectl get pods -n prod",
                Some("kubectl get pods -n prod"),
            ),
            (
                "+ vault read sys/mounts/x/tune",
                Some("vault read sys/mounts/x/tune"),
            ),
            (
                "root@434e7d12d652:/# vault read secret/foo",
                Some("vault read secret/foo"),
            ),
            (
                "[nix-shell:/home/x/homelab]# kubectl get ExternalSecret --all-namespaces",
                Some("kubectl get ExternalSecret --all-namespaces"),
            ),
            (
                "~ # vault read secret/production/databases/pg-01",
                Some("vault read secret/production/databases/pg-01"),
            ),
            (
                "kubectl get es -n aleksf-dev-ns",
                Some("kubectl get es -n aleksf-dev-ns"),
            ),
            ("vault policy list", Some("vault policy list")),
            ("# source: https://example.com/issues/1", None),
            ("NAME READY STATUS", None),
            ("Key Value", None),
            ("vault", None),
        ];
        for (line, want) in cases {
            assert_eq!(command_in(line).as_deref(), want, "{line}");
        }
    }

    #[test]
    fn command_words() {
        let c = Command::parse("kubectl get secret regcred-order-service -n prod -o yaml");
        assert_eq!(c.words, ["get", "secret", "regcred-order-service"]);
        assert_eq!(c.namespace.as_deref(), Some("prod"));
        assert_eq!(c.output.as_deref(), Some("yaml"));
        let c =
            Command::parse("kubectl get secrets -n prod -o name | grep regcred | while read s; do");
        assert!(c.filtered);
        let c = Command::parse("kubectl get ExternalSecret --all-namespaces");
        assert!(c.all_namespaces);
        assert_eq!(kube_kind("ExternalSecret"), Some("ExternalSecret"));
        assert_eq!(
            kube_kind("externalsecrets.external-secrets.io"),
            Some("ExternalSecret")
        );
    }

    #[test]
    fn field_lookup() {
        let text = "metadata:\n  labels:\n    app.kubernetes.io/name: a\n  name: a\nstatus:\n  message: \"could not get\\nsecret\"\n";
        let path: Arc<str> = Arc::from("x.yaml");
        let s = Source::new(&path, text);
        assert_eq!(s.field(0, 99, "name", "a", 0).line, 4);
        assert_eq!(
            s.field(0, 99, "message", "could not get\nsecret", 0).line,
            6
        );
    }

    #[test]
    fn indexed_field_lookup_equals_a_scan() {
        let text = "items:\n- name: a\n  - name: b\n    \"name\": \"c\",\n  \"na\\\"me\": x\n  key:name: y\n  \"key\": 1\n  name:\n   name : z\n  \"name\" : w\n  - - name: a2\n  lastTimeA: 1\n  lastTimeB: b\n  lastTime: c\n";
        let path: Arc<str> = Arc::from("x.yaml");
        let s = Source::new(&path, text);
        let scan = |from: usize, to: usize, key: &str, value: &str| {
            let needle = searchable(value);
            let (yaml_key, json_key) = (format!("{key}:"), format!("\"{key}\":"));
            s.find(from, to, |l| {
                let t = l.trim_start().trim_start_matches("- ");
                (t.starts_with(&yaml_key) || t.starts_with(&json_key))
                    && (needle.is_empty() || t.contains(needle))
            })
            .map(|i| i + 1)
            .unwrap_or(0)
        };
        for key in [
            "name",
            "key",
            "na\\",
            "key:name",
            "\"name\"",
            "items",
            "nam",
            "",
            // names of one length, alike but for their last byte
            "lastTimeA",
            "lastTimeB",
            "lastTimeC",
            "lastTime",
        ] {
            for value in ["", "a", "b", "c", "x", "y", "z", "w", "a2", "1"] {
                for from in 0..s.lines().len() + 1 {
                    for to in [from, from + 2, 99] {
                        assert_eq!(
                            s.field(from, to, key, value, 0).line as usize,
                            scan(from, to, key, value).max(1),
                            "{key:?} {value:?} {from}..{to}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn text_searches_equal_a_line_scan() {
        let text =
            "a: secretStoreRef\r\n  name: xyzzy\n\n  \"k\": \"xyzzyxyzzy\",\nstoreRef x\nlast\n";
        let path: Arc<str> = Arc::from("x.yaml");
        let s = Source::new(&path, text);
        let n = s.lines().len();
        for needle in [
            "",
            "secretStoreRef",
            "xyzzy",
            "zyx",
            "storeRef",
            "last",
            "\n",
            "a: s",
            "nope",
        ] {
            for from in 0..=n {
                for to in from..=n + 1 {
                    let scan = s.find(from, to, |l| l.contains(needle));
                    assert_eq!(
                        s.find_text(from, to, needle),
                        scan,
                        "{needle:?} {from}..{to}"
                    );
                    // none of these overlaps itself
                    let finder = Finder::new(needle);
                    assert_eq!(
                        s.find_field_name(from, to, &finder),
                        scan,
                        "{needle:?} {from}..{to}"
                    );
                }
            }
        }
        // every line holding a value is withheld, within the range asked
        s.withhold_values(0, n, ["xyzzy", "ab"]);
        assert_eq!(*s.withheld.borrow(), [1, 3].into_iter().collect());
        let t = Source::new(&path, text);
        t.withhold_values(2, 4, ["xyzzy"]);
        assert_eq!(*t.withheld.borrow(), [3].into_iter().collect());
        // a value over two lines (a YAML block string) withholds both
        let y = Source::new(&path, "data:\n  k: |\n    first-half\n    second-half\n");
        y.withhold_values(0, 4, ["first-half\n    second-half"]);
        assert_eq!(*y.withheld.borrow(), [2, 3].into_iter().collect());
    }

    #[test]
    fn lines_split_as_str_lines() {
        for t in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\nb\r",
            "\r\n\r\n",
            "0123456\n89abcdef0123456789\n\n",
            "        {\n            \"a\": 1\n        }",
            "é\nü€\r\n0123456789abcdef\r",
        ] {
            assert_eq!(split_lines(t), t.lines().collect::<Vec<_>>(), "{t:?}");
        }
    }

    #[test]
    fn byte_trims_equal_unicode_trims() {
        for l in [
            "",
            "    \"name\": \"a\",",
            "\t - - name: x",
            "- - ",
            "-  x",
            "\u{a0} name: y",
            "                    \"x\": 1",
            "        ",
            "        \u{a0}   - a",
            "  \u{2003}- z",
            "\u{85}",
            "  é: 1",
            " \x0b\x0c\r key: v",
        ] {
            assert_eq!(trim_indent(l), l.trim_start(), "{l:?}");
            assert_eq!(indent_width(l), l.len() - l.trim_start().len(), "{l:?}");
            assert_eq!(
                field_text(l),
                l.trim_start().trim_start_matches("- "),
                "{l:?}"
            );
        }
    }

    #[test]
    fn decodes_utf16_and_strips_ansi() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "Key".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&bytes).0, "Key");
        assert_eq!(decode(b"\x1b[31mWarning\x1b[0m\r\n").0, "Warning\n");
        // the escape or the return may sit in any 32-byte block, or in the tail
        for at in [0, 5, 31, 32, 63, 64, 70] {
            let mut text = "x".repeat(71);
            text.replace_range(at..at + 1, "\r");
            assert_eq!(decode(text.as_bytes()).0, text.replace('\r', ""));
        }
        assert!(matches!(
            decode_borrowed(b"plain").0,
            Cow::Borrowed("plain")
        ));
    }
}
