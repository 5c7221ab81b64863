//! The photos named on the command line, with the expected class of each where a folder
//! follows the ImageFolder convention (`root/<class name>/<photo>`).

use std::path::{Path, PathBuf};

use super::BatchError;
use crate::model::labels::Labels;

/// One photo to explain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoEntry {
    /// The file.
    pub path: PathBuf,
    /// Its path inside the folder named on the command line, `/`-separated (`cat/001.jpg`);
    /// the file name for a photo named directly. Shards and output names follow it.
    pub relative: String,
    /// The subfolder it was found in (ImageFolder: the expected class's name).
    pub class_dir: Option<String>,
}

impl PhotoEntry {
    /// The expected class: the index of the label equal to the subfolder's name.
    pub fn expected(&self, labels: &Labels) -> Option<usize> {
        labels.index_of(self.class_dir.as_deref()?)
    }
}

/// The photos named on the command line. A folder contributes the photo files in it and in
/// its immediate subfolders (ImageFolder classes), sorted by relative path; files named
/// explicitly are kept whatever their extension (decoding will judge them).
pub fn collect_photos(args: &[PathBuf]) -> Result<Vec<PhotoEntry>, BatchError> {
    if args.is_empty() {
        return Err(BatchError::NothingNamed);
    }
    let mut photos = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            photos.push(PhotoEntry {
                path: arg.clone(),
                relative: arg
                    .file_name()
                    .unwrap_or(arg.as_os_str())
                    .to_string_lossy()
                    .into_owned(),
                class_dir: None,
            });
            continue;
        }
        let mut found: Vec<PhotoEntry> = photo_files(arg)?
            .into_iter()
            .map(|(path, name)| PhotoEntry {
                path,
                relative: name,
                class_dir: None,
            })
            .collect();
        for (dir, class) in subfolders(arg)? {
            for (path, name) in photo_files(&dir)? {
                found.push(PhotoEntry {
                    path,
                    relative: format!("{class}/{name}"),
                    class_dir: Some(class.clone()),
                });
            }
        }
        if found.is_empty() {
            return Err(BatchError::NoPhotos(arg.display().to_string()));
        }
        found.sort_by(|a, b| a.relative.cmp(&b.relative));
        photos.extend(found);
    }
    Ok(photos)
}

/// Photo files directly in `dir`, with their names.
fn photo_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, BatchError> {
    named_entries(dir, |p| p.is_file() && is_photo_name(p))
}

/// Subfolders of `dir` (hidden ones skipped), with their names.
fn subfolders(dir: &Path) -> Result<Vec<(PathBuf, String)>, BatchError> {
    let mut dirs = named_entries(dir, Path::is_dir)?;
    dirs.retain(|(_, name)| !name.starts_with('.'));
    Ok(dirs)
}

/// The entries of `dir` that `keep` accepts, with their file names.
fn named_entries(
    dir: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<(PathBuf, String)>, BatchError> {
    let entries = std::fs::read_dir(dir).map_err(BatchError::io("reading", dir))?;
    Ok(entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (p, name)
        })
        .collect())
}

fn is_photo_name(path: &Path) -> bool {
    crate::audit::is_photo_name(&path.file_name().unwrap_or_default().to_string_lossy())
}

/// Subfolder names that match no label (their photos have no expected class), sorted.
pub fn unmatched_classes(photos: &[PhotoEntry], labels: &Labels) -> Vec<String> {
    let mut names: Vec<String> = photos
        .iter()
        .filter(|p| p.class_dir.is_some() && p.expected(labels).is_none())
        .filter_map(|p| p.class_dir.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The output name of each photo (see [`crate::audit::output_names`], over relative paths).
pub fn output_names(photos: &[PhotoEntry]) -> Vec<String> {
    let relative: Vec<&str> = photos.iter().map(|p| p.relative.as_str()).collect();
    crate::audit::output_names(&relative)
}
