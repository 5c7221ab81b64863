//! `--shard K/N`: a split of the photos that every machine computes alike, by a hash of
//! each photo's relative path (not its position), so shards stay stable when other photos
//! come and go.

use std::str::FromStr;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1 ≤ index ≤ count.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

/// A `--shard` value that is not `K/N` with 1 ≤ K ≤ N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a shard: expected K/N with 1 ≤ K ≤ N (e.g. 2/8)")]
pub struct ShardError(String);

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ShardError(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Whether the photo at `relative` belongs to this shard: `path_hash(relative) % count
    /// == index - 1`.
    pub fn contains(&self, relative: &str) -> bool {
        path_hash(relative) % self.count == self.index - 1
    }
}

/// 64-bit FNV-1a of a relative path's UTF-8 bytes with `/` separators (the same on every
/// platform and every run).
pub fn path_hash(relative: &str) -> u64 {
    let normalised = relative.replace('\\', "/");
    normalised.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
