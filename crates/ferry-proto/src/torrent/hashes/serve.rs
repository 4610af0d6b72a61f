//! Answering peers' hash requests from the piece layers we hold.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::{layer_width, piece_layer, uncle_count, MAX_LENGTH};
use crate::torrent::merkle::{pad_hash, parent, Hash};
use crate::torrent::metainfo::Info;
use crate::torrent::wire::HashRequest;

/// The piece layers of a torrent, ready to answer requests at the piece layer or
/// above (we keep no block hashes: requests below the piece layer are refused).
#[derive(Debug)]
pub struct LayerServer {
    base: u32,
    files: BTreeMap<Hash, Layer>,
}

#[derive(Debug)]
struct Layer {
    nodes: Vec<Hash>,
    width: usize,
    pad: Hash,
    /// Every row from the padded piece layer up to the root, built at the first ask.
    rows: OnceLock<Vec<Vec<Hash>>>,
}

impl LayerServer {
    /// Serves `layers` (checked against their roots, as `Metainfo` keeps them).
    pub fn new(info: &Info, layers: &BTreeMap<Hash, Vec<Hash>>) -> LayerServer {
        let blocks_per_piece = (1usize) << piece_layer(info);
        let files = layers
            .iter()
            .map(|(root, nodes)| {
                let layer = Layer {
                    nodes: nodes.clone(),
                    width: layer_width(nodes.len() as u64) as usize,
                    pad: pad_hash(blocks_per_piece),
                    rows: OnceLock::new(),
                };
                (*root, layer)
            })
            .collect();
        LayerServer {
            base: piece_layer(info),
            files,
        }
    }

    /// Whether there is anything to serve.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The answer to `request`: its nodes then its uncles; `None` to reject it.
    pub fn answer(&self, request: &HashRequest) -> Option<Vec<Hash>> {
        let layer = self.files.get(&request.pieces_root)?;
        let up = request.base_layer.checked_sub(self.base)? as usize;
        let rows = layer.rows();
        let row = rows.get(up)?;
        let (index, length) = (request.index as usize, request.length as usize);
        let levels_above = row.len().trailing_zeros();
        let fits = (2..=MAX_LENGTH as usize).contains(&length)
            && length.is_power_of_two()
            && index.is_multiple_of(length)
            && index + length <= row.len()
            && request.proof_layers < levels_above;
        if !fits {
            return None;
        }
        let mut out = row[index..index + length].to_vec();
        let first = length.trailing_zeros() as usize;
        let count = uncle_count(request.length, request.proof_layers) as usize;
        for level in first..first + count {
            let position = index >> level;
            out.push(rows[up + level][position ^ 1]);
        }
        Some(out)
    }
}

impl Layer {
    fn rows(&self) -> &Vec<Vec<Hash>> {
        self.rows.get_or_init(|| {
            let mut row = self.nodes.clone();
            row.resize(self.width, self.pad);
            let mut rows = vec![row];
            while rows.last().is_some_and(|r| r.len() > 1) {
                let below = rows.last().expect("a row");
                let next = below.chunks(2).map(|p| parent(&p[0], &p[1])).collect();
                rows.push(next);
            }
            rows
        })
    }
}
