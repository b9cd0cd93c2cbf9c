//! Soluciones de referencia del capítulo 7.

use candle_core::{Module, Result, Tensor};
use gpt_desde_cero::model::layers::Linear;

use gpt_desde_cero::model::gpt::{Block, Head, Mode};

/// Ejercicio 7.1: las salidas de las cabezas, una tras otra, y luego la proyección.
pub fn multi_head_attention(
    x: &Tensor,
    mask: &Tensor,
    heads: &[Head],
    proj: &Linear,
    mode: &mut Mode,
) -> Result<Tensor> {
    let mut outs = Vec::with_capacity(heads.len());
    for head in heads {
        outs.push(head.forward(x, mask, mode)?);
    }
    let last = x.rank() - 1;
    proj.forward(&Tensor::cat(&outs, last)?)
}

/// Ejercicio 7.2: comunicación y cómputo, cada uno sumado a su entrada.
pub fn block_forward(block: &Block, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let attended = block.sa.forward(&block.ln1.forward(x)?, mask, mode)?;
    let x = x.add(&attended)?;
    let computed = block.ffwd.forward(&block.ln2.forward(&x)?, mode)?;
    x.add(&computed)
}

/// Ejercicio 7.3: el umbral es el k-ésimo mayor; lo que queda debajo se descarta.
pub fn top_k_filter(logits: &[f32], k: usize) -> Vec<f32> {
    let mut out = logits.to_vec();
    if k == 0 || k >= logits.len() {
        return out;
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let threshold = logits[order[k - 1]];
    for v in out.iter_mut() {
        if *v < threshold {
            *v = f32::NEG_INFINITY;
        }
    }
    out
}
