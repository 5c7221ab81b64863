//! Writing a file so that it is either absent or whole: write a temporary file next to it,
//! then rename (atomic on one file system).

use std::path::{Path, PathBuf};

use super::BatchError;

/// Where [`write_atomically`] stages `path`: the same name with `.tmp` added
/// (`cat.png.tmp`). A leftover one means a killed run; it never counts as an output.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` through [`temp_path`] and a rename, creating missing folders.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BatchError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(BatchError::io("creating", dir))?;
    }
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes).map_err(BatchError::io("writing", &tmp))?;
    std::fs::rename(&tmp, path).map_err(BatchError::io("renaming to", path))
}
