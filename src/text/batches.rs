//! Contexto y objetivo: cómo se convierten trozos del texto en ejemplos de entrenamiento.

use ndarray::{Array2, ArrayView1, s};
use rand::Rng as _;

use crate::text::dataset::{Dataset, Split};
use crate::tools::rng::Rng;

// ANCHOR: pairs
/// Un trozo de `block_size + 1` tokens contiene `block_size` ejemplos: para cada `t`, el
/// contexto `chunk[..=t]` debe predecir el objetivo `chunk[t + 1]`.
pub fn context_target_pairs(chunk: &[u32]) -> Vec<(Vec<u32>, u32)> {
    (1..chunk.len())
        .map(|t| (chunk[..t].to_vec(), chunk[t]))
        .collect()
}
// ANCHOR_END: pairs

// ANCHOR: batch_at
/// Apila los bloques que empiezan en `starts`: `x` son los contextos y `y` los mismos
/// bloques desplazados una posición (los objetivos).
pub fn batch_at(
    data: ArrayView1<u32>,
    starts: &[usize],
    block_size: usize,
) -> (Array2<u32>, Array2<u32>) {
    let mut x = Array2::zeros((starts.len(), block_size));
    let mut y = Array2::zeros((starts.len(), block_size));
    for (row, &i) in starts.iter().enumerate() {
        x.row_mut(row).assign(&data.slice(s![i..i + block_size]));
        y.row_mut(row)
            .assign(&data.slice(s![i + 1..i + block_size + 1]));
    }
    (x, y)
}
// ANCHOR_END: batch_at

// ANCHOR: get_batch
/// Un lote aleatorio de `batch_size` bloques de la parte `split`, con inicios uniformes en
/// `0..len - block_size` (como `torch.randint(len(data) - block_size, ...)`).
pub fn get_batch(
    data: &Dataset,
    split: Split,
    batch_size: usize,
    block_size: usize,
    rng: &mut Rng,
) -> (Array2<u32>, Array2<u32>) {
    let data = data.get(split);
    let starts: Vec<usize> = (0..batch_size)
        .map(|_| rng.random_range(0..data.len() - block_size))
        .collect();
    batch_at(data, &starts, block_size)
}
// ANCHOR_END: get_batch

/// Un lote de `ndarray` como tensor de candle `(B, T)` en `device`: el único paso de
/// `ndarray` a candle de los lotes, para todos los modelos que entrenan con candle.
pub fn to_tensor(
    a: &Array2<u32>,
    device: &candle_core::Device,
) -> candle_core::Result<candle_core::Tensor> {
    candle_core::Tensor::from_vec(a.iter().copied().collect::<Vec<u32>>(), a.dim(), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::rng;
    use ndarray::Array1;

    #[test]
    fn pairs_grow_one_token_at_a_time() {
        let pairs = context_target_pairs(&[5, 6, 7]);
        assert_eq!(pairs, vec![(vec![5], 6), (vec![5, 6], 7)]);
    }

    #[test]
    fn targets_are_inputs_shifted_by_one() {
        let data = Array1::from((0..100).collect::<Vec<u32>>());
        let ds = Dataset::split(&data, 0.9);
        let mut r = rng::seeded(7);
        let (x, y) = get_batch(&ds, Split::Train, 16, 8, &mut r);
        assert_eq!(x.dim(), (16, 8));
        for (xr, yr) in x.rows().into_iter().zip(y.rows()) {
            for t in 0..7 {
                assert_eq!(yr[t], xr[t + 1]);
            }
            // Los datos son 0..100, así que cada objetivo es su entrada más uno.
            assert_eq!(yr[7], xr[7] + 1);
            assert!(xr[0] as usize + 8 < 90);
        }
    }

    #[test]
    fn same_seed_same_batch() {
        let data = Array1::from((0..1000).collect::<Vec<u32>>());
        let ds = Dataset::split(&data, 0.9);
        let a = get_batch(&ds, Split::Val, 4, 8, &mut rng::seeded(1));
        let b = get_batch(&ds, Split::Val, 4, 8, &mut rng::seeded(1));
        let c = get_batch(&ds, Split::Val, 4, 8, &mut rng::seeded(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
