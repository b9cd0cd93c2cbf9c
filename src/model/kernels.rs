//! Cómo se ejecuta el GPT: una interfaz y la implementación del libro.
//!
//! El modelo del capítulo 7 ([`Gpt`]) tiene dos implementaciones de las mismas cuentas: la
//! del libro ([`Reference`], aquí), hecha con operaciones sueltas de candle y que se lee como
//! el cuaderno, y una rápida para la CPU (`crate::fast::kernels::Fast`), con operaciones
//! fusionadas escritas a mano. El modelo no sabe quién lo ejecuta: la implementación se elige
//! **una vez**, al preparar la ejecución (`tools::training::executor`), y la reciben el
//! entrenamiento (`model::train::Trainer`) y la generación ([`Executed`] y la caché KV,
//! `crate::fast::kv_cache`), que la usan sin preguntar nada más. Las pruebas
//! (`tests/rendimiento.rs`) comprueban que las dos dan los mismos valores y derivadas, y
//! `tests/ejecutores.rs`, que entrenan igual con dropout, con uno o con dos núcleos.

use std::fmt;

use candle_core::backprop::GradStore;
use candle_core::{IndexOp, Module, Result, Tensor};

use crate::model::adamw::AdamW;
use crate::model::gpt::{FeedForward, Gpt, Mode, NextLogits};
use crate::model::layers::{self, LayerNorm, Linear};
use crate::tools::rng::Rng;

/// De qué paso de entrenamiento se trata: la semilla y el número de paso (ver
/// `model::train`). Ninguna de las dos implementaciones lo necesita: todo lo aleatorio del
/// paso sale del RNG que reciben.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepId {
    pub seed: u64,
    pub step: usize,
}

/// Las cuentas del GPT que cada implementación hace a su manera. Todas calculan la misma
/// función (salvo el redondeo) con las mismas tiradas del RNG: las mismas máscaras de
/// dropout, número a número, aunque una implementación reparta el lote entre núcleos.
pub trait Kernels: fmt::Debug + Send + Sync {
    /// Un nombre corto para mostrarlo.
    fn name(&self) -> &'static str;

    /// `idx (B, T)` → logits `(B, T, vocab_size)`: lo que calcula [`Gpt::forward`].
    fn forward(&self, model: &Gpt, idx: &Tensor, mode: &mut Mode) -> Result<Tensor>;

    /// La pérdida del lote `(x, y)` con dropout y sus derivadas. `rng` es el RNG del paso,
    /// ya usado para sortear el lote; de él salen las máscaras del dropout, en el orden de
    /// [`Gpt::forward`] con [`Mode::Train`], y queda justo después de la última, como lo deja
    /// la versión del libro.
    fn loss_and_grads(
        &self,
        model: &Gpt,
        x: &Tensor,
        y: &Tensor,
        rng: &mut Rng,
        id: StepId,
    ) -> Result<(f32, GradStore)>;

    /// Las pérdidas sin dropout de cada lote, en su orden.
    fn losses(&self, model: &Gpt, batches: &[(Tensor, Tensor)]) -> Result<Vec<f32>>;

    /// Un paso de AdamW con las derivadas `grads`: lo que calcula [`AdamW::step`].
    fn adamw_step(&self, optimizer: &mut AdamW, grads: &GradStore) -> Result<()>;

    // Las piezas sueltas que usa la caché KV (`crate::fast::kv_cache`) para pasar por el
    // modelo una posición o un contexto corto. Por defecto, las del libro.

    /// La capa lineal `l` aplicada a `x`.
    fn linear(&self, l: &Linear, x: &Tensor) -> Result<Tensor> {
        l.forward(x)
    }

    /// La LayerNorm `ln` aplicada a `x`.
    fn layer_norm(&self, ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
        ln.forward(x)
    }

    /// La red de avance `f` aplicada a `x`, sin dropout.
    fn feed_forward(&self, f: &FeedForward, x: &Tensor) -> Result<Tensor> {
        f.forward(x, &mut Mode::Eval)
    }

    /// La softmax de cada fila de `scores (…, T, T)` con la máscara causal.
    fn causal_softmax(&self, scores: &Tensor) -> Result<Tensor> {
        layers::causal_softmax(scores)
    }

    /// El paso de una posición de la caché KV hecho fuera de candle, si esta implementación
    /// lo tiene para `model` (`qkv`: por capa, consultas, claves y valores de todas las
    /// cabezas juntos). La del libro no lo tiene: da el paso con las piezas de arriba.
    fn position_step(
        &self,
        _model: &Gpt,
        _qkv: &[Linear],
    ) -> Result<Option<Box<dyn PositionStep>>> {
        Ok(None)
    }
}

/// El paso de una posición de la caché KV sin candle: `token` en la posición `pos`. Añade
/// su clave y su valor a `keys` y `values` (por capa, filas `(T, C)` con las cabezas una
/// tras otra) y devuelve los logits del siguiente token.
pub trait PositionStep: Send + Sync {
    fn step(
        &self,
        keys: &mut [Vec<f32>],
        values: &mut [Vec<f32>],
        token: u32,
        pos: usize,
    ) -> Vec<f32>;
}

/// El modelo con la implementación que lo ejecuta: genera como el cuaderno (el contexto
/// entero en cada token), con las cuentas de `kernels`.
pub struct Executed<'a> {
    pub model: &'a Gpt,
    pub kernels: &'a dyn Kernels,
}

impl NextLogits for Executed<'_> {
    /// Lo mismo que [`Gpt::next_logits`], con el forward de `kernels`.
    fn next_logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        let start = ids.len().saturating_sub(self.model.config.block_size);
        let context = &ids[start..];
        let idx = Tensor::new(context, self.model.device())?.unsqueeze(0)?; // (1, T)
        let logits = (self.kernels).forward(self.model, &idx, &mut Mode::Eval)?; // (1, T, V)
        logits
            .i((0, context.len() - 1))?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1()
    }
}

/// La implementación del libro: los métodos de [`Gpt`] y de [`AdamW`] tal cual.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reference;

impl Kernels for Reference {
    fn name(&self) -> &'static str {
        "libro"
    }

    fn forward(&self, model: &Gpt, idx: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        model.forward(idx, mode)
    }

    // ANCHOR: loss_and_grads
    fn loss_and_grads(
        &self,
        model: &Gpt,
        x: &Tensor,
        y: &Tensor,
        rng: &mut Rng,
        _id: StepId,
    ) -> Result<(f32, GradStore)> {
        let loss = model.loss(x, y, &mut Mode::Train(rng))?;
        let grads = loss.backward()?;
        Ok((loss.to_scalar::<f32>()?, grads))
    }
    // ANCHOR_END: loss_and_grads

    fn losses(&self, model: &Gpt, batches: &[(Tensor, Tensor)]) -> Result<Vec<f32>> {
        batches
            .iter()
            .map(|(x, y)| model.loss(x, y, &mut Mode::Eval)?.to_scalar::<f32>())
            .collect()
    }

    fn adamw_step(&self, optimizer: &mut AdamW, grads: &GradStore) -> Result<()> {
        optimizer.step(grads)
    }
}
