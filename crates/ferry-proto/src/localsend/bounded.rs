//! A `files` map that stops growing at [`MAX_FILES`] entries while it is read,
//! so a hostile body cannot make us hold millions of entries first.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Most entries in a `files` map: a big folder, well short of a memory problem.
pub const MAX_FILES: usize = 65_536;

/// Deserializes a `files` map, refusing entry [`MAX_FILES`] + 1 as it comes
/// instead of after the whole map is in memory.
pub(super) fn bounded_map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    d.deserialize_map(BoundedMap(PhantomData))
}

struct BoundedMap<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for BoundedMap<V> {
    type Value = BTreeMap<String, V>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a map of at most {MAX_FILES} files")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, V>()? {
            if out.len() == MAX_FILES {
                return Err(serde::de::Error::custom(format_args!(
                    "more than {MAX_FILES} files"
                )));
            }
            out.insert(k, v);
        }
        Ok(out)
    }
}
