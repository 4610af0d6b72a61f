//! A mistyped code word, caught before the code is used: a wrong code costs the
//! sender's code (the server hands the nameplate out once, and the PAKE gives
//! one guess), so `guitarst` is better refused at the keyboard.
//!
//! Custom codes stay possible: `--code` takes any words, from any client. So a
//! word off the list is refused only when the whole code looks generated, that
//! is every word is either on the list or one slip away from a list word (a
//! letter missing, extra or wrong, or two neighbours swapped). A code with a word
//! that is not (`7-purple-sausages`, `37-resume-receiver`) is someone's own
//! choice and is used as typed. One slip, not two: ordinary English words are
//! often two edits from a list word (`resume`/`assume`).

use std::fmt;

use super::Code;
use crate::wordlist;

/// A word that is probably a typo of a list word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typo {
    /// The word as typed (the user's own input, shown back to them).
    pub word: String,
    /// The list word it is closest to.
    pub suggestion: &'static str,
}

impl fmt::Display for Typo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug quoting escapes anything a terminal would act on.
        write!(
            f,
            "{:?} is not a code word (did you mean {:?}?)",
            self.word, self.suggestion
        )
    }
}

impl std::error::Error for Typo {}

/// The first word of `code` that looks like a typo, if the code looks generated.
pub fn check(code: &Code) -> Result<(), Typo> {
    let mut first_typo = None;
    for (position, word) in code.words().split('-').enumerate() {
        if wordlist::is_word(word) {
            continue;
        }
        match near_miss(position, word) {
            Some(suggestion) => {
                first_typo.get_or_insert(Typo {
                    word: word.to_owned(),
                    suggestion,
                });
            }
            None => return Ok(()), // a custom code: not ours to judge
        }
    }
    first_typo.map_or(Ok(()), Err)
}

/// The list word `word` is one slip from, preferring the column of its position.
/// Words under four letters are too short to tell a slip from a choice.
fn near_miss(position: usize, word: &str) -> Option<&'static str> {
    let lower = word.to_lowercase();
    if lower.chars().count() < 4 {
        return None;
    }
    let column = wordlist::column(position);
    let other = wordlist::column(position + 1);
    column
        .chain(other)
        .find(|candidate| distance(&lower, candidate) <= 1)
}

/// Edit distance between two short words, by characters, where swapping two
/// neighbours counts as one edit (optimal string alignment).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typo_in(code: &str) -> Option<Typo> {
        check(&Code::parse(code).expect("parses")).err()
    }

    #[test]
    fn a_typo_of_a_list_word_is_caught_with_a_suggestion() {
        let typo = typo_in("7-guitarst-revenge").expect("a typo");
        assert_eq!(typo.suggestion, "guitarist");
        assert_eq!(
            typo.to_string(),
            r#""guitarst" is not a code word (did you mean "guitarist"?)"#
        );
        assert_eq!(
            typo_in("7-gutiarist-revenge").map(|t| t.suggestion),
            Some("guitarist"),
            "two letters swapped"
        );
        assert_eq!(typo_in("7-guitarist-revneg"), None, "two slips: a choice");
        assert_eq!(
            typo_in("7-guitarist-revnge").map(|t| t.suggestion),
            Some("revenge")
        );
        assert_eq!(
            typo_in("7 GUITARSt Revenge").map(|t| t.word),
            Some("GUITARSt".into())
        );
    }

    #[test]
    fn generated_and_custom_codes_pass() {
        for code in [
            "7-guitarist-revenge",
            "7-Guitarist-REVENGE",
            "7-purple-sausages",
            "37-resume-receiver",
            "4-hello-world",
            "12-correct-horse-battery-staple",
            "3-x",
            "5-ß",
        ] {
            assert_eq!(typo_in(code), None, "{code}");
        }
    }

    /// A code whose words are all off the list is custom even if one of them
    /// is close to a list word: a receiver must be able to type what a sender
    /// chose with `--code`.
    #[test]
    fn one_custom_word_makes_the_code_custom() {
        assert_eq!(typo_in("7-guitarst-sausages"), None);
    }

    #[test]
    fn typo_display_escapes_what_a_terminal_would_act_on() {
        let typo = Typo {
            word: "gu\u{1b}[2Jitarst\u{202e}".into(),
            suggestion: "guitarist",
        };
        let shown = typo.to_string();
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{202e}'),
            "{shown}"
        );
    }

    #[test]
    fn distance_examples() {
        assert_eq!(distance("guitarst", "guitarist"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("gutiarist", "guitarist"), 1);
        assert_eq!(distance("same", "same"), 0);
    }
}
