//! Names in a dataset: the class folder a photo sits in (ImageFolder) and the output name of
//! each photo, shared by `gradcam explain` over folders and the page's audit export.

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
    fn names_that_would_collide_keep_their_extension() {
        let names = output_names(&["a/1.jpg", "a/1.png", "b/2.jpg", "noext", "a/.hidden"]);
        assert_eq!(names, ["a/1.jpg", "a/1.png", "b/2", "noext", "a/.hidden"]);
    }
}
