//! Whole v1 transfers between the two machines, many seeds each.

use rand::rngs::StdRng;
use rand::Rng;

use crate::transfer::v1::{Offer, PeerMessage, V1Error};

use super::for_seeds;
use super::pipe::Faults;
use super::side::Failure;
use super::v1::{run_v1, Answer, V1Run};

const SEEDS: u64 = 100;

fn file(rng: &mut StdRng) -> (Offer, Vec<u8>) {
    let size = match rng.gen_range(0..3) {
        0 => 0,
        1 => rng.gen_range(1..100),
        _ => rng.gen_range(100..100_000),
    };
    let mut data = vec![0u8; size];
    let mut xof = blake3::Hasher::new()
        .update(&rng.gen::<[u8; 32]>())
        .finalize_xof();
    xof.fill(&mut data);
    let offer = Offer::File {
        filename: "f.bin".into(),
        filesize: size as u64,
    };
    (offer, data)
}

fn hints_sent(run: &V1Run) -> usize {
    let transit = |m: &&PeerMessage| matches!(m, PeerMessage::Transit(_));
    run.receiver_sent.iter().filter(transit).count()
}

#[test]
fn files_arrive_whole_whatever_the_mailbox_does() {
    for_seeds(SEEDS, |rng| {
        let (offer, data) = file(rng);
        let run = run_v1(offer, &data, (Answer::Accept, Faults::default(), 0.3), rng);
        assert!(run.sender.is_ok() && run.receiver.is_ok(), "{run:?}");
        assert!(run.kept.as_deref() == Some(&data[..]), "wrong bytes kept");
        assert_eq!(hints_sent(&run), 1, "our hints go out exactly once");
    });
}

#[test]
fn text_needs_no_transit() {
    for_seeds(SEEDS, |rng| {
        let offer = Offer::Message("hé".into());
        let run = run_v1(offer, &[], (Answer::Accept, Faults::default(), 0.3), rng);
        assert!(run.sender.is_ok() && run.receiver.is_ok(), "{run:?}");
        assert_eq!(run.kept.as_deref(), Some("hé".as_bytes()));
        assert_eq!(hints_sent(&run), 0, "no hints came, none go");
    });
}

#[test]
fn a_declined_offer_moves_nothing() {
    for_seeds(SEEDS, |rng| {
        let (offer, data) = file(rng);
        let run = run_v1(offer, &data, (Answer::Decline, Faults::default(), 0.3), rng);
        assert_eq!(run.sender, Err(Failure::V1(V1Error::Declined)));
        assert!(run.kept.is_none());
    });
}

#[test]
fn damaged_transit_records_end_in_a_clean_error() {
    let faults = Faults {
        duplicate: 0.05,
        reorder: 0.05,
        truncate: 0.03,
        corrupt: 0.05,
        drop_before: None,
    };
    for_seeds(SEEDS, |rng| {
        let (offer, data) = file(rng);
        let run = run_v1(offer, &data, (Answer::Accept, faults, 0.0), rng);
        if run.receiver.is_ok() {
            assert!(run.kept.as_deref() == Some(&data[..]), "wrong bytes kept");
            return;
        }
        assert!(run.injected.damaged || run.injected.dropped, "{run:?}");
        assert!(run.kept.is_none(), "a failed receive keeps nothing");
        let clean = matches!(run.receiver, Err(Failure::Record(_) | Failure::Lost));
        assert!(clean, "{run:?}");
        assert!(run.sender.is_err(), "{run:?}");
    });
}
