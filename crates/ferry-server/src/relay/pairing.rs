//! Pairing relay connections by token, sans-IO and generic over what is stored
//! for a waiting connection.
//!
//! A connection with a token either finds a waiting partner (same token, and a
//! different side, or either side legacy) or waits. Two connections with the same
//! token and the same side never pair: that would relay a client to itself. When a
//! pair forms, any other connections waiting on that token are redundant and are
//! handed back to be dropped.

use std::collections::HashMap;

struct Waiting<T> {
    id: u64,
    side: Option<String>,
    value: T,
}

/// What an arriving connection gets.
pub(crate) enum Arrival<T> {
    /// Paired with this waiting connection; `redundant` others must be dropped.
    Paired { partner: T, redundant: Vec<T> },
    /// Now waiting under its id.
    Waiting,
}

/// Connections waiting for a partner, by token.
pub(crate) struct Pairing<T> {
    waiting: HashMap<String, Vec<Waiting<T>>>,
    count: usize,
}

impl<T> Default for Pairing<T> {
    fn default() -> Self {
        Pairing {
            waiting: HashMap::new(),
            count: 0,
        }
    }
}

fn compatible(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a != b,
        _ => true,
    }
}

impl<T> Pairing<T> {
    /// Connection `id` arrives with `token` and `side`.
    pub(crate) fn arrive(
        &mut self,
        id: u64,
        token: &str,
        side: Option<&str>,
        value: T,
    ) -> Arrival<T> {
        let list = self.waiting.entry(token.to_owned()).or_default();
        if let Some(i) = list
            .iter()
            .position(|w| compatible(w.side.as_deref(), side))
        {
            let partner = list.remove(i).value;
            let redundant: Vec<T> = list.drain(..).map(|w| w.value).collect();
            self.waiting.remove(token);
            self.count -= 1 + redundant.len();
            return Arrival::Paired { partner, redundant };
        }
        list.push(Waiting {
            id,
            side: side.map(str::to_owned),
            value,
        });
        self.count += 1;
        Arrival::Waiting
    }

    /// Whether a connection with `token` and `side` would pair now.
    pub(crate) fn would_pair(&self, token: &str, side: Option<&str>) -> bool {
        self.waiting
            .get(token)
            .is_some_and(|list| list.iter().any(|w| compatible(w.side.as_deref(), side)))
    }

    /// Whether any connection waits with `token`.
    pub(crate) fn has_waiters(&self, token: &str) -> bool {
        self.waiting.contains_key(token)
    }

    /// Connection `id` stops waiting (gave up, impatient, disconnected); returns
    /// its value if it was still waiting.
    pub(crate) fn leave(&mut self, id: u64, token: &str) -> Option<T> {
        let list = self.waiting.get_mut(token)?;
        let i = list.iter().position(|w| w.id == id)?;
        let w = list.remove(i);
        if list.is_empty() {
            self.waiting.remove(token);
        }
        self.count -= 1;
        Some(w.value)
    }

    /// Connections waiting now.
    pub(crate) fn waiting(&self) -> usize {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paired<T: std::fmt::Debug>(a: Arrival<T>) -> (T, Vec<T>) {
        match a {
            Arrival::Paired { partner, redundant } => (partner, redundant),
            Arrival::Waiting => panic!("expected a pair"),
        }
    }

    #[test]
    fn different_sides_pair() {
        let mut p = Pairing::default();
        assert!(matches!(p.arrive(1, "t", Some("a"), 1), Arrival::Waiting));
        assert_eq!(paired(p.arrive(2, "t", Some("b"), 2)), (1, vec![]));
        assert_eq!(p.waiting(), 0);
    }

    #[test]
    fn same_side_never_pairs() {
        let mut p = Pairing::default();
        assert!(matches!(p.arrive(1, "t", Some("a"), 1), Arrival::Waiting));
        assert!(matches!(p.arrive(2, "t", Some("a"), 2), Arrival::Waiting));
        assert_eq!(p.waiting(), 2);
        // a third, different side pairs with the first and the second is redundant
        assert_eq!(paired(p.arrive(3, "t", Some("b"), 3)), (1, vec![2]));
        assert_eq!(p.waiting(), 0);
    }

    #[test]
    fn legacy_pairs_with_anything() {
        let mut p = Pairing::default();
        assert!(matches!(p.arrive(1, "t", None, 1), Arrival::Waiting));
        assert_eq!(paired(p.arrive(2, "t", None, 2)).0, 1);
        assert!(matches!(p.arrive(3, "u", Some("a"), 3), Arrival::Waiting));
        assert_eq!(paired(p.arrive(4, "u", None, 4)).0, 3);
    }

    #[test]
    fn asking_before_arriving() {
        let mut p = Pairing::default();
        assert!(!p.would_pair("t", Some("a")) && !p.has_waiters("t"));
        assert!(matches!(p.arrive(1, "t", Some("a"), 1), Arrival::Waiting));
        assert!(!p.would_pair("t", Some("a")), "same side");
        assert!(p.would_pair("t", Some("b")) && p.would_pair("t", None));
        assert!(p.has_waiters("t") && !p.has_waiters("u"));
        p.leave(1, "t");
        assert!(!p.has_waiters("t"));
    }

    #[test]
    fn leaving_and_other_tokens() {
        let mut p = Pairing::default();
        assert!(matches!(p.arrive(1, "t", Some("a"), 1), Arrival::Waiting));
        assert!(matches!(p.arrive(2, "u", Some("b"), 2), Arrival::Waiting));
        assert_eq!(p.leave(1, "t"), Some(1));
        assert_eq!(p.leave(1, "t"), None);
        assert!(matches!(p.arrive(3, "t", Some("b"), 3), Arrival::Waiting));
        assert_eq!(p.waiting(), 2);
    }
}
