//! Names and paths that come from a peer, and how to show them.
//!
//! A peer controls every file name in an offer and every entry name in a
//! directory archive. Nothing here touches the file system: these are pure
//! checks that turn untrusted text into values that can only be joined *under*
//! a directory the receiver chose.
//!
//! Policy, in one place:
//! - [`SafeRelativePath::parse`] takes archive entry names. Separators are `/`
//!   only. Empty and `.` components (`a//b`, `./a`, a trailing `/`) are
//!   **dropped**, because common zip writers emit them harmlessly; `..`
//!   anywhere, absolute paths, backslashes, drive letters, control
//!   characters and invisible format characters ([`super::is_disguising`]:
//!   bidi overrides, zero-width spaces…) are **refused**.
//! - [`safe_file_name`] takes the single `filename`/`dirname` of an offer.
//!   Python takes the basename of whatever it is sent; we **refuse** a name
//!   with a separator instead, so a hostile peer cannot pick a different name
//!   than the one the user is shown.
//! - [`escape_for_terminal`] is how any peer text reaches a person.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Longest accepted component, in bytes (`NAME_MAX` on common file systems).
pub const MAX_COMPONENT_LEN: usize = 255;
/// Longest accepted path, in bytes, before normalisation (`PATH_MAX` on Linux).
pub const MAX_PATH_LEN: usize = 4096;
/// Most components accepted in one path.
pub const MAX_COMPONENTS: usize = 256;

/// How much of an offending name an error message shows.
const SHOWN_CHARS: usize = 120;

/// Why a name from a peer was refused. Every variant carries the offending
/// name already escaped with [`escape_for_terminal`] (and shortened), so the
/// message is safe to print as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The name is empty, or only `.`/`/` components.
    #[error("empty name")]
    Empty,
    /// The whole path is longer than [`MAX_PATH_LEN`] bytes.
    #[error("name too long ({len} bytes, at most {MAX_PATH_LEN}): \"{name}\"")]
    TooLong { name: String, len: usize },
    /// One component is longer than [`MAX_COMPONENT_LEN`] bytes.
    #[error("name component too long ({len} bytes, at most {MAX_COMPONENT_LEN}): \"{name}\"")]
    ComponentTooLong { name: String, len: usize },
    /// The path has more than [`MAX_COMPONENTS`] components.
    #[error("too many path components ({count}, at most {MAX_COMPONENTS}): \"{name}\"")]
    TooManyComponents { name: String, count: usize },
    /// The path starts with `/`.
    #[error("absolute path not allowed: \"{name}\"")]
    Absolute { name: String },
    /// A `..` component.
    #[error("'..' component not allowed: \"{name}\"")]
    ParentDir { name: String },
    /// A backslash, which Windows would read as a separator.
    #[error("backslash not allowed: \"{name}\"")]
    Backslash { name: String },
    /// A component starting like a Windows drive (`C:`), which would replace
    /// the whole path when joined on Windows.
    #[error("drive letter not allowed: \"{name}\"")]
    DriveLetter { name: String },
    /// A control character (C0, DEL or C1), including NUL.
    #[error("control character not allowed: \"{name}\"")]
    ControlChar { name: String },
    /// An invisible format character ([`super::is_disguising`]): it would make
    /// the name display as something else (`invoice\u{202e}fdp.exe` shows as
    /// `invoiceexe.pdf`).
    #[error("invisible formatting character (bidi override, zero-width…) not allowed: \"{name}\"")]
    InvisibleChar { name: String },
    /// A separator in what must be a single file name.
    #[error("path separator not allowed in a file name: \"{name}\"")]
    Separator { name: String },
    /// `.` or `..` used as a file name.
    #[error("\"{name}\" is not a file name")]
    DotName { name: String },
}

/// A relative path from a peer that passed every check: only normal
/// components, joined with `/`. Joining it under a directory can only name
/// something inside that directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafeRelativePath {
    /// Normalised: components joined by single `/`, no `.`, no empty ones.
    path: String,
}

impl SafeRelativePath {
    /// Validates an archive entry name (see the module docs for the policy).
    /// A trailing `/` is accepted and dropped: whether the entry is a
    /// directory is the caller's business.
    pub fn parse(s: &str) -> Result<Self, PathError> {
        check_whole(s)?;
        let parts: Vec<&str> = s
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        if parts.is_empty() {
            return Err(PathError::Empty);
        }
        if parts.len() > MAX_COMPONENTS {
            let (name, count) = (shown(s), parts.len());
            return Err(PathError::TooManyComponents { name, count });
        }
        parts.iter().try_for_each(|c| check_component(c, s))?;
        Ok(Self {
            path: parts.join("/"),
        })
    }

    /// The normal components, in order.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.path.split('/')
    }

    /// The normalised path, components joined by `/`.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// `root` joined with every component; purely lexical, no file system
    /// access (symlinks inside `root` are the caller's concern).
    pub fn to_path_under(&self, root: &Path) -> PathBuf {
        let mut out = root.to_path_buf();
        self.components().for_each(|c| out.push(c));
        out
    }
}

impl std::fmt::Display for SafeRelativePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&escape_for_terminal(&self.path))
    }
}

/// Validates a single `filename` or `dirname` from an offer and returns it.
/// Unlike Python, which silently takes the basename, a name holding `/` or
/// `\` is refused.
pub fn safe_file_name(s: &str) -> Result<String, PathError> {
    if s.is_empty() {
        return Err(PathError::Empty);
    }
    check_controls(s)?;
    if s.contains(['/', '\\']) {
        return Err(PathError::Separator { name: shown(s) });
    }
    if s == "." || s == ".." {
        return Err(PathError::DotName { name: shown(s) });
    }
    check_component(s, s)?;
    Ok(s.to_owned())
}

/// Renders untrusted text so that printing it cannot drive the terminal or
/// reorder what is shown: C0 controls (except `\n` and `\t`, which only move
/// the cursor in ordinary ways and are common in text messages), DEL, C1
/// controls, the bidirectional formatting characters and every other invisible
/// format character ([`super::is_disguising`]: zero-width spaces, BOM, …; the
/// joiners that emoji and Persian words need stay) come out
/// as visible escapes (`\x1b`, `\u{9b}`, `\u{202e}`). A literal backslash is left alone:
/// the goal is safe display, not a reversible encoding.
pub fn escape_for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x80 && c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || super::is_disguising(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Checks that apply to the whole path, before splitting it.
fn check_whole(s: &str) -> Result<(), PathError> {
    if s.is_empty() {
        return Err(PathError::Empty);
    }
    if s.len() > MAX_PATH_LEN {
        let len = s.len();
        return Err(PathError::TooLong {
            name: shown(s),
            len,
        });
    }
    check_controls(s)?;
    if s.contains('\\') {
        return Err(PathError::Backslash { name: shown(s) });
    }
    if s.starts_with('/') {
        return Err(PathError::Absolute { name: shown(s) });
    }
    Ok(())
}

/// Refuses NUL and every other C0, DEL or C1 control character, and the
/// invisible format characters that disguise a name.
fn check_controls(s: &str) -> Result<(), PathError> {
    if s.chars().any(char::is_control) {
        return Err(PathError::ControlChar { name: shown(s) });
    }
    match s.chars().any(super::is_disguising) {
        true => Err(PathError::InvisibleChar { name: shown(s) }),
        false => Ok(()),
    }
}

/// Checks one component; `whole` is what the error message shows.
fn check_component(c: &str, whole: &str) -> Result<(), PathError> {
    if c == ".." {
        return Err(PathError::ParentDir { name: shown(whole) });
    }
    if c.len() > MAX_COMPONENT_LEN {
        let len = c.len();
        return Err(PathError::ComponentTooLong {
            name: shown(c),
            len,
        });
    }
    if looks_like_drive(c) {
        return Err(PathError::DriveLetter { name: shown(whole) });
    }
    Ok(())
}

/// `C:` or `C:name`: on Windows, joining such a component replaces the path.
fn looks_like_drive(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// An offending name, escaped and shortened for an error message.
fn shown(s: &str) -> String {
    let (head, more) = match s.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => (&s[..cut], "…"),
        None => (s, ""),
    };
    // A name is one line: unlike message text, its newlines and tabs are escaped too.
    let one_line = escape_for_terminal(head)
        .replace('\n', "\\n")
        .replace('\t', "\\t");
    format!("{one_line}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_in_errors_stay_on_one_line() {
        let err = safe_file_name("a\nb\tc/d").unwrap_err().to_string();
        assert!(!err.contains('\n') && !err.contains('\t'), "{err}");
        assert!(err.contains("a\\nb\\tc"), "{err}");
    }

    fn ok(s: &str) -> String {
        match SafeRelativePath::parse(s) {
            Ok(p) => p.as_str().to_owned(),
            Err(e) => panic!("{s:?} refused: {e}"),
        }
    }

    #[test]
    fn accepts_and_normalises_relative_paths() {
        assert_eq!(ok("a"), "a");
        assert_eq!(ok("a/b/c.txt"), "a/b/c.txt");
        assert_eq!(ok("dir/"), "dir");
        assert_eq!(ok("./a//b/./c/"), "a/b/c");
        assert_eq!(ok("über/日本語 файл.txt"), "über/日本語 файл.txt");
        assert_eq!(ok("10:30 notes/a..b/...").as_str(), "10:30 notes/a..b/...");
        assert_eq!(ok(".hidden/x"), ".hidden/x");
    }

    #[test]
    fn components_and_join() {
        let p = SafeRelativePath::parse("a/b/c").unwrap();
        assert_eq!(p.components().collect::<Vec<_>>(), ["a", "b", "c"]);
        let root = Path::new("/srv/in");
        assert_eq!(p.to_path_under(root), Path::new("/srv/in/a/b/c"));
    }

    #[test]
    fn refuses_escapes_and_odd_names() {
        use PathError as E;
        type Check = fn(&PathError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("", |e| matches!(e, E::Empty)),
            (".", |e| matches!(e, E::Empty)),
            ("./", |e| matches!(e, E::Empty)),
            ("//", |e| matches!(e, E::Absolute { .. })),
            ("/etc/passwd", |e| matches!(e, E::Absolute { .. })),
            ("../x", |e| matches!(e, E::ParentDir { .. })),
            ("a/../../b", |e| matches!(e, E::ParentDir { .. })),
            ("a/..", |e| matches!(e, E::ParentDir { .. })),
            ("C:\\x", |e| matches!(e, E::Backslash { .. })),
            ("\\\\server\\x", |e| matches!(e, E::Backslash { .. })),
            ("a\\b", |e| matches!(e, E::Backslash { .. })),
            ("C:", |e| matches!(e, E::DriveLetter { .. })),
            ("C:x", |e| matches!(e, E::DriveLetter { .. })),
            ("a/c:/b", |e| matches!(e, E::DriveLetter { .. })),
            ("a\0b", |e| matches!(e, E::ControlChar { .. })),
            ("a\nb", |e| matches!(e, E::ControlChar { .. })),
            ("a\x1b[31m", |e| matches!(e, E::ControlChar { .. })),
            ("a\x7f", |e| matches!(e, E::ControlChar { .. })),
            ("a\u{9b}", |e| matches!(e, E::ControlChar { .. })),
            ("invoice\u{202e}fdp.exe", |e| {
                matches!(e, E::InvisibleChar { .. })
            }),
            ("a/\u{2066}b", |e| matches!(e, E::InvisibleChar { .. })),
            ("pay\u{200b}.pdf", |e| matches!(e, E::InvisibleChar { .. })),
            ("\u{feff}a", |e| matches!(e, E::InvisibleChar { .. })),
            ("a\u{e0041}", |e| matches!(e, E::InvisibleChar { .. })),
        ];
        for (input, want) in cases {
            let err = SafeRelativePath::parse(input).unwrap_err();
            assert!(want(&err), "{input:?} gave {err:?}");
        }
    }

    #[test]
    fn single_names_refuse_invisible_format_characters_too() {
        let err = safe_file_name("invoice\u{202e}fdp.exe").unwrap_err();
        assert!(matches!(err, PathError::InvisibleChar { .. }), "{err:?}");
        assert!(err.to_string().contains("invoice\\u{202e}fdp.exe"), "{err}");
    }

    #[test]
    fn joiners_that_words_and_emoji_need_are_kept() {
        assert_eq!(
            ok("\u{645}\u{6cc}\u{200c}\u{62e}.txt"),
            "\u{645}\u{6cc}\u{200c}\u{62e}.txt"
        );
        assert_eq!(
            ok("\u{1f469}\u{200d}\u{1f4bb}.png"),
            "\u{1f469}\u{200d}\u{1f4bb}.png"
        );
    }

    #[test]
    fn refuses_oversized_paths() {
        let long = "x".repeat(256);
        assert!(matches!(
            SafeRelativePath::parse(&long),
            Err(PathError::ComponentTooLong { len: 256, .. })
        ));
        assert_eq!(ok(&"x".repeat(255)).len(), 255);
        let deep = vec!["d"; 257].join("/");
        assert!(matches!(
            SafeRelativePath::parse(&deep),
            Err(PathError::TooManyComponents { count: 257, .. })
        ));
        ok(&vec!["d"; 256].join("/"));
        let huge = vec!["abcdefg"; 600].join("/");
        assert!(matches!(
            SafeRelativePath::parse(&huge),
            Err(PathError::TooLong { .. })
        ));
    }

    #[test]
    fn error_messages_show_the_name_escaped_and_short() {
        let err = SafeRelativePath::parse("../\x1b]0;pwned\x07").unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains('\x1b') && msg.contains("\\x1b"), "{msg}");
        let err = SafeRelativePath::parse(&"é".repeat(3000)).unwrap_err();
        assert!(err.to_string().chars().count() < 200);
    }

    #[test]
    fn file_names() {
        assert_eq!(
            safe_file_name("report 2024.pdf").unwrap(),
            "report 2024.pdf"
        );
        assert_eq!(safe_file_name("..x").unwrap(), "..x");
        for bad in ["", ".", "..", "a/b", "/x", "a\\b", "C:", "x\ny", "\u{85}"] {
            assert!(safe_file_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(
            safe_file_name("a/b"),
            Err(PathError::Separator { .. })
        ));
        assert!(safe_file_name(&"n".repeat(256)).is_err());
    }

    #[test]
    fn terminal_escapes() {
        assert_eq!(escape_for_terminal("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(escape_for_terminal("\x1b[2J"), "\\x1b[2J");
        assert_eq!(escape_for_terminal("a\rb\0"), "a\\x0db\\x00");
        assert_eq!(escape_for_terminal("\x7f\u{9b}"), "\\x7f\\u{9b}");
        assert_eq!(
            escape_for_terminal("evil\u{202e}fdp.exe"),
            "evil\\u{202e}fdp.exe"
        );
        assert_eq!(
            escape_for_terminal("\u{2066}x\u{2069}"),
            "\\u{2066}x\\u{2069}"
        );
        assert_eq!(
            escape_for_terminal("a\u{200b}b\u{feff}\u{2028}"),
            "a\\u{200b}b\\u{feff}\\u{2028}"
        );
        assert_eq!(escape_for_terminal("日本 ü"), "日本 ü");
    }

    /// Strings made of path-ish pieces, so that `..`, drive letters and
    /// separators are common.
    fn path_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("a".to_owned()),
            Just("é".to_owned()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("".to_owned()),
            Just("C:".to_owned()),
            Just("\\".to_owned()),
            Just("\u{202e}".to_owned()),
            "[a-z.:\\\\\\x00-\\x1f]{1,4}",
        ];
        prop::collection::vec(piece, 0..12).prop_map(|parts| parts.join("/"))
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = SafeRelativePath::parse(&s);
            let _ = safe_file_name(&s);
            let escaped = escape_for_terminal(&s);
            prop_assert!(!escaped.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        }

        #[test]
        fn accepted_paths_stay_under_the_root(s in path_like()) {
            if let Ok(p) = SafeRelativePath::parse(&s) {
                let root = Path::new("/root/dest");
                let joined = p.to_path_under(root);
                prop_assert!(joined.starts_with(root));
                let rest = joined.strip_prefix(root).unwrap();
                prop_assert!(rest.components().all(|c| matches!(c, std::path::Component::Normal(_))));
                prop_assert_eq!(rest.components().count(), p.components().count());
                prop_assert_eq!(SafeRelativePath::parse(p.as_str()).unwrap(), p);
            }
        }
    }
}
