//! Names in a dataset: which files are photos, the class folder a photo sits in
//! (ImageFolder) and the output name of each photo, shared by `gradcam explain` over folders
//! and the page's audit.

use serde::Serialize;

/// File extensions taken as photos when a folder is explained (case-insensitive).
pub const PHOTO_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff"];

/// Whether the file at `path` (`/`-separated) is taken as a photo when found in a folder:
/// a photo extension, and not a hidden file (`.DS_Store`, macOS's `._photo.jpg`).
pub fn is_photo_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    !name.starts_with('.')
        && name
            .rsplit_once('.')
            .is_some_and(|(_, ext)| PHOTO_EXTENSIONS.contains(&ext.to_lowercase().as_str()))
}

/// The photos among files found in a dropped or picked folder, in path order, with their
/// output names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FolderPlan {
    /// Indices of the photos among the files, sorted by path.
    pub photos: Vec<usize>,
    /// Each photo's output name ([`output_names`]), in the same order.
    pub names: Vec<String>,
    /// Files that are not photos, left out.
    pub skipped: usize,
}

/// Picks the photos among `paths` and names their outputs.
pub fn plan_folder<S: AsRef<str>>(paths: &[S]) -> FolderPlan {
    let mut photos: Vec<usize> = (0..paths.len())
        .filter(|&i| is_photo_name(paths[i].as_ref()))
        .collect();
    photos.sort_by(|&a, &b| paths[a].as_ref().cmp(paths[b].as_ref()));
    let chosen: Vec<&str> = photos.iter().map(|&i| paths[i].as_ref()).collect();
    FolderPlan {
        names: output_names(&chosen),
        skipped: paths.len() - photos.len(),
        photos,
    }
}

/// The name of the folder holding the photo at `path` (`/`-separated), if it is in one:
/// the ImageFolder convention's class (`cats/001.jpg` → `cats`).
pub fn class_folder(path: &str) -> Option<&str> {
    let (folders, _) = path.rsplit_once('/')?;
    let name = folders.rsplit('/').next().unwrap_or(folders);
    (!name.is_empty()).then_some(name)
}

/// The output name of each photo, without extension: its relative path less the extension
/// (`cat/001`), or the whole relative path (`cat/001.jpg`) where several photos would
/// otherwise share a name (`001.jpg`, `001.png`). Computed over all photos at once (before
/// sharding, so every shard names its outputs alike).
pub fn output_names<S: AsRef<str>>(relative: &[S]) -> Vec<String> {
    let stem = |p: &str| match p.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() && !stem.ends_with('/') => stem.to_owned(),
        _ => p.to_owned(),
    };
    let mut uses = std::collections::HashMap::<String, usize>::new();
    for p in relative {
        *uses.entry(stem(p.as_ref())).or_default() += 1;
    }
    relative
        .iter()
        .map(|p| {
            let s = stem(p.as_ref());
            if uses[&s] > 1 {
                p.as_ref().to_owned()
            } else {
                s
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_is_the_innermost_folder() {
        assert_eq!(class_folder("photos/cats/001.jpg"), Some("cats"));
        assert_eq!(class_folder("cats/001.jpg"), Some("cats"));
        assert_eq!(class_folder("001.jpg"), None);
        assert_eq!(class_folder("/001.jpg"), None);
    }

    #[test]
    fn photos_are_picked_by_extension_hidden_files_left_out() {
        let paths = [
            "d/b/2.JPG",
            "d/notes.txt",
            "d/a/1.png",
            "d/a/._1.png",
            "d/.DS_Store",
            "d/c/3",
        ];
        let plan = plan_folder(&paths);
        assert_eq!(plan.photos, [2, 0]);
        assert_eq!(plan.names, ["d/a/1", "d/b/2"]);
        assert_eq!(plan.skipped, 4);
    }

    #[test]
    fn names_that_would_collide_keep_their_extension() {
        let names = output_names(&["a/1.jpg", "a/1.png", "b/2.jpg", "noext", "a/.hidden"]);
        assert_eq!(names, ["a/1.jpg", "a/1.png", "b/2", "noext", "a/.hidden"]);
    }
}
