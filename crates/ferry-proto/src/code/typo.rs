//! A mistyped code word, caught before the code is used: a wrong code costs the
//! sender's code (the server hands the nameplate out once, and the PAKE gives
//! one guess), so `guitarst` is better refused at the keyboard.
//!
//! Custom codes stay possible: `--code` takes any words, from any client. So a
//! word off the list is refused only when the whole code looks generated, that
//! is every word is either on the list or within a typo of a list word (edit
//! distance 1, or 2 for words of six letters and more). A code of words that are
//! nowhere near the list (`7-purple-sausages`) is someone's own choice and is
//! used as typed.

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

/// The list word `word` is a typo of, preferring the column of its position.
fn near_miss(position: usize, word: &str) -> Option<&'static str> {
    let lower = word.to_lowercase();
    let allowed = if lower.chars().count() >= 6 { 2 } else { 1 };
    let column = wordlist::column(position);
    let other = wordlist::column(position + 1);
    column
        .chain(other)
        .map(|candidate| (distance(&lower, candidate), candidate))
        .filter(|&(d, _)| d <= allowed)
        .min_by_key(|&(d, _)| d) // the first of equals: the positional column
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance between two short words, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
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
        assert_eq!(typo_in("7-guitarist-revneg").map(|t| t.suggestion), None);
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
        assert_eq!(distance("same", "same"), 0);
    }
}
