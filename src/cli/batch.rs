//! Which photos `gradcam explain` works on and where their outputs go: the shard's share,
//! less those a `--resume` finds done.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::explain::ExplainArgs;
use crate::batch::{CsvLog, PhotoEntry, collect_photos, output_names, unmatched_classes};
use crate::model::labels::Labels;

/// One photo and the files it produces.
pub(super) struct Job {
    /// The photo.
    pub entry: PhotoEntry,
    /// The overlay PNG, with `--out`.
    pub png: Option<PathBuf>,
    /// The raw map, with `--cam-out`.
    pub npy: Option<PathBuf>,
    /// The expected class's name (ImageFolder).
    pub expected: Option<String>,
    /// Whether this is one of several photos (outputs are folders; reports name the photo).
    pub many: bool,
}

impl Job {
    /// The only input, its outputs the paths given.
    pub fn single(args: &ExplainArgs, path: &Path) -> Self {
        Self {
            entry: PhotoEntry {
                path: path.to_owned(),
                relative: String::new(),
                class_dir: None,
            },
            png: args.out.clone(),
            npy: args.cam_out.clone(),
            expected: None,
            many: false,
        }
    }

    fn outputs(&self) -> impl Iterator<Item = &PathBuf> {
        self.png.iter().chain(&self.npy)
    }
}

/// The photos to explain now.
pub(super) struct Plan {
    /// In order.
    pub jobs: Vec<Job>,
    /// Photos of this shard skipped because `--resume` found them done.
    pub skipped: usize,
    /// Whether several photos were named (outputs are folders).
    pub many: bool,
}

/// Collects the photos, keeps this shard's and drops finished ones under `--resume`.
pub(super) fn plan(args: &ExplainArgs, labels: &Labels) -> Result<Plan> {
    if args.resume && args.out.is_none() && args.cam_out.is_none() && args.csv.is_none() {
        bail!("--resume needs --out, --cam-out or --csv: their files tell which photos are done");
    }
    let photos = collect_photos(&args.photos)?;
    let unmatched = unmatched_classes(&photos, labels);
    if !unmatched.is_empty() {
        eprintln!(
            "warning: subfolders that name no class (their photos have no expected class): {}",
            unmatched.join(", ")
        );
    }
    let many = photos.len() > 1;
    let names = output_names(&photos);
    let rows = match (&args.csv, args.resume) {
        (Some(csv), true) => CsvLog::existing_rows(csv)?,
        _ => HashSet::new(),
    };
    let in_shard = photos.len();
    let mut plan = Plan {
        jobs: Vec::new(),
        skipped: 0,
        many,
    };
    let mut shard_size = 0;
    for (entry, name) in photos.into_iter().zip(names) {
        if args.shard.is_some_and(|s| !s.contains(&entry.relative)) {
            continue;
        }
        shard_size += 1;
        let output = |base: &Option<PathBuf>, ext: &str| {
            base.as_ref().map(|b| match many {
                true => b.join(format!("{name}.{ext}")),
                false => b.clone(),
            })
        };
        let job = Job {
            png: output(&args.out, "png"),
            npy: output(&args.cam_out, "npy"),
            expected: entry.expected(labels).map(|i| labels.name(i)),
            entry,
            many,
        };
        let done = args.resume
            && job.outputs().all(|p| p.is_file())
            && (args.csv.is_none() || rows.contains(&job.entry.path.display().to_string()));
        if done {
            plan.skipped += 1;
        } else {
            plan.jobs.push(job);
        }
    }
    if let Some(shard) = args.shard {
        eprintln!(
            "shard {}/{}: {shard_size} of {in_shard} photos",
            shard.index, shard.count
        );
    }
    if args.resume {
        eprintln!("resume: {} photos already done", plan.skipped);
    }
    Ok(plan)
}

impl Plan {
    /// The results file: started afresh, or under `--resume` reopened without the rows of
    /// photos about to be redone.
    pub fn open_csv(&self, args: &ExplainArgs) -> Result<Option<CsvLog>> {
        let Some(path) = &args.csv else {
            return Ok(None);
        };
        Ok(Some(match args.resume {
            true => {
                let redo: HashSet<String> = self
                    .jobs
                    .iter()
                    .map(|job| job.entry.path.display().to_string())
                    .collect();
                CsvLog::resume(path, |file| !redo.contains(file))?
            }
            false => CsvLog::create(path)?,
        }))
    }
}
