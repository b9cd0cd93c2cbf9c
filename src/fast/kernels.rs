//! La implementación rápida del GPT para la CPU ([`Fast`]): las mismas cuentas que la del
//! libro ([`crate::model::kernels::Reference`]), con las operaciones fusionadas de
//! [`crate::fast::fused`], [`crate::fast::fused_linear`] y [`crate::fast::fused_attention`],
//! y con los dos núcleos de un portátil repartidos entre las dos mitades de cada lote.
//!
//! Las máscaras del dropout son las del libro, número a número: cada mitad del lote toma sus
//! filas de las máscaras que el libro sacaría del RNG para el lote entero (`Masks`), así
//! que entrenar con una u otra implementación, con uno o con dos núcleos, da la misma curva.
//!
//! `tests/rendimiento.rs` comprueba que da los mismos valores y derivadas que la del libro, y
//! `tests/ejecutores.rs`, que un entrenamiento entero con dropout da las mismas pérdidas.

use std::ops::Range;
use std::sync::Arc;

use candle_core::backprop::GradStore;
use candle_core::{Device, Module, Result, Tensor};
use rand::RngCore as _;

use crate::fast::fused::{self, AdamWStep};
use crate::fast::fused_attention::{self, AttentionDropout};
use crate::fast::fused_linear::{self, Activation};
use crate::fast::host_step::HostModel;
use crate::fast::parallel;
use crate::model::adamw::AdamW;
use crate::model::gpt::{self, Block, FeedForward, Gpt, Head, Mode, MultiHeadAttention};
use crate::model::kernels::{Kernels, PositionStep, Reference, StepId};
use crate::model::layers::{LayerNorm, Linear};
use crate::tools::rng::Rng;

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
        forward(model, idx, &mut Masks::whole_batch(mode, idx.dim(0)?))
    }

    /// La pérdida media de un lote es la media de las pérdidas de sus dos mitades (pesadas
    /// por su tamaño), y su derivada, la media de las derivadas. Cada mitad hace su forward y
    /// su backward por separado y, si la máquina tiene dos núcleos, a la vez: así se usan los
    /// dos sin repartir cada operación pequeña entre hilos (que cuesta más de lo que ahorra).
    /// La partición no depende de los núcleos, y cada mitad toma sus filas de las máscaras
    /// de dropout que el libro sacaría de `rng` para el lote entero (`Masks`): el resultado
    /// es el del libro en cualquier máquina, y `rng` acaba donde lo deja el libro.
    fn loss_and_grads(
        &self,
        model: &Gpt,
        x: &Tensor,
        y: &Tensor,
        rng: &mut Rng,
        _id: StepId,
    ) -> Result<(f32, GradStore)> {
        let b = x.dim(0)?;
        if b < 2 {
            return self.loss_and_grads_whole(model, x, y, rng);
        }
        let half = b / 2;
        let start = rng.get_word_pos();
        // Cada mitad, con su copia del RNG: las dos leen el mismo flujo, cada una sus filas.
        let run = |rows: Range<usize>, mut r: Rng| {
            let (from, len) = (rows.start, rows.len());
            let mut masks = Some(Masks::rows_of(&mut r, b, rows));
            let logits = forward(model, &x.narrow(0, from, len)?, &mut masks)?;
            let loss = cross_entropy(&logits, &y.narrow(0, from, len)?)?;
            let end = masks.map_or(start, |m| m.next); // tras la máscara del último sitio
            let grads = loss.backward()?;
            Ok::<_, candle_core::Error>((
                loss.to_scalar::<f32>()?,
                grads,
                len as f64 / b as f64,
                end,
            ))
        };
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        let (r0, r1) = if parallel {
            std::thread::scope(|s| {
                let h = s.spawn(|| run(half..b, rng.clone()));
                let r0 = run(0..half, rng.clone());
                (
                    r0,
                    h.join()
                        .expect("el hilo de la segunda mitad no entra en pánico"),
                )
            })
        } else {
            (run(0..half, rng.clone()), run(half..b, rng.clone()))
        };
        let ((l0, mut g0, w0, end), (l1, g1, w1, _)) = (r0?, r1?);
        // El RNG sigue tras las máscaras del lote entero, como en el libro.
        if end != start {
            rng.set_word_pos(end);
        }
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

    fn linear(&self, l: &Linear, x: &Tensor) -> Result<Tensor> {
        linear(l, x)
    }

    fn layer_norm(&self, ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
        layer_norm(ln, x)
    }

    fn feed_forward(&self, f: &FeedForward, x: &Tensor) -> Result<Tensor> {
        feed_forward(f, x, &mut Mode::Eval)
    }

    fn causal_softmax(&self, scores: &Tensor) -> Result<Tensor> {
        fused::causal_softmax(scores)
    }

    /// En `f32`, el paso de una posición con bucles sobre los pesos copiados
    /// ([`crate::fast::kv_cache::HostModel`]); en `f64`, el de candle.
    fn position_step(&self, model: &Gpt, qkv: &[Linear]) -> Result<Option<Box<dyn PositionStep>>> {
        if model.token_embedding_table.embeddings().dtype() != candle_core::DType::F32 {
            return Ok(None);
        }
        Ok(Some(Box::new(HostModel::new(model, qkv)?)))
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
        cross_entropy(&self.forward(model, idx, mode)?, targets)
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

/// [`Gpt::forward`] con las piezas fusionadas y las máscaras del dropout de `masks`.
fn forward(model: &Gpt, idx: &Tensor, masks: &mut Option<Masks<'_>>) -> Result<Tensor> {
    let (_b, t) = idx.dims2()?;
    let tok_emb = model.token_embedding_table.forward(idx)?; // (B, T, C)
    let positions = Tensor::arange(0u32, t as u32, idx.device())?;
    let pos_emb = model.position_embedding_table.forward(&positions)?; // (T, C)
    let mut x = tok_emb.broadcast_add(&pos_emb)?; // (B, T, C)
    for block in &model.blocks {
        x = block_forward(block, &x, masks)?; // (B, T, C)
    }
    let x = layer_norm(&model.ln_f, &x)?;
    linear(&model.lm_head, &x) // (B, T, vocab_size)
}

/// La entropía cruzada media de `logits (B, T, vocab)` frente a `targets (B, T)`.
fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let (b, t, c) = logits.dims3()?;
    fused::cross_entropy(&logits.reshape((b * t, c))?, &targets.reshape(b * t)?)
}

/// De dónde salen las máscaras del dropout de un forward: `None` al evaluar (sin dropout) y,
/// al entrenar, del RNG del paso, **con los mismos números que el libro** aunque el lote se
/// calcule por partes.
///
/// El libro ([`Mode::dropout`]) saca, en cada sitio del dropout y por este orden (los pesos
/// de cada cabeza, la proyección y la red de avance de cada bloque), una tirada de `f32` del
/// RNG por valor del tensor del lote entero, en orden de filas: las máscaras de un sitio son
/// palabras de 32 bits seguidas del flujo del RNG. Una parte del lote (las filas `rows` de
/// `batch`) necesita solo sus filas de cada máscara: ChaCha8 puede saltar a cualquier
/// posición de su flujo (`set_word_pos`), así que cada parte salta a donde empiezan sus
/// filas y las saca sin sacar las de la otra. Para el lote entero no salta nada: las
/// tiradas son las de siempre, una detrás de otra.
struct Masks<'a> {
    rng: &'a mut Rng,
    /// El tamaño del lote entero y las filas que calcula esta parte.
    batch: usize,
    rows: Range<usize>,
    /// Dónde empieza (en palabras del flujo del RNG) la máscara del lote entero en el
    /// siguiente sitio del dropout.
    next: u128,
}

impl<'a> Masks<'a> {
    /// Las máscaras de `mode` para un lote entero de `batch` filas: las del libro.
    fn whole_batch(mode: &'a mut Mode<'_>, batch: usize) -> Option<Self> {
        match mode {
            Mode::Train(rng) => Some(Masks::rows_of(rng, batch, 0..batch)),
            Mode::Eval => None,
        }
    }

    /// Las filas `rows` de las máscaras de un lote de `batch` filas que el libro sacaría de
    /// `rng` a partir de donde está ahora.
    fn rows_of(rng: &'a mut Rng, batch: usize, rows: Range<usize>) -> Self {
        let next = rng.get_word_pos();
        Masks {
            rng,
            batch,
            rows,
            next,
        }
    }

    /// La máscara (1 = se queda) de un sitio con el tensor del lote entero de forma
    /// `(groups, batch, inner)`: `groups` cabezas (o 1) y `inner` valores por fila del lote.
    /// Devuelve las filas de esta parte, en el orden `(grupo, fila, valor)`.
    fn keep(&mut self, groups: usize, inner: usize, p: f32) -> Vec<u8> {
        let width = (self.rows.len() * inner) as u128;
        let mut keep = Vec::with_capacity(groups * width as usize);
        for g in 0..groups {
            let at = self.next + ((g * self.batch + self.rows.start) * inner) as u128;
            if self.rng.get_word_pos() != at {
                self.rng.set_word_pos(at);
            }
            keep.extend(keep_mask(width as usize, p, self.rng));
        }
        self.next += (groups * self.batch * inner) as u128;
        keep
    }
}

/// [`Block::forward`] con las piezas fusionadas.
fn block_forward(block: &Block, x: &Tensor, masks: &mut Option<Masks<'_>>) -> Result<Tensor> {
    let x = (x + multi_head_attention(&block.sa, &layer_norm(&block.ln1, x)?, masks)?)?;
    &x + ffwd_masked(&block.ffwd, &layer_norm(&block.ln2, &x)?, masks)?
}

/// [`Linear`] como una sola operación fusionada: `x Wᵀ + b`.
pub fn linear(layer: &Linear, x: &Tensor) -> Result<Tensor> {
    fused_linear::linear(x, &layer.weight, layer.bias.as_ref(), Activation::Identity)
}

/// [`LayerNorm`] fusionada.
pub fn layer_norm(ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
    fused::layer_norm(x, &ln.weight, &ln.bias, ln.eps)
}

/// [`FeedForward::forward`]: la primera capa y la ReLU van en una sola operación; la GELU,
/// en otra ([`fused_linear::gelu`]).
pub fn feed_forward(ffwd: &FeedForward, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    ffwd_masked(ffwd, x, &mut Masks::whole_batch(mode, x.dim(0)?))
}

/// [`feed_forward`] con las máscaras del dropout de `masks`.
fn ffwd_masked(ffwd: &FeedForward, x: &Tensor, masks: &mut Option<Masks<'_>>) -> Result<Tensor> {
    let (w, b) = (&ffwd.up.weight, ffwd.up.bias.as_ref());
    let h = match ffwd.activation {
        gpt::Activation::Relu => fused_linear::linear(x, w, b, Activation::Relu)?,
        gpt::Activation::Gelu => {
            fused_linear::gelu(&fused_linear::linear(x, w, b, Activation::Identity)?)?
        }
    }; // (B, T, 4·C)
    dropout_masked(&linear(&ffwd.down, &h)?, ffwd.dropout, masks) // (B, T, C)
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
fn multi_head_attention(
    sa: &MultiHeadAttention,
    x: &Tensor,
    masks: &mut Option<Masks<'_>>,
) -> Result<Tensor> {
    let (_b, t, _) = x.dims3()?;
    let w_qkv = Linear::new(stacked_qkv(&sa.heads)?, None); // (3·C, C)
    let qkv = linear(&w_qkv, x)?; // (B, T, 3·C)
    let n_head = sa.heads.len();
    // Las máscaras del dropout de los pesos, cabeza a cabeza, como en la versión del libro.
    let drop = match masks {
        Some(m) if sa.dropout > 0.0 => Some(AttentionDropout {
            keep: m.keep(n_head, t * t, sa.dropout).into(),
            scale: f64::from(1.0 / (1.0 - sa.dropout)),
        }),
        _ => None,
    };
    let out = fused_attention::causal_attention(&qkv, n_head, drop)?;
    dropout_masked(&linear(&sa.proj, &out)?, sa.dropout, masks) // (B, T, C)
}
// ANCHOR_END: multi_head_fused

/// [`Mode::dropout`] con la máscara en bytes: las mismas tiradas que la del libro.
pub fn dropout(x: &Tensor, p: f32, mode: &mut Mode) -> Result<Tensor> {
    dropout_masked(x, p, &mut Masks::whole_batch(mode, 1))
}

/// [`dropout`] con la máscara de `masks`: las filas de esta parte del lote.
fn dropout_masked(x: &Tensor, p: f32, masks: &mut Option<Masks<'_>>) -> Result<Tensor> {
    match masks {
        Some(m) if p > 0.0 => {
            let per_row = x.elem_count() / m.rows.len().max(1);
            let keep = Tensor::from_vec(m.keep(1, per_row, p), x.shape(), x.device())?;
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
    use crate::tools::rng;
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

    /// Las filas de una parte del lote son las de las máscaras del lote entero, y las dos
    /// partes acaban en el punto del flujo donde acaba el lote entero.
    #[test]
    fn each_part_takes_its_rows_of_the_whole_batch_masks() {
        let (batch, sites) = (7, [(4, 9), (1, 5), (3, 2)]); // (grupos, valores por fila)
        let mut r = rng::seeded(3);
        let _ = r.random::<u64>(); // algo sacado antes, como el lote
        let mut whole_rng = r.clone();
        let mut whole = Masks::rows_of(&mut whole_rng, batch, 0..batch);
        let full: Vec<Vec<u8>> = sites.iter().map(|&(g, n)| whole.keep(g, n, 0.5)).collect();
        let end = whole.next;
        assert_eq!(whole_rng.get_word_pos(), end);
        for rows in [0..3, 3..7, 2..3] {
            let mut part_rng = r.clone();
            let mut part = Masks::rows_of(&mut part_rng, batch, rows.clone());
            for (&(groups, n), full) in sites.iter().zip(&full) {
                let want: Vec<u8> = (0..groups)
                    .flat_map(|g| &full[(g * batch + rows.start) * n..(g * batch + rows.end) * n])
                    .copied()
                    .collect();
                assert_eq!(part.keep(groups, n, 0.5), want, "filas {rows:?}");
            }
            assert_eq!(part.next, end);
        }
    }
}
