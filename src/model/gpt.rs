//! El GPT completo del cuaderno (`GPTLanguageModel`): incrustaciones de token y de posición,
//! `n_layer` bloques de atención de varias cabezas y red de avance con conexiones residuales y
//! LayerNorm, una LayerNorm final y la capa lineal que da los logits del siguiente carácter.
//!
//! Los parámetros tienen los mismos nombres que el `state_dict` de PyTorch
//! (`blocks.0.sa.heads.0.key.weight`, …). El modelo se arma en dos pasos: [`init_params`] crea
//! los parámetros (normal(0, 0.02) y sesgos a cero, con el RNG del proyecto) y
//! [`Gpt::from_params`] los busca por nombre y monta las capas. Así, cargar un punto de
//! control es solo cambiar de dónde salen los valores.

use std::fmt;

use candle_core::{D, DType, Device, IndexOp, Module, Result, Tensor};
use candle_nn::Embedding;

use crate::model::layers::{self, LayerNorm, Linear, Params};
use crate::tools::rng::Rng;

/// Desviación típica de la inicialización de pesos (`nn.init.normal_(std=0.02)`).
pub const INIT_STD: f32 = 0.02;

// ANCHOR: config
/// Los hiperparámetros del cuaderno: los del modelo y los del entrenamiento.
#[derive(Debug, Clone, PartialEq)]
pub struct GptConfig {
    /// Tamaño del vocabulario (lo fija el texto: 89 en el Quijote).
    pub vocab_size: usize,
    /// Longitud máxima del contexto (`block_size`).
    pub block_size: usize,
    /// Dimensión de las incrustaciones (`n_embd`).
    pub n_embd: usize,
    /// Cabezas de atención por bloque (`n_head`).
    pub n_head: usize,
    /// Número de bloques (`n_layer`).
    pub n_layer: usize,
    /// Probabilidad de apagar cada valor durante el entrenamiento.
    pub dropout: f32,
    /// Secuencias por lote (`batch_size`).
    pub batch_size: usize,
    /// Tasa de aprendizaje de AdamW.
    pub learning_rate: f64,
    /// Pasos de entrenamiento (`max_iters`).
    pub max_iters: usize,
    /// Cada cuántos pasos se estima la pérdida (`eval_interval`).
    pub eval_interval: usize,
    /// Lotes por estimación (`eval_iters`).
    pub eval_iters: usize,
    /// La no linealidad de la red de avance: ReLU, como el cuaderno, o GELU, como GPT-2.
    pub activation: Activation,
    /// La tasa de aprendizaje de cada paso: fija, como el cuaderno, o con calentamiento y
    /// coseno, como GPT-2 y nanoGPT.
    pub lr_schedule: LrSchedule,
}
// ANCHOR_END: config

// ANCHOR: activation
/// La no linealidad de la red de avance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// `max(0, x)`, la del cuaderno.
    #[default]
    Relu,
    /// La GELU de GPT-2, con tangente hiperbólica (la del ejercicio 6.4):
    /// `½·x·(1 + tanh(√(2/π)·(x + 0,044715·x³)))`.
    Gelu,
}
// ANCHOR_END: activation

impl Activation {
    /// Su nombre en los metadatos del punto de control y en la línea de órdenes.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
        }
    }

    /// La de nombre `name` ([`Activation::name`]), si existe.
    pub fn from_name(name: &str) -> Option<Self> {
        [Activation::Relu, Activation::Gelu]
            .into_iter()
            .find(|a| a.name() == name)
    }

    // ANCHOR: activation_apply
    /// La no linealidad aplicada a cada valor de `x`, con operaciones de candle (con derivada).
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => x.relu(),
            // `gelu` de candle es la aproximación con tanh, la de GPT-2.
            Activation::Gelu => x.gelu(),
        }
    }
    // ANCHOR_END: activation_apply
}

/// Cómo cambia la tasa de aprendizaje con el paso.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LrSchedule {
    /// La misma en todos los pasos, la del cuaderno.
    #[default]
    Constant,
    /// Calentamiento lineal y después medio coseno ([`crate::model::train::warmup_cosine_lr`]).
    WarmupCosine,
}

impl LrSchedule {
    /// Su nombre en los metadatos del punto de control.
    pub fn name(self) -> &'static str {
        match self {
            LrSchedule::Constant => "constante",
            LrSchedule::WarmupCosine => "coseno",
        }
    }

    /// El de nombre `name` ([`LrSchedule::name`]), si existe.
    pub fn from_name(name: &str) -> Option<Self> {
        [LrSchedule::Constant, LrSchedule::WarmupCosine]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// Las configuraciones con nombre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Minúscula, para las pruebas: segundos.
    Diminuto,
    /// La de nanoGPT para CPU: unos minutos en un portátil.
    Cpu,
    /// La del cuaderno: 10,8 millones de parámetros, pensado para una GPU.
    Cuaderno,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Diminuto, Preset::Cpu, Preset::Cuaderno];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Diminuto => "diminuto",
            Preset::Cpu => "cpu",
            Preset::Cuaderno => "cuaderno",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Una configuración imposible: qué campo (`block_size`, `n_embd`…) y por qué.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuración no válida: {message}")]
pub struct ConfigError {
    pub field: &'static str,
    pub message: String,
}

impl GptConfig {
    // ANCHOR: presets
    /// La configuración predefinida `preset` para un vocabulario de `vocab_size` caracteres.
    pub fn preset(preset: Preset, vocab_size: usize) -> Self {
        match preset {
            Preset::Diminuto => Self {
                vocab_size,
                block_size: 16,
                n_embd: 32,
                n_head: 4,
                n_layer: 2,
                dropout: 0.0,
                batch_size: 8,
                learning_rate: 1e-3,
                max_iters: 100,
                eval_interval: 50,
                eval_iters: 10,
                activation: Activation::Relu,
                lr_schedule: LrSchedule::Constant,
            },
            Preset::Cpu => Self {
                vocab_size,
                block_size: 64,
                n_embd: 128,
                n_head: 4,
                n_layer: 4,
                dropout: 0.0,
                batch_size: 12,
                learning_rate: 1e-3,
                max_iters: 2000,
                eval_interval: 500,
                eval_iters: 200,
                activation: Activation::Relu,
                lr_schedule: LrSchedule::Constant,
            },
            Preset::Cuaderno => Self {
                vocab_size,
                block_size: 256,
                n_embd: 384,
                n_head: 6,
                n_layer: 6,
                dropout: 0.2,
                batch_size: 64,
                learning_rate: 3e-4,
                max_iters: 5000,
                eval_interval: 500,
                eval_iters: 200,
                activation: Activation::Relu,
                lr_schedule: LrSchedule::Constant,
            },
        }
    }
    // ANCHOR_END: presets

    /// Tamaño de cada cabeza: `n_embd / n_head`.
    pub fn head_size(&self) -> usize {
        self.n_embd / self.n_head
    }

    /// Comprueba que la configuración tiene sentido y, si no, dice por qué.
    pub fn validate(&self) -> std::result::Result<(), ConfigError> {
        let fail = |field, message| Err(ConfigError { field, message });
        let positive = [
            ("vocab_size", "el vocabulario", self.vocab_size),
            ("block_size", "el bloque", self.block_size),
            ("n_embd", "la dimensión", self.n_embd),
            ("n_head", "el número de cabezas", self.n_head),
            ("n_layer", "el número de capas", self.n_layer),
            ("batch_size", "el lote", self.batch_size),
            ("max_iters", "el número de pasos", self.max_iters),
            (
                "eval_interval",
                "el intervalo de evaluación",
                self.eval_interval,
            ),
            ("eval_iters", "los lotes de evaluación", self.eval_iters),
        ];
        for (field, what, v) in positive {
            if v == 0 {
                return fail(field, format!("{what} ({field}) debe ser mayor que 0"));
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            let message = format!(
                "la dimensión {} no se puede repartir entre {} cabezas (debe ser múltiplo)",
                self.n_embd, self.n_head
            );
            return fail("n_embd", message);
        }
        if !(0.0..1.0).contains(&self.dropout) {
            let message = format!("el dropout debe estar en [0, 1) y es {}", self.dropout);
            return fail("dropout", message);
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            let message = format!(
                "la tasa de aprendizaje debe ser positiva y es {}",
                self.learning_rate
            );
            return fail("learning_rate", message);
        }
        Ok(())
    }
}

// ANCHOR: mode_enum
/// ¿Entrenando (con dropout, cuyas máscaras salen de este RNG) o evaluando (sin dropout)?
/// Es el `model.train()` / `model.eval()` de PyTorch.
pub enum Mode<'a> {
    Eval,
    Train(&'a mut Rng),
}
// ANCHOR_END: mode_enum

// ANCHOR: mode_dropout
impl Mode<'_> {
    /// `nn.Dropout(p)`: solo actúa al entrenar.
    pub fn dropout(&mut self, x: &Tensor, p: f32) -> Result<Tensor> {
        match self {
            Mode::Train(rng) if p > 0.0 => layers::dropout(x, p, rng),
            _ => Ok(x.clone()),
        }
    }
}
// ANCHOR_END: mode_dropout

/// Cómo se inicializa un parámetro.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitKind {
    /// Normal(0, 0.02): pesos de las capas lineales y de las incrustaciones.
    Normal,
    /// Ceros: sesgos (también el de LayerNorm).
    Zeros,
    /// Unos: la escala de LayerNorm.
    Ones,
}

// ANCHOR: param_specs
/// Todos los parámetros del modelo, con nombre, forma e inicialización, en el orden del
/// `state_dict` de PyTorch.
pub fn param_specs(cfg: &GptConfig) -> Vec<(String, Vec<usize>, InitKind)> {
    use InitKind::*;
    let (v, t, c) = (cfg.vocab_size, cfg.block_size, cfg.n_embd);
    let hs = cfg.head_size();
    let mut specs = vec![
        ("token_embedding_table.weight".into(), vec![v, c], Normal),
        ("position_embedding_table.weight".into(), vec![t, c], Normal),
    ];
    for l in 0..cfg.n_layer {
        let b = format!("blocks.{l}");
        for h in 0..cfg.n_head {
            for kqv in ["key", "query", "value"] {
                let name = format!("{b}.sa.heads.{h}.{kqv}.weight");
                specs.push((name, vec![hs, c], Normal));
            }
        }
        specs.push((
            format!("{b}.sa.proj.weight"),
            vec![c, hs * cfg.n_head],
            Normal,
        ));
        specs.push((format!("{b}.sa.proj.bias"), vec![c], Zeros));
        specs.push((format!("{b}.ffwd.net.0.weight"), vec![4 * c, c], Normal));
        specs.push((format!("{b}.ffwd.net.0.bias"), vec![4 * c], Zeros));
        specs.push((format!("{b}.ffwd.net.2.weight"), vec![c, 4 * c], Normal));
        specs.push((format!("{b}.ffwd.net.2.bias"), vec![c], Zeros));
        for ln in ["ln1", "ln2"] {
            specs.push((format!("{b}.{ln}.weight"), vec![c], Ones));
            specs.push((format!("{b}.{ln}.bias"), vec![c], Zeros));
        }
    }
    specs.push(("ln_f.weight".into(), vec![c], Ones));
    specs.push(("ln_f.bias".into(), vec![c], Zeros));
    specs.push(("lm_head.weight".into(), vec![v, c], Normal));
    specs.push(("lm_head.bias".into(), vec![v], Zeros));
    specs
}
// ANCHOR_END: param_specs

/// Número de parámetros de una configuración, sin crearlos.
pub fn param_count(cfg: &GptConfig) -> usize {
    param_specs(cfg)
        .iter()
        .map(|(_, shape, _)| shape.iter().product::<usize>())
        .sum()
}

/// Como el cuaderno, con la norma del libro: `10,807385 M parámetros`.
pub fn format_param_count(n: usize) -> String {
    format!(
        "{} M parámetros",
        crate::tools::pretty::number(n as f64 / 1e6)
    )
}

/// Crea los parámetros de `cfg` en `device`, con valores iniciales sacados de `rng`.
pub fn init_params(cfg: &GptConfig, device: &Device, rng: &mut Rng) -> Result<Params> {
    let mut params = Params::new(device);
    for (name, shape, kind) in param_specs(cfg) {
        match kind {
            InitKind::Normal => params.normal(&name, &shape, INIT_STD, rng)?,
            InitKind::Zeros => params.zeros(&name, &shape)?,
            InitKind::Ones => params.ones(&name, &shape)?,
        };
    }
    Ok(params)
}

fn param(params: &Params, name: &str) -> Result<Tensor> {
    params
        .get(name)
        .map(|v| v.as_tensor().clone())
        .ok_or_else(|| candle_core::Error::Msg(format!("falta el parámetro {name}")))
}

fn linear(params: &Params, name: &str, bias: bool) -> Result<Linear> {
    let w = param(params, &format!("{name}.weight"))?;
    let b = if bias {
        Some(param(params, &format!("{name}.bias"))?)
    } else {
        None
    };
    Ok(Linear::new(w, b))
}

fn layer_norm(params: &Params, name: &str) -> Result<LayerNorm> {
    Ok(LayerNorm {
        weight: param(params, &format!("{name}.weight"))?,
        bias: param(params, &format!("{name}.bias"))?,
        eps: 1e-5,
    })
}

/// Una cabeza de autoatención.
#[derive(Debug, Clone)]
pub struct Head {
    pub key: Linear,
    pub query: Linear,
    pub value: Linear,
    pub dropout: f32,
}

impl Head {
    // ANCHOR: head
    /// `x (B, T, C)` → `(B, T, head_size)`. `mask` es la máscara causal `(T, T)`.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let k = self.key.forward(x)?; // (B, T, d_k)
        let q = self.query.forward(x)?; // (B, T, d_k)
        let head_size = k.dim(D::Minus1)?;
        // Afinidades: (B, T, d_k) @ (B, d_k, T) → (B, T, T), escaladas por 1/√d_k.
        let wei = (q.matmul(&k.t()?)? * (head_size as f64).powf(-0.5))?;
        let wei = layers::masked_softmax(&wei, mask)?; // el futuro no cuenta
        let wei = mode.dropout(&wei, self.dropout)?;
        let v = self.value.forward(x)?; // (B, T, d_k)
        wei.matmul(&v) // (B, T, T) @ (B, T, d_k) → (B, T, d_k)
    }
    // ANCHOR_END: head
}

/// Varias cabezas en paralelo, concatenadas y proyectadas.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    pub heads: Vec<Head>,
    pub proj: Linear,
    pub dropout: f32,
}

impl MultiHeadAttention {
    // ANCHOR: multi_head
    /// `x (B, T, C)` → `(B, T, C)`: cada cabeza por su lado, concatenadas y proyectadas.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let outs = self
            .heads
            .iter()
            .map(|h| h.forward(x, mask, mode))
            .collect::<Result<Vec<_>>>()?;
        let out = Tensor::cat(&outs, D::Minus1)?; // (B, T, n_head · d_k)
        mode.dropout(&self.proj.forward(&out)?, self.dropout)
    }
    // ANCHOR_END: multi_head
}

/// La red de avance: una capa lineal que ensancha ×4, la no linealidad (ReLU, o GELU si se
/// pide), y otra que vuelve a `n_embd`.
#[derive(Debug, Clone)]
pub struct FeedForward {
    pub up: Linear,
    pub down: Linear,
    pub dropout: f32,
    pub activation: Activation,
}

impl FeedForward {
    // ANCHOR: feed_forward
    pub fn forward(&self, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let h = self.activation.apply(&self.up.forward(x)?)?; // (B, T, 4·C)
        mode.dropout(&self.down.forward(&h)?, self.dropout) // (B, T, C)
    }
    // ANCHOR_END: feed_forward
}

/// Un bloque del Transformer: comunicación (atención) y luego cómputo (red de avance).
#[derive(Debug, Clone)]
pub struct Block {
    pub ln1: LayerNorm,
    pub sa: MultiHeadAttention,
    pub ln2: LayerNorm,
    pub ffwd: FeedForward,
}

impl Block {
    // ANCHOR: block
    pub fn forward(&self, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let x = (x + self.sa.forward(&self.ln1.forward(x)?, mask, mode)?)?;
        &x + self.ffwd.forward(&self.ln2.forward(&x)?, mode)?
    }
    // ANCHOR_END: block
}

/// El modelo completo: la configuración, los parámetros y las capas montadas con ellos.
/// Quién hace las cuentas (este código o la implementación rápida) no es cosa del modelo:
/// se elige al preparar el entrenamiento o la generación (`model::kernels`).
#[derive(Debug, Clone)]
pub struct Gpt {
    pub config: GptConfig,
    pub params: Params,
    pub token_embedding_table: Embedding,
    pub position_embedding_table: Embedding,
    pub blocks: Vec<Block>,
    pub ln_f: LayerNorm,
    pub lm_head: Linear,
}

impl Gpt {
    /// Un modelo nuevo con pesos aleatorios (de `rng`).
    pub fn new(cfg: &GptConfig, device: &Device, rng: &mut Rng) -> Result<Self> {
        let params = init_params(cfg, device, rng)?;
        Self::from_params(cfg, params)
    }

    /// Monta las capas con los parámetros de `params`, buscándolos por nombre.
    pub fn from_params(cfg: &GptConfig, params: Params) -> Result<Self> {
        let p = &params;
        let embedding = |name: &str| -> Result<Embedding> {
            Ok(Embedding::new(
                param(p, &format!("{name}.weight"))?,
                cfg.n_embd,
            ))
        };
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for l in 0..cfg.n_layer {
            let b = format!("blocks.{l}");
            let heads = (0..cfg.n_head)
                .map(|h| {
                    let name = format!("{b}.sa.heads.{h}");
                    Ok(Head {
                        key: linear(p, &format!("{name}.key"), false)?,
                        query: linear(p, &format!("{name}.query"), false)?,
                        value: linear(p, &format!("{name}.value"), false)?,
                        dropout: cfg.dropout,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            blocks.push(Block {
                ln1: layer_norm(p, &format!("{b}.ln1"))?,
                sa: MultiHeadAttention {
                    heads,
                    proj: linear(p, &format!("{b}.sa.proj"), true)?,
                    dropout: cfg.dropout,
                },
                ln2: layer_norm(p, &format!("{b}.ln2"))?,
                ffwd: FeedForward {
                    up: linear(p, &format!("{b}.ffwd.net.0"), true)?,
                    down: linear(p, &format!("{b}.ffwd.net.2"), true)?,
                    dropout: cfg.dropout,
                    activation: cfg.activation,
                },
            });
        }
        Ok(Self {
            token_embedding_table: embedding("token_embedding_table")?,
            position_embedding_table: embedding("position_embedding_table")?,
            blocks,
            ln_f: layer_norm(p, "ln_f")?,
            lm_head: linear(p, "lm_head", true)?,
            config: cfg.clone(),
            params,
        })
    }

    /// El mismo modelo con otra precisión (por ejemplo `F64` para comprobar derivadas).
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        let mut params = Params::new(self.params.device());
        for (name, var) in self.params.named() {
            params.add(name, var.as_tensor().to_dtype(dtype)?)?;
        }
        Self::from_params(&self.config, params)
    }

    pub fn device(&self) -> &Device {
        self.params.device()
    }

    // ANCHOR: forward
    /// `idx (B, T)` de identificadores → logits `(B, T, vocab_size)`.
    pub fn forward(&self, idx: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let (_b, t) = idx.dims2()?;
        let tok_emb = self.token_embedding_table.forward(idx)?; // (B, T, C)
        let positions = Tensor::arange(0u32, t as u32, idx.device())?;
        let pos_emb = self.position_embedding_table.forward(&positions)?; // (T, C)
        let mut x = tok_emb.broadcast_add(&pos_emb)?; // (B, T, C)
        let mask = layers::causal_mask(t, idx.device())?;
        for block in &self.blocks {
            x = block.forward(&x, &mask, mode)?; // (B, T, C)
        }
        let x = self.ln_f.forward(&x)?;
        self.lm_head.forward(&x) // (B, T, vocab_size)
    }
    // ANCHOR_END: forward

    // ANCHOR: loss
    /// La entropía cruzada media de predecir `targets (B, T)` a partir de `idx (B, T)`.
    pub fn loss(&self, idx: &Tensor, targets: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let logits = self.forward(idx, mode)?;
        let (b, t, c) = logits.dims3()?;
        layers::cross_entropy(&logits.reshape((b * t, c))?, &targets.reshape(b * t)?)
    }
    // ANCHOR_END: loss

    // ANCHOR: next_logits
    /// Los logits del siguiente token tras el contexto `ids` (recortado a los últimos
    /// `block_size`), en `f32` y en la CPU.
    pub fn next_logits(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let start = ids.len().saturating_sub(self.config.block_size);
        let context = &ids[start..];
        let idx = Tensor::new(context, self.device())?.unsqueeze(0)?; // (1, T)
        let logits = self.forward(&idx, &mut Mode::Eval)?; // (1, T, vocab)
        logits
            .i((0, context.len() - 1))?
            .to_dtype(DType::F32)?
            .to_vec1()
    }
    // ANCHOR_END: next_logits
}

// El muestreo (temperatura, top-k y el sorteo) es el de `model::sampling`, el mismo de los
// capítulos 5 y 6.
pub use crate::model::sampling::{
    Sampling, choose_next, sample, softmax, top_k_filter, top_p_filter,
};

// ANCHOR: generate
/// Lo que necesita [`generate`]: los logits del siguiente token tras un contexto. Lo da el
/// modelo ([`Gpt::next_logits`], que pasa el contexto entero, como el cuaderno) y lo da
/// también la caché KV (`crate::fast::kv_cache`), que calcula lo mismo más deprisa.
pub trait NextLogits {
    fn next_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>>;
}

impl NextLogits for &Gpt {
    fn next_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        Gpt::next_logits(self, ids)
    }
}

/// Genera `max_new_tokens` tokens a continuación de `prompt` y llama a `on_token` con cada
/// uno en cuanto sale (para mostrarlo al momento). Devuelve los tokens nuevos.
pub fn generate(
    mut model: impl NextLogits,
    prompt: &[u32],
    max_new_tokens: usize,
    sampling: Sampling,
    rng: &mut Rng,
    mut on_token: impl FnMut(u32),
) -> Result<Vec<u32>> {
    let mut ids = prompt.to_vec();
    for _ in 0..max_new_tokens {
        let logits = model.next_logits(&ids)?;
        let next = choose_next(&logits, sampling, rng);
        on_token(next);
        ids.push(next);
    }
    Ok(ids[prompt.len()..].to_vec())
}
// ANCHOR_END: generate

/// Una fuente de logits prestada (`&mut cache`) sigue siéndolo: quien la presta la conserva
/// después, con lo que guardó.
impl<T: NextLogits + ?Sized> NextLogits for &mut T {
    fn next_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        (**self).next_logits(ids)
    }
}

impl<T: NextLogits + ?Sized> NextLogits for Box<T> {
    fn next_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        (**self).next_logits(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::rng;
    use rand::Rng as _;

    fn tiny_config(vocab_size: usize) -> GptConfig {
        GptConfig {
            vocab_size,
            block_size: 5,
            n_embd: 8,
            n_head: 2,
            n_layer: 2,
            dropout: 0.0,
            ..GptConfig::preset(Preset::Diminuto, vocab_size)
        }
    }

    fn random_ids(r: &mut Rng, shape: (usize, usize), vocab: usize) -> Tensor {
        let ids: Vec<u32> = (0..shape.0 * shape.1)
            .map(|_| r.random_range(0..vocab as u32))
            .collect();
        Tensor::from_vec(ids, shape, &Device::Cpu).unwrap()
    }

    fn abs_sum(t: &Tensor) -> f64 {
        t.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    #[test]
    fn every_parameter_gets_a_gradient() {
        let mut cfg = GptConfig::preset(Preset::Diminuto, 11);
        cfg.dropout = 0.1;
        let mut r = rng::seeded(5);
        let m = Gpt::new(&cfg, &Device::Cpu, &mut r).unwrap();
        let x = random_ids(&mut r, (4, cfg.block_size), 11);
        let y = random_ids(&mut r, (4, cfg.block_size), 11);
        let loss = m.loss(&x, &y, &mut Mode::Train(&mut r)).unwrap();
        let grads = loss.backward().unwrap();
        for (name, var) in m.params.named() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name} no recibe gradiente"));
            assert!(abs_sum(g) > 0.0, "{name}: gradiente nulo");
        }
    }

    #[test]
    fn initial_loss_is_about_ln_vocab() {
        let cfg = GptConfig::preset(Preset::Diminuto, 89);
        let mut r = rng::seeded(6);
        let m = Gpt::new(&cfg, &Device::Cpu, &mut r).unwrap();
        let x = random_ids(&mut r, (8, cfg.block_size), 89);
        let y = random_ids(&mut r, (8, cfg.block_size), 89);
        let loss = m.loss(&x, &y, &mut Mode::Eval).unwrap();
        let loss = loss.to_scalar::<f32>().unwrap();
        let want = (89f32).ln();
        assert!((loss - want).abs() < 0.1, "pérdida {loss}, ln(89) = {want}");
    }

    /// Derivadas de `backward` contra diferencias finitas centradas, en `f64`, para una
    /// muestra de valores de cada clase de parámetro.
    #[test]
    fn gradients_match_finite_differences() {
        let cfg = tiny_config(7);
        let mut r = rng::seeded(8);
        let m = Gpt::new(&cfg, &Device::Cpu, &mut r)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        // Pesos más grandes que los iniciales para que ninguna derivada sea casi nula.
        for (_, var) in m.params.named() {
            let values: Vec<f64> = (0..var.elem_count())
                .map(|_| 0.4 * (r.random::<f64>() - 0.5) + 0.2)
                .collect();
            var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu).unwrap())
                .unwrap();
        }
        let x = random_ids(&mut r, (3, cfg.block_size), 7);
        let y = random_ids(&mut r, (3, cfg.block_size), 7);
        let loss_of = |m: &Gpt| {
            m.loss(&x, &y, &mut Mode::Eval)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let grads = m.loss(&x, &y, &mut Mode::Eval).unwrap().backward().unwrap();
        let mut checked = 0;
        for (name, var) in m.params.named() {
            // Una muestra de cada parámetro de la primera capa, de la final y de las incrustaciones.
            if name.starts_with("blocks.1") && !name.contains("ln") {
                continue;
            }
            let g: Vec<f64> = grads
                .get(var)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let base: Vec<f64> = var.flatten_all().unwrap().to_vec1().unwrap();
            for _ in 0..3 {
                let i = r.random_range(0..base.len());
                let h = 1e-5;
                let at = |delta: f64| {
                    let mut v = base.clone();
                    v[i] += delta;
                    var.set(&Tensor::from_vec(v, var.shape(), &Device::Cpu).unwrap())
                        .unwrap();
                    loss_of(&m)
                };
                let numeric = (at(h) - at(-h)) / (2.0 * h);
                at(0.0);
                let err = (numeric - g[i]).abs();
                assert!(
                    err <= 1e-7 + 1e-5 * g[i].abs(),
                    "{name}[{i}]: backward {} y diferencias finitas {numeric}",
                    g[i]
                );
                checked += 1;
            }
        }
        assert!(checked >= 3 * 20, "solo se comprobaron {checked} valores");
    }

    #[test]
    fn notebook_config_has_10_807_385_parameters() {
        let cfg = GptConfig::preset(Preset::Cuaderno, 89);
        assert_eq!(param_count(&cfg), 10_807_385);
        assert_eq!(
            format_param_count(param_count(&cfg)),
            "10,807385 M parámetros"
        );
    }

    #[test]
    fn built_model_matches_the_specs() {
        let cfg = GptConfig::preset(Preset::Diminuto, 11);
        let m = Gpt::new(&cfg, &Device::Cpu, &mut rng::seeded(1)).unwrap();
        assert_eq!(m.params.count(), param_count(&cfg));
        let names: Vec<&str> = m.params.named().iter().map(|(n, _)| n.as_str()).collect();
        let specs = param_specs(&cfg);
        assert_eq!(
            names,
            specs.iter().map(|s| s.0.as_str()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn invalid_configs_say_why() {
        let mut cfg = GptConfig::preset(Preset::Cpu, 89);
        cfg.n_head = 3;
        let e = cfg.validate().unwrap_err().to_string();
        assert!(e.contains("128") && e.contains("3 cabezas"), "{e}");
        cfg.n_head = 4;
        cfg.dropout = 1.0;
        assert!(cfg.validate().unwrap_err().to_string().contains("dropout"));
        cfg.dropout = 0.1;
        cfg.batch_size = 0;
        // El error nombra el campo, no la opción de la línea de órdenes (eso es cosa de
        // `tools::cli::config_error`).
        let e = cfg.validate().unwrap_err();
        assert_eq!(e.field, "batch_size");
        assert!(e.to_string().contains("el lote (batch_size)"), "{e}");
    }
}
