//! Soluciones de referencia del capítulo 4.

use gpt_desde_cero::tools::rng::Rng;
use ndarray::{Array2, ArrayView1};
use rand::Rng as _;

/// Ejercicio 4.1: el contexto crece de uno en uno.
pub fn context_target_pairs(chunk: &[u32]) -> Vec<(Vec<u32>, u32)> {
    let mut pairs = Vec::new();
    for t in 1..chunk.len() {
        pairs.push((chunk[..t].to_vec(), chunk[t]));
    }
    pairs
}

/// Ejercicio 4.2: cada celda `(fila, t)` sale directamente de los datos.
pub fn batch_at(
    data: ArrayView1<u32>,
    starts: &[usize],
    block_size: usize,
) -> (Array2<u32>, Array2<u32>) {
    let shape = (starts.len(), block_size);
    let x = Array2::from_shape_fn(shape, |(r, t)| data[starts[r] + t]);
    let y = Array2::from_shape_fn(shape, |(r, t)| data[starts[r] + t + 1]);
    (x, y)
}

/// Ejercicio 4.3: un inicio por fila, en orden, y el lote con `batch_at`.
pub fn get_batch(
    data: ArrayView1<u32>,
    batch_size: usize,
    block_size: usize,
    rng: &mut Rng,
) -> (Array2<u32>, Array2<u32>) {
    let last = data.len() - block_size;
    let starts: Vec<usize> = (0..batch_size).map(|_| rng.random_range(0..last)).collect();
    batch_at(data, &starts, block_size)
}
