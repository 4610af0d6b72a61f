//! Request targets (`path?name=value&…`) with every value percent-encoded:
//! most of them come from the peer (session ids, file ids, tokens) or the
//! user (a PIN), and none may add a parameter or break the request line.

/// `path`, then each given parameter, in order; `None` values are left out.
pub(super) fn target(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut out = path.to_owned();
    let given = params.iter().filter_map(|(name, v)| v.map(|v| (name, v)));
    for (n, (name, value)) in given.enumerate() {
        out.push(if n == 0 { '?' } else { '&' });
        out.push_str(name);
        out.push('=');
        out.push_str(&encode(value));
    }
    out
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_and_absent_ones_left_out() {
        assert_eq!(target("/p", &[]), "/p");
        assert_eq!(target("/p", &[("a", None)]), "/p");
        let t = target(
            "/p",
            &[("a", None), ("b", Some("x&y=z")), ("c", Some("ü ~"))],
        );
        assert_eq!(t, "/p?b=x%26y%3Dz&c=%C3%BC%20~");
    }
}
