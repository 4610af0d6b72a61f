//! In-memory index of the nameplates in use, per app id, for `list` and for
//! allocation. The state thread is the only writer of the store, so the index
//! stays exact; it is rebuilt from the store at start.
//!
//! Allocation follows the reference: a random free name among 1–9, else 10–99,
//! else 100–999, else up to 1,000 random tries in 1,000–999,999.

use std::collections::{HashMap, HashSet};

use rand::Rng;

/// The short tiers: 1–9, 10–99, 100–999.
const TIERS: [(u32, u32); 3] = [(1, 9), (10, 99), (100, 999)];
/// Random probes in a tier before listing its free names.
const PROBES: usize = 32;
const LONG_TRIES: usize = 1000;

#[derive(Debug, Default)]
struct AppNames {
    names: HashSet<String>,
    /// How many names of each short tier are taken.
    taken: [u32; 3],
}

/// Nameplates in use, by app id.
#[derive(Debug, Default)]
pub(crate) struct NameplateIndex {
    apps: HashMap<String, AppNames>,
    total: usize,
}

/// The short tier a name belongs to, if it is a canonical 1–3 digit number.
fn tier_of(name: &str) -> Option<usize> {
    let n: u32 = name.parse().ok()?;
    if n.to_string() != name {
        return None;
    }
    TIERS.iter().position(|(lo, hi)| (*lo..=*hi).contains(&n))
}

impl NameplateIndex {
    pub(crate) fn insert(&mut self, app: &str, name: &str) {
        let entry = self.apps.entry(app.to_owned()).or_default();
        if entry.names.insert(name.to_owned()) {
            self.total += 1;
            if let Some(t) = tier_of(name) {
                entry.taken[t] += 1;
            }
        }
    }

    pub(crate) fn remove(&mut self, app: &str, name: &str) {
        let Some(entry) = self.apps.get_mut(app) else {
            return;
        };
        if entry.names.remove(name) {
            self.total -= 1;
            if let Some(t) = tier_of(name) {
                entry.taken[t] -= 1;
            }
        }
        if entry.names.is_empty() {
            self.apps.remove(app);
        }
    }

    pub(crate) fn contains(&self, app: &str, name: &str) -> bool {
        self.apps.get(app).is_some_and(|e| e.names.contains(name))
    }

    /// Names in use for `app`, sorted as strings like the reference's `list`.
    pub(crate) fn sorted(&self, app: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .apps
            .get(app)
            .map(|e| e.names.iter().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub(crate) fn len(&self) -> usize {
        self.total
    }

    /// A random free name, shortest tier first; `None` if every try failed.
    pub(crate) fn pick_free(&self, app: &str, rng: &mut impl Rng) -> Option<String> {
        let empty = AppNames::default();
        let entry = self.apps.get(app).unwrap_or(&empty);
        for (t, (lo, hi)) in TIERS.iter().enumerate() {
            if entry.taken[t] < hi - lo + 1 {
                return Some(pick_in_tier(&entry.names, *lo, *hi, rng));
            }
        }
        (0..LONG_TRIES)
            .map(|_| rng.gen_range(1000..1_000_000u32).to_string())
            .find(|n| !entry.names.contains(n))
    }
}

/// A tier known to have a free name: probe randomly, then list what is free.
fn pick_in_tier(names: &HashSet<String>, lo: u32, hi: u32, rng: &mut impl Rng) -> String {
    for _ in 0..PROBES {
        let n = rng.gen_range(lo..=hi).to_string();
        if !names.contains(&n) {
            return n;
        }
    }
    let free: Vec<u32> = (lo..=hi)
        .filter(|n| !names.contains(&n.to_string()))
        .collect();
    // The caller checked the tier's count, so `free` is not empty.
    let n = free
        .get(rng.gen_range(0..free.len().max(1)))
        .copied()
        .unwrap_or(hi);
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn allocation_fills_tiers_in_order() {
        let mut idx = NameplateIndex::default();
        let mut rng = StdRng::seed_from_u64(7);
        for i in 0..999 {
            let n = idx.pick_free("app", &mut rng).unwrap();
            let expected_len = match i {
                0..=8 => 1,
                9..=98 => 2,
                _ => 3,
            };
            assert_eq!(n.len(), expected_len, "allocation {i} gave {n}");
            assert!(!idx.contains("app", &n));
            idx.insert("app", &n);
        }
        let big: u32 = idx.pick_free("app", &mut rng).unwrap().parse().unwrap();
        assert!((1000..1_000_000).contains(&big));
        // another app id has its own space
        assert_eq!(idx.pick_free("other", &mut rng).unwrap().len(), 1);
    }

    #[test]
    fn odd_names_do_not_count_in_tiers() {
        let mut idx = NameplateIndex::default();
        for n in ["0", "007", "12345"] {
            idx.insert("app", n);
        }
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.sorted("app"), ["0", "007", "12345"]);
        idx.remove("app", "007");
        assert_eq!(idx.len(), 2);
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(idx.pick_free("app", &mut rng).unwrap().len(), 1);
    }
}
