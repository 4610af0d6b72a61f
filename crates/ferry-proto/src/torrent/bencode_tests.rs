use super::*;

fn err(input: &[u8]) -> DecodeError {
    decode(input).expect_err("must be refused")
}

#[test]
fn decodes_every_kind() {
    let v = decode(b"d3:bar4:spam3:fooi42e4:listli-7e0:ee").unwrap();
    let d = v.as_dict().unwrap();
    assert_eq!(d.get(b"bar").and_then(Value::as_str), Some("spam"));
    assert_eq!(d.get(b"foo").and_then(Value::as_int), Some(42));
    let list = d.get(b"list").and_then(Value::as_list).unwrap();
    assert_eq!(list, &[Value::Int(-7), Value::Bytes(b"")]);
    assert_eq!(d.get(b"missing"), None);
}

#[test]
fn a_dict_keeps_its_own_bytes() {
    let input = b"d4:infod6:lengthi5eee";
    let v = decode(input).unwrap();
    let info = v
        .as_dict()
        .unwrap()
        .get(b"info")
        .unwrap()
        .as_dict()
        .unwrap();
    assert_eq!(info.raw(), b"d6:lengthi5ee");
}

#[test]
fn encoding_sorts_keys_and_round_trips() {
    let value = dict([
        ("zeta", Bencode::Int(0)),
        (
            "alpha",
            Bencode::List(vec![Bencode::str("x"), Bencode::Int(-3)]),
        ),
        ("mid", dict([("k", Bencode::Bytes(vec![0, 255]))])),
    ]);
    let bytes = value.encode();
    assert_eq!(
        bytes,
        b"d5:alphal1:xi-3ee3:midd1:k2:\x00\xffe4:zetai0ee".to_vec()
    );
    let back = Bencode::from(&decode(&bytes).unwrap());
    assert_eq!(back.encode(), bytes);
}

#[test]
fn extreme_integers() {
    assert_eq!(
        decode(b"i9223372036854775807e").unwrap(),
        Value::Int(i64::MAX)
    );
    assert_eq!(
        decode(b"i-9223372036854775808e").unwrap(),
        Value::Int(i64::MIN)
    );
    assert_eq!(err(b"i9223372036854775808e"), DecodeError::BadInteger(0));
    assert_eq!(
        err(b"i123456789012345678901234e"),
        DecodeError::BadInteger(0)
    );
}

#[test]
fn non_canonical_forms_are_refused() {
    for bad in [
        &b"i-0e"[..],
        b"i03e",
        b"i-03e",
        b"ie",
        b"i-e",
        b"i+3e",
        b"i 3e",
        b"i3.0e",
    ] {
        assert!(matches!(err(bad), DecodeError::BadInteger(0)), "{bad:?}");
    }
    for bad in [&b"03:abc"[..], b"-1:a"] {
        assert!(
            matches!(
                err(bad),
                DecodeError::BadLength(0) | DecodeError::UnexpectedByte { .. }
            ),
            "{bad:?}"
        );
    }
    assert_eq!(err(b"d1:bi1e1:ai2ee"), DecodeError::KeyOrder(7));
    assert_eq!(err(b"d1:ai1e1:ai2ee"), DecodeError::KeyOrder(7));
    assert_eq!(err(b"di1ei2ee"), DecodeError::KeyNotString(1));
}

#[test]
fn truncation_and_trailing_bytes() {
    for cut in [
        &b"i42"[..],
        b"5:abc",
        b"l",
        b"d3:foo",
        b"d3:fooi1e",
        b"",
        b"99999999999:x",
    ] {
        assert!(matches!(err(cut), DecodeError::UnexpectedEnd(_)), "{cut:?}");
    }
    assert_eq!(err(b"i1ei2e"), DecodeError::Trailing(3));
    assert_eq!(err(b"x"), DecodeError::UnexpectedByte { byte: b'x', at: 0 });
}

#[test]
fn a_prefix_leaves_what_follows() {
    let input = b"d8:msg_typei1e5:piecei0eeRAWDATA";
    let (value, used) = decode_prefix(input).unwrap();
    assert_eq!(&input[used..], b"RAWDATA");
    assert_eq!(value.as_dict().unwrap().get(b"piece"), Some(&Value::Int(0)));
}

#[test]
fn nesting_and_item_count_are_bounded() {
    let deep = |n: usize| [vec![b'l'; n], vec![b'e'; n]].concat();
    assert!(decode(&deep(100)).is_ok());
    assert_eq!(err(&deep(101)), DecodeError::TooDeep(100));
    assert_eq!(err(&deep(100_000)), DecodeError::TooDeep(100));
    let limits = Limits {
        depth: 100,
        items: 3,
    };
    assert!(decode_with(b"li1ei2ee", limits).is_ok());
    assert_eq!(
        decode_with(b"li1ei2ei3ee", limits),
        Err(DecodeError::TooManyItems(3))
    );
}
