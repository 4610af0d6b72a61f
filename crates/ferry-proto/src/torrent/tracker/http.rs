//! HTTP trackers: the announce URL and the bencoded response (BEP 3, 23, 7).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::{
    compact_peers, Announce, AnnounceResponse, Event, TrackerError, MAX_PEERS, MAX_RESPONSE,
};
use crate::torrent::bencode::{self, Dict, Limits, Value};

const LIMITS: Limits = Limits {
    depth: 8,
    items: 4 * MAX_PEERS,
};

/// The announce URL: the tracker's URL (which may hold a query already) with ours added.
pub fn announce_url(tracker: &str, a: &Announce) -> String {
    let separator = if tracker.contains('?') { '&' } else { '?' };
    format!("{tracker}{separator}{}", query(a))
}

/// `info_hash=…&peer_id=…&port=…`: binary fields percent-encoded byte by byte.
pub fn query(a: &Announce) -> String {
    let mut q = format!(
        "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact=1&key={:08x}",
        percent_encode(&a.info_hash),
        percent_encode(&a.peer_id),
        a.port,
        a.uploaded,
        a.downloaded,
        a.left,
        a.key,
    );
    if let Some(n) = a.numwant {
        let _ = write!(q, "&numwant={n}");
    }
    let event = match a.event {
        Event::None => None,
        Event::Started => Some("started"),
        Event::Completed => Some("completed"),
        Event::Stopped => Some("stopped"),
    };
    if let Some(e) = event {
        let _ = write!(q, "&event={e}");
    }
    q
}

/// RFC 3986: unreserved characters stay, every other byte becomes `%XX`.
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes a response body. A `failure reason` is returned as [`TrackerError::Failure`].
pub fn decode_response(body: &[u8]) -> Result<AnnounceResponse, TrackerError> {
    if body.len() > MAX_RESPONSE {
        return Err(TrackerError::TooLarge(body.len()));
    }
    let value = bencode::decode_with(body, LIMITS)?;
    let d = value.as_dict().ok_or(TrackerError::NotDict)?;
    if let Some(reason) = d.get(b"failure reason") {
        let text = reason
            .as_bytes()
            .ok_or(TrackerError::Field("failure reason"))?;
        return Err(TrackerError::Failure(
            String::from_utf8_lossy(text).into_owned(),
        ));
    }
    let mut peers = match d.get(b"peers") {
        Some(Value::Bytes(b)) => compact_peers(b, false)?,
        Some(Value::List(l)) => dict_peers(l)?,
        Some(_) => return Err(TrackerError::Field("peers")),
        None => Vec::new(),
    };
    if let Some(v6) = d.get(b"peers6") {
        let bytes = v6.as_bytes().ok_or(TrackerError::Field("peers6"))?;
        peers.extend(compact_peers(bytes, true)?);
    }
    if peers.len() > MAX_PEERS {
        return Err(TrackerError::TooManyPeers);
    }
    Ok(AnnounceResponse {
        interval: u32_field(d, b"interval").ok_or(TrackerError::Field("interval"))?,
        min_interval: u32_field(d, b"min interval"),
        warning: d
            .get(b"warning message")
            .and_then(Value::as_bytes)
            .map(|w| String::from_utf8_lossy(w).into_owned()),
        seeders: u32_field(d, b"complete"),
        leechers: u32_field(d, b"incomplete"),
        peers,
    })
}

fn u32_field(d: &Dict<'_>, key: &[u8]) -> Option<u32> {
    u32::try_from(d.get(key)?.as_int()?).ok()
}

/// The original form: a list of `{ip, port, peer id}`. Entries whose `ip` is a host
/// name rather than an address are skipped (resolving them is not a decoder's job).
fn dict_peers(list: &[Value<'_>]) -> Result<Vec<SocketAddr>, TrackerError> {
    if list.len() > MAX_PEERS {
        return Err(TrackerError::TooManyPeers);
    }
    let peer = |v: &Value<'_>| -> Option<SocketAddr> {
        let d = v.as_dict()?;
        let ip: IpAddr = d.get(b"ip")?.as_str()?.parse().ok()?;
        let port = u16::try_from(d.get(b"port")?.as_int()?).ok()?;
        Some(SocketAddr::new(ip, port))
    };
    Ok(list.iter().filter_map(peer).collect())
}

/// Room for the status line and headers on top of [`MAX_RESPONSE`].
pub const MAX_HEADERS_LEN: usize = 16 * 1024;

/// The body of an HTTP/1.1 response read so far (`eof`: the server closed).
/// `Ok(None)`: more bytes are needed. Only a 200 answer has a usable body; the body
/// is delimited by `Content-Length`, chunked encoding, or the end of the connection.
pub fn response_body(raw: &[u8], eof: bool) -> Result<Option<Vec<u8>>, TrackerError> {
    if raw.len() > MAX_RESPONSE + MAX_HEADERS_LEN {
        return Err(TrackerError::TooLarge(raw.len()));
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if !eof => return Ok(None),
        Ok(httparse::Status::Partial) => {
            return Err(TrackerError::Http("response ends in its headers"))
        }
        Err(_) => return Err(TrackerError::Http("malformed HTTP response")),
    };
    match response.code {
        Some(200) => {}
        Some(code) => return Err(TrackerError::HttpStatus(code)),
        None => return Err(TrackerError::Http("no status code")),
    }
    let header = |name: &str| {
        let found = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name));
        found.map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let body = &raw[head_len..];
    if header("transfer-encoding").is_some_and(|te| te.ends_with("chunked")) {
        return dechunk(body, eof);
    }
    match header("content-length") {
        Some(len) => {
            let len: usize = len
                .parse()
                .map_err(|_| TrackerError::Http("bad Content-Length"))?;
            if len > MAX_RESPONSE {
                return Err(TrackerError::TooLarge(len));
            }
            match body.len() >= len {
                true => Ok(Some(body[..len].to_vec())),
                false if eof => Err(TrackerError::Http(
                    "response ends before its Content-Length",
                )),
                false => Ok(None),
            }
        }
        None => Ok(eof.then(|| body.to_vec())),
    }
}

fn dechunk(mut body: &[u8], eof: bool) -> Result<Option<Vec<u8>>, TrackerError> {
    let mut out = Vec::new();
    let incomplete = |eof| match eof {
        true => Err(TrackerError::Http("response ends inside a chunk")),
        false => Ok(None),
    };
    loop {
        let (start, size) = match httparse::parse_chunk_size(body) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return incomplete(eof),
            Err(_) => return Err(TrackerError::Http("malformed chunk size")),
        };
        if size == 0 {
            return Ok(Some(out));
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size > MAX_RESPONSE - out.len() {
            return Err(TrackerError::TooLarge(out.len().saturating_add(size)));
        }
        let Some(chunk) = body.get(start..start + size) else {
            return incomplete(eof);
        };
        out.extend_from_slice(chunk);
        match body.get(start + size..start + size + 2) {
            Some(b"\r\n") => body = &body[start + size + 2..],
            Some(_) => return Err(TrackerError::Http("chunk not followed by CRLF")),
            None => return incomplete(eof),
        }
    }
}
