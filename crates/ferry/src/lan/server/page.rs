//! The page a browser gets at `/` while ferry shares: the files with
//! download links, or a PIN form first. Self-contained (no script, no
//! style sheet, no image from anywhere): it works on a LAN with no internet,
//! and nothing on it phones out. Every name is HTML-escaped.

use ferry_proto::localsend::share::download_target;
use ferry_proto::localsend::FileDto;

/// Why the PIN form is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    Needed,
    Wrong,
    TooMany,
}

impl Refusal {
    pub(super) fn of(status: u16, pin_given: bool) -> Refusal {
        match (status, pin_given) {
            (429, _) => Refusal::TooMany,
            (_, true) => Refusal::Wrong,
            (_, false) => Refusal::Needed,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Refusal::Needed => "This share needs a PIN.",
            Refusal::Wrong => "Wrong PIN.",
            Refusal::TooMany => "Too many wrong PINs: this device is locked out.",
        }
    }
}

/// The list of `files`, each linked to its download in session `session_id`.
pub(super) fn listing<'a>(
    alias: &str,
    session_id: &str,
    files: impl Iterator<Item = &'a FileDto>,
) -> String {
    let mut rows = String::new();
    for f in files {
        let href = escape(&download_target(session_id, &f.id));
        let name = escape(&f.file_name);
        let base = escape(f.file_name.rsplit('/').next().unwrap_or_default());
        rows.push_str(&format!(
            "<li><a href=\"{href}\" download=\"{base}\">{name}</a> ({} bytes)</li>\n",
            f.size
        ));
    }
    frame(alias, &format!("<ul>\n{rows}</ul>"))
}

/// A form that reloads the page with `?pin=`.
pub(super) fn pin_form(alias: &str, why: Refusal) -> String {
    let form = format!(
        "<p>{}</p>\n<form method=\"get\" action=\"/\"><label>PIN \
         <input name=\"pin\" type=\"password\" autofocus></label> \
         <button>Open</button></form>",
        why.message()
    );
    frame(alias, &form)
}

fn frame(alias: &str, content: &str) -> String {
    let title = format!("Files shared by {}", escape(alias));
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title></head>\n<body><h1>{title}</h1>\n{content}\n</body></html>\n"
    )
}

/// Text made safe inside HTML elements and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_links_encoded() {
        let dto = FileDto {
            id: "0".into(),
            file_name: "d/<b>\"x\".txt".into(),
            size: 3,
            file_type: "text/plain".into(),
            sha256: None,
            preview: None,
            metadata: None,
        };
        let html = listing("a<i>", "s1", [&dto].into_iter());
        assert!(html.contains("a&lt;i&gt;"), "{html}");
        assert!(html.contains("d/&lt;b&gt;&quot;x&quot;.txt"), "{html}");
        assert!(html.contains("href=\"/api/localsend/v2/download?sessionId=s1&amp;fileId=0\""));
        assert!(!html.contains("<script") && !html.contains("http://"));
    }
}
