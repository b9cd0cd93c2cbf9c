//! Soluciones de referencia del capítulo 2.

use std::collections::BTreeSet;

/// Ejercicio 2.1: un `BTreeSet` guarda cada carácter una vez y ya ordenado.
pub fn vocabulary(text: &str) -> Vec<char> {
    text.chars()
        .collect::<BTreeSet<char>>()
        .into_iter()
        .collect()
}

/// Ejercicio 2.2: búsqueda binaria en el vocabulario ordenado.
pub fn encode(vocab: &[char], text: &str) -> Vec<u32> {
    text.chars()
        .map(|c| {
            vocab
                .binary_search(&c)
                .expect("carácter fuera del vocabulario") as u32
        })
        .collect()
}

/// Ejercicio 2.3: cada identificador es un índice del vocabulario.
pub fn decode(vocab: &[char], ids: &[u32]) -> String {
    ids.iter().map(|&i| vocab[i as usize]).collect()
}
