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
/// Ojo: cortar un `&str` usa posiciones en *bytes*, y entra en pánico si cae en medio de un
/// carácter.
pub fn first_chars(text: &str, n: usize) -> &str {
    todo!("devuelve un trozo con los primeros n caracteres")
}
