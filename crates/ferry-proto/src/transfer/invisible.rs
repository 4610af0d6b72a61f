//! Characters that are invisible yet change what a person reads: Unicode's
//! format characters (category Cf: bidi controls, zero-width joiners and spaces,
//! the byte-order mark, interlinear annotation, tag characters) and the line and
//! paragraph separators, which some terminals treat as line breaks. Without a
//! Unicode table: the Cf list is short and changes rarely (Unicode 15).

/// Whether `c` is a format character (Cf) or U+2028/U+2029.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061c}'
            | '\u{06dd}'
            | '\u{070f}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08e2}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}'
            | '\u{e0020}'..='\u{e007f}'
    )
}

/// Whether `c` in a name or a message could make it look like something else:
/// every [`is_invisible`] character but the zero-width non-joiner and joiner
/// (U+200C, U+200D), which Persian and Indic words and emoji sequences need and
/// which reorder nothing.
pub fn is_disguising(c: char) -> bool {
    is_invisible(c) && !matches!(c, '\u{200c}' | '\u{200d}')
}

#[cfg(test)]
mod tests {
    use super::{is_disguising, is_invisible};

    #[test]
    fn joiners_are_invisible_but_not_disguising() {
        for c in ['\u{200c}', '\u{200d}'] {
            assert!(is_invisible(c) && !is_disguising(c), "{c:?}");
        }
        for c in ['\u{202e}', '\u{200b}', '\u{feff}', '\u{2066}', '\u{e0041}'] {
            assert!(is_disguising(c), "{c:?}");
        }
    }

    #[test]
    fn format_characters_are_invisible_letters_are_not() {
        for c in [
            '\u{202e}', '\u{2066}', '\u{200b}', '\u{200d}', '\u{feff}', '\u{ad}', '\u{2028}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', 'ü', '日', ' ', '\u{2030}', '\u{2065}'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }
}
