//! BitTorrent peer wire bytes as a peer sends them: the handshake, then the message
//! stream through `torrent::wire::Deframer`, cut into two reads at a point chosen by
//! the input; each extended message also through the BEP 10 / BEP 9 / BEP 11 decoders.
//! What decodes must re-encode to exactly the bytes of its frame; a ut_metadata or
//! ut_pex message must decode again from its encoding to the same value.
#![no_main]

use bytes::{Bytes, BytesMut};
use ferry_proto::torrent::wire::extension::{ExtHandshake, UtMetadata};
use ferry_proto::torrent::wire::pex::Pex;
use ferry_proto::torrent::wire::{Decoded, Deframer, Handshake, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    if let Ok(Decoded::Done(hs)) = Handshake::decode(data) {
        assert_eq!(hs.encode()[..], data[..68]);
    }
    let cut = (cut as usize * data.len() / 255).min(data.len());
    let mut deframer = Deframer::default();
    let mut frames = Vec::new();
    // After an error the stream is out of step: stop there, as a connection would.
    'parts: for part in [&data[..cut], &data[cut..]] {
        deframer.buffer().extend_from_slice(part);
        loop {
            match deframer.next() {
                Ok(Some(m)) => frames.push(m),
                Ok(None) => break,
                Err(_) => break 'parts,
            }
        }
    }
    let mut encoded = BytesMut::new();
    for message in &frames {
        message.encode(&mut encoded);
        if let Message::Extended { payload, .. } = message {
            let _ = ExtHandshake::decode(payload);
            // Unknown keys are ignored (BEP 10), so compare decoded values.
            if let Ok(m) = UtMetadata::decode(payload.clone()) {
                let again = UtMetadata::decode(Bytes::from(m.encode()));
                assert_eq!(again.as_ref(), Ok(&m), "ut_metadata does not round-trip");
            }
            if let Ok(p) = Pex::decode(payload) {
                assert_eq!(Pex::decode(&p.encode()), Ok(p), "ut_pex does not round-trip");
            }
        }
    }
    assert_eq!(
        encoded[..],
        data[..encoded.len()],
        "frames did not re-encode"
    );
});
