//! Atención causal de varias cabezas en una sola operación (CPU), con su derivada escrita a
//! mano. Calcula lo mismo que `MultiHeadAttention` del libro (cabeza a cabeza, con
//! `masked_softmax` y dropout), pero:
//!
//! - recibe las claves, consultas y valores de todas las cabezas en un solo tensor
//!   `(B, T, 3·C)`, que sale de un único producto de matrices;
//! - no guarda los pesos `(T, T)` de cada cabeza para la retropropagación: los vuelve a
//!   calcular en la vuelta atrás (la idea de FlashAttention). Solo se guarda la máscara del
//!   dropout, un byte por peso;
//! - trabaja por bloques de filas y se salta los productos del triángulo del futuro, que la
//!   máscara causal iba a anular.
//!
//! Los productos los hace `gemm` (ver [`crate::fast::matrix`]).

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};
use num_traits::Float;

use crate::fast::fused::{contiguous, lane_sum};
use crate::fast::matrix::{View, matmul};

/// Filas de la matriz de pesos que se procesan juntas. En la fila `i` solo cuentan las
/// columnas `j ≤ i`: un bloque de filas `[r0, r1)` solo necesita las columnas `[0, r1)`.
const ROW_BLOCK: usize = 64;

/// Las máscaras del dropout de los pesos de atención: un byte por peso (1 = se queda), en el
/// orden `(cabeza, lote, fila, columna)`, y la escala `1/(1-p)` de los que se quedan.
#[derive(Debug, Clone)]
pub struct AttentionDropout {
    pub keep: Arc<[u8]>,
    pub scale: f64,
}

/// `qkv (B, T, 3·C)` → `(B, T, C)`: la salida concatenada de `n_head` cabezas de atención
/// causal. Las columnas de `qkv` son, por este orden, las consultas de todas las cabezas
/// (`C = n_head · d_k` columnas, la cabeza `h` en `h·d_k..(h+1)·d_k`), las claves y los
/// valores. Los pesos se escalan por `1/√d_k`, como en el libro.
pub fn causal_attention(
    qkv: &Tensor,
    n_head: usize,
    dropout: Option<AttentionDropout>,
) -> Result<Tensor> {
    let (b, t, c3) = qkv.dims3()?;
    if n_head == 0 || c3 % (3 * n_head) != 0 {
        candle_core::bail!(
            "atención fusionada: {c3} columnas no se reparten en q, k, v de {n_head} cabezas"
        );
    }
    if let Some(d) = &dropout
        && d.keep.len() != n_head * b * t * t
    {
        candle_core::bail!("atención fusionada: la máscara del dropout no tiene n_head·B·T·T");
    }
    qkv.contiguous()?.apply_op1(CausalAttention {
        dims: Dims {
            b,
            t,
            n_head,
            hs: c3 / (3 * n_head),
        },
        dropout,
    })
}

#[derive(Debug, Clone, Copy)]
struct Dims {
    b: usize,
    t: usize,
    n_head: usize,
    hs: usize,
}

impl Dims {
    fn c(&self) -> usize {
        self.n_head * self.hs
    }
}

struct CausalAttention {
    dims: Dims,
    dropout: Option<AttentionDropout>,
}

struct CausalAttentionBackward {
    dims: Dims,
    dropout: Option<AttentionDropout>,
}

/// Las tres matrices `(T, d_k)` de la cabeza `h` del elemento `b` del lote, dentro de `qkv`.
fn head_views<T>(qkv: &[T], d: Dims, b: usize, h: usize) -> [View<'_, T>; 3] {
    let (c, rs) = (d.c(), 3 * d.c());
    let base = b * d.t * rs + h * d.hs;
    [0, c, 2 * c].map(|off| View::rows(&qkv[base + off..], rs))
}

/// El trozo de la máscara de dropout de la cabeza `h` y el elemento `b`, con su escala.
fn head_mask<T: Float>(
    dropout: &Option<AttentionDropout>,
    d: Dims,
    b: usize,
    h: usize,
) -> Option<(&[u8], T)> {
    dropout.as_ref().map(|drop| {
        let tt = d.t * d.t;
        let start = (h * d.b + b) * tt;
        let scale = T::from(drop.scale).expect("escala representable");
        (&drop.keep[start..start + tt], scale)
    })
}

// ANCHOR: pesos
/// Los pesos de atención de una cabeza, en `p (T, T)`: `softmax(q kᵀ / √d_k)` fila a fila, con
/// el futuro a 0. Por bloques de filas, y sin calcular las columnas que nunca se miran.
fn attention_weights<T: Float + 'static>(q: View<T>, k: View<T>, t: usize, hs: usize, p: &mut [T]) {
    let scale = T::from(hs).expect("hs representable").sqrt().recip();
    for r0 in (0..t).step_by(ROW_BLOCK) {
        let r1 = (r0 + ROW_BLOCK).min(t);
        // Afinidades del bloque: (r1-r0, d_k) × (d_k, r1).
        matmul(
            (r1 - r0, r1, hs),
            &mut p[r0 * t..],
            t,
            false,
            q.skip_rows(r0),
            k.t(),
            scale,
        );
        for i in r0..r1 {
            let row = &mut p[i * t..i * t + r1];
            let (seen, future) = row.split_at_mut(i + 1);
            let max = seen.iter().fold(T::neg_infinity(), |m, &v| m.max(v));
            let mut sum = T::zero();
            for v in seen.iter_mut() {
                *v = (*v - max).exp();
                sum = sum + *v;
            }
            let inv = sum.recip();
            seen.iter_mut().for_each(|v| *v = *v * inv);
            future.fill(T::zero());
        }
    }
}
// ANCHOR_END: pesos

/// Aplica la máscara del dropout a las columnas `[0, r1)` de las filas `[r0, r1)`.
fn mask_block<T: Float>(w: &mut [T], mask: Option<(&[u8], T)>, t: usize, r0: usize, r1: usize) {
    if let Some((keep, scale)) = mask {
        for i in r0..r1 {
            let row = &mut w[i * t..i * t + r1];
            for (v, &kept) in row.iter_mut().zip(&keep[i * t..i * t + r1]) {
                *v = if kept != 0 { *v * scale } else { T::zero() };
            }
        }
    }
}

fn forward<T: Float + 'static>(qkv: &[T], d: Dims, dropout: &Option<AttentionDropout>) -> Vec<T> {
    let (t, c) = (d.t, d.c());
    let mut out = vec![T::zero(); d.b * t * c];
    let mut p = vec![T::zero(); t * t];
    for b in 0..d.b {
        for h in 0..d.n_head {
            let [q, k, v] = head_views(qkv, d, b, h);
            attention_weights(q, k, t, d.hs, &mut p);
            let mask = head_mask(dropout, d, b, h);
            let dst = &mut out[b * t * c + h * d.hs..];
            for r0 in (0..t).step_by(ROW_BLOCK) {
                let r1 = (r0 + ROW_BLOCK).min(t);
                mask_block(&mut p, mask, t, r0, r1);
                // Salida del bloque: (r1-r0, r1) × (r1, d_k).
                let pw = View::rows(&p[r0 * t..], t);
                matmul(
                    (r1 - r0, d.hs, r1),
                    &mut dst[r0 * c..],
                    c,
                    false,
                    pw,
                    v,
                    T::one(),
                );
            }
        }
    }
    out
}

/// La derivada respecto de `qkv`, dada la de la salida `dout (B, T, C)`. Recalcula los pesos.
fn backward<T: Float + 'static>(
    qkv: &[T],
    dout: &[T],
    d: Dims,
    dropout: &Option<AttentionDropout>,
) -> Vec<T> {
    let (t, c, hs) = (d.t, d.c(), d.hs);
    let scale = T::from(hs).expect("hs representable").sqrt().recip();
    let mut dqkv = vec![T::zero(); qkv.len()];
    let (mut p, mut pd, mut dp) = (
        vec![T::zero(); t * t],
        vec![T::zero(); t * t],
        vec![T::zero(); t * t],
    );
    for b in 0..d.b {
        for h in 0..d.n_head {
            let [q, k, v] = head_views(qkv, d, b, h);
            let dout = View::rows(&dout[b * t * c + h * d.hs..], c);
            let mask = head_mask(dropout, d, b, h);
            attention_weights(q, k, t, hs, &mut p);
            let base = b * t * 3 * c + h * hs;
            for r0 in (0..t).step_by(ROW_BLOCK) {
                let r1 = (r0 + ROW_BLOCK).min(t);
                let rows = r1 - r0;
                // Pesos tras el dropout (los que multiplicaron a v) y su derivada.
                for i in r0..r1 {
                    pd[i * t..i * t + r1].copy_from_slice(&p[i * t..i * t + r1]);
                }
                mask_block(&mut pd, mask, t, r0, r1);
                matmul(
                    (rows, r1, hs),
                    &mut dp[r0 * t..],
                    t,
                    false,
                    dout.skip_rows(r0),
                    v.t(),
                    T::one(),
                );
                mask_block(&mut dp, mask, t, r0, r1);
                // Derivada de la softmax: ds = p ⊙ (dp − Σⱼ pⱼ dpⱼ). Queda en dp.
                for i in r0..r1 {
                    let (pr, dr) = (&p[i * t..i * t + r1], &mut dp[i * t..i * t + r1]);
                    let dot = lane_sum(pr, dr, |a, g| a * g);
                    for (g, &a) in dr.iter_mut().zip(pr) {
                        *g = a * (*g - dot);
                    }
                }
                let ds = View::rows(&dp[r0 * t..], t);
                let pdv = View::rows(&pd[r0 * t..], t);
                // dq = ds · k / √d_k (cada fila de q solo la toca su bloque).
                let dq = &mut dqkv[base + r0 * 3 * c..];
                matmul((rows, hs, r1), dq, 3 * c, false, ds, k, scale);
                // dk += dsᵀ · q / √d_k y dv += pdᵀ · dout (todas las filas hasta r1).
                let dk = &mut dqkv[base + c..];
                matmul(
                    (r1, hs, rows),
                    dk,
                    3 * c,
                    true,
                    ds.t(),
                    q.skip_rows(r0),
                    scale,
                );
                let dv = &mut dqkv[base + 2 * c..];
                matmul(
                    (r1, hs, rows),
                    dv,
                    3 * c,
                    true,
                    pdv.t(),
                    dout.skip_rows(r0),
                    T::one(),
                );
            }
        }
    }
    dqkv
}

impl CustomOp1 for CausalAttention {
    fn name(&self) -> &'static str {
        "atencion-causal"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let d = self.dims;
        let out = match s {
            CpuStorage::F32(x) => CpuStorage::F32(forward(contiguous(x, l)?, d, &self.dropout)),
            CpuStorage::F64(x) => CpuStorage::F64(forward(contiguous(x, l)?, d, &self.dropout)),
            _ => candle_core::bail!("atención fusionada: solo f32 y f64"),
        };
        Ok((out, Shape::from((d.b, d.t, d.c()))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let op = CausalAttentionBackward {
            dims: self.dims,
            dropout: self.dropout.clone(),
        };
        Ok(Some(arg.apply_op2_no_bwd(&grad_res.contiguous()?, &op)?))
    }
}

impl CustomOp2 for CausalAttentionBackward {
    fn name(&self) -> &'static str {
        "atencion-causal-derivada"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = self.dims;
        let out = match (s1, s2) {
            (CpuStorage::F32(x), CpuStorage::F32(g)) => CpuStorage::F32(backward(
                contiguous(x, l1)?,
                contiguous(g, l2)?,
                d,
                &self.dropout,
            )),
            (CpuStorage::F64(x), CpuStorage::F64(g)) => CpuStorage::F64(backward(
                contiguous(x, l1)?,
                contiguous(g, l2)?,
                d,
                &self.dropout,
            )),
            _ => candle_core::bail!("atención fusionada: solo f32 y f64, iguales"),
        };
        Ok((out, l1.shape().clone()))
    }
}
