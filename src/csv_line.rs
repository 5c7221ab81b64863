//! One CSV line from its fields (RFC 4180 quoting), shared by every table the crate writes:
//! the CLI's results file and the trust report's table.

/// One CSV line (fields with a comma or a quote are quoted, quotes doubled; newlines inside
/// fields become spaces), with its newline.
pub fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            let f = f.replace(['\n', '\r'], " ");
            if f.contains([',', '"']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}
