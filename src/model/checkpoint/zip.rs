//! The entries of a zip archive as `torch.save` writes it: stored (uncompressed), with a
//! zip64 end record. Each entry's CRC-32 is checked, so a damaged file is refused rather
//! than read as wrong weights.

use std::collections::BTreeMap;
use std::ops::Range;

use super::CheckpointError;

const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// Whether `bytes` start like a zip archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && u32_at(bytes, 0) == Some(LOCAL)
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn to_usize(v: u64) -> Result<usize, CheckpointError> {
    usize::try_from(v).map_err(|_| CheckpointError::Truncated)
}

/// Where the central directory is and how many entries it lists.
fn directory(bytes: &[u8]) -> Result<(usize, usize), CheckpointError> {
    // The end record is 22 bytes plus a comment of at most 64 KiB, at the very end.
    let lowest = bytes.len().saturating_sub(22 + 0xffff);
    let end = (lowest..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&at| u32_at(bytes, at) == Some(END))
        .ok_or(CheckpointError::Truncated)?;
    let entries = u16_at(bytes, end + 10).ok_or(CheckpointError::Truncated)?;
    let offset = u32_at(bytes, end + 16).ok_or(CheckpointError::Truncated)?;
    if end >= 20 && u32_at(bytes, end - 20) == Some(LOCATOR64) {
        let at = to_usize(u64_at(bytes, end - 12).ok_or(CheckpointError::Truncated)?)?;
        if u32_at(bytes, at) != Some(END64) {
            return Err(CheckpointError::Truncated);
        }
        let entries = u64_at(bytes, at + 32).ok_or(CheckpointError::Truncated)?;
        let offset = u64_at(bytes, at + 48).ok_or(CheckpointError::Truncated)?;
        return Ok((to_usize(offset)?, to_usize(entries)?));
    }
    Ok((offset as usize, usize::from(entries)))
}

/// The zip64 extra field's values for the sizes and offset that are 0xFFFFFFFF.
fn zip64_values(extra: &[u8], wanted: usize) -> Result<Vec<u64>, CheckpointError> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at).unwrap_or(0);
        let size = usize::from(u16_at(extra, at + 2).unwrap_or(0));
        if id == 1 {
            return (0..wanted)
                .map(|i| u64_at(extra, at + 4 + 8 * i).ok_or(CheckpointError::Truncated))
                .collect();
        }
        at += 4 + size;
    }
    Err(CheckpointError::Truncated)
}

/// Every entry's name and the byte range of its contents.
pub fn entries(bytes: &[u8]) -> Result<BTreeMap<String, Range<usize>>, CheckpointError> {
    let (mut at, count) = directory(bytes)?;
    let mut out = BTreeMap::new();
    for _ in 0..count {
        let field = |offset: usize| u32_at(bytes, at + offset).ok_or(CheckpointError::Truncated);
        if field(0)? != CENTRAL {
            return Err(CheckpointError::Truncated);
        }
        let method = u16_at(bytes, at + 10).ok_or(CheckpointError::Truncated)?;
        let crc = field(16)?;
        let mut size = u64::from(field(24)?);
        let name_len = usize::from(u16_at(bytes, at + 28).ok_or(CheckpointError::Truncated)?);
        let extra_len = usize::from(u16_at(bytes, at + 30).ok_or(CheckpointError::Truncated)?);
        let comment_len = usize::from(u16_at(bytes, at + 32).ok_or(CheckpointError::Truncated)?);
        let mut local = u64::from(field(42)?);
        let name = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or(CheckpointError::Truncated)?;
        let name = String::from_utf8_lossy(name).into_owned();
        let extra = bytes
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or(CheckpointError::Truncated)?;
        // Zip64: the sizes (uncompressed, compressed) and offset that overflowed, in order.
        let compressed = u64::from(field(20)?);
        let overflowed = [size, compressed, local]
            .iter()
            .filter(|&&v| v == 0xffff_ffff)
            .count();
        if overflowed > 0 {
            let mut values = zip64_values(extra, overflowed)?.into_iter();
            if size == 0xffff_ffff {
                size = values.next().unwrap_or(0);
            }
            if compressed == 0xffff_ffff {
                values.next();
            }
            if local == 0xffff_ffff {
                local = values.next().unwrap_or(0);
            }
        }
        if method != 0 {
            return Err(CheckpointError::Compressed(name));
        }
        let local = to_usize(local)?;
        if u32_at(bytes, local) != Some(LOCAL) {
            return Err(CheckpointError::Truncated);
        }
        let local_name = usize::from(u16_at(bytes, local + 26).ok_or(CheckpointError::Truncated)?);
        let local_extra = usize::from(u16_at(bytes, local + 28).ok_or(CheckpointError::Truncated)?);
        let start = local + 30 + local_name + local_extra;
        let range = start..start + to_usize(size)?;
        let contents = bytes.get(range.clone()).ok_or(CheckpointError::Truncated)?;
        if crc32fast::hash(contents) != crc {
            return Err(CheckpointError::Damaged(name));
        }
        out.insert(name, range);
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}
