//! Explaining many photos from the command line: ImageFolder datasets, a stable split into
//! shards, outputs written so that a killed run can resume, and one CSV row per photo.
//! Native only.

mod atomic;
mod csv;
mod folder;
mod shard;

pub use crate::audit::{Record, format_hot_box};
pub use atomic::{temp_path, write_atomically};
pub use csv::CsvLog;
pub use folder::{PhotoEntry, collect_photos, output_names, unmatched_classes};
pub use shard::{Shard, ShardError, path_hash};

/// Why a batch step failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`reading`, `writing`, …).
        action: &'static str,
        /// The file or folder.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No photo or folder was named.
    #[error("name at least one photo or folder (or use --input-tensor)")]
    NothingNamed,
    /// A folder named on the command line holds no photos.
    #[error("{0} holds no photos")]
    NoPhotos(String),
    /// An existing CSV file is not one this program wrote.
    #[error("{path} is not a results file of gradcam (first line: {first_line:?})")]
    ForeignCsv {
        /// The file.
        path: String,
        /// Its first line.
        first_line: String,
    },
}

impl BatchError {
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.display().to_string();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}
