//! Writing zip archives of stored (uncompressed) entries, one entry at a time, so that a
//! large archive never has to be held whole: each [`ZipWriter::entry`] returns its bytes to
//! append, [`ZipWriter::finish`] the central directory that ends the archive. Used for the
//! `torch.save` files `gradcam init-weights --pytorch` writes and the page's audit export
//! (PNGs are compressed already). Archives and entries stay below 4 GiB (no zip64).

/// Why an entry cannot be added.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// The archive would pass 4 GiB or 65 535 entries, or a name 65 535 bytes.
    #[error("the archive would be too large for a zip without zip64 (entry {name})")]
    TooLarge {
        /// The entry that did not fit.
        name: String,
    },
}

/// An archive being written: the offset reached and the central directory so far.
#[derive(Debug, Default)]
pub struct ZipWriter {
    offset: u32,
    count: u16,
    central: Vec<u8>,
}

impl ZipWriter {
    /// The bytes of entry `name` holding `data`: its local header, then `data` (stored, with
    /// its CRC-32). Append them to the archive in the order they are made.
    pub fn entry(&mut self, name: &str, data: &[u8]) -> Result<Vec<u8>, ZipError> {
        let too_large = || ZipError::TooLarge {
            name: name.to_owned(),
        };
        let size = u32::try_from(data.len()).map_err(|_| too_large())?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_large())?;
        let header_len = 30 + u32::from(name_len);
        let next = self
            .offset
            .checked_add(header_len)
            .and_then(|o| o.checked_add(size))
            .ok_or_else(too_large)?;
        let count = self.count.checked_add(1).ok_or_else(too_large)?;
        let crc = crc32fast::hash(data);
        // version needed, flags, method 0 (stored), time, date; then CRC, sizes, name length
        // and an empty extra field.
        let fields = |h: &mut Vec<u8>| {
            h.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&name_len.to_le_bytes());
            h.extend_from_slice(&[0, 0]);
        };
        let mut out = Vec::with_capacity(header_len as usize + data.len());
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        self.central
            .extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        self.central.extend_from_slice(&[20, 0]); // made by
        fields(&mut self.central);
        self.central.extend_from_slice(&[0; 10]); // comment length, disk, attributes
        self.central.extend_from_slice(&self.offset.to_le_bytes());
        self.central.extend_from_slice(name.as_bytes());
        self.offset = next;
        self.count = count;
        Ok(out)
    }

    /// The central directory and its end record: the archive's last bytes.
    pub fn finish(self) -> Result<Vec<u8>, ZipError> {
        let too_large = || ZipError::TooLarge {
            name: "central directory".to_owned(),
        };
        let central_len = u32::try_from(self.central.len()).map_err(|_| too_large())?;
        self.offset.checked_add(central_len).ok_or_else(too_large)?;
        let mut out = self.central;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // disk numbers
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&central_len.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]); // comment length
        Ok(out)
    }
}

/// A whole archive of `entries` in memory.
pub fn zip_stored(entries: &[(&str, &[u8])]) -> Result<Vec<u8>, ZipError> {
    let mut writer = ZipWriter::default();
    let mut out = Vec::new();
    for (name, data) in entries {
        out.extend(writer.entry(name, data)?);
    }
    out.extend(writer.finish()?);
    Ok(out)
}
