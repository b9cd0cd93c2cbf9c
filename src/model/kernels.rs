//! Cómo se ejecuta el GPT: una interfaz y la implementación del libro.
//!
//! El modelo del capítulo 7 ([`Gpt`]) tiene dos implementaciones de las mismas cuentas: la
//! del libro ([`Reference`], aquí), hecha con operaciones sueltas de candle y que se lee como
//! el cuaderno, y una rápida para la CPU (`crate::fast::kernels::Fast`), con operaciones
//! fusionadas escritas a mano. Se elige **una vez**, al construir el modelo
//! ([`Gpt::with_kernels`]), y el modelo la lleva consigo: el entrenamiento, la estimación de
//! la pérdida y la generación la usan sin preguntar nada más. Las pruebas
//! (`tests/rendimiento.rs`) comprueban que las dos dan los mismos valores y derivadas, y
//! `tests/ejecutores.rs`, que entrenan igual con dropout, con uno o con dos núcleos.

use std::fmt;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use crate::model::adamw::AdamW;
use crate::model::gpt::{Gpt, Mode};
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

    /// ¿Es la implementación rápida de la CPU? Entonces la caché KV
    /// (`crate::fast::kv_cache`) da sus pasos de una posición sin candle.
    fn host_steps(&self) -> bool {
        false
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
