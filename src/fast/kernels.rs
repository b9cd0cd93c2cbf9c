//! La implementación rápida del GPT para la CPU ([`Fast`]): las mismas cuentas que la del
//! libro ([`crate::model::kernels::Reference`]), con las operaciones fusionadas de
//! [`crate::fast::fused`], [`crate::fast::fused_linear`] y [`crate::fast::fused_attention`],
//! y con los dos núcleos de un portátil repartidos entre las dos mitades de cada lote.
//!
//! `tests/rendimiento.rs` comprueba que da los mismos valores y derivadas que la del libro.

use std::sync::Arc;

use candle_core::backprop::GradStore;
use candle_core::{Device, Module, Result, Tensor};
use rand::RngCore as _;

use crate::fast::fused::{self, AdamWStep};
use crate::fast::fused_attention::{self, AttentionDropout};
use crate::fast::fused_linear::{self, Activation};
use crate::fast::parallel;
use crate::model::adamw::AdamW;
use crate::model::gpt::{Block, FeedForward, Gpt, Head, Mode, MultiHeadAttention};
use crate::model::kernels::{Kernels, Reference, StepId};
use crate::model::layers::{LayerNorm, Linear};
use crate::tools::rng::{self, Rng};

/// La implementación para la CPU, en `f32` o `f64`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fast;

/// La implementación más rápida para `device`: [`Fast`] en la CPU y la del libro en los
/// demás (las operaciones fusionadas solo existen para la CPU).
pub fn for_device(device: &Device) -> Arc<dyn Kernels> {
    if device.is_cpu() {
        Arc::new(Fast)
    } else {
        Arc::new(Reference)
    }
}

impl Kernels for Fast {
    fn name(&self) -> &'static str {
        "rápida"
    }

    fn forward(&self, model: &Gpt, idx: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let (_b, t) = idx.dims2()?;
        let tok_emb = model.token_embedding_table.forward(idx)?; // (B, T, C)
        let positions = Tensor::arange(0u32, t as u32, idx.device())?;
        let pos_emb = model.position_embedding_table.forward(&positions)?; // (T, C)
        let mut x = tok_emb.broadcast_add(&pos_emb)?; // (B, T, C)
        for block in &model.blocks {
            x = block_forward(block, &x, mode)?; // (B, T, C)
        }
        let x = layer_norm(&model.ln_f, &x)?;
        linear(&model.lm_head, &x) // (B, T, vocab_size)
    }

    /// La pérdida media de un lote es la media de las pérdidas de sus dos mitades (pesadas
    /// por su tamaño), y su derivada, la media de las derivadas. Cada mitad hace su forward y
    /// su backward por separado y, si la máquina tiene dos núcleos, a la vez: así se usan los
    /// dos sin repartir cada operación pequeña entre hilos (que cuesta más de lo que ahorra).
    /// La partición no depende de los núcleos, así que el resultado es el mismo en cualquier
    /// máquina; la segunda mitad saca sus máscaras de dropout de su propio flujo del RNG.
    fn loss_and_grads(
        &self,
        model: &Gpt,
        x: &Tensor,
        y: &Tensor,
        rng: &mut Rng,
        id: StepId,
    ) -> Result<(f32, GradStore)> {
        let b = x.dim(0)?;
        if b < 2 {
            return self.loss_and_grads_whole(model, x, y, rng);
        }
        let half = b / 2;
        let mut second_rng = rng::seeded(id.seed);
        second_rng.set_stream((1 << 62) | id.step as u64);
        let run = |start: usize, len: usize, r: &mut Rng| {
            let loss = self.loss(
                model,
                &x.narrow(0, start, len)?,
                &y.narrow(0, start, len)?,
                &mut Mode::Train(r),
            )?;
            let grads = loss.backward()?;
            Ok::<_, candle_core::Error>((loss.to_scalar::<f32>()?, grads, len as f64 / b as f64))
        };
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        let (r0, r1) = if parallel {
            std::thread::scope(|s| {
                let h = s.spawn(|| run(half, b - half, &mut second_rng));
                let r0 = run(0, half, rng);
                (
                    r0,
                    h.join()
                        .expect("el hilo de la segunda mitad no entra en pánico"),
                )
            })
        } else {
            (run(0, half, rng), run(half, b - half, &mut second_rng))
        };
        let ((l0, mut g0, w0), (l1, g1, w1)) = (r0?, r1?);
        let vars = model.params.vars();
        let combined = parallel::map_in_two(
            &vars,
            |v| v.elem_count(),
            |var| {
                let t = var.as_tensor();
                let g = match (g0.get(t), g1.get(t)) {
                    (Some(a), Some(c)) => Some(((a * w0)? + (c * w1)?)?),
                    (Some(a), None) => Some((a * w0)?),
                    (None, Some(c)) => Some((c * w1)?),
                    (None, None) => None,
                };
                Ok::<_, candle_core::Error>(g.map(|g| (t.clone(), g)))
            },
        )?;
        for (t, g) in combined.into_iter().flatten() {
            g0.insert(&t, g);
        }
        Ok(((f64::from(l0) * w0 + f64::from(l1) * w1) as f32, g0))
    }

    /// Los lotes se reparten entre los dos núcleos: cada pérdida es la misma la calcule quien
    /// la calcule, y se devuelven en el orden de los lotes.
    fn losses(&self, model: &Gpt, batches: &[(Tensor, Tensor)]) -> Result<Vec<f32>> {
        let work = |(x, _): &(Tensor, Tensor)| x.elem_count() * model.config.n_embd;
        parallel::map_in_two(batches, work, |(x, y)| {
            self.loss(model, x, y, &mut Mode::Eval)?.to_scalar::<f32>()
        })
    }

    /// Cada parámetro se actualiza en su sitio con [`fused::adamw_update`] (la misma cuenta en
    /// tres pasadas, sin tensores intermedios), repartidos entre los dos núcleos.
    fn adamw_step(&self, optimizer: &mut AdamW, grads: &GradStore) -> Result<()> {
        optimizer.step = optimizer.step.saturating_add(1);
        let c = optimizer.config;
        // βᵗ es 0 mucho antes de 2³¹ pasos: más allá, el exponente se queda ahí.
        let t = i32::try_from(optimizer.step).unwrap_or(i32::MAX);
        let s = AdamWStep {
            lr: c.lr,
            beta1: c.beta1,
            beta2: c.beta2,
            eps: c.eps,
            weight_decay: c.weight_decay,
            bias1: 1.0 - c.beta1.powi(t),
            bias2: 1.0 - c.beta2.powi(t),
        };
        let (m, v) = optimizer.moments();
        let work: Vec<_> = (optimizer.vars().iter().zip(m).zip(v))
            .filter_map(|((var, m), v)| Some((var.as_tensor(), grads.get(var.as_tensor())?, m, v)))
            .collect();
        parallel::map_in_two(
            &work,
            |(theta, ..)| theta.elem_count(),
            |&(theta, g, m, v)| fused::adamw_update(theta, g, m, v, s),
        )?;
        Ok(())
    }

    fn host_steps(&self) -> bool {
        true
    }
}

impl Fast {
    /// La entropía cruzada media de predecir `targets (B, T)` a partir de `idx (B, T)`.
    pub fn loss(
        &self,
        model: &Gpt,
        idx: &Tensor,
        targets: &Tensor,
        mode: &mut Mode,
    ) -> Result<Tensor> {
        let logits = self.forward(model, idx, mode)?;
        let (b, t, c) = logits.dims3()?;
        fused::cross_entropy(&logits.reshape((b * t, c))?, &targets.reshape(b * t)?)
    }

    /// Un lote que no se puede partir en dos (de una sola secuencia).
    fn loss_and_grads_whole(
        &self,
        model: &Gpt,
        x: &Tensor,
        y: &Tensor,
        rng: &mut Rng,
    ) -> Result<(f32, GradStore)> {
        let loss = self.loss(model, x, y, &mut Mode::Train(rng))?;
        let grads = loss.backward()?;
        Ok((loss.to_scalar::<f32>()?, grads))
    }
}

/// [`Block::forward`] con las piezas fusionadas.
fn block_forward(block: &Block, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let x = (x + multi_head_attention(&block.sa, &layer_norm(&block.ln1, x)?, mode)?)?;
    &x + feed_forward(&block.ffwd, &layer_norm(&block.ln2, &x)?, mode)?
}

/// [`Linear`] como una sola operación fusionada: `x Wᵀ + b`.
pub fn linear(layer: &Linear, x: &Tensor) -> Result<Tensor> {
    fused_linear::linear(x, &layer.weight, layer.bias.as_ref(), Activation::Identity)
}

/// [`LayerNorm`] fusionada.
pub fn layer_norm(ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
    fused::layer_norm(x, &ln.weight, &ln.bias, ln.eps)
}

/// [`FeedForward::forward`]: la primera capa y la ReLU van en una sola operación.
pub fn feed_forward(ffwd: &FeedForward, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    let h = fused_linear::linear(x, &ffwd.up.weight, ffwd.up.bias.as_ref(), Activation::Relu)?;
    dropout(&linear(&ffwd.down, &h)?, ffwd.dropout, mode) // (B, T, C)
}

/// Las filas de los pesos de consulta, clave y valor de todas las cabezas, una matriz tras
/// otra: `(3·C, C)`, con las consultas primero.
pub fn stacked_qkv(heads: &[Head]) -> Result<Tensor> {
    let weights = |pick: fn(&Head) -> &Linear| heads.iter().map(move |h| pick(h).weight.clone());
    let stacked: Vec<Tensor> = weights(|h| &h.query)
        .chain(weights(|h| &h.key))
        .chain(weights(|h| &h.value))
        .collect();
    Tensor::cat(&stacked, 0)
}

// ANCHOR: multi_head_fused
/// [`MultiHeadAttention::forward`] con la máscara causal. Las consultas, claves y valores de
/// todas las cabezas salen de un solo producto con los pesos apilados `(3·C, C)`; la
/// atención de todas las cabezas es una sola operación.
pub fn multi_head_attention(
    sa: &MultiHeadAttention,
    x: &Tensor,
    mode: &mut Mode,
) -> Result<Tensor> {
    let (b, t, _) = x.dims3()?;
    let w_qkv = Linear::new(stacked_qkv(&sa.heads)?, None); // (3·C, C)
    let qkv = linear(&w_qkv, x)?; // (B, T, 3·C)
    let n_head = sa.heads.len();
    // Las máscaras del dropout de los pesos, cabeza a cabeza, como en la versión del libro.
    let drop = match mode {
        Mode::Train(rng) if sa.dropout > 0.0 => Some(AttentionDropout {
            keep: keep_mask(n_head * b * t * t, sa.dropout, rng).into(),
            scale: f64::from(1.0 / (1.0 - sa.dropout)),
        }),
        _ => None,
    };
    let out = fused_attention::causal_attention(&qkv, n_head, drop)?;
    dropout(&linear(&sa.proj, &out)?, sa.dropout, mode) // (B, T, C)
}
// ANCHOR_END: multi_head_fused

/// [`Mode::dropout`] con la máscara en bytes: las mismas tiradas que la del libro.
pub fn dropout(x: &Tensor, p: f32, mode: &mut Mode) -> Result<Tensor> {
    match mode {
        Mode::Train(rng) if p > 0.0 => {
            let keep = Tensor::from_vec(keep_mask(x.elem_count(), p, rng), x.shape(), x.device())?;
            fused::dropout_with_mask(x, &keep, f64::from(1.0 / (1.0 - p)))
        }
        _ => Ok(x.clone()),
    }
}

/// La máscara del dropout en un byte por valor (1 = se queda): las mismas tiradas del RNG, y
/// en el mismo orden, que la máscara de `f32` de [`crate::model::layers::dropout`].
///
/// `rng.random::<f32>()` toma los 24 bits altos de la siguiente palabra de 32 bits del RNG y
/// los escala a `[0, 1)`. Aquí se piden todas las palabras de golpe (`fill_bytes` las da en el
/// mismo orden que una a una) y se comparan en un bucle que el compilador vectoriza.
pub fn keep_mask(n: usize, p: f32, rng: &mut Rng) -> Vec<u8> {
    const SCALE: f32 = 1.0 / (1u32 << 24) as f32;
    let mut bytes = vec![0u8; 4 * n];
    rng.fill_bytes(&mut bytes);
    bytes
        .chunks_exact(4)
        .map(|w| {
            let word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            u8::from((word >> 8) as f32 * SCALE >= p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    /// Pedir las palabras de golpe da las mismas tiradas que `random::<f32>()` una a una, y
    /// deja el RNG en el mismo punto.
    #[test]
    fn keep_mask_draws_like_one_random_f32_per_value() {
        for (n, p) in [(0, 0.2), (1, 0.5), (7, 0.1), (1000, 0.2), (4099, 0.9)] {
            let (mut a, mut b) = (rng::seeded(n as u64), rng::seeded(n as u64));
            let fast = keep_mask(n, p, &mut a);
            let slow: Vec<u8> = (0..n).map(|_| u8::from(b.random::<f32>() >= p)).collect();
            assert_eq!(fast, slow, "n = {n}, p = {p}");
            assert_eq!(
                a.random::<u64>(),
                b.random::<u64>(),
                "n = {n}: el RNG sigue igual"
            );
        }
    }
}
