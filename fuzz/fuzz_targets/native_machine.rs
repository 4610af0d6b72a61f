//! The native state machines (`native::machine`) fed decoded frames in any
//! order: a receiver whose driver accepts and wants everything, or a sender of
//! a fixed three-file manifest. Input: a mode byte, then frames, each a `u16`
//! BE length and that many bytes (the `native_wire` seed layout).
#![no_main]

use ferry_proto::native::machine::{
    NativeReceiver, NativeSender, RecvEvent, SendEvent, Transmit,
};
use ferry_proto::native::manifest::{Entry, EntryKind, Manifest, ManifestBuilder, Mtime};
use ferry_proto::native::ranges::GroupSet;
use ferry_proto::native::tree::{Layout, Tree, TreeBuilder};
use ferry_proto::native::wire;
use ferry_proto::transfer::path::SafeRelativePath;
use libfuzzer_sys::fuzz_target;

const SIZES: [u64; 3] = [0, 5000, 600_000];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let frames = frames(rest);
    match mode % 2 {
        0 => receiver(&frames),
        _ => sender(&frames),
    }
});

fn frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((len, rest)) = data.split_first_chunk::<2>() {
        let n = usize::from(u16::from_be_bytes(*len));
        let Some(frame) = rest.get(..n) else {
            break;
        };
        out.push(frame);
        data = &rest[n..];
    }
    out
}

/// Whatever the peer sends, an honest driver's answers are never out of turn,
/// and an error leaves the machine finished.
fn receiver(frames: &[&[u8]]) {
    let mut r = NativeReceiver::new();
    for bytes in frames {
        let Ok(frame) = wire::decode(bytes) else {
            return;
        };
        if r.handle(frame).is_err() {
            assert!(r.is_done());
            return;
        }
        while let Some(event) = r.poll_event() {
            match event {
                RecvEvent::Offer => r.accept().expect("an offer may be accepted"),
                RecvEvent::Plan { trees, .. } => {
                    let all = trees.iter().map(|t| GroupSet::full(t.layout().groups() as u32));
                    r.planned(all.collect()).expect("a full plan fits");
                }
                RecvEvent::Write { len, .. } => assert!(len <= 4 << 20),
                RecvEvent::Finish => r.finished().expect("finishing after the last batch"),
                _ => {}
            }
        }
        while r.poll_transmit().is_some() {}
    }
}

fn sender(frames: &[&[u8]]) {
    let (manifest, trees) = offer();
    let mut s = NativeSender::new(manifest);
    for bytes in frames {
        drain(&mut s, &trees);
        let Ok(frame) = wire::decode(bytes) else {
            return;
        };
        if s.handle(frame).is_err() {
            assert!(s.is_done());
            return;
        }
    }
    drain(&mut s, &trees);
}

/// Sends what the sender queued (every group inside its file) and hashes the
/// batches it asks for.
fn drain(s: &mut NativeSender, trees: &[Tree]) {
    loop {
        while let Some(t) = s.poll_transmit() {
            if let Transmit::Data(d) = t {
                assert!(d.offset + d.len <= SIZES[d.file as usize]);
            }
        }
        let Some(event) = s.poll_event() else {
            return;
        };
        if let SendEvent::HashBatch(batch) = event {
            let batch = trees[batch.start as usize..batch.end as usize].to_vec();
            s.batch_hashed(batch).expect("the trees of the batch asked for");
        }
    }
}

fn offer() -> (Manifest, Vec<Tree>) {
    let mut b = ManifestBuilder::new();
    for (i, size) in SIZES.into_iter().enumerate() {
        let entry = Entry {
            path: SafeRelativePath::parse(&format!("f{i}")).expect("safe name"),
            kind: EntryKind::File { size },
            mode: 0o644,
            mtime: Mtime::default(),
        };
        b.push(entry).expect("valid entry");
    }
    let totals = b.totals();
    let trees = SIZES.into_iter().map(zeros).collect();
    (b.finish(totals).expect("valid manifest"), trees)
}

fn zeros(size: u64) -> Tree {
    let mut b = TreeBuilder::new(Layout::for_size(size));
    while let Some((_, len)) = b.next_span() {
        b.add_group(&vec![0u8; len as usize]).expect("whole group");
    }
    b.finish().expect("every group")
}
