//! Bencode (BEP 3): a strict decoder for hostile input and a canonical encoder.
//!
//! The decoder accepts only the canonical form — integers without leading zeros or `-0`,
//! string lengths without leading zeros, dictionary keys in strictly ascending byte order
//! — so one value has one encoding and an infohash computed over a re-encoded value equals
//! the one over the bytes received. Nesting and item count are bounded ([`Limits`]), and
//! every dictionary keeps the bytes it was decoded from ([`Dict::raw`]): the infohash is
//! the hash of the `info` dictionary exactly as it arrived.

use std::collections::BTreeMap;

/// What the decoder refuses, with the byte offset where it noticed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("bencode ends early at byte {0}")]
    UnexpectedEnd(usize),
    #[error("unexpected byte {byte:#04x} at byte {at}")]
    UnexpectedByte { byte: u8, at: usize },
    #[error("malformed integer at byte {0}")]
    BadInteger(usize),
    #[error("malformed string length at byte {0}")]
    BadLength(usize),
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    #[error("more than {0} items")]
    TooManyItems(usize),
    #[error("dictionary key at byte {0} is not a string")]
    KeyNotString(usize),
    #[error("dictionary keys out of order or repeated at byte {0}")]
    KeyOrder(usize),
    #[error("{0} bytes follow the value")]
    Trailing(usize),
}

/// Bounds on what one decode may build.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lists and dictionaries inside each other (libtorrent allows 100).
    pub depth: usize,
    /// Values of any kind, all levels together.
    pub items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 100,
            items: 4_000_000,
        }
    }
}

/// A decoded value, borrowing its strings from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    Dict(Dict<'a>),
}

/// A decoded dictionary: entries in key order, and the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dict<'a> {
    entries: Vec<(&'a [u8], Value<'a>)>,
    raw: &'a [u8],
}

impl<'a> Dict<'a> {
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.entries
            .binary_search_by(|(k, _)| (*k).cmp(key))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    pub fn entries(&self) -> &[(&'a [u8], Value<'a>)] {
        &self.entries
    }

    /// The dictionary's own encoding, `d` to `e`, as received.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a> Value<'a> {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A string that must be UTF-8 (names, paths, URLs).
    pub fn as_str(&self) -> Option<&'a str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict<'a>> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
}

/// Decodes exactly one value that spans the whole input.
pub fn decode(input: &[u8]) -> Result<Value<'_>, DecodeError> {
    decode_with(input, Limits::default())
}

/// [`decode`] with explicit bounds.
pub fn decode_with(input: &[u8], limits: Limits) -> Result<Value<'_>, DecodeError> {
    let (value, used) = decode_prefix_with(input, limits)?;
    match input.len() - used {
        0 => Ok(value),
        n => Err(DecodeError::Trailing(n)),
    }
}

/// Decodes one value at the start of `input` and says how many bytes it used: for
/// messages where raw data follows a dictionary (BEP 9's `ut_metadata` piece).
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), DecodeError> {
    decode_prefix_with(input, Limits::default())
}

pub fn decode_prefix_with(input: &[u8], limits: Limits) -> Result<(Value<'_>, usize), DecodeError> {
    let mut parser = Parser {
        input,
        pos: 0,
        items: 0,
        limits,
    };
    let value = parser.value(0)?;
    Ok((value, parser.pos))
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    items: usize,
    limits: Limits,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Result<u8, DecodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::UnexpectedEnd(self.pos))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, DecodeError> {
        self.items += 1;
        if self.items > self.limits.items {
            return Err(DecodeError::TooManyItems(self.limits.items));
        }
        match self.peek()? {
            b'i' => self.int().map(Value::Int),
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => self.list(depth + 1).map(Value::List),
            b'd' => self.dict(depth + 1).map(Value::Dict),
            byte => Err(DecodeError::UnexpectedByte { byte, at: self.pos }),
        }
    }

    fn enter(&mut self, depth: usize) -> Result<(), DecodeError> {
        if depth > self.limits.depth {
            return Err(DecodeError::TooDeep(self.limits.depth));
        }
        self.pos += 1;
        Ok(())
    }

    fn list(&mut self, depth: usize) -> Result<Vec<Value<'a>>, DecodeError> {
        self.enter(depth)?;
        let mut items = Vec::new();
        while self.peek()? != b'e' {
            items.push(self.value(depth)?);
        }
        self.pos += 1;
        Ok(items)
    }

    fn dict(&mut self, depth: usize) -> Result<Dict<'a>, DecodeError> {
        let start = self.pos;
        self.enter(depth)?;
        let mut entries: Vec<(&'a [u8], Value<'a>)> = Vec::new();
        while self.peek()? != b'e' {
            let at = self.pos;
            if !self.peek()?.is_ascii_digit() {
                return Err(DecodeError::KeyNotString(at));
            }
            let key = self.bytes()?;
            if entries.last().is_some_and(|(prev, _)| *prev >= key) {
                return Err(DecodeError::KeyOrder(at));
            }
            let value = self.value(depth)?;
            entries.push((key, value));
        }
        self.pos += 1;
        Ok(Dict {
            entries,
            raw: &self.input[start..self.pos],
        })
    }

    fn int(&mut self) -> Result<i64, DecodeError> {
        let start = self.pos;
        self.pos += 1;
        let digits = self.until(b'e', start)?;
        parse_canonical_int(digits).ok_or(DecodeError::BadInteger(start))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        let digits = self.until(b':', start)?;
        let len = parse_canonical_int(digits)
            .filter(|n| *n >= 0)
            .ok_or(DecodeError::BadLength(start))? as u64;
        let remaining = (self.input.len() - self.pos) as u64;
        if len > remaining {
            return Err(DecodeError::UnexpectedEnd(self.input.len()));
        }
        let end = self.pos + len as usize;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The bytes up to `stop` (at most 20: an i64 and its sign), consuming `stop`.
    fn until(&mut self, stop: u8, start: usize) -> Result<&'a [u8], DecodeError> {
        let from = self.pos;
        let window = &self.input[from..self.input.len().min(from + 21)];
        match window.iter().position(|b| *b == stop) {
            Some(n) => {
                self.pos = from + n + 1;
                Ok(&self.input[from..from + n])
            }
            None if window.len() == 21 => Err(DecodeError::BadInteger(start)),
            None => Err(DecodeError::UnexpectedEnd(self.input.len())),
        }
    }
}

/// `-?[1-9][0-9]*|0`, within i64.
fn parse_canonical_int(digits: &[u8]) -> Option<i64> {
    let unsigned = digits.strip_prefix(b"-").unwrap_or(digits);
    let canonical = match unsigned {
        [] => false,
        [b'0'] => unsigned.len() == digits.len(),
        [first, ..] => *first != b'0' && unsigned.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// An owned value to encode; dictionaries sort their keys as bencode requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bencode {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Bencode>),
    Dict(BTreeMap<Vec<u8>, Bencode>),
    /// Bytes already encoded (an `info` dictionary kept as received), written as they are.
    Raw(Vec<u8>),
}

impl Bencode {
    pub fn str(s: &str) -> Self {
        Bencode::Bytes(s.as_bytes().to_vec())
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Bencode::Int(n) => {
                out.push(b'i');
                out.extend_from_slice(n.to_string().as_bytes());
                out.push(b'e');
            }
            Bencode::Bytes(b) => encode_bytes(b, out),
            Bencode::List(items) => {
                out.push(b'l');
                items.iter().for_each(|item| item.encode_into(out));
                out.push(b'e');
            }
            Bencode::Dict(entries) => {
                out.push(b'd');
                for (key, value) in entries {
                    encode_bytes(key, out);
                    value.encode_into(out);
                }
                out.push(b'e');
            }
            Bencode::Raw(bytes) => out.extend_from_slice(bytes),
        }
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Builds a [`Bencode::Dict`] from `(key, value)` pairs.
pub fn dict<K: AsRef<[u8]>>(entries: impl IntoIterator<Item = (K, Bencode)>) -> Bencode {
    Bencode::Dict(
        entries
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_vec(), v))
            .collect(),
    )
}

impl From<&Value<'_>> for Bencode {
    fn from(value: &Value<'_>) -> Self {
        match value {
            Value::Int(n) => Bencode::Int(*n),
            Value::Bytes(b) => Bencode::Bytes(b.to_vec()),
            Value::List(items) => Bencode::List(items.iter().map(Bencode::from).collect()),
            Value::Dict(d) => Bencode::Dict(
                d.entries()
                    .iter()
                    .map(|(k, v)| (k.to_vec(), Bencode::from(v)))
                    .collect(),
            ),
        }
    }
}

#[cfg(test)]
#[path = "bencode_tests.rs"]
mod tests;
