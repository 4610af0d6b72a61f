//! Codes as typed or pasted (`Code::parse`) and tab completion of partial ones.
#![no_main]

use ferry_proto::code::{complete, complete_with_length, Code};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&words, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(code) = Code::parse(text) {
        let again = Code::parse(code.as_str()).expect("a parsed code parses again");
        assert_eq!(again.as_str(), code.as_str());
        assert!(code.as_str().starts_with(code.nameplate().as_str()));
        assert!(!code.words().is_empty());
    }
    for candidate in complete(text) {
        assert!(candidate.starts_with(text.rsplit_once('-').map_or("", |(s, _)| s)));
    }
    let _ = complete_with_length(text, usize::from(words % 10));
});
