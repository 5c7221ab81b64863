//! The metrics a trust report can hold: their names, and the facts the page and the CLI
//! show with their numbers (which report key is the headline, which way is better, what
//! it means).

use std::str::FromStr;

use serde::Serialize;

use super::TrustError;

/// One family of metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Metric {
    /// pytorch-grad-cam's confidence change, drop and increase.
    Confidence,
    /// The deletion curve and its area.
    Deletion,
    /// The insertion curve and its area.
    Insertion,
    /// ROAD MoRF/LeRF per percentile, their averages and ROAD combined.
    Road,
    /// The efficient model-randomisation test.
    Randomisation,
    /// The cascading model-randomisation test (stage by stage from the classifier down).
    CascadingRandomisation,
    /// The random-logit test.
    RandomLogit,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 7] = [
        Metric::Confidence,
        Metric::Deletion,
        Metric::Insertion,
        Metric::Road,
        Metric::Randomisation,
        Metric::CascadingRandomisation,
        Metric::RandomLogit,
    ];

    /// The name the CLI takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Confidence => "confidence",
            Self::Deletion => "deletion",
            Self::Insertion => "insertion",
            Self::Road => "road",
            Self::Randomisation => "randomisation",
            Self::CascadingRandomisation => "cascading-randomisation",
            Self::RandomLogit => "random-logit",
        }
    }

    /// Whether a baseline map can be scored by it (sanity checks need a method).
    pub fn scores_a_map(self) -> bool {
        !matches!(
            self,
            Self::Randomisation | Self::CascadingRandomisation | Self::RandomLogit
        )
    }

    /// The one number a table or a leaderboard shows for this metric (the cascading test has
    /// none: it reports one similarity per stage).
    pub fn headline(self) -> Option<Headline> {
        let (key, label, higher_is_better, help) = match self {
            Self::Confidence => (
                "confidence_change",
                "Confidence change",
                true,
                "The class score of the photo multiplied by the map, minus that of the photo \
                 (pytorch-grad-cam's CamMultImageConfidenceChange).",
            ),
            Self::Deletion => (
                "deletion_auc",
                "Deletion AUC",
                false,
                "The class probability as the map's most relevant pixels are removed first \
                 (blurred), averaged over the steps: a faithful map makes it fall fast \
                 (Petsiuk et al. 2018).",
            ),
            Self::Insertion => (
                "insertion_auc",
                "Insertion AUC",
                true,
                "The same with pixels added to a blurred photo, most relevant first: it should \
                 rise fast.",
            ),
            Self::Road => (
                "road_combined",
                "ROAD combined",
                true,
                "Half the difference between the class probability with the least relevant \
                 pixels imputed from their neighbours and with the most relevant imputed, \
                 averaged over 10–90 % of the pixels (Rong et al. 2022).",
            ),
            Self::Randomisation => (
                "randomisation_spearman",
                "Randomised network: rank correlation",
                false,
                "Rank correlation of the map with the map of a randomly initialised network: a \
                 map that does not change does not explain the weights (Adebayo et al. 2018).",
            ),
            Self::RandomLogit => (
                "random_logit_spearman",
                "Random other class: rank correlation",
                false,
                "Rank correlation of the map with the map of a random other class: a map that \
                 does not change does not explain the class (Adebayo et al. 2018).",
            ),
            Self::CascadingRandomisation => return None,
        };
        Some(Headline {
            metric: self.name(),
            key,
            label,
            higher_is_better,
            scores_a_map: self.scores_a_map(),
            help,
        })
    }
}

impl FromStr for Metric {
    type Err = TrustError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "randomization" => Ok(Self::Randomisation),
            "cascading-randomization" => Ok(Self::CascadingRandomisation),
            _ => Self::ALL
                .into_iter()
                .find(|m| m.name() == s)
                .ok_or_else(|| TrustError::UnknownMetric(s.to_owned())),
        }
    }
}

/// A metric's headline number and how to read it, as the page's table, leaderboard and help
/// show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Headline {
    /// The metric's name ([`Metric::name`]: what a request asks for).
    pub metric: &'static str,
    /// The report key of the number.
    pub key: &'static str,
    pub label: &'static str,
    pub higher_is_better: bool,
    /// Whether a baseline map (and so the leaderboard) can be scored by it.
    pub scores_a_map: bool,
    /// What the number means, with its reference.
    pub help: &'static str,
}
