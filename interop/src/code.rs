//! Wormhole codes that are unique within one run of the suite.
//!
//! All tests share one mailbox server and run in parallel (nextest runs each test in its own
//! process), so two tests must never claim the same nameplate. A nameplate is reserved by
//! creating a file named after it in the run's shared state directory: `create_new` makes the
//! reservation atomic across processes.

use std::fmt;
use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::Path;

use rand::Rng;

/// Words from the PGP even/odd lists the wormhole clients use, so the codes look like real
/// ones. Every password built from them is longer than the 4 bytes `wormhole-rs` requires.
const EVEN_WORDS: [&str; 8] = [
    "aardvark", "absurd", "accrue", "adrift", "afflict", "ahead", "alone", "artist",
];
const ODD_WORDS: [&str; 8] = [
    "adroitness",
    "adviser",
    "aftermath",
    "aggregate",
    "alkali",
    "almighty",
    "amulet",
    "amusement",
];

/// A code `NAMEPLATE-WORD-WORD` with a nameplate reserved for this test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    nameplate: u32,
    even: usize,
    odd: usize,
}

impl Code {
    /// Reserves a fresh random 4–6 digit nameplate in `state_dir` and picks two words.
    pub fn reserve(state_dir: &Path) -> Code {
        let mut rng = rand::thread_rng();
        loop {
            let nameplate = rng.gen_range(1000..1_000_000);
            if try_reserve(state_dir, nameplate) {
                return Code {
                    nameplate,
                    even: rng.gen_range(0..EVEN_WORDS.len()),
                    odd: rng.gen_range(0..ODD_WORDS.len()),
                };
            }
        }
    }

    /// The same nameplate with different words: what someone who mistyped the code uses.
    pub fn mistyped(&self) -> Code {
        Code {
            nameplate: self.nameplate,
            even: (self.even + 1) % EVEN_WORDS.len(),
            odd: (self.odd + 3) % ODD_WORDS.len(),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (even, odd) = (EVEN_WORDS[self.even], ODD_WORDS[self.odd]);
        write!(f, "{}-{even}-{odd}", self.nameplate)
    }
}

fn try_reserve(state_dir: &Path, nameplate: u32) -> bool {
    let path = state_dir.join(format!("nameplate-{nameplate}"));
    match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => false,
        Err(e) => panic!("cannot reserve a nameplate in {}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_codes_are_unique_and_well_formed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let codes: Vec<String> = (0..200)
            .map(|_| Code::reserve(dir.path()).to_string())
            .collect();
        let nameplates: std::collections::HashSet<&str> = codes
            .iter()
            .map(|c| c.split('-').next().expect("nameplate"))
            .collect();
        assert_eq!(
            nameplates.len(),
            codes.len(),
            "nameplates repeat: {codes:?}"
        );
        for code in &codes {
            let parts: Vec<&str> = code.split('-').collect();
            assert_eq!(parts.len(), 3, "{code}");
            assert!((4..=6).contains(&parts[0].len()), "{code}");
        }
    }

    #[test]
    fn mistyped_code_keeps_the_nameplate_but_changes_both_words() {
        let dir = tempfile::tempdir().expect("tempdir");
        let code = Code::reserve(dir.path());
        let wrong = code.mistyped();
        let (a, b) = (code.to_string(), wrong.to_string());
        let (a, b): (Vec<&str>, Vec<&str>) = (a.split('-').collect(), b.split('-').collect());
        assert_eq!(a[0], b[0]);
        assert_ne!(a[1], b[1]);
        assert_ne!(a[2], b[2]);
    }
}
