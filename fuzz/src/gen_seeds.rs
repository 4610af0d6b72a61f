//! Writes the seed corpora under `fuzz/seeds/<target>/`: the known-answer
//! vectors in `test-vectors/`, the wire shapes the real peers send (see
//! `WORMHOLE-PROTOCOL.md`), archives made by ferry's own directory sender, and
//! a few hostile archives. Frames captured from real transfers are added by
//! `fuzz/capture-seeds.sh`. Run from `fuzz/`: `cargo run --bin gen_seeds`.

use std::io::Write;
use std::path::Path;

use ferry::v1::archive::DirPlan;
use ferry_proto::crypto::kdf::TransitKey;
use ferry_proto::transit::record::Sealer;
use ferry_proto::transit::Role;
use serde_json::Value;
use zip::write::SimpleFileOptions;

type Seeds = Vec<(String, Vec<u8>)>;

fn main() -> std::io::Result<()> {
    let kat: Value = serde_json::from_str(&std::fs::read_to_string(
        "../test-vectors/wormhole-kat.json",
    )?)?;
    write("server_message", server_frames())?;
    write("client_frame", client_frames())?;
    write("relay_line", relay_lines())?;
    write("session", session_scripts())?;
    write("pake", pake_bodies(&kat))?;
    write("transit_hints", hints())?;
    write("record", records())?;
    write("peer_message", peer_messages())?;
    write("code", codes(&kat))?;
    write("path", paths())?;
    write("extract_zip", zips()?)?;
    write("native_wire", native_wire())?;
    Ok(())
}

fn write(target: &str, seeds: Seeds) -> std::io::Result<()> {
    let dir = Path::new("seeds").join(target);
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

fn named<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(prefix: &str, items: I) -> Seeds {
    items
        .into_iter()
        .enumerate()
        .map(|(i, s)| (format!("{prefix}-{i:02}"), s.as_ref().to_vec()))
        .collect()
}

/// Frames of the Python 0.8 server, as transcribed live in the protocol notes.
fn server_frames() -> Seeds {
    named(
        "py",
        [
            r#"{"welcome": {"motd": "hello from test", "your-address": {"port": 46852, "ipv4": "127.0.0.1"}}, "type": "welcome", "server_tx": 1700000000.5}"#,
            r#"{"type": "ack", "id": "b1d0", "server_tx": 1.0}"#,
            r#"{"type": "ack", "id": null, "server_tx": 1.0}"#,
            r#"{"mailbox": "myqv3mpfqpzqs", "type": "claimed", "server_tx": 2.0}"#,
            r#"{"nameplate": "7", "type": "allocated", "server_tx": 2.0}"#,
            r#"{"nameplates": [{"id": "7"}, {"id": "12"}], "type": "nameplates"}"#,
            r#"{"type": "message", "side": "b4ebce8eca", "phase": "pake", "body": "7b2270616b655f7631223a2022353300227d", "server_rx": 1.0, "id": "abcd", "server_tx": 2.0}"#,
            r#"{"type": "released", "server_tx": 3.0}"#,
            r#"{"type": "closed", "server_tx": 3.0}"#,
            r#"{"type": "pong", "pong": 7}"#,
            r#"{"type": "error", "error": "crowded", "orig": {"type": "claim", "nameplate": "7"}, "server_tx": 3.0}"#,
            r#"{"welcome": {"error": "go away"}, "type": "welcome"}"#,
            r#"{"type": "fancy-new-thing", "x": [1, 2, {"y": null}]}"#,
        ],
    )
}

/// Commands as the Python, Go and Rust clients send them, and malformed ones
/// for each reference error.
fn client_frames() -> Seeds {
    named(
        "cmd",
        [
            r#"{"type": "bind", "appid": "lothar.com/wormhole/text-or-file-xfer", "side": "b4ebce8eca", "client_version": ["python", "0.13.0"], "id": "e9a1"}"#,
            r#"{"type":"allocate","id":"0002"}"#,
            r#"{"type":"claim","nameplate":"7","id":"0003"}"#,
            r#"{"type":"open","mailbox":"myqv3mpfqpzqs","id":"0004"}"#,
            r#"{"type":"add","phase":"pake","body":"7b2270616b655f7631223a2022353300227d","id":"0005"}"#,
            r#"{"type":"release","nameplate":"7"}"#,
            r#"{"type":"close","mailbox":"myqv3mpfqpzqs","mood":"happy"}"#,
            r#"{"type":"list"}"#,
            r#"{"type":"ping","ping":7,"id":5}"#,
            r#"{"type":"claim","nameplate":5}"#,
            r#"{"type":"add","phase":null,"body":[1]}"#,
            r#"{"type":7,"id":{"x":[]}}"#,
            r#"{"id":"no-type"}"#,
            r#"[1,2]"#,
        ],
    )
}

/// The relay's handshake lines, new and legacy, and near misses.
fn relay_lines() -> Seeds {
    let token = "03bce0633f7cbdc0a3a1594a0936360833e2230fb8c12791c5048b466fdd657d";
    named(
        "line",
        [
            format!("please relay {token} for side abcdef0123456789\n"),
            format!("please relay {token}\n"),
            format!("please relay {token} for side abcdef0123456789"),
            format!("please relay {token} for side abcdef0123456789\nearly data"),
            format!("please relay {token}\r\n"),
            "GET / HTTP/1.1\r\n".to_owned(),
        ],
    )
}

fn session_scripts() -> Seeds {
    named("script", [
        "C\nP\nV\nM\x00{\"offer\": {\"message\": \"hi\"}}\nM\x01second",
        "P\nC\nM\x01early\nV\nM\x00first\nM\x00first again",
        "C\nP\nX00112233\nV",
        "{\"type\": \"welcome\", \"welcome\": {\"motd\": \"hi\"}}\nC\nP\nP\nV\nV",
        "{\"type\": \"error\", \"error\": \"crowded\", \"orig\": {}}",
        "C\n{\"type\": \"message\", \"side\": \"peerside00\", \"phase\": \"pake\", \"body\": \"zz\"}",
    ])
}

fn pake_bodies(kat: &Value) -> Seeds {
    let mut bodies = Vec::new();
    for case in kat["cases"].as_array().into_iter().flatten() {
        for key in ["msg_a", "msg_b"] {
            if let Some(m) = case[key].as_str() {
                bodies.push(format!(r#"{{"pake_v1": "{m}"}}"#));
            }
        }
    }
    bodies.push(
        r#"{"pake_v1": "41d3076a7257e7293b66e16dbf054545e3d324fc46ec92133dc1fae5f9a0b7093a"}"#
            .into(),
    );
    bodies.push(format!(r#"{{"pake_v1": "53{}"}}"#, "00".repeat(32)));
    bodies.push(r#"{"pake_v1": 5}"#.into());
    named("kat", bodies)
}

fn hints() -> Seeds {
    named(
        "hints",
        [
            r#"{"abilities-v1": [{"type": "direct-tcp-v1"}, {"type": "relay-v1"}], "hints-v1": [{"type": "direct-tcp-v1", "priority": 0.0, "hostname": "192.0.2.2", "port": 43817}, {"type": "relay-v1", "hints": [{"type": "direct-tcp-v1", "priority": 0.0, "hostname": "transit.magic-wormhole.io", "port": 4001}]}]}"#,
            r#"{"abilities-v1":[{"type":"direct-tcp-v1"},{"type":"relay-v1"}],"hints-v1":[{"type":"relay-v1","name":null,"hints":[{"type":"direct-tcp-v1","hostname":"127.0.0.1","port":4001},{"type":"websocket","url":"ws://127.0.0.1:4002"}]}]}"#,
            r#"{"abilities-v1": [], "hints-v1": []}"#,
            r#"{"hints-v1": [{"type": "direct-tcp-v1", "hostname": "x", "port": -1}, {"type": "tor-tcp-v1", "hostname": "a.onion", "port": 80}, "garbage", 7]}"#,
        ],
    )
}

fn kat_key() -> TransitKey {
    let mut key = [0u8; 32];
    let bytes = hex::decode("d24e11c8f32da7f78c63415c8c9baf5174615dba93eadd5e69c7df1eb4c1b130")
        .unwrap_or_default();
    key.copy_from_slice(&bytes);
    TransitKey::from_bytes(key)
}

/// Mode 0: real record streams (the KAT "hello" records and a longer one);
/// mode 1: orders for the shuffling check.
fn records() -> Seeds {
    let mut sealer = Sealer::new(&kat_key(), Role::Sender);
    let mut stream = vec![0u8];
    for text in [&b"hello"[..], b"hello", &[0x42; 300]] {
        sealer.seal_frame(text, &mut stream);
    }
    let mut cut = stream.clone();
    cut.truncate(stream.len() - 10);
    let mut huge = vec![0u8, 0xff, 0xff, 0xff, 0xf0];
    huge.extend_from_slice(&[0; 40]);
    let mut shuffled = vec![1u8, 0, 1, 2, 2, 3];
    shuffled.extend_from_slice(&[0x11; 16 - 5]);
    shuffled.extend((0..=255u8).cycle().take(200));
    named("rec", [stream, cut, huge, shuffled, vec![1, 0, 1, 0, 2]])
}

fn peer_messages() -> Seeds {
    named(
        "v1",
        [
            r#"{"offer": {"message": "hi there"}}"#,
            r#"{"offer": {"file": {"filename": "hello.txt", "filesize": 20}}}"#,
            r#"{"offer": {"directory": {"mode": "zipfile/deflated", "dirname": "dir", "zipsize": 239, "numbytes": 5, "numfiles": 2}}}"#,
            r#"{"answer": {"message_ack": "ok"}}"#,
            r#"{"answer": {"file_ack": "ok"}}"#,
            r#"{"error": "transfer rejected"}"#,
            r#"{"transit": {"abilities-v1": [{"type": "direct-tcp-v1"}], "hints-v1": []}}"#,
            r#"{"ack": "ok", "sha256": "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"}"#,
            r#"{"ack": "ok"}"#,
            r#"{"offer": {"file": {"filename": "../x", "filesize": 18446744073709551615}}}"#,
        ],
    )
}

fn codes(kat: &Value) -> Seeds {
    let mut codes: Vec<String> = kat["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["code"].as_str())
        .map(|c| format!("\x02{c}"))
        .collect();
    for c in kat["completions"].as_array().into_iter().flatten() {
        let words = c["num_words"].as_u64().unwrap_or(2) as u8;
        if let Some(prefix) = c["prefix"].as_str() {
            codes.push(format!("{}{prefix}", words as char));
        }
    }
    codes.extend(
        [
            "\x027-",
            "\x02-x",
            "\x02 7-a b",
            "\x030123-Anything_goes-here-ß",
        ]
        .map(String::from),
    );
    named("code", codes)
}

fn paths() -> Seeds {
    named(
        "name",
        [
            "a/b/c.txt",
            "../x",
            "/abs/path",
            "a/../../b",
            "C:\\x",
            "\\\\server\\x",
            "a\0b",
            "a\nb",
            "\x1b[31mred\x1b[0m",
            "./a//b/./c/",
            "evil\u{202e}fdp.exe",
            ".",
            "..",
            "",
            "über/日本語.txt",
        ],
    )
}

fn zips() -> std::io::Result<Seeds> {
    let mut seeds = vec![("ferry-dir".to_owned(), ferry_zip()?)];
    seeds.push((
        "deflate".to_owned(),
        zip_with(|z, o| {
            z.start_file(
                "a/b.txt",
                o.compression_method(zip::CompressionMethod::Deflated),
            )?;
            z.write_all(&[b'x'; 5000])?;
            z.add_directory("empty/", o)?;
            Ok(())
        })?,
    ));
    seeds.push((
        "symlink".to_owned(),
        zip_with(|z, o| {
            z.add_symlink("link", "/etc", o)?;
            Ok(())
        })?,
    ));
    seeds.push((
        "escape".to_owned(),
        zip_with(|z, o| {
            z.start_file("../escape.txt", o)?;
            z.write_all(b"out")?;
            Ok(())
        })?,
    ));
    Ok(seeds)
}

type ZipW = zip::ZipWriter<std::io::Cursor<Vec<u8>>>;

fn zip_with(
    fill: impl FnOnce(&mut ZipW, SimpleFileOptions) -> zip::result::ZipResult<()>,
) -> std::io::Result<Vec<u8>> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    fill(&mut z, SimpleFileOptions::default()).map_err(std::io::Error::other)?;
    Ok(z.finish().map_err(std::io::Error::other)?.into_inner())
}

/// What ferry's directory sender really puts on the wire.
fn ferry_zip() -> std::io::Result<Vec<u8>> {
    let tmp = tempfile::tempdir()?;
    let root = tmp.path().join("dir");
    std::fs::create_dir_all(root.join("sub/empty"))?;
    std::fs::write(root.join("a.txt"), b"hello")?;
    std::fs::write(root.join("sub/b.bin"), [7u8; 3000])?;
    let plan = DirPlan::scan(&root)?;
    let mut out = Vec::new();
    plan.write_zip(&mut out, &mut |_| {})?;
    Ok(out)
}

/// Native frames as `wire.rs` lays them out, each behind a `u16` length
/// (mode 0), the native mailbox message (mode 1), a resume state (mode 2).
fn native_wire() -> Seeds {
    fn framed(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0u8];
        for f in frames {
            out.extend_from_slice(&(f.len() as u16).to_be_bytes());
            out.extend_from_slice(f);
        }
        out
    }
    let string = |tag: u8, text: &str| {
        let mut f = vec![tag];
        f.extend_from_slice(&(text.len() as u16).to_be_bytes());
        f.extend_from_slice(text.as_bytes());
        f
    };
    let mut data = vec![0x20, 0, 0, 0, 1, 0, 0, 0, 2];
    data.extend_from_slice(b"payload bytes");
    let mut batch = vec![0x10];
    batch.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3]);
    let mut checkpoint = vec![0x21];
    checkpoint.extend_from_slice(&42u64.to_be_bytes());
    let mut error = vec![0x7f, 1];
    error.extend_from_slice(&string(0, "broken")[1..]);
    let totals = |tag: u8| {
        let mut f = vec![tag];
        for v in [1u64, 1, 5] {
            f.extend_from_slice(&v.to_be_bytes());
        }
        f
    };
    named(
        "native",
        [
            framed(&[
                vec![0x03],
                batch,
                data,
                checkpoint,
                vec![0x23],
                totals(0x30),
            ]),
            framed(&[string(0x04, "no thanks"), error, totals(0x02)]),
            b"\x01{\"native-transit\": {\"abilities-v1\": [], \"hints-v1\": []}}".to_vec(),
            b"\x01{\"error\": \"nope\"}".to_vec(),
            vec![2u8; 90],
        ],
    )
}
