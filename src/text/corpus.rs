//! El texto del corpus, para mirarlo (capítulo 1). De dónde sale (la descarga, la caché, las
//! comprobaciones) es cosa de las herramientas: `tools::download`.

// ANCHOR: prefix_chars
/// Los primeros `n` caracteres de `text` (no bytes: «ñ» ocupa dos bytes en UTF-8).
pub fn prefix_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}
// ANCHOR_END: prefix_chars

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_counts_chars_not_bytes() {
        assert_eq!(prefix_chars("año nuevo", 3), "año");
        assert_eq!(prefix_chars("año", 10), "año");
        assert_eq!(prefix_chars("", 2), "");
    }
}
