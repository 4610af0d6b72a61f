//! The frame order, one misstep at a time: what each machine refuses, and whose
//! fault it says it is. Whole conversations run in `crate::sim`.

use crate::native::ranges::GroupSet;
use crate::native::receiver::wants;
use crate::native::test_support::manifest;
use crate::native::wire::{ErrorCode, Frame};
use crate::transfer::v1::TRANSFER_REJECTED;

use super::*;

const G: u64 = 256 * 1024;

fn drain(s: &mut NativeSender) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

fn protocol(r: Result<(), NativeError>) -> bool {
    matches!(r, Err(NativeError::Protocol(_)))
}

/// A sender past `ACCEPT`, with the first batch hashed (trees of zeros).
fn accepted(sizes: &[u64]) -> NativeSender {
    let mut s = NativeSender::new(manifest(sizes));
    drain(&mut s);
    s.handle(Frame::Accept).unwrap();
    let Some(SendEvent::HashBatch(batch)) = s.poll_event() else {
        panic!("ACCEPT asks for the first batch");
    };
    let trees = batch.map(|n| zeros(sizes[n as usize])).collect();
    s.batch_hashed(trees).unwrap();
    s
}

fn zeros(size: u64) -> crate::native::tree::Tree {
    crate::sim::tree_of(&vec![0u8; size as usize])
}

#[test]
fn sender_starts_with_the_manifest_and_waits_for_accept() {
    let mut s = NativeSender::new(manifest(&[1, 2]));
    let out = drain(&mut s);
    assert!(
        matches!(&out[..], [Transmit::Frame(Frame::Entries(e)), Transmit::Frame(Frame::ManifestEnd(_))] if e.len() == 2)
    );
    assert!(s.wants_read());
    assert!(protocol(s.handle(Frame::Wants(vec![]))));
    assert!(s.is_done(), "an error ends the machine");
}

#[test]
fn sender_cuts_a_long_manifest_into_frames() {
    let mut s = NativeSender::new(manifest(&[1; 5000]));
    let sizes: Vec<usize> = drain(&mut s)
        .iter()
        .map(|t| match t {
            Transmit::Frame(Frame::Entries(e)) => e.len(),
            Transmit::Frame(Frame::ManifestEnd(t)) => {
                assert_eq!(t.files, 5000);
                0
            }
            other => panic!("{other:?} in the manifest"),
        })
        .collect();
    assert_eq!(sizes, vec![4096, 904, 0]);
}

#[test]
fn sender_reports_refusals_by_their_meaning() {
    let mut s = NativeSender::new(manifest(&[1]));
    let declined = s.handle(Frame::Reject(TRANSFER_REJECTED.into()));
    assert_eq!(declined, Err(NativeError::Declined));
    let mut s = NativeSender::new(manifest(&[1]));
    let refused = s.handle(Frame::Reject("disk full".into()));
    assert_eq!(refused, Err(NativeError::Rejected("disk full".into())));
    let mut s = NativeSender::new(manifest(&[1]));
    let error = Frame::Error {
        code: ErrorCode::Local,
        message: "no".into(),
    };
    assert!(matches!(
        s.handle(error),
        Err(NativeError::Peer {
            code: ErrorCode::Local,
            ..
        })
    ));
}

#[test]
fn sender_streams_wanted_groups_and_waits_on_a_full_window() {
    let mut s = accepted(&[3 * G, 10]);
    let head = drain(&mut s);
    assert!(matches!(
        head[0],
        Transmit::Frame(Frame::Batch { first: 0, count: 2 })
    ));
    let wanted = vec![
        (0, GroupSet::from_ranges(3, &[(1, 3)]).unwrap()),
        (1, GroupSet::full(1)),
    ];
    s.handle(Frame::Wants(wants(&wanted))).unwrap();
    let out = drain(&mut s);
    let data: Vec<_> = out
        .iter()
        .filter_map(|t| match t {
            Transmit::Data(d) => Some((d.file, d.group, d.offset, d.len)),
            _ => None,
        })
        .collect();
    assert_eq!(data, vec![(0, 1, G, G), (0, 2, 2 * G, G), (1, 0, 0, 10)]);
    assert_eq!(out.last(), Some(&Transmit::Frame(Frame::BatchEnd)));
    assert!(s.wants_read(), "waits for DONE");
    let wrong = crate::native::manifest::Totals {
        entries: 9,
        files: 9,
        bytes: 9,
    };
    assert!(protocol(s.handle(Frame::Done(wrong))));
}

#[test]
fn sender_checks_acks_and_the_window() {
    let mut s = NativeSender::with_limits(manifest(&[8 * G]), 1, u64::MAX, G);
    drain(&mut s);
    s.handle(Frame::Accept).unwrap();
    s.poll_event();
    s.batch_hashed(vec![zeros(8 * G)]).unwrap();
    drain(&mut s);
    s.handle(Frame::Wants(wants(&[(0, GroupSet::full(8))])))
        .unwrap();
    let out = drain(&mut s);
    let checkpoints = out
        .iter()
        .filter(|t| matches!(t, Transmit::Frame(Frame::Checkpoint(_))))
        .count();
    assert_eq!(checkpoints, 5, "stops once 5 are unacknowledged");
    assert!(s.wants_read());
    assert!(protocol(s.handle(Frame::Ack(1))), "ACKs come in order");
    let mut s = NativeSender::with_limits(manifest(&[8 * G]), 1, u64::MAX, G);
    drain(&mut s);
    s.handle(Frame::Accept).unwrap();
    s.poll_event();
    s.batch_hashed(vec![zeros(8 * G)]).unwrap();
    drain(&mut s);
    s.handle(Frame::Wants(wants(&[(0, GroupSet::full(8))])))
        .unwrap();
    drain(&mut s);
    s.handle(Frame::Ack(0)).unwrap();
    assert!(matches!(drain(&mut s).first(), Some(Transmit::Data(d)) if d.group == 5));
}

/// The sender's progress is what the receiver acknowledged, not what went
/// into the socket: nothing counts until an `ACK`, the rest at `DONE`.
#[test]
fn sender_progress_follows_the_receivers_acks() {
    let mut s = NativeSender::with_limits(manifest(&[3 * G]), 1, u64::MAX, 2 * G);
    drain(&mut s);
    s.handle(Frame::Accept).unwrap();
    s.poll_event();
    s.batch_hashed(vec![zeros(3 * G)]).unwrap();
    drain(&mut s);
    s.handle(Frame::Wants(wants(&[(0, GroupSet::full(3))])))
        .unwrap();
    let progress = |s: &mut NativeSender| -> Vec<u64> {
        std::iter::from_fn(|| s.poll_event())
            .filter_map(|e| match e {
                SendEvent::Progress { done, .. } | SendEvent::Present { done, .. } => Some(done),
                _ => None,
            })
            .collect()
    };
    assert_eq!(progress(&mut s), vec![0], "nothing was already there");
    drain(&mut s);
    assert_eq!(
        progress(&mut s),
        Vec::<u64>::new(),
        "written is not received"
    );
    s.handle(Frame::Ack(0)).unwrap();
    assert_eq!(progress(&mut s), vec![2 * G]);
    s.handle(Frame::Done(s.manifest().totals())).unwrap();
    assert_eq!(progress(&mut s), vec![3 * G]);
}

#[test]
fn sender_refuses_trees_that_do_not_fit() {
    let mut s = NativeSender::new(manifest(&[10]));
    drain(&mut s);
    assert!(matches!(s.batch_hashed(vec![]), Err(NativeError::Usage(_))));
    s.handle(Frame::Accept).unwrap();
    assert!(matches!(
        s.batch_hashed(vec![zeros(11)]),
        Err(NativeError::Usage(_))
    ));
}

fn receiver_with_offer(sizes: &[u64]) -> NativeReceiver {
    let m = manifest(sizes);
    let mut r = NativeReceiver::new();
    r.handle(Frame::Entries(m.entries().to_vec())).unwrap();
    r.handle(Frame::ManifestEnd(m.totals())).unwrap();
    assert_eq!(r.poll_event(), Some(RecvEvent::Offer));
    r
}

#[test]
fn receiver_holds_the_sender_silent_until_it_decides() {
    let mut r = receiver_with_offer(&[10]);
    assert!(!r.wants_read());
    assert!(protocol(r.handle(Frame::Batch { first: 0, count: 1 })));
    let mut r = receiver_with_offer(&[10]);
    r.decline().unwrap();
    assert_eq!(
        r.poll_transmit(),
        Some(Frame::Reject(TRANSFER_REJECTED.into()))
    );
    assert!(r.is_done());
}

#[test]
fn receiver_refuses_a_manifest_with_wrong_totals() {
    let m = manifest(&[10]);
    let mut r = NativeReceiver::new();
    r.handle(Frame::Entries(m.entries().to_vec())).unwrap();
    let mut t = m.totals();
    t.bytes += 1;
    assert!(protocol(r.handle(Frame::ManifestEnd(t))));
}

/// A receiver that accepted `[3 groups, 10 bytes]`, got the trees and asked
/// for groups 1..3 of file 0 and all of file 1.
fn receiving() -> NativeReceiver {
    let mut r = receiver_with_offer(&[3 * G, 10]);
    r.accept().unwrap();
    assert_eq!(r.poll_transmit(), Some(Frame::Accept));
    r.handle(Frame::Batch { first: 0, count: 2 }).unwrap();
    for (n, size) in [(0, 3 * G), (1, 10)] {
        for frame in crate::native::sender::tree_frames(n, &zeros(size)) {
            r.handle(frame).unwrap();
        }
    }
    assert!(
        matches!(r.poll_event(), Some(RecvEvent::Plan { first: 0, trees }) if trees.len() == 2)
    );
    let wanted = vec![
        GroupSet::from_ranges(3, &[(1, 3)]).unwrap(),
        GroupSet::full(1),
    ];
    r.planned(wanted).unwrap();
    assert!(matches!(r.poll_transmit(), Some(Frame::Wants(w)) if w.len() == 2));
    r
}

static ZEROS: [u8; G as usize] = [0; G as usize];

fn data(file: u32, group: u32, len: u64) -> Frame<'static> {
    let bytes = &ZEROS[..len as usize];
    Frame::Data { file, group, bytes }
}

#[test]
fn receiver_places_data_in_order_and_acks_checkpoints() {
    let mut r = receiving();
    r.handle(data(0, 1, G)).unwrap();
    let write = RecvEvent::Write {
        file: 0,
        group: 1,
        offset: G,
        len: G,
        last_of_file: false,
    };
    assert_eq!(r.poll_event(), Some(write));
    r.handle(Frame::Checkpoint(0)).unwrap();
    assert_eq!(r.poll_transmit(), Some(Frame::Ack(0)));
    r.handle(data(0, 2, G)).unwrap();
    r.handle(data(1, 0, 10)).unwrap();
    r.handle(Frame::BatchEnd).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| r.poll_event()).collect();
    assert_eq!(events.last(), Some(&RecvEvent::Finish));
    assert!(events.contains(&RecvEvent::BatchEnd(0..2)));
    r.finished().unwrap();
    assert!(matches!(r.poll_transmit(), Some(Frame::Done(t)) if t.bytes == 3 * G + 10));
    assert!(r.is_done());
}

#[test]
fn receiver_refuses_data_out_of_place_or_size() {
    let mut r = receiving();
    assert!(protocol(r.handle(data(0, 2, G))), "group 1 comes first");
    let mut r = receiving();
    assert!(protocol(r.handle(data(0, 1, G - 1))), "a whole group");
    let mut r = receiving();
    r.handle(data(0, 1, G)).unwrap();
    assert!(protocol(r.handle(Frame::BatchEnd)), "group 2 is missing");
    let mut r = receiving();
    assert!(protocol(r.handle(Frame::Ack(0))), "ACK goes the other way");
}

#[test]
fn receiver_refuses_a_plan_that_does_not_fit() {
    let mut r = receiver_with_offer(&[3 * G]);
    r.accept().unwrap();
    r.handle(Frame::Batch { first: 0, count: 1 }).unwrap();
    for frame in crate::native::sender::tree_frames(0, &zeros(3 * G)) {
        r.handle(frame).unwrap();
    }
    assert!(matches!(
        r.planned(vec![GroupSet::full(2)]),
        Err(NativeError::Usage(_))
    ));
}

/// A `late-roots` sender of `sizes` past `ACCEPT`, waiting for `FRESH`.
fn late_sender(sizes: &[u64]) -> NativeSender {
    let mut s = NativeSender::new(manifest(sizes)).with_late_roots();
    drain(&mut s);
    s.handle(Frame::Accept).unwrap();
    assert_eq!(s.poll_event(), None, "nothing is hashed before FRESH");
    assert!(s.wants_read());
    s
}

#[test]
fn sender_streams_fresh_files_whole_with_their_roots_after_them() {
    let mut s = late_sender(&[2 * G, 0, 10]);
    s.handle(Frame::Fresh(vec![(0, 2)])).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
    let hashed: Vec<std::ops::Range<u32>> = std::iter::once(2..3).collect();
    assert_eq!(events[0], SendEvent::TreeBatches(hashed));
    assert!(matches!(events[1], SendEvent::Present { done: 0, .. }));
    assert!(
        matches!(&events[2], SendEvent::StreamWhole { files, groups } if *files == (0..2) && groups.len() == 2)
    );
    let order: Vec<String> = drain(&mut s)
        .iter()
        .map(|t| match t {
            Transmit::Frame(f) => f.name().to_owned(),
            Transmit::Data(d) => format!("{}/{}", d.file, d.group),
            Transmit::Root(n) => format!("root {n}"),
        })
        .collect();
    let want = ["STREAM", "0/0", "0/1", "root 0", "root 1", "BATCH_END"];
    assert_eq!(order, want);
    // Then the tree batch of the file that is not fresh.
    assert_eq!(s.poll_event(), Some(SendEvent::HashBatch(2..3)));
}

#[test]
fn sender_refuses_a_fresh_list_that_does_not_fit() {
    let mut s = late_sender(&[1, 1]);
    assert!(
        protocol(s.handle(Frame::Fresh(vec![(0, 3)]))),
        "past the end"
    );
    let mut s = late_sender(&[1, 1]);
    assert!(
        protocol(s.handle(Frame::Fresh(vec![(1, 2), (0, 1)]))),
        "sorted"
    );
    let mut s = late_sender(&[1]);
    assert!(protocol(s.handle(Frame::Batch { first: 0, count: 1 })));
    let mut s = NativeSender::new(manifest(&[1]));
    drain(&mut s);
    s.handle(Frame::Accept).unwrap();
    assert!(protocol(s.handle(Frame::Fresh(vec![]))), "not agreed");
}

/// A receiver of `[2 groups, 0 bytes, 10 bytes]` that named files 0 and 1
/// fresh.
fn late_receiver() -> NativeReceiver {
    let mut r = receiver_with_offer(&[2 * G, 0, 10]);
    let mut fresh = GroupSet::empty(3);
    (0..2).for_each(|n| fresh.insert(n));
    r.accept_fresh(fresh).unwrap();
    assert_eq!(r.poll_transmit(), Some(Frame::Accept));
    assert_eq!(r.poll_transmit(), Some(Frame::Fresh(vec![(0, 2)])));
    r
}

#[test]
fn receiver_takes_a_stream_of_fresh_files_then_their_roots() {
    let mut r = late_receiver();
    r.handle(Frame::Stream { first: 0, count: 2 }).unwrap();
    assert!(
        matches!(r.poll_event(), Some(RecvEvent::Stream { first: 0, layouts }) if layouts.len() == 2)
    );
    r.handle(data(0, 0, G)).unwrap();
    r.handle(Frame::Checkpoint(0)).unwrap();
    assert_eq!(r.poll_transmit(), Some(Frame::Ack(0)));
    r.handle(data(0, 1, G)).unwrap();
    let root = |file| Frame::Root {
        file,
        root: [file as u8; 32],
    };
    r.handle(root(0)).unwrap();
    r.handle(root(1)).unwrap();
    r.handle(Frame::BatchEnd).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| r.poll_event()).collect();
    let last = RecvEvent::Write {
        file: 0,
        group: 1,
        offset: G,
        len: G,
        last_of_file: true,
    };
    assert_eq!(events[1], last);
    assert_eq!(
        events[2],
        RecvEvent::Root {
            file: 0,
            root: [0; 32]
        }
    );
    assert_eq!(events.last(), Some(&RecvEvent::BatchEnd(0..2)));
    assert!(r.wants_read(), "file 2 still comes, trees first");
}

#[test]
fn receiver_refuses_a_stream_out_of_order() {
    let mut r = late_receiver();
    let e = r.handle(Frame::Stream { first: 0, count: 3 });
    assert!(protocol(e), "file 2 is not fresh");
    let stream = || {
        let mut r = late_receiver();
        r.handle(Frame::Stream { first: 0, count: 2 }).unwrap();
        r
    };
    let root0 = Frame::Root {
        file: 0,
        root: [0; 32],
    };
    assert!(protocol(stream().handle(data(0, 1, G))), "group 0 first");
    assert!(protocol(stream().handle(data(1, 0, 1))), "file 0 first");
    assert!(protocol(stream().handle(root0.clone())), "data first");
    let mut r = stream();
    r.handle(data(0, 0, G)).unwrap();
    assert!(protocol(r.handle(data(0, 1, G - 1))), "a whole group");
    let mut r = stream();
    r.handle(data(0, 0, G)).unwrap();
    r.handle(data(0, 1, G)).unwrap();
    assert!(protocol(r.handle(data(0, 2, G))), "no group past the end");
    let mut r = stream();
    r.handle(data(0, 0, G)).unwrap();
    r.handle(data(0, 1, G)).unwrap();
    r.handle(root0).unwrap();
    assert!(
        protocol(r.handle(Frame::BatchEnd)),
        "file 1's root is missing"
    );
    let mut r = receiver_with_offer(&[10]);
    r.accept().unwrap();
    let e = r.handle(Frame::Stream { first: 0, count: 1 });
    assert!(protocol(e), "no STREAM without FRESH");
}
