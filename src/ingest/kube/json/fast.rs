//! A hand-written parser for the common case: valid JSON as kubectl and the vault CLI print
//! it, read straight into a [`Node`] tree.
//!
//! Going through serde's visitor interface cost about as much as everything else ingest does
//! on a fleet-sized bundle (a call per token, whitespace skipped byte by byte through deep
//! four-space indentation). This parser skips indentation and finds the end of a string
//! sixteen bytes at a time (one SSE2 compare on x86-64: the 128-bit and 64-bit word tricks
//! it replaced cost 5% more instructions on a fleet) and builds containers on scratch stacks.
//!
//! It only ever answers for text it is sure of: anything unusual (a syntax error, an escape
//! it does not decode, a number that is not a plain integer, nesting near a limit) makes it
//! give up with `None`, and the caller parses the text with serde_json, which then decides
//! and words the error. So a tree from here is always the tree serde_json gives (the tests
//! check this on fixtures, on random and on corrupted text).

use super::{key_index, names_workload, Node, LINEAR_KEYS, SKIPPED_KEYS, TEMPLATE_KEYS};
use bumpalo::Bump;
use serde_json::Number;
use std::collections::HashMap;

/// Deepest nesting this parser handles; deeper text is left to serde_json, which has its own
/// limit of 128.
const MAX_NESTING: usize = 100;

/// Gave up: the text is left to serde_json.
struct GiveUp;

type Parsed<T> = Result<T, GiveUp>;

/// The tree of `text`, or `None` when serde_json must decide (see the module docs). Containers
/// nested deeper than `max_depth` make it give up, never succeed.
#[cfg(test)]
pub(super) fn parse<'a>(text: &'a str, max_depth: usize, arena: &'a Bump) -> Option<Node<'a>> {
    parse_keyed(text, max_depth, arena).map(|(n, _)| n)
}

/// [`parse`], with the field name each line starts with, found on the way.
pub(super) fn parse_keyed<'a>(
    text: &'a str,
    max_depth: usize,
    arena: &'a Bump,
) -> Option<(Node<'a>, KeyLines)> {
    // lines and offsets are noted as 32-bit numbers
    if u32::try_from(text.len()).is_err() {
        return None;
    }
    let mut p = Parser {
        text,
        arena,
        b: text.as_bytes(),
        i: 0,
        max_depth: max_depth.min(MAX_NESTING),
        members: Vec::new(),
        elements: Vec::new(),
        line: 0,
        line_start: 0,
        fresh: usize::MAX,
        // most lines of pretty-printed JSON start with a field name, and lines are rarely
        // shorter than this: the list is not copied as it grows
        keys: KeyLines {
            first_line: 0,
            keys: Vec::with_capacity(text.len() / 48),
            breaks: Vec::with_capacity(text.len() / 32 + 1),
            items: Vec::new(),
        },
        workload_spec: usize::MAX,
    };
    p.ws();
    p.keys.first_line = p.line;
    // a bare list's elements are the items
    let v = if p.peek() == Some(b'[') {
        p.array::<true>(1).ok()?
    } else {
        p.value(0).ok()?
    };
    p.ws();
    (p.i == p.b.len()).then_some((v, p.keys))
}

/// Where the lines of a JSON text start with a field name (`"key": ...`), as
/// [`crate::ingest::text::Source`] finds them: the line, and the name's byte range in it.
/// Only lines after `first_line` (the line of the first token) are listed; the lines up to
/// it may hold other text (comments before the document). Lines inside a managed field's
/// field set (`fieldsV1`) are left out: their names are never looked up. With where the
/// text's line breaks are: every one lies between tokens, where the parser passes it anyway,
/// so a separate search for them is saved.
#[derive(Default)]
pub struct KeyLines {
    pub first_line: u32,
    pub keys: Vec<(u32, u32, u32)>,
    /// The offset of each `\n` in the text.
    pub breaks: Vec<u32>,
    /// The line each item of the document's list starts on (the elements of a top-level
    /// array, or of a top-level object's `items`), as the parser met them: where a list's
    /// objects begin, which a scan of every line for the items' indentation finds otherwise.
    pub items: Vec<u32>,
}

struct Parser<'a> {
    text: &'a str,
    /// Where containers and escaped strings are put.
    arena: &'a Bump,
    b: &'a [u8],
    i: usize,
    max_depth: usize,
    /// Members and elements of the open containers, moved out when a container closes.
    members: Vec<(&'a str, Node<'a>)>,
    elements: Vec<Node<'a>>,
    /// The line being read (0-based) and where it starts: newlines only occur between tokens.
    line: u32,
    line_start: usize,
    /// Where the string that starts the current line begins (its quote).
    fresh: usize,
    keys: KeyLines,
    /// The depth of the workload `spec` being read, whose template members are skipped
    /// (`usize::MAX`: none).
    workload_spec: usize,
}

/// How many bytes `b` starts with before the first that `stops` (the same bytes `block_stops`
/// marks in a block of sixteen): all of them when none does.
#[inline(always)]
fn run(b: &[u8], block_stops: impl Fn(&[u8]) -> u32, stops: impl Fn(u8) -> bool) -> usize {
    let mut i = 0;
    // sixteen at a time; the first marked byte of a block ends the run
    while let Some(block) = b.get(i..i + 16) {
        let marked = block_stops(block);
        if marked != 0 {
            return i + marked.trailing_zeros() as usize;
        }
        i += 16;
    }
    i + b[i..].iter().take_while(|&&c| !stops(c)).count()
}

/// How many spaces `b` starts with.
#[inline(always)]
fn spaces(b: &[u8]) -> usize {
    run(b, |block| scan::others(block, b' '), |c| c != b' ')
}

/// How many bytes `b` starts with before the first that ends a plain string run (`"`, `\\`
/// or a control character): all of them when there is none.
#[inline(always)]
fn plain(b: &[u8]) -> usize {
    run(b, scan::specials, |c| c == b'"' || c == b'\\' || c < 0x20)
}

/// Bit masks over a block of sixteen bytes (bit `k` for byte `k`): with SSE2 (part of every
/// x86-64 processor) a compare of the sixteen at once, elsewhere the same answer from two
/// words and bit tricks.
mod scan {
    /// The bytes of `block` (sixteen) that are not `c`.
    #[inline(always)]
    pub fn others(block: &[u8], c: u8) -> u32 {
        debug_assert_eq!(block.len(), 16);
        imp::others(block, c)
    }

    /// The bytes of `block` (sixteen) that are `"`, `\\` or below 0x20.
    #[inline(always)]
    pub fn specials(block: &[u8]) -> u32 {
        debug_assert_eq!(block.len(), 16);
        imp::specials(block)
    }

    #[cfg(target_arch = "x86_64")]
    mod imp {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };

        #[inline(always)]
        fn load(block: &[u8]) -> __m128i {
            assert!(block.len() >= 16);
            // SAFETY: SSE2 is part of the x86-64 baseline; the load reads the sixteen bytes
            // just checked to be in the slice, and allows any alignment
            unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
        }

        #[inline(always)]
        pub fn others(block: &[u8], c: u8) -> u32 {
            let v = load(block);
            // SAFETY: SSE2 only (see `load`), on values
            let same = unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8))) };
            !(same as u32) & 0xFFFF
        }

        #[inline(always)]
        pub fn specials(block: &[u8]) -> u32 {
            let v = load(block);
            // SAFETY: SSE2 only (see `load`), on values
            unsafe {
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                // unsigned v <= 0x1f: the smaller of v and 0x1f is v
                let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
            }
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    use portable as imp;

    /// Without SSE2: the same masks from two words at a time (also checked against SSE2 in
    /// the tests, where both exist).
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    pub(super) mod portable {
        const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

        /// A bit per byte of `x` (bit `k` for byte `k`) from the high bits of `marks`.
        fn bits(marks: u64) -> u32 {
            // the high bit of byte k, moved to bit k
            ((marks >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
        }

        /// The high bit of each byte of `x` that is zero (exactly: no borrow across bytes).
        fn zero_bytes(x: u64) -> u64 {
            !(((x & !HIGHS).wrapping_add(!HIGHS)) | x) & HIGHS
        }

        fn words(block: &[u8]) -> [u64; 2] {
            let w = |i: usize| u64::from_le_bytes(block[i..i + 8].try_into().expect("8 bytes"));
            [w(0), w(8)]
        }

        pub fn others(block: &[u8], c: u8) -> u32 {
            let [a, b] = words(block).map(|x| bits(zero_bytes(x ^ u64::from_le_bytes([c; 8]))));
            !(a | b << 8) & 0xFFFF
        }

        pub fn specials(block: &[u8]) -> u32 {
            let mark = |x: u64| {
                let quote = zero_bytes(x ^ u64::from_le_bytes([b'"'; 8]));
                let backslash = zero_bytes(x ^ u64::from_le_bytes([b'\\'; 8]));
                // bytes below 0x20: their top three bits are zero
                let control = zero_bytes(x & u64::from_le_bytes([0xE0; 8]));
                bits(quote | backslash | control)
            };
            let [a, b] = words(block).map(mark);
            a | b << 8
        }
    }
}

/// One of 64 bits for a key, from its length and end bytes: equal keys get the same bit.
fn shape_bit(k: &str) -> u64 {
    let b = k.as_bytes();
    let (first, last) = (b.first().copied(), b.last().copied());
    let h = (b.len() as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(first.unwrap_or(0)) << 8 | u64::from(last.unwrap_or(0)));
    1 << (h.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 58)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips JSON whitespace; runs of spaces (indentation) sixteen at a time. A line that
    /// starts with a string has its field name noted as a line scan would find it: the text
    /// up to the next quote, when a colon follows that quote.
    #[inline(always)]
    fn ws(&mut self) {
        // most calls find no whitespace or one space (after a colon): no loop for those
        match self.b.get(self.i) {
            Some(&c) if c > b' ' => {}
            Some(b' ') if self.b.get(self.i + 1).is_some_and(|&d| d > b' ') => self.i += 1,
            // a line break and the next line's indentation, up to a token: the usual run of
            // pretty-printed JSON, taken here (a call per line was a tenth of the parser)
            Some(b'\n') => {
                self.line_break();
                self.i += spaces(&self.b[self.i..]);
                match self.b.get(self.i) {
                    Some(b'"') => self.fresh = self.i,
                    Some(&c) if c > b' ' => {}
                    _ => self.ws_run(true),
                }
            }
            _ => self.ws_run(false),
        }
    }

    /// [`Parser::ws`] over the rest of a run of whitespace, across lines; `crossed` when a
    /// line break was passed already.
    #[inline(never)]
    fn ws_run(&mut self, mut crossed: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' => self.i += spaces(&self.b[self.i..]),
                b'\n' => {
                    self.line_break();
                    crossed = true;
                }
                b'\r' | b'\t' => self.i += 1,
                b'"' if crossed => {
                    // noted by `string`, which finds the next quote anyway
                    self.fresh = self.i;
                    return;
                }
                _ => return,
            }
        }
    }

    /// Passes the line break at `self.i`, noting it.
    #[inline(always)]
    fn line_break(&mut self) {
        self.keys.breaks.push(self.i as u32);
        self.i += 1;
        self.line += 1;
        self.line_start = self.i;
    }

    fn eat(&mut self, c: u8) -> Parsed<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    fn literal(&mut self, word: &[u8], v: Node<'a>) -> Parsed<Node<'a>> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(GiveUp)
        }
    }

    /// One value at container depth `depth`, whitespace before it already skipped.
    fn value(&mut self, depth: usize) -> Parsed<Node<'a>> {
        match self.peek().ok_or(GiveUp)? {
            b'{' => self.object(depth + 1),
            b'[' => self.array::<false>(depth + 1),
            b'"' => self.string().map(Node::String),
            b't' => self.literal(b"true", Node::Bool(true)),
            b'f' => self.literal(b"false", Node::Bool(false)),
            b'n' => self.literal(b"null", Node::Null),
            b'0'..=b'9' | b'-' => self.number(),
            _ => Err(GiveUp),
        }
    }

    fn object(&mut self, depth: usize) -> Parsed<Node<'a>> {
        if depth > self.max_depth {
            return Err(GiveUp);
        }
        self.i += 1;
        self.ws();
        let base = self.members.len();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Node::Object(&[]));
        }
        // a repeated key keeps its first place and takes the last value, as in serde_json;
        // `seen` has a bit per key shape, so a new key is rarely compared with the others
        let mut index: Option<HashMap<String, usize>> = None;
        let mut seen = 0u64;
        // a `kind` naming a workload was read: its `spec` skips the pod template
        let mut workload = false;
        loop {
            if self.peek() != Some(b'"') {
                return Err(GiveUp);
            }
            let k = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let field_set = SKIPPED_KEYS.contains(&k);
            let skipped = field_set || (depth == self.workload_spec && TEMPLATE_KEYS.contains(&k));
            let v = if skipped {
                if field_set {
                    // a field set's names (`f:spec`, `k:{...}`, `.`) are never looked up, and
                    // each set keys hundreds of lines: a lookup in its object would pass them
                    self.skip::<false>(depth)?;
                } else {
                    self.skip::<true>(depth)?;
                }
                Node::Null
            } else if depth == 1 && k == "items" && self.peek() == Some(b'[') {
                // a List's items (a repeated `items` keeps the last, as its value does)
                self.keys.items.clear();
                self.array::<true>(depth + 1)?
            } else if workload && k == "spec" {
                // the spec is the object one level down
                let outer = std::mem::replace(&mut self.workload_spec, depth + 1);
                let v = self.value(depth);
                self.workload_spec = outer;
                v?
            } else {
                self.value(depth)?
            };
            if k == "kind" {
                workload = names_workload(&v);
            }
            let m = &mut self.members[base..];
            match &mut index {
                Some(ix) => match ix.get(k) {
                    Some(&i) => m[i].1 = v,
                    None => {
                        ix.insert(k.to_string(), m.len());
                        self.members.push((k, v));
                    }
                },
                None => {
                    let bit = shape_bit(k);
                    let repeat = if seen & bit == 0 {
                        None
                    } else {
                        m.iter().position(|(x, _)| *x == k)
                    };
                    seen |= bit;
                    match repeat {
                        Some(i) => m[i].1 = v,
                        None => self.members.push((k, v)),
                    }
                    let m = &self.members[base..];
                    if m.len() > LINEAR_KEYS {
                        index = Some(key_index(m));
                    }
                }
            }
            if !self.more(b'}')? {
                let members = self.arena.alloc_slice_copy(&self.members[base..]);
                self.members.truncate(base);
                return Ok(Node::Object(members));
            }
        }
    }

    /// An array at `[`; the line each element starts on is noted in `keys.items` when
    /// `ITEMS` (a list's items).
    fn array<const ITEMS: bool>(&mut self, depth: usize) -> Parsed<Node<'a>> {
        if depth > self.max_depth {
            return Err(GiveUp);
        }
        self.i += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Node::Array(&[]));
        }
        let base = self.elements.len();
        loop {
            if ITEMS {
                self.keys.items.push(self.line);
            }
            let v = self.value(depth)?;
            self.elements.push(v);
            if !self.more(b']')? {
                let elements = self.arena.alloc_slice_copy(&self.elements[base..]);
                self.elements.truncate(base);
                return Ok(Node::Array(elements));
            }
        }
    }

    /// After a member or an element: `true` at a comma (and the whitespace after it),
    /// `false` at `close` (consumed); anything else gives up.
    #[inline(always)]
    fn more(&mut self, close: u8) -> Parsed<bool> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                self.ws();
                Ok(true)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(GiveUp),
        }
    }

    /// Checks a value's syntax without building it (a skipped member's value), noting the
    /// field names lines start with when `NOTE` (a managed field's field set is not noted: a
    /// fifth of a fleet's text, every line of it keyed, and never looked up). A loop over the
    /// value's tokens with its open containers on a bit stack, not a call per container:
    /// skipped values nest deep and their containers are mostly empty (`"f:name": {}`).
    fn skip<const NOTE: bool>(&mut self, depth: usize) -> Parsed<()> {
        // the open containers, innermost in the lowest bit: 1 for an object; `open` of them
        // (the depth limit is at most `MAX_NESTING`, below 128)
        let (mut objects, mut open) = (0u128, 0usize);
        loop {
            // at a value
            match self.peek().ok_or(GiveUp)? {
                c @ (b'{' | b'[') => {
                    if depth + open + 1 > self.max_depth {
                        return Err(GiveUp);
                    }
                    self.i += 1;
                    self.ws();
                    let object = c == b'{';
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                    } else {
                        objects = objects << 1 | u128::from(object);
                        open += 1;
                        if object {
                            self.skipped_key::<NOTE>()?;
                        }
                        continue;
                    }
                }
                b'"' => self.skipped_string::<NOTE>()?,
                _ => {
                    self.value(depth + open)?;
                }
            }
            // after a value: a comma and the next, or the end of containers
            loop {
                if open == 0 {
                    return Ok(());
                }
                self.ws();
                let object = objects & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                        if object {
                            self.skipped_key::<NOTE>()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {}
                    Some(b']') if !object => {}
                    _ => return Err(GiveUp),
                }
                self.i += 1;
                objects >>= 1;
                open -= 1;
            }
        }
    }

    /// A member's name, its colon and the whitespace up to its value, in [`Parser::skip`].
    #[inline(always)]
    fn skipped_key<const NOTE: bool>(&mut self) -> Parsed<()> {
        if self.peek() != Some(b'"') {
            return Err(GiveUp);
        }
        self.skipped_string::<NOTE>()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Ok(())
    }

    /// Notes the field name of a line that starts with the string at `quote`: the text up to
    /// the next quote, when a colon follows that quote.
    #[cold]
    fn note_key(&mut self, quote: usize) {
        let from = quote + 1;
        if let Some(end) = memchr::memchr(b'"', &self.b[from..]).map(|e| from + e) {
            if self.b.get(end + 1) == Some(&b':') {
                let at = |x: usize| (x - self.line_start) as u32;
                self.keys.keys.push((self.line, at(from), at(end)));
            }
        }
    }

    /// A string at `"`: borrowed from the text unless it holds an escape. Inlined where it is
    /// read (a key, a value, a skipped key): two of every three tokens are strings, and the
    /// call's entry and exit were a sixth of its instructions; the rare escape stays out of
    /// line.
    #[inline(always)]
    fn string(&mut self) -> Parsed<&'a str> {
        match self.string_start::<true>()? {
            Ok(s) => Ok(s),
            Err(start) => {
                let arena = self.arena;
                self.escaped(start).map(|s| &*arena.alloc_str(&s))
            }
        }
    }

    /// A string at `"` in a skipped value: checked as [`Parser::string`] checks it, but an
    /// escaped one is not built (managed fields' field sets are full of escaped keys such as
    /// `"k:{\"name\":\"app\"}"`, and each was copied out to be thrown away). The field name
    /// a line starts with is noted when `NOTE`.
    #[inline(always)]
    fn skipped_string<const NOTE: bool>(&mut self) -> Parsed<()> {
        match self.string_start::<NOTE>()? {
            Ok(_) => Ok(()),
            Err(_) => self.escaped_skipped(),
        }
    }

    /// Passes a string at `"` up to its closing quote or its first escape, noting the field
    /// name a line starts with on the way when `NOTE`: `Ok(s)` for a string without escapes
    /// (its closing quote passed), `Err(start)` when `self.i` is at its first escape (its
    /// text begins at `start`).
    #[inline(always)]
    fn string_start<const NOTE: bool>(&mut self) -> Parsed<Result<&'a str, usize>> {
        let quote = self.i;
        if self.b.get(quote) != Some(&b'"') {
            return Err(GiveUp);
        }
        let fresh = NOTE && self.fresh == quote;
        self.i += 1;
        let start = self.i;
        // sixteen bytes at a time, stopping on the byte that ends the run
        self.i += plain(&self.b[self.i..]);
        match self.peek().ok_or(GiveUp)? {
            b'"' => {
                // SAFETY: `start` follows a quote and `self.i` is at one: both are ASCII, so
                // both offsets are character boundaries of the text (a `str`), and
                // `start <= self.i <= len`. (The checked slice was an out-of-line call per
                // string, a twentieth of the parser's instructions.)
                let s = unsafe { self.text.get_unchecked(start..self.i) };
                if fresh && self.b.get(self.i + 1) == Some(&b':') {
                    let at = |x: usize| (x - self.line_start) as u32;
                    self.keys.keys.push((self.line, at(start), at(self.i)));
                }
                self.i += 1;
                Ok(Ok(s))
            }
            b'\\' => {
                if fresh {
                    self.note_key(quote);
                }
                Ok(Err(start))
            }
            // a control character (the run stops at nothing else)
            _ => Err(GiveUp),
        }
    }

    /// The rest of a skipped string from its first escape (at `self.i`), checked as
    /// [`Parser::escaped`] checks it.
    #[cold]
    #[inline(never)]
    fn escaped_skipped(&mut self) -> Parsed<()> {
        self.escaped_rest(None)
    }

    /// The rest of a string from its first escape (at `self.i`); the string began at `start`.
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, start: usize) -> Parsed<String> {
        let mut out = String::from(&self.text[start..self.i]);
        self.escaped_rest(Some(&mut out))?;
        Ok(out)
    }

    /// Passes the rest of a string from an escape (at `self.i`) to its closing quote, decoding
    /// it onto `out` when there is one: a skipped string and a read one are checked alike.
    fn escaped_rest(&mut self, mut out: Option<&mut String>) -> Parsed<()> {
        loop {
            let run = self.i;
            self.i += plain(&self.b[self.i..]);
            if let Some(out) = out.as_deref_mut() {
                out.push_str(&self.text[run..self.i]);
            }
            match self.peek().ok_or(GiveUp)? {
                b'"' => {
                    self.i += 1;
                    return Ok(());
                }
                b'\\' => {
                    let c = *self.b.get(self.i + 1).ok_or(GiveUp)?;
                    self.i += 2;
                    let decoded = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode()?,
                        _ => return Err(GiveUp),
                    };
                    if let Some(out) = out.as_deref_mut() {
                        out.push(decoded);
                    }
                }
                _ => return Err(GiveUp),
            }
        }
    }

    /// The character of a `\u` escape (its four digits at `self.i`), a surrogate pair taken
    /// whole; a lone surrogate is left to serde_json.
    fn unicode(&mut self) -> Parsed<char> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                    return Err(GiveUp);
                }
                self.i += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(GiveUp);
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(GiveUp),
            c => c,
        };
        char::from_u32(code).ok_or(GiveUp)
    }

    fn hex4(&mut self) -> Parsed<u32> {
        let digits = self.b.get(self.i..self.i + 4).ok_or(GiveUp)?;
        let mut v = 0u32;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16).ok_or(GiveUp)?;
        }
        self.i += 4;
        Ok(v)
    }

    /// A number. Non-negative integers of at most 19 digits (always a `u64`) are read here;
    /// other numbers are handed to serde_json, so a float rounds exactly as it rounds there.
    fn number(&mut self) -> Parsed<Node<'a>> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            v = v.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            self.i += 1;
        }
        let digits = self.i - start;
        let plain = digits > 0 && digits <= 19 && (self.b[start] != b'0' || digits == 1);
        if plain && !matches!(self.peek(), Some(b'.' | b'e' | b'E' | b'+' | b'-')) {
            return Ok(Node::Number(self.arena.alloc(Number::from(v))));
        }
        while let Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') = self.peek() {
            self.i += 1;
        }
        match serde_json::from_str::<serde_json::Value>(&self.text[start..self.i]) {
            Ok(serde_json::Value::Number(n)) => Ok(Node::Number(self.arena.alloc(n))),
            _ => Err(GiveUp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Json;
    use super::*;
    use proptest::prelude::*;

    /// An arena for a test's trees, kept until the tests end.
    fn arena() -> &'static Bump {
        Box::leak(Box::new(Bump::new()))
    }

    fn parse(text: &str, max_depth: usize) -> Option<Node<'_>> {
        super::parse(text, max_depth, arena())
    }

    /// The tree serde_json gives for `text` with the same depth limit, if any.
    fn oracle(text: &str, max_depth: usize) -> Option<Node<'_>> {
        Node::parse_serde(text, max_depth, arena()).ok()
    }

    /// Whenever the fast parser answers, serde_json gives the same tree.
    fn agrees(text: &str, max_depth: usize) -> bool {
        match parse(text, max_depth) {
            Some(n) => oracle(text, max_depth) == Some(n),
            None => true,
        }
    }

    /// The masks a byte-by-byte look gives.
    fn naive(block: &[u8], is: impl Fn(u8) -> bool) -> u32 {
        block
            .iter()
            .enumerate()
            .filter(|&(_, &c)| is(c))
            .map(|(k, _)| 1 << k)
            .sum()
    }

    proptest! {
        #[test]
        fn block_scans_equal_a_byte_scan(
            bytes in prop::collection::vec(
                prop_oneof![Just(b' '), Just(b'"'), Just(b'\\'), Just(b'\n'), Just(0x1f), Just(0x20),
                    Just(0x7f), Just(0x80), Just(0xff), any::<u8>()],
                16..=48,
            ),
            c in prop_oneof![Just(b' '), any::<u8>()],
        ) {
            let block = &bytes[..16];
            let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
            prop_assert_eq!(scan::others(block, c), naive(block, |b| b != c));
            prop_assert_eq!(scan::specials(block), naive(block, special));
            prop_assert_eq!(scan::portable::others(block, c), naive(block, |b| b != c));
            prop_assert_eq!(scan::portable::specials(block), naive(block, special));
            prop_assert_eq!(spaces(&bytes), bytes.iter().take_while(|&&b| b == b' ').count());
            prop_assert_eq!(plain(&bytes), bytes.iter().take_while(|&&b| !special(b)).count());
        }
    }

    #[test]
    fn reads_what_kubectl_prints() {
        let text = "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {\n            \"kind\": \"Secret\",\n            \"data\": {},\n            \"n\": 18446744073709551\n        }\n    ],\n    \"kind\": \"List\",\n    \"ok\": true,\n    \"none\": null\n}\n";
        let n = parse(text, 128).expect("plain kubectl JSON is read");
        assert_eq!(Some(n), oracle(text, 128));
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        for t in [
            "[0, 7, 9999999999999999999, 18446744073709551615, 18446744073709551616]",
            "[-1, -0, -9223372036854775808, 1.5, -2.25e-3, 1E3, 0.1]",
        ] {
            assert_eq!(parse(t, 128), oracle(t, 128), "{t}");
        }
        assert!(
            parse("[1e400]", 128).is_none(),
            "out of range is serde_json's error"
        );
    }

    #[test]
    fn escapes_decode_as_serde_json_does() {
        for t in [
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u0041\u00e9\u20ac\ud83d\ude00 tail""#,
            r#"{"last-applied":"{\"kind\":\"Secret\",\"metadata\":{\"name\":\"x\"}}\n"}"#,
        ] {
            let n = parse(t, 128).expect(t);
            assert_eq!(Some(n), oracle(t, 128), "{t}");
        }
    }

    #[test]
    fn a_workload_template_is_skipped_by_both_parsers() {
        let text = r#"{"items": [
            {"kind": "Deployment", "spec": {"replicas": 2, "template": {"spec": {"containers": []}},
             "selector": {"template": 1}}},
            {"spec": {"template": {"a": 1}}, "kind": "ReplicaSet"},
            {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {}}, "schedule": "@daily"}},
            {"kind": "Pod", "spec": {"template": {"a": 1}}},
            {"kind": "Job", "status": {"template": {"a": 1}}}
        ]}"#;
        let n = parse(text, 128).expect("read");
        assert_eq!(Some(&n), oracle(text, 128).as_ref());
        let items = n.get("items").and_then(|v| v.as_array()).expect("items");
        let spec = |i: usize| items[i].get("spec").expect("spec");
        // a workload's template is read as null, its other members and deeper ones are kept
        assert_eq!(spec(0).get("template"), Some(&Node::Null));
        assert_eq!(spec(0).get("replicas"), Some(&Node::Number(&2.into())));
        assert!(matches!(
            spec(0).get("selector").and_then(|s| s.get("template")),
            Some(Node::Number(_))
        ));
        assert_eq!(spec(2).get("jobTemplate"), Some(&Node::Null));
        // the kind after the spec, another kind, or a template outside the spec: kept
        for (i, path) in [(1, "spec"), (3, "spec"), (4, "status")] {
            let t = items[i].get(path).and_then(|s| s.get("template"));
            assert!(matches!(t, Some(Node::Object(_))), "item {i}");
        }
        // a skipped template is still checked: broken, the text goes to serde_json
        let broken = r#"{"kind": "Deployment", "spec": {"template": {"a": [1,}}}"#;
        assert!(parse(broken, 128).is_none());
        assert!(oracle(broken, 128).is_none());
    }

    #[test]
    fn gives_up_on_what_it_does_not_decide() {
        for t in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "-",
            "1.5.2",
            "1-2",
            "\"\\ud800\"",
            "\"\\x\"",
            "\"tab\there\"",
            "[] x",
            "tru",
            "{\"fieldsV1\": {\"f:a\": [1,}}",
            // a skipped string is checked as a read one is
            "{\"fieldsV1\": {\"k:{\\x\": {}}}",
            "{\"fieldsV1\": [\"\\ud800\"]}",
            "{\"fieldsV1\": {\"a\": \"\\\"tab\there\"}}",
            // a container closed by the other kind's bracket, in a skipped value
            "{\"fieldsV1\": [1}}",
            "{\"fieldsV1\": {\"a\": {}]}",
            "{\"fieldsV1\": {\"a\" {}}}",
            "{\"fieldsV1\": {\"a\": {},}}",
            "{\"fieldsV1\": {1: {}}}",
        ] {
            assert!(parse(t, 128).is_none(), "{t:?}");
        }
        // and a well-formed one is passed
        let escaped_keys = r#"{"fieldsV1": {"k:{\"name\":\"app\"}": {"\u00e9\n": {}}}, "a": 1}"#;
        assert!(parse(escaped_keys, 128).is_some());
        assert!(agrees(escaped_keys, 128));
    }

    #[test]
    fn depth_limit_is_never_passed() {
        let deep = format!("{}{}", "[".repeat(5), "]".repeat(5));
        assert!(parse(&deep, 5).is_some());
        assert!(parse(&deep, 4).is_none());
        let nested = format!(
            "{}{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        assert!(parse(&nested, usize::MAX).is_none());
        let skipped = r#"{"fieldsV1":{"a":{"b":{}}}}"#;
        assert!(parse(skipped, 4).is_some());
        assert!(parse(skipped, 3).is_none());
    }

    #[test]
    fn fixture_bundles_are_read_fast_and_the_same() {
        let mut read = 0;
        for p in crate::ingest::repo_files(&["tests", "samples"]) {
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            if let Some(want) = oracle(&text, 128) {
                let got = parse(&text, 128);
                assert_eq!(got, Some(want), "{}", p.display());
                read += 1;
            }
        }
        assert!(read > 10, "only {read} JSON fixtures found");
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-z\"\\\\/é€\u{1F600}\n\t\u{1}]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::vec(("[a-zV1\"]{0,3}|fieldsV1", inner), 0..6)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn same_tree_as_serde_json(v in json_value(), pretty in any::<bool>(), depth in 1usize..8) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            prop_assert!(agrees(&text, depth));
            prop_assert!(agrees(&text, 128));
        }

        #[test]
        fn corrupted_text_never_differs(v in json_value(), edits in edits()) {
            let text = corrupted(serde_json::to_string_pretty(&v).unwrap(), edits);
            if let Some(text) = text {
                prop_assert!(agrees(&text, 128));
                prop_assert!(agrees(&text, 3));
            }
        }

        /// A field set is skipped by its own loop: checked as serde_json checks it, whole or
        /// corrupted, at any depth limit.
        #[test]
        fn a_skipped_field_set_is_checked_as_serde_json_checks_it(
            v in json_value(),
            pretty in any::<bool>(),
            edits in prop::collection::vec(edit(), 0..3),
            depth in 1usize..8,
        ) {
            let set = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let text = format!("{{\"managedFields\": [{{\"fieldsV1\": {set}, \"time\": 1}}]}}");
            if let Some(text) = corrupted(text, edits) {
                prop_assert!(agrees(&text, 128));
                prop_assert!(agrees(&text, depth));
            }
        }
    }

    /// An edit of a text: where, which (remove, insert, replace, cut) and the byte.
    type Edit = (prop::sample::Index, u8, u8);

    fn edit() -> impl Strategy<Value = Edit> {
        (any::<prop::sample::Index>(), 0u8..4, any::<u8>())
    }

    fn edits() -> impl Strategy<Value = Vec<Edit>> {
        prop::collection::vec(edit(), 1..4)
    }

    /// `text` with `edits` made, each putting in a byte JSON gives a meaning to; `None` when
    /// it is no longer UTF-8.
    fn corrupted(text: String, edits: Vec<Edit>) -> Option<String> {
        let mut bytes = text.into_bytes();
        for (at, op, b) in edits {
            let i = if bytes.is_empty() {
                0
            } else {
                at.index(bytes.len())
            };
            let pool = b"{}[]\",:\\ 0-.eE\nxtfnu\x01";
            let b = pool[usize::from(b) % pool.len()];
            match op {
                0 if !bytes.is_empty() => {
                    bytes.remove(i);
                }
                1 => bytes.insert(i, b),
                2 if !bytes.is_empty() => bytes[i] = b,
                _ => bytes.truncate(i),
            }
        }
        String::from_utf8(bytes).ok()
    }

    /// One item of a list text: its members, whether it holds a list of its own (`items`),
    /// whether it is printed over several lines, and how many line breaks come before it.
    type Item = (std::collections::BTreeMap<String, u32>, bool, bool, usize);

    /// A list of `items` as text (a bare array or a `List` object, whose `items` may come
    /// after an earlier `items` when `repeated`), with the line each item was put on.
    fn list_text(items: &[Item], bare: bool, repeated: bool) -> (String, Vec<u32>) {
        let mut text = String::from(if bare {
            "["
        } else {
            "{\n  \"apiVersion\": \"v1\",\n  \"other\": [\n    {\"a\": 1}\n  ],\n"
        });
        if !bare {
            if repeated {
                text += "  \"items\": [\n    {\"old\": 1},\n    {\"old\": 2}\n  ],\n";
            }
            text += "  \"items\": [";
        }
        let mut lines = Vec::new();
        for (i, (members, nested, pretty, breaks)) in items.iter().enumerate() {
            let mut v = serde_json::json!(members);
            if *nested {
                v["items"] = serde_json::json!([{"b": 1}, {"c": [{"d": 2}]}]);
            }
            if i > 0 {
                text.push(',');
            }
            text += &"\n".repeat(*breaks);
            lines.push(text.matches('\n').count() as u32);
            text += &if *pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
        }
        text += if bare {
            "\n]"
        } else {
            "\n  ],\n  \"kind\": \"List\"\n}"
        };
        (text, lines)
    }

    proptest! {
        /// The parser notes the line each item of a document's list starts on (of the last
        /// `items` when the key repeats), and no other array's elements.
        #[test]
        fn list_items_are_noted_on_their_lines(
            items in prop::collection::vec(
                (
                    prop::collection::btree_map("[a-z]{1,3}", 0u32..100, 0..3),
                    any::<bool>(),
                    any::<bool>(),
                    0usize..3,
                ),
                0..6,
            ),
            bare in any::<bool>(),
            repeated in any::<bool>(),
        ) {
            let (text, lines) = list_text(&items, bare, repeated);
            let (_, keys) = parse_keyed(&text, 128, arena()).expect("valid JSON");
            prop_assert_eq!(keys.items, lines, "{}", text);
        }
    }

    /// An object's `items` is not a list's unless the object is the document.
    #[test]
    fn nested_items_are_not_noted() {
        let (_, keys) = parse_keyed("{\"a\": {\"items\": [1, 2]}}", 128, arena()).unwrap();
        assert!(keys.items.is_empty());
        let (_, keys) = parse_keyed("[{\"items\": [1, 2]}]", 128, arena()).unwrap();
        assert_eq!(keys.items, vec![0]);
    }
}
