//! # Ejercicios del capítulo 1: los datos
//!
//! Completa cada función (quita el `todo!()`) y califícate con:
//!
//! ```text
//! cargo ejercicios cap01
//! ```
#![allow(unused_variables)]

/// **Ejercicio 1.1 — Contar caracteres.**
///
/// Devuelve cuántos *caracteres* tiene `text`. Cuidado: en UTF-8 «ñ» ocupa dos bytes, así
/// que `text.len()` (bytes) no es la respuesta. `count_chars("año")` es 3.
///
/// Pista: un `&str` sabe recorrerse carácter a carácter.
pub fn count_chars(text: &str) -> usize {
    todo!("cuenta los caracteres, no los bytes")
}

/// **Ejercicio 1.2 — Los primeros caracteres.**
///
/// Devuelve los primeros `n` caracteres de `text` (o todo el texto si tiene menos), sin
/// copiarlo: un trozo (`&str`) del mismo texto. Es lo que hace el programa del capítulo
/// para mostrar los 3000 primeros caracteres del Quijote. `first_chars("año nuevo", 3)` es
/// `"año"`.
///
/// Pista: cortar con `&text[..n]` usa posiciones en *bytes* y entra en pánico si cae en
/// medio de un carácter; busca en qué byte empieza el carácter número `n`.
pub fn first_chars(text: &str, n: usize) -> &str {
    todo!("devuelve un trozo con los primeros n caracteres")
}
