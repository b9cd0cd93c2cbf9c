//! # Ejercicios del capítulo 7: el GPT completo
//!
//! Completa cada función (quita el `todo!()`) y califícate con:
//!
//! ```text
//! cargo ejercicios cap07
//! ```
#![allow(unused_variables, unused_imports)]

use candle_core::{D, Module, Result, Tensor};
use gpt_desde_cero::model::layers::Linear;

use gpt_desde_cero::model::gpt::{Block, Head, Mode};

/// **Ejercicio 7.1 — Atención de varias cabezas a partir de las cabezas.**
///
/// Cada cabeza de `heads` transforma `x (B, T, C)` en `(B, T, head_size)` con
/// `head.forward(x, mask, mode)`. La atención de varias cabezas las aplica todas a la misma
/// `x`, **concatena** sus salidas en la última dimensión (quedan `(B, T, n_head · head_size)`)
/// y pasa el resultado por la proyección `proj` (una capa lineal). Sin dropout: los
/// calificadores usan `Mode::Eval`.
///
/// Pistas: `Tensor::cat(&salidas, D::Minus1)` concatena una lista de tensores;
/// `proj.forward(&t)` aplica la capa lineal (necesita `use candle_core::Module`, ya está).
pub fn multi_head_attention(
    x: &Tensor,
    mask: &Tensor,
    heads: &[Head],
    proj: &Linear,
    mode: &mut Mode,
) -> Result<Tensor> {
    todo!("aplica cada cabeza, concatena y proyecta")
}

/// **Ejercicio 7.2 — El bloque con conexiones residuales.**
///
/// Un bloque del Transformer hace dos cosas, cada una **sumada** a su entrada (la conexión
/// residual) y precedida de una LayerNorm:
///
/// ```text
/// x = x + sa(ln1(x))
/// x = x + ffwd(ln2(x))
/// ```
///
/// con `block.ln1.forward(&x)`, `block.sa.forward(&x, mask, mode)`, `block.ln2.forward(&x)` y
/// `block.ffwd.forward(&x, mode)`. Devuelve la `x` final, de la misma forma `(B, T, C)`.
///
/// Pista: `(&a + &b)?` suma dos tensores de la misma forma.
pub fn block_forward(block: &Block, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    todo!("las dos subcapas, cada una con su LayerNorm y su suma residual")
}

/// **Ejercicio 7.3 — Muestreo top-k.**
///
/// Antes de sortear el siguiente carácter podemos quedarnos solo con los `k` más probables:
/// devuelve una copia de `logits` donde cada valor **menor** que el `k`-ésimo más alto pasa a
/// ser `f32::NEG_INFINITY` (probabilidad cero tras el softmax). Los empates con el `k`-ésimo
/// se quedan. Si `k` es 0 o no es menor que `logits.len()`, devuelve los logits sin tocar.
///
/// Ejemplo: `top_k_filter(&[1.0, 3.0, 2.0], 2)` → `[-inf, 3.0, 2.0]`.
///
/// Pista: ordena una copia de mayor a menor (`sort_by(|a, b| b.total_cmp(a))`) y mira la
/// posición `k - 1`.
pub fn top_k_filter(logits: &[f32], k: usize) -> Vec<f32> {
    todo!("deja los k logits más altos")
}
