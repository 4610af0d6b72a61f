//! A record layer over two pipes, as a driver holds it: seal what goes out,
//! deframe and open what comes in. Native records (AEAD, implicit nonces) or v1
//! transit records (secretbox, explicit counter nonces).

use crate::crypto::kdf::TransitKey;
use crate::native::record::{self as native, Aead};
use crate::transit::deframe::Deframer;
use crate::transit::record::{self as transit, RecordError};
use crate::transit::Role;

use super::pipe::Pipe;
use super::side::Io;

// One per simulated side: the size of the native ciphers' key schedules is no concern.
#[allow(clippy::large_enum_variant)]
enum Layer {
    Native(native::Sealer, native::Opener),
    Transit(transit::Sealer, transit::Opener),
}

/// Why reading a record failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ReadError {
    /// The record did not open: the bytes were damaged or moved on the way.
    Record(RecordError),
    /// The connection ended (mid-record or between records).
    Lost,
}

pub(super) struct Link {
    layer: Layer,
    deframer: Deframer,
}

/// The key both sides derived (any 32 bytes do in a simulation).
const KEY: [u8; 32] = [0x5e; 32];

impl Link {
    pub(super) fn native(aead: Aead, role: Role) -> Self {
        let key = TransitKey::from_bytes(KEY);
        Link {
            layer: Layer::Native(
                native::Sealer::new(&key, aead, role),
                native::Opener::new(&key, aead, role),
            ),
            deframer: Deframer::new(native::Opener::body_len),
        }
    }

    pub(super) fn transit(role: Role) -> Self {
        let key = TransitKey::from_bytes(KEY);
        Link {
            layer: Layer::Transit(
                transit::Sealer::new(&key, role),
                transit::Opener::new(&key, role),
            ),
            deframer: Deframer::new(transit::Opener::body_len),
        }
    }

    /// Seals `plaintext` as one record onto `out`.
    pub(super) fn send(&mut self, plaintext: &[u8], io: &mut Io<'_>) {
        let mut record = Vec::new();
        match &mut self.layer {
            Layer::Native(sealer, _) => sealer.seal_frame(plaintext, &mut record),
            Layer::Transit(sealer, _) => sealer.seal_frame(plaintext, &mut record),
        }
        io.out.send(io.now, record, io.rng);
    }

    /// Seals a native record laid out in place (`[prefix][frame][tag]`), as
    /// the zero-copy data path does.
    pub(super) fn send_in_place(&mut self, mut record: Vec<u8>, io: &mut Io<'_>) {
        if let Layer::Native(sealer, _) = &mut self.layer {
            sealer.seal_in_place(&mut record);
        }
        io.out.send(io.now, record, io.rng);
    }

    /// The plaintext of the next whole record, if one has arrived by `now`.
    pub(super) fn recv(&mut self, inp: &mut Pipe, now: u64) -> Result<Option<Vec<u8>>, ReadError> {
        let bytes = inp.recv(now);
        self.deframer.push(&bytes);
        let eof = inp.at_eof();
        let record = self.deframer.next_record().map_err(ReadError::Record)?;
        let Some(record) = record else {
            return if eof { Err(ReadError::Lost) } else { Ok(None) };
        };
        let plain = match &mut self.layer {
            Layer::Native(_, opener) => {
                let n = opener.open_in_place(record.prefix, record.body);
                n.map(|n| record.body[..n].to_vec())
            }
            Layer::Transit(_, opener) => opener
                .open_in_place(record.body)
                .map(|()| record.body[transit::OVERHEAD..].to_vec()),
        };
        plain.map(Some).map_err(ReadError::Record)
    }
}
