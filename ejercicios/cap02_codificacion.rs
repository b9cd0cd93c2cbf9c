//! # Ejercicios del capítulo 2: vocabulario y codificación
//!
//! Completa cada función (quita el `todo!()`) y califícate con:
//!
//! ```text
//! cargo ejercicios cap02
//! ```
#![allow(unused_variables)]

/// **Ejercicio 2.1 — El vocabulario.**
///
/// Devuelve los caracteres distintos de `text`, ordenados de menor a mayor (el orden de
/// `char`, es decir, por punto de código Unicode). `vocabulary("hola")` es
/// `['a', 'h', 'l', 'o']`.
pub fn vocabulary(text: &str) -> Vec<char> {
    todo!("los caracteres distintos, ordenados")
}

/// **Ejercicio 2.2 — Codificar.**
///
/// Convierte `text` en la lista de posiciones de cada carácter dentro de `vocab` (que está
/// ordenado y contiene todos los caracteres de `text`). Con `vocab = ['a', 'h', 'l', 'o']`,
/// `encode(vocab, "hola")` es `[1, 3, 2, 0]`.
/// Como `vocab` está ordenado, no hace falta recorrerlo entero para cada carácter.
pub fn encode(vocab: &[char], text: &str) -> Vec<u32> {
    todo!("la posición de cada carácter en el vocabulario")
}

/// **Ejercicio 2.3 — Decodificar.**
///
/// La operación inversa: cada identificador es una posición en `vocab` (todas válidas).
/// `decode(['a', 'h', 'l', 'o'], [1, 3, 2, 0])` es `"hola"`.
pub fn decode(vocab: &[char], ids: &[u32]) -> String {
    todo!("el carácter de cada identificador")
}
