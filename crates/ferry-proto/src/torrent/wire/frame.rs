//! The deframer: bytes from the socket in, whole messages out.
//!
//! A frame's length is checked the moment its 4-byte prefix arrives, so a peer that
//! announces a huge message is refused before any of it is buffered. Frames are split
//! off the buffer without copying; a piece's data stays in the bytes that were read.

use bytes::{Buf, BytesMut};

use super::message::{Message, WireError};

/// Largest frame body accepted by default: a 16 KiB block with its 13-byte header, with
/// room for a bitfield of 8 M pieces or a large extension message. libtorrent refuses
/// frames over 1 MiB (`packet_too_large`).
pub const DEFAULT_MAX_FRAME: u32 = 1024 * 1024 + 13;

/// Splits a byte stream into messages. Call order: [`Deframer::buffer`] (append what was
/// read), then [`Deframer::next`] until it returns `Ok(None)`.
#[derive(Debug)]
pub struct Deframer {
    buf: BytesMut,
    max_frame: u32,
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::new(DEFAULT_MAX_FRAME)
    }
}

impl Deframer {
    pub fn new(max_frame: u32) -> Self {
        Deframer {
            buf: BytesMut::new(),
            max_frame,
        }
    }

    /// Where the caller appends received bytes.
    pub fn buffer(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The next whole message, `None` if more bytes are needed. After an error the
    /// stream is out of step: close the connection.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Message>, WireError> {
        let Some(len) = self.announced_len() else {
            return Ok(None);
        };
        if len > self.max_frame {
            return Err(WireError::TooLong {
                len,
                max: self.max_frame,
            });
        }
        let total = 4 + len as usize;
        if self.buf.len() < total {
            self.buf.reserve(total - self.buf.len());
            return Ok(None);
        }
        let mut frame = self.buf.split_to(total);
        frame.advance(4);
        Message::decode(frame.freeze()).map(Some)
    }

    /// Bytes still needed for the frame under way (at least one if the buffer is empty).
    pub fn wanted(&self) -> usize {
        match self.announced_len() {
            Some(len) => (4 + len as usize).saturating_sub(self.buf.len()).max(1),
            None => 4 - self.buf.len(),
        }
    }

    fn announced_len(&self) -> Option<u32> {
        let prefix = self.buf.get(..4)?;
        Some(u32::from_be_bytes([
            prefix[0], prefix[1], prefix[2], prefix[3],
        ]))
    }
}
