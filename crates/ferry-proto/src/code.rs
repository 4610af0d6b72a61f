//! Wormhole codes: `NAMEPLATE-WORD-WORD…`, e.g. `7-guitarist-revenge`.
//!
//! The nameplate (digits before the first `-`) names the mailbox on the server and
//! is public. The **whole** code, nameplate included, is the SPAKE2 password, so a
//! [`Code`] is a secret: its `Debug` shows only the nameplate.
//!
//! Typing is forgiving: words may be separated by spaces or hyphens and list
//! words may be in any case (`7 Guitarist REVENGE` is `7-guitarist-revenge`).
//! Both sides normalise the same way, and only in ways no other client could
//! mean differently (no client makes codes with spaces or capitalised list
//! words), so the password on the wire is what a generated code says. Words
//! that are not on the list are kept as typed: any text is a valid custom code.
//! [`typo::check`] catches a mistyped list word before the code is used up.

pub mod typo;

use std::fmt;
use std::str::FromStr;

use rand::RngCore;

use crate::wordlist;

/// The longest nameplate we accept; real servers hand out a few digits.
pub const MAX_NAMEPLATE_LEN: usize = 40;

/// How many words a code has unless the user asks otherwise (all clients agree).
pub const DEFAULT_CODE_WORDS: usize = 2;

/// Why a typed code or nameplate was refused. The messages never repeat the
/// input: part of it may be the secret password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing but whitespace was given.
    #[error("the code is empty")]
    Empty,
    /// A control character inside the code.
    #[error("the code must not contain control characters")]
    ControlChar,
    /// Nothing after the nameplate.
    #[error("the code needs words after the nameplate, like 7-guitarist-revenge")]
    MissingPassword,
    /// The code starts with `-`.
    #[error("the code must start with the nameplate number, like 7-guitarist-revenge")]
    EmptyNameplate,
    /// The part before the first `-` is not all ASCII digits.
    #[error("the nameplate (the part before the first '-') must be a number")]
    NonNumericNameplate,
    /// The nameplate is longer than [`MAX_NAMEPLATE_LEN`].
    #[error("the nameplate has {len} digits, at most {MAX_NAMEPLATE_LEN} are allowed")]
    NameplateTooLong {
        /// Number of characters given.
        len: usize,
    },
}

/// The public, numeric part of a code: the mailbox's name on the server.
///
/// ASCII digits only, 1 to [`MAX_NAMEPLATE_LEN`] of them. Leading zeros are kept
/// (`007` and `7` are different nameplates to the server).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nameplate(String);

impl Nameplate {
    /// The nameplate as sent to the server.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(s: &str) -> Result<(), CodeError> {
        if s.is_empty() {
            Err(CodeError::EmptyNameplate)
        } else if !s.bytes().all(|b| b.is_ascii_digit()) {
            Err(CodeError::NonNumericNameplate)
        } else if s.len() > MAX_NAMEPLATE_LEN {
            Err(CodeError::NameplateTooLong { len: s.len() })
        } else {
            Ok(())
        }
    }
}

impl FromStr for Nameplate {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, CodeError> {
        Nameplate::check(s)?;
        Ok(Nameplate(s.to_owned()))
    }
}

impl TryFrom<&str> for Nameplate {
    type Error = CodeError;

    fn try_from(s: &str) -> Result<Self, CodeError> {
        s.parse()
    }
}

impl TryFrom<String> for Nameplate {
    type Error = CodeError;

    fn try_from(s: String) -> Result<Self, CodeError> {
        Nameplate::check(&s)?;
        Ok(Nameplate(s))
    }
}

impl fmt::Display for Nameplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Nameplate {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A complete wormhole code; [`Code::as_str`] is the SPAKE2 password.
///
/// Deliberately not `Display`, so that it is not logged by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Code {
    nameplate: Nameplate,
    full: String,
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code")
            .field("nameplate", &self.nameplate.as_str())
            .finish_non_exhaustive()
    }
}

impl Code {
    /// Parses a code that a user typed or pasted, normalised (see [`normalise`]).
    ///
    /// Refused: control characters, a nameplate that is not a number, nothing
    /// after the nameplate. Anything else after the nameplate is accepted, as all
    /// clients do; non-ASCII text is used as raw UTF-8 (see [`Pake::start`]).
    ///
    /// [`Pake::start`]: crate::crypto::pake::Pake::start
    pub fn parse(s: &str) -> Result<Code, CodeError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(CodeError::Empty);
        }
        if s.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(CodeError::ControlChar);
        }
        if s.starts_with('-') {
            return Err(CodeError::EmptyNameplate);
        }
        let full = normalise(s);
        let (nameplate, password) = full.split_once('-').unwrap_or((&full, ""));
        let nameplate = nameplate.parse()?;
        if password.is_empty() {
            return Err(CodeError::MissingPassword);
        }
        Ok(Code { nameplate, full })
    }

    /// Makes a new code from `words` random PGP words (at least one), one random
    /// byte per word, alternating columns as Python's `choose_words` does: word 0
    /// from the three-syllable column, word 1 from the two-syllable one, …
    pub fn generate(nameplate: Nameplate, words: usize, mut rng: impl RngCore) -> Code {
        let mut bytes = vec![0; words.max(1)];
        rng.fill_bytes(&mut bytes);
        let password: Vec<&str> = bytes
            .iter()
            .enumerate()
            .map(|(position, &byte)| wordlist::word(position, byte))
            .collect();
        let full = format!("{nameplate}-{}", password.join("-"));
        Code { nameplate, full }
    }

    /// The nameplate, to claim on the server.
    pub fn nameplate(&self) -> &Nameplate {
        &self.nameplate
    }

    /// The whole code: what the user types, and the SPAKE2 password.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The part after the nameplate (`guitarist-revenge`).
    pub fn words(&self) -> &str {
        &self.full[self.nameplate.as_str().len() + 1..]
    }
}

impl FromStr for Code {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, CodeError> {
        Code::parse(s)
    }
}

/// The canonical form of a typed code: parts separated by runs of whitespace
/// or hyphens joined with single hyphens, list words in lower case, everything
/// else as typed (a custom code from another client keeps its case).
pub fn normalise(typed: &str) -> String {
    typed
        .split(|c: char| c == '-' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| match wordlist::is_word(part) {
            true => part.to_ascii_lowercase(),
            false => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Tab completion of a nameplate being typed, from the server's list of those in
/// use: `"7"` with `["7", "71", "8"]` → `["7-", "71-"]`. Once the nameplate ends
/// with `-`, the words complete instead ([`complete`]).
pub fn complete_nameplate(partial: &str, in_use: &[String]) -> Vec<String> {
    if partial.contains('-') || !partial.bytes().all(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    let mut out: Vec<String> = in_use
        .iter()
        .filter(|n| n.starts_with(partial) && Nameplate::check(n).is_ok())
        .map(|n| format!("{n}-"))
        .collect();
    out.sort_unstable();
    out
}

/// Tab completion of a partly typed code of [`DEFAULT_CODE_WORDS`] words:
/// `"7-gui"` → `["7-guitarist-"]`. See [`complete_with_length`].
pub fn complete(partial: &str) -> Vec<String> {
    complete_with_length(partial, DEFAULT_CODE_WORDS)
}

/// Tab completion of a partly typed code of `words` words, sorted.
///
/// The word being typed is matched against the column its position calls for
/// (three-syllable words first), and a `-` is appended while more words are to
/// come, like Python's `PGPWordList.get_completions`. Until the nameplate is
/// finished with a `-` there is nothing to offer here: nameplates come from the
/// server's list.
pub fn complete_with_length(partial: &str, words: usize) -> Vec<String> {
    let Some((nameplate, typed)) = partial.split_once('-') else {
        return Vec::new();
    };
    if Nameplate::check(nameplate).is_err() {
        return Vec::new();
    }
    let position = typed.matches('-').count();
    let last = typed.rsplit('-').next().unwrap_or(typed);
    let stem = &partial[..partial.len() - last.len()];
    let hyphen = if position + 1 < words { "-" } else { "" };
    let mut out: Vec<String> = wordlist::column(position)
        .filter(|word| word.starts_with(last))
        .map(|word| format!("{stem}{word}{hyphen}"))
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::pake::tests::ReplayRng;
    use crate::test_vectors::kat;
    use proptest::prelude::*;

    fn np(s: &str) -> Nameplate {
        s.parse().expect("valid nameplate")
    }

    #[test]
    fn parse_splits_at_the_first_hyphen() {
        let code = Code::parse("  7-guitarist-revenge\n").expect("valid");
        assert_eq!(code.as_str(), "7-guitarist-revenge");
        assert_eq!(code.nameplate().as_str(), "7");
        assert_eq!(code.words(), "guitarist-revenge");
        // Words are not checked against the list, and their case is kept.
        let code: Code = "0123-Anything_goes-here-ß".parse().expect("valid");
        assert_eq!(code.nameplate().to_string(), "0123");
        assert_eq!(code.words(), "Anything_goes-here-ß");
    }

    #[test]
    fn parse_forgives_case_spaces_and_doubled_hyphens() {
        for typed in [
            "7 Guitarist REVENGE",
            "  7-guitarist-revenge\n",
            "7 - guitarist -- revenge",
            "7\tGUITARIST\u{a0}Revenge",
            "7-guitarist revenge",
        ] {
            let code = Code::parse(typed).expect("valid");
            assert_eq!(code.as_str(), "7-guitarist-revenge", "{typed:?}");
        }
        // Only list words change case: a custom word is the other side's secret.
        let code = Code::parse("7 Purple SAUSAGES zulu").expect("valid");
        assert_eq!(code.as_str(), "7-Purple-SAUSAGES-zulu");
    }

    #[test]
    fn parse_refusals() {
        let cases = [
            ("", CodeError::Empty),
            (" \t ", CodeError::Empty),
            ("7-guitarist\u{7}", CodeError::ControlChar),
            ("7-a\u{1b}[31m", CodeError::ControlChar),
            ("7", CodeError::MissingPassword),
            ("7-", CodeError::MissingPassword),
            ("7 - ", CodeError::MissingPassword),
            ("-guitarist-revenge", CodeError::EmptyNameplate),
            ("guitarist-revenge", CodeError::NonNumericNameplate),
            ("x7-guitarist", CodeError::NonNumericNameplate),
            ("٣-guitarist", CodeError::NonNumericNameplate),
            (
                &format!("{}-a", "1".repeat(41)),
                CodeError::NameplateTooLong { len: 41 },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Code::parse(input), Err(expected), "{input:?}");
        }
        assert!(Code::parse(&format!("{}-a", "9".repeat(40))).is_ok());
    }

    #[test]
    fn nameplate_conversions() {
        assert_eq!(Nameplate::try_from("42").expect("ok").as_str(), "42");
        assert_eq!(
            Nameplate::try_from(String::from("007"))
                .expect("ok")
                .to_string(),
            "007"
        );
        assert_eq!("".parse::<Nameplate>(), Err(CodeError::EmptyNameplate));
        assert_eq!(
            "4a".parse::<Nameplate>(),
            Err(CodeError::NonNumericNameplate)
        );
        assert_eq!(
            "-1".parse::<Nameplate>(),
            Err(CodeError::NonNumericNameplate)
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", Code::parse("7-guitarist-revenge").expect("valid"));
        assert_eq!(shown, r#"Code { nameplate: "7", .. }"#);
    }

    #[test]
    fn error_messages_do_not_echo_the_code() {
        let err = Code::parse("guitarist-revenge").expect_err("no nameplate");
        assert!(!err.to_string().contains("guitarist-revenge"), "{err}");
    }

    #[test]
    fn generate_alternates_columns() {
        let code = Code::generate(np("7"), 2, ReplayRng::new([0x00, 0xff]));
        assert_eq!(code.as_str(), "7-adroitness-zulu");
        let code = Code::generate(np("12"), 3, ReplayRng::new([0xd6, 0x03, 0xd6]));
        assert_eq!(code.words(), "speculate-acme-speculate");
        assert_eq!(
            Code::parse(code.as_str()).expect("generated codes parse"),
            code
        );
    }

    #[test]
    fn generate_makes_at_least_one_word() {
        let code = Code::generate(np("3"), 0, ReplayRng::new([0x01]));
        assert_eq!(code.as_str(), "3-adviser");
    }

    /// Python's `PGPWordList.choose_words` fed the same bytes.
    #[test]
    fn generate_matches_python() {
        for case in kat()["choose_words"].as_array().expect("choose_words") {
            let bytes = hex::decode(case["bytes"].as_str().expect("hex")).expect("hex");
            let code = Code::generate(np("5"), bytes.len(), ReplayRng::new(bytes));
            assert_eq!(code.words(), case["words"].as_str().expect("words"));
        }
    }

    #[test]
    fn completion_examples() {
        assert_eq!(complete("7-gui"), ["7-guitarist-"]);
        // The second word comes from the two-syllable column and ends the code.
        let second: Vec<String> = [
            "rebirth", "reform", "regain", "reindeer", "rematch", "repay", "retouch", "revenge",
            "reward",
        ]
        .iter()
        .map(|w| format!("7-guitarist-{w}"))
        .collect();
        assert_eq!(complete("7-guitarist-re"), second);
        assert_eq!(
            complete_with_length("7-guitarist-revenge", 3),
            ["7-guitarist-revenge-"]
        );
        assert!(complete("7-zu").is_empty(), "zulu is not a first word");
        assert!(complete("7").is_empty());
        assert!(complete("x-gui").is_empty());
        assert!(complete("7-zzz").is_empty());
        assert_eq!(complete("7-").len(), 256);
    }

    #[test]
    fn nameplates_complete_from_the_list() {
        let in_use: Vec<String> = ["7", "71", "8", "x9", ""].map(String::from).to_vec();
        assert_eq!(complete_nameplate("7", &in_use), ["7-", "71-"]);
        assert_eq!(complete_nameplate("", &in_use), ["7-", "71-", "8-"]);
        assert!(complete_nameplate("9", &in_use).is_empty());
        assert!(
            complete_nameplate("7-", &in_use).is_empty(),
            "words from here"
        );
        assert!(complete_nameplate("x", &in_use).is_empty());
    }

    /// Python's `get_completions` sees the text after `nameplate-`.
    #[test]
    fn completion_matches_python() {
        for case in kat()["completions"].as_array().expect("completions") {
            let prefix = case["prefix"].as_str().expect("prefix");
            let words = case["num_words"].as_u64().expect("num_words") as usize;
            let expected: Vec<String> = case["completions"]
                .as_array()
                .expect("list")
                .iter()
                .map(|c| format!("42-{}", c.as_str().expect("string")))
                .collect();
            let got = complete_with_length(&format!("42-{prefix}"), words);
            assert_eq!(got, expected, "{prefix:?} of {words}");
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(code) = Code::parse(&s) {
                prop_assert!(code.as_str().starts_with(code.nameplate().as_str()));
                prop_assert!(!code.words().is_empty());
                prop_assert!(!code.as_str().contains(char::is_whitespace));
            }
        }

        #[test]
        fn parse_never_panics_on_code_like_input(s in "[0-9]{0,3}-?[a-z -]{0,12}") {
            let _ = Code::parse(&s);
        }

        #[test]
        fn complete_never_panics(s in any::<String>(), words in 0usize..5) {
            let _ = complete_with_length(&s, words);
        }

        #[test]
        fn generated_codes_parse(seed in any::<[u8; 8]>(), words in 1usize..8) {
            let code = Code::generate(np("99"), words, ReplayRng::new(seed));
            prop_assert_eq!(code.words().split('-').count(), words);
            prop_assert_eq!(Code::parse(code.as_str()), Ok(code));
        }
    }
}
