//! Asking peers for the piece layers a magnet's v2 torrent lacks.

use std::collections::BTreeMap;

use super::{layer_width, piece_layer, uncle_count, CHUNK};
use crate::torrent::merkle::{parent, root_padded, Hash};
use crate::torrent::metainfo::Info;
use crate::torrent::wire::HashRequest;

/// Why a peer's answer is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    #[error("the peer sent hashes we did not ask for")]
    Unasked,
    #[error("the peer sent {got} hashes where {want} were due")]
    Count { got: usize, want: usize },
    #[error("the peer's hashes do not lead to the file's pieces root")]
    Wrong,
    #[error("the peer refused to send piece hashes")]
    Rejected,
}

/// The piece layers still missing, the requests that fetch them, and what came.
#[derive(Debug, Clone)]
pub struct LayerFetch {
    files: Vec<Wanted>,
}

#[derive(Debug, Clone)]
struct Wanted {
    root: Hash,
    pieces: u64,
    /// Nodes in the padded layer (a power of two).
    width: u64,
    /// Nodes per request.
    chunk: u64,
    /// One slot per request, filled once its nodes are checked.
    got: Vec<Option<Vec<Hash>>>,
}

impl LayerFetch {
    /// The layers of every file of more than one piece that `have` lacks.
    pub fn new(info: &Info, have: &BTreeMap<Hash, Vec<Hash>>) -> LayerFetch {
        let mut files = Vec::new();
        for f in &info.files {
            let Some(root) = f.pieces_root else { continue };
            if f.pad || f.length <= info.piece_length || have.contains_key(&root) {
                continue;
            }
            if files.iter().any(|w: &Wanted| w.root == root) {
                continue; // identical files share one layer
            }
            let pieces = f.length.div_ceil(info.piece_length);
            let width = layer_width(pieces);
            let chunk = width.min(CHUNK as u64);
            let slots = pieces.div_ceil(chunk) as usize;
            files.push(Wanted {
                root,
                pieces,
                width,
                chunk,
                got: vec![None; slots],
            });
        }
        LayerFetch { files }
    }

    /// Every request still unanswered, for a torrent of `info`'s piece length.
    pub fn requests(&self, info: &Info) -> Vec<HashRequest> {
        let base = piece_layer(info);
        let mut out = Vec::new();
        for w in &self.files {
            let proof_layers = w.width.trailing_zeros() - 1;
            for (slot, _) in w.got.iter().enumerate().filter(|(_, g)| g.is_none()) {
                out.push(HashRequest {
                    pieces_root: w.root,
                    base_layer: base,
                    index: (slot as u64 * w.chunk) as u32,
                    length: w.chunk as u32,
                    proof_layers,
                });
            }
        }
        out
    }

    /// Takes a `hashes` answer (`nodes`: 32 bytes each) to one of [`Self::requests`].
    pub fn accept(&mut self, request: &HashRequest, nodes: &[u8]) -> Result<(), LayerError> {
        let w = self
            .files
            .iter_mut()
            .find(|w| w.root == request.pieces_root)
            .ok_or(LayerError::Unasked)?;
        let slot = (request.index as u64 / w.chunk) as usize;
        let asked = request.length as u64 == w.chunk
            && (request.index as u64).is_multiple_of(w.chunk)
            && request.proof_layers == w.width.trailing_zeros() - 1
            && slot < w.got.len();
        if !asked {
            return Err(LayerError::Unasked);
        }
        let uncles = uncle_count(request.length, request.proof_layers) as usize;
        let want = w.chunk as usize + uncles;
        if nodes.len() != want * 32 {
            return Err(LayerError::Count {
                got: nodes.len() / 32,
                want,
            });
        }
        let nodes: Vec<Hash> = nodes.chunks(32).map(to_hash).collect();
        let (row, proof) = nodes.split_at(w.chunk as usize);
        if climb(root_padded(row, row.len(), [0; 32]), slot as u64, proof) != w.root {
            return Err(LayerError::Wrong);
        }
        let real = (w.pieces - slot as u64 * w.chunk).min(w.chunk) as usize;
        w.got[slot] = Some(row[..real].to_vec());
        Ok(())
    }

    /// Whether every layer is complete.
    pub fn is_done(&self) -> bool {
        self.files.iter().all(|w| w.got.iter().all(Option::is_some))
    }

    /// The layers, by file root; only complete ones.
    pub fn into_layers(self) -> BTreeMap<Hash, Vec<Hash>> {
        let mut out = BTreeMap::new();
        for w in self.files {
            if let Some(parts) = w.got.into_iter().collect::<Option<Vec<_>>>() {
                out.insert(w.root, parts.concat());
            }
        }
        out
    }
}

/// From the node at `position` in its row, up by the uncles, to the root.
fn climb(mut node: Hash, mut position: u64, uncles: &[Hash]) -> Hash {
    for uncle in uncles {
        node = match position % 2 {
            0 => parent(&node, uncle),
            _ => parent(uncle, &node),
        };
        position /= 2;
    }
    node
}

fn to_hash(bytes: &[u8]) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(bytes);
    out
}
