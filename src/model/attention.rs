//! Autoatención: del promedio de los tokens anteriores a una cabeza entrenada.
//!
//! Primero en `ndarray`, con cada operación a la vista: tres maneras de promediar el pasado
//! (bucles, matriz triangular y softmax con máscara) y una cabeza de autoatención completa.
//! Después la misma cabeza en candle, con derivadas, y un modelo pequeño (incrustaciones de
//! token y de posición, una cabeza y una capa lineal) que se entrena sobre el Quijote.
//!
//! Las formas siguen al cuaderno: `B` secuencias por lote, `T` posiciones (tiempo), `C`
//! canales por posición.

use candle_core::{DType, Device, Module, Result, Tensor};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis};

use crate::model::adamw::{AdamW, AdamWConfig};
use crate::model::estimate::{self, LossPoint, estimate_loss};
use crate::model::layers::{self, Params};
use crate::model::sampling;
use crate::model::train::{self, Callbacks, Learner, Progress};
use crate::text::batches::{get_batch, to_tensor};
use crate::text::dataset::{Dataset, Split};
use crate::tools::rng::{self, Rng};

// ANCHOR: toy_input
/// La entrada de juguete de la clase de Karpathy: `(B, T, C)` valores de una normal estándar.
pub fn toy_input(b: usize, t: usize, c: usize, rng: &mut Rng) -> Array3<f32> {
    let values = rng::normal_vec(rng, b * t * c, 0.0, 1.0);
    Array3::from_shape_vec((b, t, c), values).expect("b·t·c valores")
}
// ANCHOR_END: toy_input

// ANCHOR: version1
/// Versión 1: para cada secuencia `b` y cada posición `t`, la media de `x[b, 0..=t]`,
/// con bucles explícitos (`xbow` en el cuaderno: «bolsa de palabras»).
pub fn average_loops(x: ArrayView3<f32>) -> Array3<f32> {
    let (b_size, t_size, c_size) = x.dim();
    let mut out = Array3::zeros((b_size, t_size, c_size));
    for b in 0..b_size {
        for t in 0..t_size {
            for c in 0..c_size {
                let mut sum = 0.0;
                for prev in 0..=t {
                    sum += x[[b, prev, c]];
                }
                out[[b, t, c]] = sum / (t + 1) as f32;
            }
        }
    }
    out
}
// ANCHOR_END: version1

// ANCHOR: version2
/// La matriz `(T, T)` de pesos del promedio: triangular inferior (`torch.tril`) y con cada
/// fila dividida por su suma, así que la fila `t` vale `1/(t+1)` en las columnas `0..=t`.
pub fn tril_weights(t: usize) -> Array2<f32> {
    let mut wei = Array2::from_shape_fn((t, t), |(i, j)| if j <= i { 1.0 } else { 0.0 });
    for mut row in wei.rows_mut() {
        let sum = row.sum();
        row /= sum;
    }
    wei
}

/// Producto por lotes `(T, T) @ (B, T, C) → (B, T, C)`: la misma matriz de pesos se aplica
/// a cada secuencia del lote por separado (como hace `@` de PyTorch al extender la forma).
pub fn batched_matmul(wei: ArrayView2<f32>, x: ArrayView3<f32>) -> Array3<f32> {
    let (b_size, _, c_size) = x.dim();
    let mut out = Array3::zeros((b_size, wei.nrows(), c_size));
    for (mut out_b, x_b) in out.outer_iter_mut().zip(x.outer_iter()) {
        out_b.assign(&wei.dot(&x_b));
    }
    out
}

/// Versión 2: el mismo promedio con una sola multiplicación de matrices.
pub fn average_tril(x: ArrayView3<f32>) -> Array3<f32> {
    batched_matmul(tril_weights(x.dim().1).view(), x)
}
// ANCHOR_END: version2

// ANCHOR: version3
/// Softmax de cada fila tras poner `−∞` por encima de la diagonal (el futuro):
/// `scores.masked_fill(tril == 0, -inf)` y `softmax(dim=-1)` del cuaderno. `exp(−∞) = 0`,
/// así que el futuro recibe peso exactamente cero. Se resta el máximo de cada fila antes
/// de la exponencial para no desbordar (no cambia el resultado).
pub fn causal_softmax(scores: ArrayView2<f32>) -> Array2<f32> {
    let mut wei = scores.to_owned();
    for ((i, j), v) in wei.indexed_iter_mut() {
        if j > i {
            *v = f32::NEG_INFINITY;
        }
    }
    for mut row in wei.rows_mut() {
        let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    wei
}

/// Versión 3: afinidades todas cero, máscara y softmax. Da los mismos pesos que la
/// versión 2, pero ahora las afinidades podrían ser cualesquiera: eso es la atención.
pub fn average_softmax(x: ArrayView3<f32>) -> Array3<f32> {
    let t = x.dim().1;
    let affinities = Array2::<f32>::zeros((t, t));
    batched_matmul(causal_softmax(affinities.view()).view(), x)
}
// ANCHOR_END: version3

/// La mayor diferencia absoluta entre dos tensores de la misma forma.
pub fn max_abs_diff(a: ArrayView3<f32>, b: ArrayView3<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim(), "formas distintas");
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Desviación típica con la que PyTorch inicializa `nn.Linear` (uniforme en
/// `±1/√fan_in`, cuya varianza es `1/(3·fan_in)`); aquí la usamos con una normal.
pub fn linear_init_std(fan_in: usize) -> f32 {
    (3.0 * fan_in as f32).sqrt().recip()
}

// ANCHOR: head_weights
/// Los pesos de una cabeza de autoatención: tres proyecciones sin sesgo, cada una de forma
/// `(head_size, n_embd)` como `nn.Linear(n_embd, head_size, bias=False).weight`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadWeights {
    /// «¿Qué contengo?»: lo que cada token ofrece para ser encontrado.
    pub key: Array2<f32>,
    /// «¿Qué busco?»: lo que cada token pregunta a los anteriores.
    pub query: Array2<f32>,
    /// «¿Qué comunico si me eligen?»: lo que cada token entrega.
    pub value: Array2<f32>,
}
// ANCHOR_END: head_weights

impl HeadWeights {
    /// Pesos con valores de `N(0, std²)` del RNG del proyecto, en el orden clave, consulta,
    /// valor.
    pub fn random(n_embd: usize, head_size: usize, std: f32, rng: &mut Rng) -> Self {
        let mut matrix = || {
            let values = rng::normal_vec(rng, head_size * n_embd, 0.0, std);
            Array2::from_shape_vec((head_size, n_embd), values).expect("hs·C valores")
        };
        let key = matrix();
        let query = matrix();
        let value = matrix();
        Self { key, query, value }
    }

    pub fn head_size(&self) -> usize {
        self.key.nrows()
    }

    pub fn n_embd(&self) -> usize {
        self.key.ncols()
    }
}

/// El resultado de una cabeza: los pesos de atención `(B, T, T)` y la salida `(B, T, d_k)`.
#[derive(Debug, Clone)]
pub struct HeadOutput {
    pub weights: Array3<f32>,
    pub out: Array3<f32>,
}

/// `x @ Wᵀ` para cada posición: `(B, T, C)` → `(B, T, d_k)`.
fn project(x: ArrayView3<f32>, w: &Array2<f32>) -> Array3<f32> {
    let (b, t, c) = x.dim();
    let flat = x.to_shape((b * t, c)).expect("forma compatible");
    let y = flat.dot(&w.t()); // (B·T, d_k)
    Array3::from_shape_fn((b, t, w.nrows()), |(i, j, k)| y[[i * t + j, k]])
}

// ANCHOR: head_ndarray
/// Versión 4: una cabeza de autoatención. Cada posición emite una consulta `q` y una clave
/// `k`; su producto escalar, escalado por `1/√head_size`, es la afinidad; la máscara causal
/// y softmax la convierten en pesos, y la salida es la media ponderada de los valores `v`.
pub fn head_forward(w: &HeadWeights, x: ArrayView3<f32>) -> HeadOutput {
    let (b_size, t_size, _) = x.dim();
    let k = project(x, &w.key); // (B, T, d_k)
    let q = project(x, &w.query); // (B, T, d_k)
    let v = project(x, &w.value); // (B, T, d_k)
    let scale = (w.head_size() as f32).powf(-0.5);
    let mut weights = Array3::zeros((b_size, t_size, t_size));
    let mut out = Array3::zeros((b_size, t_size, w.head_size()));
    for b in 0..b_size {
        let (q_b, k_b, v_b) = (
            q.index_axis(Axis(0), b),
            k.index_axis(Axis(0), b),
            v.index_axis(Axis(0), b),
        );
        let scores = q_b.dot(&k_b.t()) * scale; // (T, d_k) @ (d_k, T) → (T, T)
        let wei = causal_softmax(scores.view());
        out.index_axis_mut(Axis(0), b).assign(&wei.dot(&v_b)); // (T, T) @ (T, d_k)
        weights.index_axis_mut(Axis(0), b).assign(&wei);
    }
    HeadOutput { weights, out }
}
// ANCHOR_END: head_ndarray

/// Varianza muestral (con `n − 1`, como `torch.var`).
pub fn variance<'a>(values: impl IntoIterator<Item = &'a f32>) -> f32 {
    let values: Vec<f64> = values.into_iter().map(|&v| f64::from(v)).collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)) as f32
}

// ANCHOR: scale
/// Las varianzas del experimento sobre la escala: claves y consultas de varianza 1, y las
/// afinidades `q·kᵀ` sin escalar y escaladas por `1/√head_size`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleVariances {
    pub head_size: usize,
    pub key: f32,
    pub query: f32,
    pub unscaled: f32,
    pub scaled: f32,
}

/// `k` y `q` de forma `(B, T, head_size)` con valores `N(0, 1)`; cada afinidad suma
/// `head_size` productos de varianza 1, así que su varianza ronda `head_size`. Multiplicar por
/// `1/√head_size` la devuelve a 1.
pub fn scale_variances(b: usize, t: usize, head_size: usize, rng: &mut Rng) -> ScaleVariances {
    let k = toy_input(b, t, head_size, rng);
    let q = toy_input(b, t, head_size, rng);
    let mut unscaled = Vec::with_capacity(b * t * t);
    for (q_b, k_b) in q.outer_iter().zip(k.outer_iter()) {
        unscaled.extend(q_b.dot(&k_b.t()));
    }
    let scale = (head_size as f32).powf(-0.5);
    let scaled: Vec<f32> = unscaled.iter().map(|v| v * scale).collect();
    ScaleVariances {
        head_size,
        key: variance(&k),
        query: variance(&q),
        unscaled: variance(&unscaled),
        scaled: variance(&scaled),
    }
}

/// La softmax de un vector (sin máscara) es la de [`crate::model::sampling::softmax`].
pub use crate::model::sampling::softmax;

/// El vector de la clase de Karpathy para ver cómo se afila softmax cuando sus entradas crecen.
pub const SOFTMAX_EXAMPLE: [f32; 5] = [0.1, -0.2, 0.3, -0.2, 0.5];
// ANCHOR_END: scale

// ANCHOR: head_candle
/// La misma cabeza en candle: con derivadas, para poder entrenarla.
#[derive(Debug, Clone)]
pub struct Head {
    key: crate::model::layers::Linear,
    query: crate::model::layers::Linear,
    value: crate::model::layers::Linear,
    head_size: usize,
}

impl Head {
    /// Una cabeza nueva, con pesos `N(0, std²)` del RNG del proyecto.
    pub fn new(
        params: &mut Params,
        name: &str,
        (n_embd, head_size): (usize, usize),
        std: f32,
        rng: &mut Rng,
    ) -> Result<Self> {
        let weights = HeadWeights::random(n_embd, head_size, std, rng);
        Self::from_weights(params, name, &weights)
    }

    /// Una cabeza con estos pesos (los mismos que usa [`head_forward`]).
    pub fn from_weights(params: &mut Params, name: &str, w: &HeadWeights) -> Result<Self> {
        let mut linear = |part: &str, m: &Array2<f32>| -> Result<crate::model::layers::Linear> {
            let values: Vec<f32> = m.iter().copied().collect();
            let tensor = Tensor::from_vec(values, m.dim(), params.device())?;
            Ok(crate::model::layers::Linear::new(
                params.add(&format!("{name}.{part}.weight"), tensor)?,
                None,
            ))
        };
        Ok(Self {
            key: linear("key", &w.key)?,
            query: linear("query", &w.query)?,
            value: linear("value", &w.value)?,
            head_size: w.head_size(),
        })
    }

    /// `(B, T, C)` → la salida `(B, T, d_k)` y los pesos de atención `(B, T, T)`.
    pub fn forward_with_weights(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (_b, t, _c) = x.dims3()?;
        let k = self.key.forward(x)?; // (B, T, d_k)
        let q = self.query.forward(x)?; // (B, T, d_k)
        let scores = (q.matmul(&k.t()?)? * (self.head_size as f64).powf(-0.5))?; // (B, T, T)
        let wei = layers::masked_softmax(&scores, &layers::causal_mask(t, x.device())?)?;
        let v = self.value.forward(x)?; // (B, T, d_k)
        Ok((wei.matmul(&v)?, wei))
    }
}

impl Module for Head {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.forward_with_weights(x)?.0)
    }
}
// ANCHOR_END: head_candle

/// Los tamaños del modelo con una cabeza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadModelConfig {
    pub vocab_size: usize,
    /// Longitud máxima del contexto (hay una incrustación de posición por cada una).
    pub block_size: usize,
    /// Dimensión de las incrustaciones (`n_embd`).
    pub n_embd: usize,
    /// Dimensión de clave, consulta y valor (`head_size`).
    pub head_size: usize,
}

impl HeadModelConfig {
    /// Los tamaños de la clase: `n_embd = 32` y una cabeza del mismo tamaño.
    pub fn new(vocab_size: usize, block_size: usize) -> Self {
        Self {
            vocab_size,
            block_size,
            n_embd: 32,
            head_size: 32,
        }
    }
}

// ANCHOR: model
/// El primer modelo con atención: cada token suma su incrustación y la de su posición, una
/// cabeza de autoatención mezcla la información del pasado y una capa lineal da los logits.
#[derive(Debug, Clone)]
pub struct HeadModel {
    config: HeadModelConfig,
    params: Params,
    token_embedding: candle_nn::Embedding,
    position_embedding: candle_nn::Embedding,
    head: Head,
    lm_head: crate::model::layers::Linear,
}

impl HeadModel {
    /// Inicialización como la de PyTorch: incrustaciones `N(0, 1)` y capas lineales con la
    /// varianza de `nn.Linear` ([`linear_init_std`]).
    pub fn new(config: HeadModelConfig, device: &Device, rng: &mut Rng) -> Result<Self> {
        let HeadModelConfig {
            vocab_size,
            block_size,
            n_embd,
            head_size,
        } = config;
        let mut params = Params::new(device);
        let p = &mut params;
        let token_embedding =
            layers::embedding(p, "token_embedding", (vocab_size, n_embd), 1.0, rng)?;
        let position_embedding =
            layers::embedding(p, "position_embedding", (block_size, n_embd), 1.0, rng)?;
        let head = Head::new(
            p,
            "sa_head",
            (n_embd, head_size),
            linear_init_std(n_embd),
            rng,
        )?;
        let lm_head = layers::linear(
            p,
            "lm_head",
            (head_size, vocab_size),
            true,
            linear_init_std(head_size),
            rng,
        )?;
        Ok(Self {
            config,
            params,
            token_embedding,
            position_embedding,
            head,
            lm_head,
        })
    }

    /// `idx (B, T)` → logits `(B, T, vocab_size)` y pesos de atención `(B, T, T)`.
    pub fn forward_with_attention(&self, idx: &Tensor) -> Result<(Tensor, Tensor)> {
        let (_b, t) = idx.dims2()?;
        if t > self.config.block_size {
            candle_core::bail!(
                "el contexto tiene {t} tokens y el modelo admite como mucho {} (block_size)",
                self.config.block_size
            );
        }
        let tok_emb = self.token_embedding.forward(idx)?; // (B, T, C)
        let positions = Tensor::arange(0u32, t as u32, idx.device())?;
        let pos_emb = self.position_embedding.forward(&positions)?; // (T, C)
        let x = tok_emb.broadcast_add(&pos_emb)?; // (B, T, C)
        let (x, wei) = self.head.forward_with_weights(&x)?; // (B, T, d_k)
        Ok((self.lm_head.forward(&x)?, wei)) // (B, T, vocab_size)
    }

    /// Entropía cruzada media de las predicciones de `idx` frente a `targets` (ambos `(B, T)`).
    pub fn loss(&self, idx: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let (logits, _) = self.forward_with_attention(idx)?;
        let (b, t, v) = logits.dims3()?;
        layers::cross_entropy(&logits.reshape((b * t, v))?, &targets.reshape(b * t)?)
    }

    // ANCHOR: attention_of
    /// Los pesos de atención `(T, T)` de la cabeza para una frase ya codificada.
    pub fn attention(&self, ids: &[u32]) -> Result<Array2<f32>> {
        if ids.is_empty() {
            candle_core::bail!("la frase está vacía");
        }
        let idx = Tensor::new(ids, self.params.device())?.unsqueeze(0)?;
        let (_, wei) = self.forward_with_attention(&idx)?;
        let rows: Vec<Vec<f32>> = wei.squeeze(0)?.to_vec2()?;
        let t = ids.len();
        Ok(Array2::from_shape_vec((t, t), rows.concat()).expect("t·t pesos"))
    }
    // ANCHOR_END: attention_of

    /// Continúa `context` con `max_new_tokens` tokens muestreados de la distribución del
    /// modelo (con el RNG del proyecto), mirando como mucho los últimos `block_size`.
    pub fn generate(
        &self,
        context: &[u32],
        max_new_tokens: usize,
        rng: &mut Rng,
    ) -> Result<Vec<u32>> {
        let mut ids = context.to_vec();
        for _ in 0..max_new_tokens {
            let start = ids.len().saturating_sub(self.config.block_size);
            let idx = Tensor::new(&ids[start..], self.params.device())?.unsqueeze(0)?;
            let (logits, _) = self.forward_with_attention(&idx)?;
            let last: Vec<f32> = logits.squeeze(0)?.get(ids.len() - start - 1)?.to_vec1()?;
            ids.push(sampling::sample(&softmax(&last), rng) as u32);
        }
        Ok(ids)
    }

    pub fn config(&self) -> HeadModelConfig {
        self.config
    }

    pub fn params(&self) -> &Params {
        &self.params
    }
}
// ANCHOR_END: model

// ANCHOR: profile
/// Cómo reparte su atención una matriz de pesos `(T, T)`: el peso medio que cada posición
/// da a sí misma, a la inmediatamente anterior y a todas las demás juntas. Se promedia desde
/// la segunda posición, que es la primera con algo detrás (la primera solo puede mirarse a
/// sí misma).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionProfile {
    pub own: f32,
    pub previous: f32,
    pub rest: f32,
}

pub fn attention_profile(w: ArrayView2<f32>) -> AttentionProfile {
    let t = w.nrows();
    if t < 2 {
        return AttentionProfile {
            own: 1.0,
            previous: 0.0,
            rest: 0.0,
        };
    }
    let rows = (t - 1) as f32;
    let own = (1..t).map(|i| w[[i, i]]).sum::<f32>() / rows;
    let previous = (1..t).map(|i| w[[i, i - 1]]).sum::<f32>() / rows;
    AttentionProfile {
        own,
        previous,
        rest: (1.0 - own - previous).max(0.0),
    }
}
// ANCHOR_END: profile

pub use crate::model::estimate::Losses;

/// Lo que ocupa entrenar el modelo de una cabeza con `train`, por arriba: parámetros (con
/// derivadas y momentos de AdamW), activaciones y los lotes de las estimaciones. `None` si no
/// cabe en 64 bits.
pub fn training_memory(config: &HeadModelConfig, train: &TrainConfig) -> Option<u64> {
    let [v, t, c, h, b] = [
        config.vocab_size,
        config.block_size,
        config.n_embd,
        config.head_size,
        train.batch_size,
    ]
    .map(|x| x as f64);
    let params = v * c + t * c + 3.0 * c * h + h * v + v;
    let activations = b * t * (c * 4.0 + h * 8.0 + v * 3.0) + b * t * t * 3.0;
    let eval = estimate::eval_memory(train.eval_iters, train.batch_size, config.block_size);
    estimate::bytes(4.0 * (4.0 * params + activations) + eval)
}

/// Cómo entrenar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    pub steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Cada cuántos pasos se estima la pérdida.
    pub eval_interval: usize,
    /// Cuántos lotes de cada parte promedia cada estimación.
    pub eval_iters: usize,
}

// ANCHOR: train
/// El modelo de una cabeza entrenándose: con AdamW, lotes del RNG `rng` (también los de las
/// estimaciones, en el orden en que se piden) y el progreso.
pub struct HeadTrainer<'a> {
    pub model: &'a HeadModel,
    pub cfg: &'a TrainConfig,
    pub optimizer: AdamW,
    pub rng: &'a mut Rng,
    pub progress: Progress,
}

impl Learner for HeadTrainer<'_> {
    fn schedule(&self) -> (usize, usize) {
        (self.cfg.steps, self.cfg.eval_interval.max(1))
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }

    fn progress_mut(&mut self) -> &mut Progress {
        &mut self.progress
    }

    fn estimate_loss(&mut self, ds: &Dataset) -> Result<LossPoint> {
        let (model, cfg) = (self.model, self.cfg);
        let batch = (cfg.batch_size, model.config().block_size);
        let dev = model.params().device();
        let losses = estimate_loss(ds, batch, cfg.eval_iters, self.rng, |batches| {
            (batches.iter())
                .map(|(x, y)| {
                    model
                        .loss(&to_tensor(x, dev)?, &to_tensor(y, dev)?)?
                        .to_scalar()
                })
                .collect()
        })?;
        let (step, train, val) = (self.progress.step, losses.train, losses.val);
        Ok(LossPoint { step, train, val })
    }

    fn train_step(&mut self, ds: &Dataset) -> Result<f32> {
        let (batch_size, block_size) = (self.cfg.batch_size, self.model.config().block_size);
        let (x, y) = get_batch(ds, Split::Train, batch_size, block_size, self.rng);
        let dev = self.model.params().device();
        let loss = self
            .model
            .loss(&to_tensor(&x, dev)?, &to_tensor(&y, dev)?)?;
        self.optimizer.step(&loss.backward()?)?;
        self.progress.step += 1;
        loss.to_scalar()
    }
}
// ANCHOR_END: train

/// Entrena con AdamW y el bucle de [`crate::model::train::train`]: en cada paso, un lote al
/// azar, la pérdida, sus derivadas y una actualización. `on_step` recibe el número de pasos
/// dados y la pérdida del lote; `on_eval`, cada estimación. Devuelve las estimaciones.
pub fn train(
    model: &HeadModel,
    ds: &Dataset,
    cfg: &TrainConfig,
    rng: &mut Rng,
    on_step: impl FnMut(usize, f32),
    on_eval: impl FnMut(&LossPoint),
) -> anyhow::Result<Vec<LossPoint>> {
    let adamw = AdamWConfig::with_lr(cfg.learning_rate);
    let optimizer = AdamW::new(model.params().vars(), adamw)?;
    let progress = Progress::new(0);
    let mut trainer = HeadTrainer {
        model,
        cfg,
        optimizer,
        rng,
        progress,
    };
    train::train(&mut trainer, ds, &mut Callbacks { on_eval, on_step })?;
    Ok(trainer.progress.history)
}

/// Un tensor de candle `(B, T, C)` a partir de uno de `ndarray`.
pub fn to_tensor3(x: ArrayView3<f32>, device: &Device) -> Result<Tensor> {
    Tensor::from_vec(x.iter().copied().collect::<Vec<f32>>(), x.dim(), device)
}

/// Un tensor de candle `(B, T, C)` de vuelta a `ndarray`.
pub fn from_tensor3(t: &Tensor) -> Result<Array3<f32>> {
    let dims = t.dims3()?;
    let values: Vec<f32> = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    Ok(Array3::from_shape_vec(dims, values).expect("forma compatible"))
}

/// Una matriz con `decimals` decimales y columnas alineadas, como la imprime PyTorch pero con
/// la norma del libro: coma decimal, así que las columnas se separan con punto y coma.
pub fn format_matrix(m: ArrayView2<f32>, decimals: usize) -> String {
    let cells: Vec<String> = m
        .iter()
        .map(|&v| crate::tools::pretty::decimal(v.into(), decimals))
        .collect();
    let width = cells.iter().map(|c| c.chars().count()).max().unwrap_or(1);
    let rows: Vec<String> = cells
        .chunks(m.ncols().max(1))
        .map(|row| {
            let row: Vec<String> = row.iter().map(|c| format!("{c:>width$}")).collect();
            format!("[{}]", row.join("; "))
        })
        .collect();
    format!("[{}]", rows.join(";\n "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn tril_weights_of_three() {
        let w = tril_weights(3);
        let want = array![
            [1.0, 0.0, 0.0],
            [0.5, 0.5, 0.0],
            [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]
        ];
        assert!(w.iter().zip(want.iter()).all(|(a, b)| (a - b).abs() < 1e-7));
    }

    #[test]
    fn causal_softmax_gives_zero_to_the_future() {
        let s = array![[5.0f32, 100.0], [0.0, 0.0]];
        let w = causal_softmax(s.view());
        assert_eq!(w, array![[1.0, 0.0], [0.5, 0.5]]);
    }

    #[test]
    fn profile_of_the_uniform_average_and_of_the_identity() {
        let p = attention_profile(tril_weights(3).view());
        // Filas 1 y 2: a sí misma 1/2 y 1/3, a la anterior 1/2 y 1/3, al resto 0 y 1/3.
        assert!((p.own - 5.0 / 12.0).abs() < 1e-6, "{p:?}");
        assert!((p.previous - 5.0 / 12.0).abs() < 1e-6, "{p:?}");
        assert!((p.rest - 1.0 / 6.0).abs() < 1e-6, "{p:?}");
        let eye = Array2::<f32>::eye(4);
        let p = attention_profile(eye.view());
        assert_eq!((p.own, p.previous, p.rest), (1.0, 0.0, 0.0));
        assert_eq!(
            attention_profile(Array2::<f32>::ones((1, 1)).view()).own,
            1.0
        );
    }

    #[test]
    fn format_matrix_aligns_columns() {
        let m = array![[1.0f32, -0.5], [0.25, 10.0]];
        assert_eq!(
            format_matrix(m.view(), 2),
            "[[ 1,00; -0,50];\n [ 0,25; 10,00]]"
        );
    }
}
