//! `estimate_loss` del cuaderno, una sola vez para los tres modelos del libro: el bigrama
//! (capítulo 5), el modelo de una cabeza (capítulo 6) y el GPT (capítulo 7).

use ndarray::Array2;

use crate::text::batches::get_batch;
use crate::text::dataset::{Dataset, Split};
use crate::tools::rng::Rng;

/// Un lote: las entradas `x` y los objetivos `y`, los dos de forma `(B, T)`.
pub type Batch = (Array2<u32>, Array2<u32>);

/// Un punto de la curva de pérdida: la pérdida media en entrenamiento y en validación tras
/// `step` pasos. El mismo tipo para los tres modelos del libro.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossPoint {
    pub step: usize,
    pub train: f32,
    pub val: f32,
}

/// Pérdida media en entrenamiento y en validación.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Losses {
    pub train: f32,
    pub val: f32,
}

// ANCHOR: estimate_loss
/// La pérdida media de `eval_iters` lotes al azar de cada parte: la de un solo lote es
/// demasiado ruidosa para comparar modelos. Primero se sortean los lotes, en orden, y
/// después `losses` da la pérdida de cada uno; cada modelo pone la suya (el GPT, sin dropout).
pub fn estimate_loss<E>(
    ds: &Dataset,
    (batch_size, block_size): (usize, usize),
    eval_iters: usize,
    rng: &mut Rng,
    mut losses: impl FnMut(&[Batch]) -> Result<Vec<f32>, E>,
) -> Result<Losses, E> {
    let mut mean = |split| -> Result<f32, E> {
        let batches: Vec<Batch> = (0..eval_iters)
            .map(|_| get_batch(ds, split, batch_size, block_size, rng))
            .collect();
        let total: f64 = losses(&batches)?.iter().map(|&l| f64::from(l)).sum();
        Ok((total / eval_iters as f64) as f32)
    };
    let train = mean(Split::Train)?;
    let val = mean(Split::Val)?;
    Ok(Losses { train, val })
}
// ANCHOR_END: estimate_loss

/// Lo que ocupan en memoria los lotes que sortea [`estimate_loss`] para una parte, por arriba:
/// `eval_iters` lotes de entradas y objetivos `(B, T)` de `u32` y su copia como tensores. En
/// `f64`, que no se desborda con tamaños absurdos (véase [`bytes`]).
pub fn eval_memory(eval_iters: usize, batch_size: usize, block_size: usize) -> f64 {
    eval_iters as f64 * batch_size as f64 * block_size as f64 * 16.0
}

/// Un tamaño en bytes calculado en `f64`, como `u64`; `None` si no cabe en 64 bits. Las
/// cuentas de memoria se hacen en `f64`: con los tamaños que puede escribir un usuario
/// (`--lote 18446744073709551615`) un producto de enteros se desborda, y uno de `f64` no.
pub fn bytes(x: f64) -> Option<u64> {
    (x.is_finite() && x >= 0.0 && x < u64::MAX as f64).then_some(x as u64)
}
