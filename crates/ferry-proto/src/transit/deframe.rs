//! Cutting a byte stream into length-prefixed records, for both record layers:
//! v1 transit records (`len ‖ nonce ‖ tag ‖ ciphertext`, [`super::record`]) and
//! native records (`len ‖ ciphertext ‖ tag`, [`crate::native::record`]).
//!
//! The length prefix is checked before anything is allocated for the body, by the
//! record layer's own rule, so a hostile prefix costs nothing. Bytes arrive in any
//! pieces ([`Deframer::push`], or [`Deframer::spare`] + [`Deframer::commit`] to
//! read from a socket straight into the buffer); whole records come out, in place,
//! ready for the opener. The fuzz targets and the two-peer simulation read
//! streams through this, the same code the async client can use.

use super::record::RecordError;

/// Bytes of a length prefix (both layers).
pub const PREFIX_LEN: usize = 4;

/// A record layer's rule for its length prefix: the body length it announces,
/// or why no record may have it (`transit::record::Opener::body_len`,
/// `native::record::Opener::body_len`).
pub type BodyLen = fn([u8; PREFIX_LEN]) -> Result<usize, RecordError>;

/// One whole record, borrowed from the deframer's buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// The length prefix (native records use it as associated data).
    pub prefix: [u8; PREFIX_LEN],
    /// The body the prefix announced, to open in place.
    pub body: &'a mut [u8],
}

/// Collects stream bytes and hands out whole records.
#[derive(Debug)]
pub struct Deframer {
    body_len: BodyLen,
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out as records.
    read: usize,
    /// Bytes of `buf` holding stream data.
    filled: usize,
}

impl Deframer {
    /// A deframer for the record layer whose length rule is `body_len`.
    pub fn new(body_len: BodyLen) -> Self {
        Deframer {
            body_len,
            buf: Vec::new(),
            read: 0,
            filled: 0,
        }
    }

    /// Appends stream bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.spare(bytes.len()).copy_from_slice(bytes);
        self.commit(bytes.len());
    }

    /// Room for `n` more stream bytes, to read into; then [`Deframer::commit`].
    pub fn spare(&mut self, n: usize) -> &mut [u8] {
        if self.read > 0 {
            self.buf.copy_within(self.read..self.filled, 0);
            self.filled -= self.read;
            self.read = 0;
        }
        if self.buf.len() < self.filled + n {
            self.buf.resize(self.filled + n, 0);
        }
        &mut self.buf[self.filled..self.filled + n]
    }

    /// Counts `n` bytes written into [`Deframer::spare`] as stream data.
    ///
    /// # Panics
    /// If `n` is more than was asked for: a caller bug.
    pub fn commit(&mut self, n: usize) {
        assert!(self.filled + n <= self.buf.len(), "commit beyond spare");
        self.filled += n;
    }

    /// Bytes still missing before the next record is whole (at least 1 while
    /// none is), or the error its length prefix already shows. A reader that
    /// wants no copy reads exactly this many.
    pub fn missing(&self) -> Result<usize, RecordError> {
        let have = self.filled - self.read;
        let Some(prefix) = self.prefix() else {
            return Ok(PREFIX_LEN - have);
        };
        let whole = PREFIX_LEN + (self.body_len)(prefix)?;
        Ok(whole.saturating_sub(have))
    }

    fn prefix(&self) -> Option<[u8; PREFIX_LEN]> {
        self.buf[self.read..self.filled].first_chunk().copied()
    }

    /// The next whole record, `None` until one is, or the error of a length
    /// prefix that no record may have (the stream is dead after it).
    pub fn next_record(&mut self) -> Result<Option<RawRecord<'_>>, RecordError> {
        if self.missing()? > 0 {
            return Ok(None);
        }
        let Some(prefix) = self.prefix() else {
            return Ok(None);
        };
        let start = self.read + PREFIX_LEN;
        let end = start + (self.body_len)(prefix)?;
        self.read = end;
        Ok(Some(RawRecord {
            prefix,
            body: &mut self.buf[start..end],
        }))
    }

    /// Bytes received but not yet handed out (a stream that ends with some ends
    /// mid-record).
    pub fn pending(&self) -> usize {
        self.filled - self.read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::record::Opener as NativeOpener;
    use crate::transit::record::Opener as TransitOpener;

    fn native(body: &[u8]) -> Vec<u8> {
        let mut r = (body.len() as u32).to_be_bytes().to_vec();
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn records_come_out_whole_from_any_pieces() {
        let (a, b) = (native(&[1; 16]), native(&[2; 20]));
        let stream = [a.clone(), b.clone()].concat();
        for cut in 0..stream.len() {
            let mut d = Deframer::new(NativeOpener::body_len);
            d.push(&stream[..cut]);
            let mut got = Vec::new();
            while let Some(r) = d.next_record().unwrap() {
                got.push(r.body.to_vec());
            }
            d.push(&stream[cut..]);
            while let Some(r) = d.next_record().unwrap() {
                got.push(r.body.to_vec());
            }
            assert_eq!(got, vec![a[4..].to_vec(), b[4..].to_vec()], "cut at {cut}");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn missing_counts_down_and_bad_prefixes_fail_before_allocating() {
        let mut d = Deframer::new(NativeOpener::body_len);
        assert_eq!(d.missing(), Ok(4));
        d.push(&[0, 0, 0, 16, 9]);
        assert_eq!(d.missing(), Ok(15));
        let mut bad = Deframer::new(NativeOpener::body_len);
        bad.push(&u32::MAX.to_be_bytes());
        assert!(bad.next_record().is_err());
        assert!(bad.buf.len() < 16, "no room made for the claimed body");
        let mut short = Deframer::new(TransitOpener::body_len);
        short.push(&[0, 0, 0, 39]);
        assert_eq!(short.missing(), Err(RecordError::BadLength(39)));
    }
}
