//! Minimal NumPy `.npy` (format 1.0/2.0) reading and writing for little-endian float32
//! C-order arrays (float16 files are widened on reading): preprocessed inputs in, raw maps out.

/// Why a `.npy` file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NpyError {
    /// No `\x93NUMPY` magic, or a header that ends early.
    #[error("not a .npy file (bad magic or header)")]
    NotNpy,
    /// Only float32 or float16, little-endian, C order is supported.
    #[error("unsupported .npy array: {0} (need '<f4' or '<f2', C order)")]
    Unsupported(String),
    /// Fewer data bytes than the shape needs.
    #[error("the .npy data is truncated: {expected} values declared, {found} present")]
    Truncated {
        /// Values the shape declares.
        expected: usize,
        /// Values present.
        found: usize,
    },
}

/// A float32 array read from `.npy`: its shape and its values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses a `.npy` file holding a little-endian float32 (or float16) C-order array.
pub fn read_npy_f32(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(NpyError::NotNpy);
    }
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(NpyError::NotNpy),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or(NpyError::NotNpy)?;
    let descr = header_value(header, "descr").ok_or(NpyError::NotNpy)?;
    let width = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f2'") {
        2
    } else {
        let dtype = descr.split(',').next().unwrap_or(descr);
        return Err(NpyError::Unsupported(format!("dtype {dtype}")));
    };
    if header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(NpyError::Unsupported("Fortran order".into()));
    }
    let shape_text = header_value(header, "shape").ok_or(NpyError::NotNpy)?;
    let inner = shape_text
        .trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("");
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| NpyError::NotNpy))
        .collect::<Result<Vec<_>, _>>()?;
    let expected: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    if body.len() / width < expected {
        return Err(NpyError::Truncated {
            expected,
            found: body.len() / width,
        });
    }
    let values = body.chunks_exact(width).take(expected);
    let data = if width == 4 {
        values
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        values
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()
    };
    Ok(NpyArray { shape, data })
}

/// The text after `'key':` in a header dictionary, up to the end of the header.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = &header[at + key.len() + 2..];
    Some(rest.trim_start().strip_prefix(':')?.trim_start())
}

/// Serialises a float32 C-order array as `.npy` version 1.0.
pub fn write_npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "shape and data disagree"
    );
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}
