//! Tracker URLs: `http://host[:port]/path?query`, `https://…`, `udp://host:port[/…]`.

/// A tracker URL, split into what a client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackerUrl {
    Http {
        tls: bool,
        host: String,
        port: u16,
        /// Path and query, as sent in the request line.
        target: String,
    },
    Udp {
        host: String,
        port: u16,
    },
}

impl TrackerUrl {
    pub fn parse(url: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "http" => Some(80),
            "https" => Some(443),
            "udp" => None,
            _ => return Err("scheme is not http, https or udp"),
        };
        let (host, port) = split_host_port(authority, default_port)?;
        if target
            .chars()
            .any(|c| c.is_ascii_control() || c == ' ' || c == '#')
        {
            return Err("control characters, spaces or a fragment in the path");
        }
        Ok(match default_port {
            None => TrackerUrl::Udp { host, port },
            Some(_) => TrackerUrl::Http {
                tls: scheme.eq_ignore_ascii_case("https"),
                host,
                port,
                target: match target.starts_with('/') {
                    true => target.to_owned(),
                    false => format!("/{target}"),
                },
            },
        })
    }
}

fn split_host_port(authority: &str, default: Option<u16>) -> Result<(String, u16), &'static str> {
    if authority.contains('@') {
        return Err("user info in the URL");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or("unclosed [")?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = match (port, default) {
        (Some(p), _) => p.parse().map_err(|_| "bad port")?,
        (None, Some(d)) => d,
        (None, None) => return Err("udp:// needs a port"),
    };
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_torrents_carry() {
        assert_eq!(
            TrackerUrl::parse("http://tracker.example:6969/announce?passkey=1"),
            Ok(TrackerUrl::Http {
                tls: false,
                host: "tracker.example".into(),
                port: 6969,
                target: "/announce?passkey=1".into()
            })
        );
        assert_eq!(
            TrackerUrl::parse("HTTPS://[2001:db8::1]/a"),
            Ok(TrackerUrl::Http {
                tls: true,
                host: "2001:db8::1".into(),
                port: 443,
                target: "/a".into()
            })
        );
        assert_eq!(
            TrackerUrl::parse("udp://tracker.example:1337/announce"),
            Ok(TrackerUrl::Udp {
                host: "tracker.example".into(),
                port: 1337
            })
        );
        assert_eq!(
            TrackerUrl::parse("http://t.example"),
            Ok(TrackerUrl::Http {
                tls: false,
                host: "t.example".into(),
                port: 80,
                target: "/".into()
            })
        );
    }

    #[test]
    fn refuses_the_rest() {
        assert_eq!(
            TrackerUrl::parse("udp://t.example/announce"),
            Err("udp:// needs a port")
        );
        assert_eq!(
            TrackerUrl::parse("wss://t.example"),
            Err("scheme is not http, https or udp")
        );
        assert_eq!(TrackerUrl::parse("t.example:80"), Err("no scheme"));
        assert_eq!(TrackerUrl::parse("http://:80/"), Err("no host"));
        assert_eq!(TrackerUrl::parse("http://a:99999/"), Err("bad port"));
        assert_eq!(
            TrackerUrl::parse("http://u:p@a/"),
            Err("user info in the URL")
        );
        assert!(TrackerUrl::parse("http://a/x\r\nHost: b").is_err());
    }
}
