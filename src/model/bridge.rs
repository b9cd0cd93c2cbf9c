//! El puente entre `ndarray` y candle (capítulo 5): la misma cuenta con las dos bibliotecas.
//! Las probabilidades del siguiente carácter que da la tabla del bigrama para unos tokens:
//! elegir sus filas y pasarlas por softmax.

use candle_core::{D, Device, Tensor};
use ndarray::{Array2, Axis};

// ANCHOR: bridge
/// Con `ndarray`: la tabla es un `Array2` en la memoria del programa, y cada operación se
/// hace en el momento; la softmax, fila a fila, sobre la copia de las filas elegidas.
pub fn next_probs_ndarray(table: &Array2<f32>, tokens: &[u32]) -> Array2<f32> {
    let rows: Vec<usize> = tokens.iter().map(|&t| t as usize).collect();
    let mut probs = table.select(Axis(0), &rows); // (N, V): la fila de cada token
    for mut row in probs.rows_mut() {
        let max = row.fold(f32::NEG_INFINITY, |m, &z| m.max(z));
        row.mapv_inplace(|z| (z - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    probs
}

/// Con candle: la tabla es un `Tensor` que vive en un dispositivo (la CPU o una GPU), y cada
/// operación devuelve un tensor nuevo, que puede fallar (por eso el `?`).
pub fn next_probs_candle(table: &Tensor, tokens: &[u32]) -> candle_core::Result<Tensor> {
    let rows = Tensor::new(tokens, table.device())?; // (N,), de tipo u32
    let logits = table.index_select(&rows, 0)?; // (N, V): la fila de cada token
    candle_nn::ops::softmax(&logits, D::Minus1)
}

/// De una biblioteca a la otra: los mismos números, copiados a un tensor de `device`.
pub fn to_candle(table: &Array2<f32>, device: &Device) -> candle_core::Result<Tensor> {
    let values: Vec<f32> = table.iter().copied().collect();
    Tensor::from_vec(values, table.dim(), device)
}
// ANCHOR_END: bridge

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bigram::initial_table;
    use crate::tools::rng;

    #[test]
    fn ndarray_and_candle_give_the_same_probabilities() {
        let table = initial_table(89, &mut rng::seeded(7));
        // Un token repetido y los dos extremos del vocabulario.
        let tokens = [0u32, 5, 5, 88, 42];
        let a = next_probs_ndarray(&table, &tokens);
        let b = next_probs_candle(&to_candle(&table, &Device::Cpu).unwrap(), &tokens)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(a.dim(), (tokens.len(), 89));
        assert_eq!((b.len(), b[0].len()), a.dim());
        for (i, &t) in tokens.iter().enumerate() {
            // La softmax de la fila del token, calculada aparte en f64.
            let row = table.row(t as usize);
            let total: f64 = row.iter().map(|&z| f64::from(z).exp()).sum();
            for j in 0..89 {
                let want = f64::from(row[j]).exp() / total;
                assert!(
                    (f64::from(a[[i, j]]) - want).abs() < 1e-6,
                    "ndarray [{i}, {j}]"
                );
                assert!(
                    (f64::from(b[i][j]) - want).abs() < 1e-6,
                    "candle [{i}, {j}]"
                );
            }
        }
    }
}
