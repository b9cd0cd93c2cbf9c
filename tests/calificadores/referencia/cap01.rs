//! Soluciones de referencia del capítulo 1.

/// Ejercicio 1.1: cada `char` es un carácter (un punto de código Unicode).
pub fn count_chars(text: &str) -> usize {
    text.chars().count()
}

/// Ejercicio 1.2: `char_indices` da el byte en que empieza cada carácter.
pub fn first_chars(text: &str, n: usize) -> &str {
    let end = text
        .char_indices()
        .map(|(b, _)| b)
        .nth(n)
        .unwrap_or(text.len());
    &text[..end]
}
