//! Soluciones de referencia del capítulo 3.

use ndarray::ArrayView1;

/// Ejercicio 3.1: multiplicar en `f64` y truncar, como `int(0.9 * n)`.
pub fn split_point(len: usize, train_fraction: f64) -> usize {
    (len as f64 * train_fraction).floor() as usize
}

/// Ejercicio 3.2: un recorrido que suma uno en cada casilla.
pub fn token_counts(ids: ArrayView1<u32>, vocab_size: usize) -> Vec<usize> {
    ids.iter().fold(vec![0; vocab_size], |mut counts, &id| {
        counts[id as usize] += 1;
        counts
    })
}
