//! Peer-supplied names: archive paths, offered file names, and text escaped
//! for a terminal.
#![no_main]

use std::path::{Component, Path};

use ferry_proto::transfer::path::{escape_for_terminal, safe_file_name, SafeRelativePath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = SafeRelativePath::parse(text) {
        let root = Path::new("/srv/ferry-in");
        let joined = p.to_path_under(root);
        let rest = joined.strip_prefix(root).expect("stays under the root");
        assert!(rest.components().all(|c| matches!(c, Component::Normal(_))));
        assert_eq!(SafeRelativePath::parse(p.as_str()).expect("reparses"), p);
    }
    if let Ok(name) = safe_file_name(text) {
        assert!(!name.contains(['/', '\\', '\0']) && name != "." && name != "..");
        assert_eq!(Path::new(&name).components().count(), 1);
    }
    let shown = escape_for_terminal(text);
    assert!(!shown
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t'));
    assert!(!shown.contains(['\u{202e}', '\u{2066}', '\u{200f}']));
});
