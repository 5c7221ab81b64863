//! ImageNet-1k class names, in torchvision's index order.

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
