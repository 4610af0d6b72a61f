//! Sets of chunk groups: which groups a receiver holds verified, and which it wants.
//! On the wire a set is a sorted list of half-open `[start, end)` ranges.

/// A half-open range of group indices.
pub type GroupRange = (u32, u32);

/// Why a range list from the peer is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad group ranges: {0}")]
pub struct RangeError(&'static str);

/// A set of group indices below `len`, as a bitmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSet {
    len: u32,
    bits: Vec<u8>,
}

impl GroupSet {
    /// The empty set over `len` groups.
    pub fn empty(len: u32) -> Self {
        GroupSet {
            len,
            bits: vec![0; (len as usize).div_ceil(8)],
        }
    }

    /// Every group below `len`.
    pub fn full(len: u32) -> Self {
        let mut set = GroupSet::empty(len);
        (0..len).for_each(|g| set.insert(g));
        set
    }

    /// A set from its bitmap bytes (bits past `len` must be clear).
    pub fn from_bitmap(len: u32, bits: Vec<u8>) -> Option<Self> {
        let set = GroupSet { len, bits };
        let tail_clear = (len..(set.bits.len() as u32).saturating_mul(8)).all(|g| !set.bit(g));
        (set.bits.len() == (len as usize).div_ceil(8) && tail_clear).then_some(set)
    }

    /// A set from wire ranges: sorted, non-empty, non-overlapping, below `len`.
    pub fn from_ranges(len: u32, ranges: &[GroupRange]) -> Result<Self, RangeError> {
        let mut set = GroupSet::empty(len);
        let mut floor = 0u32;
        for (i, &(start, end)) in ranges.iter().enumerate() {
            if start >= end {
                return Err(RangeError("empty or reversed range"));
            }
            if end > len {
                return Err(RangeError("range past the end of the file"));
            }
            if i > 0 && start <= floor {
                return Err(RangeError("ranges not sorted or not disjoint"));
            }
            (start..end).for_each(|g| set.insert(g));
            floor = end;
        }
        Ok(set)
    }

    /// The bitmap bytes, for the resume state file.
    pub fn bitmap(&self) -> &[u8] {
        &self.bits
    }

    pub fn len(&self) -> u32 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    pub fn insert(&mut self, g: u32) {
        if g < self.len {
            self.bits[(g / 8) as usize] |= 1 << (g % 8);
        }
    }

    pub fn remove(&mut self, g: u32) {
        if g < self.len {
            self.bits[(g / 8) as usize] &= !(1 << (g % 8));
        }
    }

    pub fn contains(&self, g: u32) -> bool {
        g < self.len && self.bit(g)
    }

    fn bit(&self, g: u32) -> bool {
        self.bits
            .get((g / 8) as usize)
            .is_some_and(|b| b & (1 << (g % 8)) != 0)
    }

    /// How many groups are in the set.
    pub fn count(&self) -> u32 {
        self.bits.iter().map(|b| b.count_ones()).sum()
    }

    /// The groups in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|&g| self.bit(g))
    }

    /// Every group not in the set.
    pub fn complement(&self) -> GroupSet {
        let mut out = GroupSet::empty(self.len);
        (0..self.len)
            .filter(|&g| !self.bit(g))
            .for_each(|g| out.insert(g));
        out
    }

    /// The set as sorted maximal ranges.
    pub fn ranges(&self) -> Vec<GroupRange> {
        let mut out: Vec<GroupRange> = Vec::new();
        for g in self.iter() {
            match out.last_mut() {
                Some(last) if last.1 == g => last.1 = g + 1,
                _ => out.push((g, g + 1)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let mut s = GroupSet::empty(20);
        for g in [0, 1, 2, 5, 9, 10, 19] {
            s.insert(g);
        }
        assert_eq!(s.ranges(), vec![(0, 3), (5, 6), (9, 11), (19, 20)]);
        assert_eq!(GroupSet::from_ranges(20, &s.ranges()).unwrap(), s);
        assert_eq!(s.count(), 7);
        assert_eq!(s.complement().count(), 13);
        assert_eq!(GroupSet::full(9).ranges(), vec![(0, 9)]);
        assert!(GroupSet::empty(0).ranges().is_empty());
        let back = GroupSet::from_bitmap(20, s.bitmap().to_vec()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert!(GroupSet::from_ranges(10, &[(3, 3)]).is_err());
        assert!(GroupSet::from_ranges(10, &[(4, 2)]).is_err());
        assert!(GroupSet::from_ranges(10, &[(0, 11)]).is_err());
        assert!(GroupSet::from_ranges(10, &[(5, 7), (1, 2)]).is_err());
        assert!(GroupSet::from_ranges(10, &[(1, 3), (3, 4)]).is_err());
        assert!(GroupSet::from_bitmap(9, vec![0xff, 0x02]).is_none());
        assert!(GroupSet::from_bitmap(9, vec![0xff]).is_none());
    }
}
