//! The results CSV: one row per photo, appended as each photo finishes (one write per
//! row), so that a killed run leaves whole rows and at most one partial last line, which
//! [`CsvLog::resume`] drops.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{BatchError, write_atomically};
use crate::audit::{CSV_HEADER, Record};
use crate::csv_line::csv_line;

/// An open results file.
#[derive(Debug)]
pub struct CsvLog {
    file: File,
    path: PathBuf,
}

impl CsvLog {
    /// Starts `path` afresh: the header only.
    pub fn create(path: &Path) -> Result<Self, BatchError> {
        Self::start(path, Vec::new())
    }

    /// The files that have a whole row in `path` (none when it does not exist).
    pub fn existing_rows(path: &Path) -> Result<HashSet<String>, BatchError> {
        Ok(read_rows(path)?.into_iter().map(|(file, _)| file).collect())
    }

    /// Reopens `path` for more rows, keeping its whole rows whose file passes `keep` (the
    /// others are about to be redone) and dropping a partial last line.
    pub fn resume(path: &Path, keep: impl Fn(&str) -> bool) -> Result<Self, BatchError> {
        let rows = read_rows(path)?
            .into_iter()
            .filter(|(file, _)| keep(file))
            .map(|(_, line)| line)
            .collect();
        Self::start(path, rows)
    }

    fn start(path: &Path, rows: Vec<String>) -> Result<Self, BatchError> {
        let mut text = csv_line(&CSV_HEADER.map(str::to_owned));
        for row in rows {
            text.push_str(&row);
            text.push('\n');
        }
        write_atomically(path, text.as_bytes())?;
        let file = File::options()
            .append(true)
            .open(path)
            .map_err(BatchError::io("opening", path))?;
        Ok(Self {
            file,
            path: path.to_owned(),
        })
    }

    /// Appends one photo's row.
    pub fn append(&mut self, record: &Record) -> Result<(), BatchError> {
        let line = csv_line(&record.csv_fields());
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(BatchError::io("writing", &self.path))
    }
}

/// The whole rows of an existing results file as (file, line without newline).
fn read_rows(path: &Path) -> Result<Vec<(String, String)>, BatchError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BatchError::io("reading", path)(e)),
    };
    let header = csv_line(&CSV_HEADER.map(str::to_owned));
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = text.strip_prefix(&header) else {
        return Err(BatchError::ForeignCsv {
            path: path.display().to_string(),
            first_line: text.lines().next().unwrap_or_default().to_owned(),
        });
    };
    // Only lines ending in a newline are whole; `split_terminator` would keep a partial one.
    let whole = match body.rfind('\n') {
        Some(end) => &body[..end],
        None => return Ok(Vec::new()),
    };
    Ok(whole
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| (first_field(l), l.to_owned()))
        .collect())
}

/// The first field of a CSV line, unquoted.
fn first_field(line: &str) -> String {
    let Some(rest) = line.strip_prefix('"') else {
        return line.split(',').next().unwrap_or_default().to_owned();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if chars.peek() == Some(&'"') => {
                out.push('"');
                chars.next();
            }
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_round_trip_through_the_first_field() {
        let fields = ["a \"b\", c.jpg".to_owned(), "x".to_owned()];
        let line = csv_line(&fields);
        assert_eq!(first_field(line.trim_end()), fields[0]);
        assert_eq!(first_field("plain.jpg,1,2"), "plain.jpg");
    }
}
