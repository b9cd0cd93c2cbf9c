//! # Ejercicios del capítulo 3: el texto como tensor
//!
//! Completa cada función (quita el `todo!()`) y califícate con:
//!
//! ```text
//! cargo ejercicios cap03
//! ```
#![allow(unused_variables)]

use ndarray::ArrayView1;

/// **Ejercicio 3.1 — Dónde cortar.**
///
/// Devuelve cuántos tokens van a entrenamiento si una fracción `train_fraction` del total
/// `len` se usa para entrenar, igual que `n = int(0.9 * len(data))` en Python.
/// `split_point(1038397, 0.9)` es `934557`.
///
/// `int()` de Python trunca hacia cero. Haz la cuenta en `f64`: en `f32`, con textos largos,
/// el resultado cambia.
pub fn split_point(len: usize, train_fraction: f64) -> usize {
    todo!("la posición del corte")
}

/// **Ejercicio 3.2 — Contar tokens.**
///
/// Devuelve un vector de longitud `vocab_size` cuyo elemento `i` es cuántas veces aparece el
/// identificador `i` en `ids`. Con `ids = [0, 2, 2]` y `vocab_size = 4`, es `[1, 0, 2, 0]`.
pub fn token_counts(ids: ArrayView1<u32>, vocab_size: usize) -> Vec<usize> {
    todo!("el histograma de los identificadores")
}
