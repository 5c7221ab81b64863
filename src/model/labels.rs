//! Class names: ImageNet-1k's (torchvision's index order), `class N` for other classifiers,
//! or a user's labels file (`.txt` one name per line, `.json` list or `{index: name}`).

use std::collections::BTreeMap;

/// Number of ImageNet-1k classes.
pub const IMAGENET_CLASSES: usize = 1000;

const NAMES: &str = include_str!("imagenet_classes.txt");

/// Human-readable name of ImageNet class `index`, or `class N` for an index outside the list.
pub fn imagenet_label(index: usize) -> String {
    NAMES
        .lines()
        .nth(index)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("class {index}"))
}

/// The names of a classifier's classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labels {
    /// ImageNet-1k's names.
    ImageNet,
    /// `class 0` … `class N-1`.
    Numbered(usize),
    /// Names from a labels file, in class order.
    Named(Vec<String>),
}

/// Why a labels file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    /// Neither `.txt` nor `.json`.
    #[error(
        "{file}: labels must be a .txt file (one name per line) or .json (a list or {{index: name}})"
    )]
    UnknownFormat {
        /// The file.
        file: String,
    },
    /// The JSON is malformed or of the wrong shape.
    #[error("{file}: {reason}")]
    BadJson {
        /// The file.
        file: String,
        /// What was wrong.
        reason: String,
    },
    /// The file names a different number of classes than the classifier has.
    #[error("{file} names {found} classes but the model has {classes}")]
    Count {
        /// The file.
        file: String,
        /// Names in the file.
        found: usize,
        /// Outputs of the classifier.
        classes: usize,
    },
}

impl Labels {
    /// The default names for a classifier with `classes` outputs: ImageNet's for 1000,
    /// `class N` otherwise.
    pub fn for_classes(classes: usize) -> Self {
        if classes == IMAGENET_CLASSES {
            Self::ImageNet
        } else {
            Self::Numbered(classes)
        }
    }

    /// Parses a labels file; `file` (its name) picks the format by extension.
    pub fn parse(file: &str, text: &str) -> Result<Self, LabelsError> {
        let lower = file.to_lowercase();
        let names = if lower.ends_with(".txt") {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        } else if lower.ends_with(".json") {
            parse_json(text).map_err(|reason| LabelsError::BadJson {
                file: file.to_owned(),
                reason,
            })?
        } else {
            return Err(LabelsError::UnknownFormat {
                file: file.to_owned(),
            });
        };
        Ok(Self::Named(names))
    }

    /// Checks that these labels name exactly `classes` classes (`file` names them in errors).
    pub fn check_count(&self, file: &str, classes: usize) -> Result<(), LabelsError> {
        if self.len() == classes {
            return Ok(());
        }
        Err(LabelsError::Count {
            file: file.to_owned(),
            found: self.len(),
            classes,
        })
    }

    /// Number of classes named.
    pub fn len(&self) -> usize {
        match self {
            Self::ImageNet => IMAGENET_CLASSES,
            Self::Numbered(n) => *n,
            Self::Named(names) => names.len(),
        }
    }

    /// Whether no class is named.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name of class `index` (`class N` outside the list).
    pub fn name(&self, index: usize) -> String {
        match self {
            Self::ImageNet => imagenet_label(index),
            Self::Named(names) if index < names.len() => names[index].clone(),
            _ => format!("class {index}"),
        }
    }

    /// The index of the class called `name`, if any.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.name(i) == name)
    }
}

/// A JSON list of names, or an object from index (`"0"`, `"1"`, …, every one present) to name.
fn parse_json(text: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let as_name = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| as_name(v).ok_or_else(|| format!("list item {v} is not a string")))
            .collect(),
        serde_json::Value::Object(map) => {
            let mut by_index = BTreeMap::new();
            for (key, v) in &map {
                let index: usize = key
                    .parse()
                    .map_err(|_| format!("key `{key}` is not a class index"))?;
                let name = as_name(v).ok_or_else(|| format!("value of `{key}` is not a string"))?;
                by_index.insert(index, name);
            }
            if let Some(gap) = (0..by_index.len()).find(|i| !by_index.contains_key(i)) {
                return Err(format!("class {gap} has no name"));
            }
            Ok(by_index.into_values().collect())
        }
        _ => Err("expected a list of names or an {index: name} object".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_every_class_in_torchvision_order() {
        assert_eq!(NAMES.lines().count(), IMAGENET_CLASSES);
        assert_eq!(imagenet_label(0), "tench");
        assert_eq!(imagenet_label(281), "tabby");
        assert_eq!(imagenet_label(999), "toilet tissue");
        assert_eq!(imagenet_label(1000), "class 1000");
    }
}
