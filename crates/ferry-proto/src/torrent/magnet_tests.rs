use super::*;

const V1: &str = "22e2a3f69ba13bf85f691d25a3fc18f251ee0b10";
const V2: &str = "2c9b472bdb258d19ff2aa781193d79a3b6ab319bc1f73114eac0a197b57ed6fc";

#[test]
fn writes_what_libtorrent_writes() {
    // libtorrent 2.1.1 make_magnet_uri for the same torrent (a hybrid named `d`).
    let want = format!(
        "magnet:?xt=urn:btih:{V1}&xt=urn:btmh:1220{V2}&dn=d\
         &tr=http%3a%2f%2ft1%2fa%3fx%3d1%26y%3d2&tr=udp%3a%2f%2ft3%3a80%2fa\
         &ws=http%3a%2f%2fws%2fa%2520b%2f"
    );
    let m = Magnet::parse(&want).unwrap();
    assert_eq!(m.hashes.v1.map(hex::encode).as_deref(), Some(V1));
    assert_eq!(m.hashes.v2.map(hex::encode).as_deref(), Some(V2));
    assert_eq!(m.trackers, ["http://t1/a?x=1&y=2", "udp://t3:80/a"]);
    assert_eq!(m.web_seeds, ["http://ws/a%20b/"]);
    assert_eq!(m.to_uri(), want);
}

#[test]
fn escapes_like_libtorrent() {
    let mut m = Magnet::parse(&format!("magnet:?xt=urn:btih:{V1}")).unwrap();
    m.name = Some("'\"+ ;:@=$,?#[]<>{}|\\^`".into());
    m.peers = vec!["1.2.3.4:5".parse().unwrap(), "[::1]:7".parse().unwrap()];
    assert_eq!(
        m.to_uri(),
        format!(
            "magnet:?xt=urn:btih:{V1}&dn=%27%22%2b%20%3b%3a%40%3d%24%2c%3f%23%5b%5d%3c%3e\
             %7b%7d%7c%5c%5e%60&x.pe=1.2.3.4:5&x.pe=[::1]:7"
        )
    );
    m.name = Some("a b&c/é~-_.!*()".into());
    assert!(m.to_uri().contains("&dn=a%20b%26c%2f%c3%a9~-_.!*()&"));
}

#[test]
fn reads_base32_plus_and_upper_case() {
    let m = Magnet::parse(
        "magnet:?xt=urn:btih:MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&dn=x%20y+z&x.pe=[::1]:6&so=1",
    )
    .unwrap();
    assert_eq!(
        m.hashes.v1.map(hex::encode).as_deref(),
        Some("6162636465666768696a6b6c6d6e6f7071727374")
    );
    assert_eq!(m.name.as_deref(), Some("x y z"));
    assert_eq!(m.peers, ["[::1]:6".parse().unwrap()]);
    let upper = Magnet::parse(&format!("magnet:?xt=urn:btih:{}", V1.to_uppercase())).unwrap();
    assert_eq!(upper.hashes.v1.map(hex::encode).as_deref(), Some(V1));
}

#[test]
fn refuses_what_is_malformed() {
    let err = |s: &str| Magnet::parse(s).unwrap_err();
    assert_eq!(err("http://x"), MagnetError::NotMagnet);
    assert_eq!(err("magnet:?dn=x"), MagnetError::NoHash);
    assert!(matches!(
        err("magnet:?xt=urn:btih:abc"),
        MagnetError::BadHash(_)
    ));
    assert!(matches!(
        err(&format!("magnet:?xt=urn:btmh:1114{V2}")),
        MagnetError::BadHash(_)
    ));
    assert!(matches!(
        err(&format!("magnet:?xt=urn:btih:{V1}&dn=%zz")),
        MagnetError::BadEscape(_)
    ));
    assert!(matches!(
        err(&format!("magnet:?xt=urn:btih:{V1}&dn=%ff")),
        MagnetError::NotUtf8(_)
    ));
    assert!(matches!(
        err(&format!("magnet:?xt=urn:btih:{V1}&x.pe=host:1")),
        MagnetError::BadPeer(_)
    ));
    let other = "0".repeat(40);
    assert_eq!(
        err(&format!("magnet:?xt=urn:btih:{V1}&xt=urn:btih:{other}")),
        MagnetError::TwoHashes("v1")
    );
    let long = format!("magnet:?xt=urn:btih:{V1}{}", "&tr=x".repeat(MAX_PARAMS));
    assert_eq!(err(&long), MagnetError::TooLong);
}
