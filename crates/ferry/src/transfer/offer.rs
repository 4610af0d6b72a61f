//! What the receiver is asked, whatever the protocol: a summary built from a v1
//! offer, a native manifest, or (next) a LocalSend or torrent file list.

/// One transfer as the person receiving it decides on it. Names come from the
/// peer: escape them before showing them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OfferSummary {
    pub what: Offered,
    /// Files and their bytes, as the sender states them.
    pub files: u64,
    pub bytes: u64,
    /// Bytes that will cross the network (a zip's size, say, or just the file sizes).
    pub to_transfer: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Offered {
    File {
        name: String,
    },
    Directory {
        name: String,
    },
    /// Several files and directories side by side; `first` names one of them.
    Several {
        first: String,
        count: usize,
    },
}

impl OfferSummary {
    /// A single file of `size` bytes.
    pub fn file(name: &str, size: u64) -> Self {
        OfferSummary {
            what: Offered::File {
                name: name.to_owned(),
            },
            files: 1,
            bytes: size,
            to_transfer: size,
        }
    }

    /// A directory of `files` files and `bytes` bytes, moving `to_transfer` bytes.
    pub fn directory(name: &str, files: u64, bytes: u64, to_transfer: u64) -> Self {
        OfferSummary {
            what: Offered::Directory {
                name: name.to_owned(),
            },
            files,
            bytes,
            to_transfer,
        }
    }

    /// Several top-level names side by side.
    pub fn several<'a>(names: impl Iterator<Item = &'a str>, files: u64, bytes: u64) -> Self {
        let names: Vec<&str> = names.collect();
        OfferSummary {
            what: Offered::Several {
                first: names.first().copied().unwrap_or_default().to_owned(),
                count: names.len(),
            },
            files,
            bytes,
            to_transfer: bytes,
        }
    }
}
