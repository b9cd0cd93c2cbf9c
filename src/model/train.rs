//! El bucle de entrenamiento del GPT, con la forma del de `gpt.py`: estimar la pérdida de vez
//! en cuando, sacar un lote, calcular la pérdida y sus derivadas y dar el paso de AdamW.
//!
//! **Reproducible y reanudable.** Todo lo aleatorio sale del RNG del proyecto con la semilla
//! del entrenamiento, y cada paso usa su propio flujo: el paso `s` saca sus lotes y sus
//! máscaras de dropout de `ChaCha8(semilla, flujo s + 1)`, la inicialización usa el flujo 0 y
//! las estimaciones otro flujo aparte. Así el «estado del RNG» de un punto de control es solo
//! `(semilla, paso)`: reanudar en el paso `k` produce exactamente los mismos números que no
//! haberse detenido nunca, y evaluar más o menos veces no cambia el entrenamiento.
//!
//! Lo que no es la lección (los puntos de control, Ctrl-C, el límite de tiempo, la vigilancia
//! de una pérdida que diverge) lo pone `tools::training` desde fuera, con los ganchos
//! ([`Hooks`]) del bucle.

use std::sync::Arc;

use candle_core::Device;

use crate::model::adamw::{AdamW, AdamWConfig};
use crate::model::estimate::{self, LossPoint};
use crate::model::gpt::{Gpt, GptConfig, LrSchedule};
use crate::model::kernels::{Kernels, StepId};
use crate::text::batches::{get_batch, to_tensor};
use crate::text::dataset::{Dataset, Split};
use crate::tools::rng::{self, Rng};

// ANCHOR: streams
/// El RNG de la inicialización de los pesos.
pub fn init_rng(seed: u64) -> Rng {
    rng::seeded(seed) // flujo 0
}

/// El RNG del paso `step` (lotes y dropout): su propio flujo, siempre el mismo.
pub fn step_rng(seed: u64, step: usize) -> Rng {
    let mut r = rng::seeded(seed);
    r.set_stream(step as u64 + 1);
    r
}

/// El RNG de la estimación hecha antes del paso `step` (flujos de la mitad alta).
pub fn eval_rng(seed: u64, step: usize) -> Rng {
    let mut r = rng::seeded(seed);
    r.set_stream((1 << 63) | step as u64);
    r
}
// ANCHOR_END: streams

/// El progreso del entrenamiento: lo que hay que guardar, además de los pesos y del
/// optimizador, para seguir exactamente donde se dejó.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Pasos de entrenamiento ya dados.
    pub step: usize,
    /// Semilla del entrenamiento (lotes y dropout salen de ella, paso a paso).
    pub seed: u64,
    /// Mejor pérdida de validación vista hasta ahora.
    pub best_val: Option<f32>,
    /// Las estimaciones de pérdida hechas hasta ahora (para la curva).
    pub history: Vec<LossPoint>,
}

impl Progress {
    /// Un entrenamiento que empieza, con la semilla `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            step: 0,
            seed,
            best_val: None,
            history: Vec::new(),
        }
    }

    /// Apunta una estimación en el historial; devuelve si es la mejor validación hasta ahora.
    pub fn record(&mut self, point: LossPoint) -> bool {
        let best = self.best_val.is_none_or(|b| point.val < b);
        if best {
            self.best_val = Some(point.val);
        }
        self.history.push(point);
        best
    }

    /// Si la última estimación del historial es la de este paso (al reanudar justo en un
    /// punto de evaluación, o al parar justo después de estimar).
    fn estimated_now(&self) -> bool {
        self.history.last().map(|p| p.step) == Some(self.step)
    }
}

// ANCHOR: warmup_cosine
/// La tasa de aprendizaje del paso `step` con calentamiento y coseno (la de nanoGPT, y la del
/// ejercicio 5.7): sube en línea recta durante `warmup` pasos, baja siguiendo medio coseno
/// de `max_lr` a `min_lr` hasta el paso `max_steps` y se queda en `min_lr` después.
pub fn warmup_cosine_lr(
    step: usize,
    warmup: usize,
    max_steps: usize,
    max_lr: f64,
    min_lr: f64,
) -> f64 {
    if step < warmup {
        return max_lr * (step + 1) as f64 / warmup as f64;
    }
    if step > max_steps || max_steps == warmup {
        return min_lr;
    }
    let progress = (step - warmup) as f64 / (max_steps - warmup) as f64; // de 0 a 1
    let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()); // de 1 a 0
    min_lr + cosine * (max_lr - min_lr)
}
// ANCHOR_END: warmup_cosine

/// Los pasos de calentamiento de un entrenamiento de `max_iters` pasos con coseno: el 5 %
/// (100 de los 2000 de la configuración `cpu`), al menos uno y siempre menos que `max_iters`.
pub fn warmup_steps(max_iters: usize) -> usize {
    (max_iters / 20).max(1).min(max_iters.saturating_sub(1))
}

/// La tasa mínima del coseno es la máxima entre esto: la décima parte, como en nanoGPT.
pub const MIN_LR_DIVISOR: f64 = 10.0;

impl GptConfig {
    /// La tasa de aprendizaje del paso `step` (contado desde 0) según [`GptConfig::lr_schedule`].
    pub fn learning_rate_at(&self, step: usize) -> f64 {
        match self.lr_schedule {
            LrSchedule::Constant => self.learning_rate,
            LrSchedule::WarmupCosine => warmup_cosine_lr(
                step,
                warmup_steps(self.max_iters),
                self.max_iters,
                self.learning_rate,
                self.learning_rate / MIN_LR_DIVISOR,
            ),
        }
    }
}

// ANCHOR: learner
/// Lo que el bucle de entrenamiento ([`train`]) necesita de un modelo con su optimizador. Lo
/// cumplen el bigrama (capítulo 5), el modelo de una cabeza (capítulo 6), los peldaños de la
/// escalera y el GPT ([`Trainer`]).
pub trait Learner {
    /// `(max_iters, eval_interval)`: cuántos pasos dar, y cada cuántos estimar la pérdida.
    fn schedule(&self) -> (usize, usize);
    fn progress(&self) -> &Progress;
    fn progress_mut(&mut self) -> &mut Progress;
    /// `estimate_loss()`: la pérdida media en entrenamiento y en validación, sin dropout.
    fn estimate_loss(&mut self, ds: &Dataset) -> candle_core::Result<LossPoint>;
    /// Un paso: un lote, la pérdida, sus derivadas y el paso del optimizador. Suma uno a
    /// `progress().step` y devuelve la pérdida del lote.
    fn train_step(&mut self, ds: &Dataset) -> candle_core::Result<f32>;
}
// ANCHOR_END: learner

/// El GPT, la implementación que hace sus cuentas, su optimizador y el progreso.
pub struct Trainer {
    pub model: Gpt,
    /// Quién ejecuta el modelo: la versión del libro o la rápida, elegida una vez al
    /// preparar el entrenamiento.
    pub kernels: Arc<dyn Kernels>,
    pub optimizer: AdamW,
    pub progress: Progress,
}

impl Trainer {
    /// Un entrenamiento nuevo: pesos aleatorios desde la semilla, optimizador a cero, y el
    /// modelo ejecutado por `kernels`.
    pub fn new(
        cfg: &GptConfig,
        device: &Device,
        seed: u64,
        kernels: Arc<dyn Kernels>,
    ) -> candle_core::Result<Self> {
        let model = Gpt::new(cfg, device, &mut init_rng(seed))?;
        let optimizer = AdamW::new(model.params.vars(), AdamWConfig::with_lr(cfg.learning_rate))?;
        Ok(Self {
            model,
            kernels,
            optimizer,
            progress: Progress::new(seed),
        })
    }

    pub fn config(&self) -> &GptConfig {
        &self.model.config
    }
}

impl AsRef<Trainer> for Trainer {
    fn as_ref(&self) -> &Trainer {
        self
    }
}

impl Learner for Trainer {
    fn schedule(&self) -> (usize, usize) {
        (self.config().max_iters, self.config().eval_interval)
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }

    fn progress_mut(&mut self) -> &mut Progress {
        &mut self.progress
    }

    // ANCHOR: train_step
    /// Un paso de entrenamiento; devuelve la pérdida del lote.
    fn train_step(&mut self, ds: &Dataset) -> candle_core::Result<f32> {
        let cfg = &self.model.config;
        let (seed, step) = (self.progress.seed, self.progress.step);
        let mut rng = step_rng(seed, step);
        let (x, y) = get_batch(ds, Split::Train, cfg.batch_size, cfg.block_size, &mut rng);
        let dev = self.model.device();
        let (x, y) = (to_tensor(&x, dev)?, to_tensor(&y, dev)?);
        let id = StepId { seed, step };
        let (loss, grads) = (self.kernels).loss_and_grads(&self.model, &x, &y, &mut rng, id)?;
        self.optimizer.config.lr = cfg.learning_rate_at(step); // fija, o la del calendario
        self.kernels.adamw_step(&mut self.optimizer, &grads)?;
        self.progress.step += 1;
        Ok(loss)
    }
    // ANCHOR_END: train_step

    // ANCHOR: estimate_loss
    /// `estimate_loss()`: la pérdida media en `eval_iters` lotes de cada parte, sin dropout.
    fn estimate_loss(&mut self, ds: &Dataset) -> candle_core::Result<LossPoint> {
        let cfg = &self.model.config;
        let mut rng = eval_rng(self.progress.seed, self.progress.step);
        let batch = (cfg.batch_size, cfg.block_size);
        let losses = estimate::estimate_loss(ds, batch, cfg.eval_iters, &mut rng, |batches| {
            let dev = self.model.device();
            let batches = batches
                .iter()
                .map(|(x, y)| Ok((to_tensor(x, dev)?, to_tensor(y, dev)?)))
                .collect::<candle_core::Result<Vec<_>>>()?;
            self.kernels.losses(&self.model, &batches)
        })?;
        Ok(LossPoint {
            step: self.progress.step,
            train: losses.train,
            val: losses.val,
        })
    }
    // ANCHOR_END: estimate_loss
}

/// Qué hacer tras un paso.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Parar (con una última estimación), por este motivo.
    Stop(Finish),
}

/// Cómo terminó el bucle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Se dieron todos los pasos.
    Completed,
    /// Se acabó el tiempo (`--max-minutos`).
    OutOfTime,
    /// Se pulsó Ctrl-C.
    Interrupted,
}

/// Lo que el bucle avisa a quien lo vigila desde fuera (guardar puntos de control, contar el
/// progreso, parar con Ctrl-C…). Un error en un gancho para el entrenamiento.
pub trait Hooks<L: ?Sized> {
    /// Tras cada estimación de la pérdida, ya apuntada en el historial; `best` si es la mejor
    /// validación hasta ahora.
    fn after_eval(&mut self, learner: &L, point: LossPoint, best: bool) -> anyhow::Result<()>;

    /// Tras el paso `iter`, cuya pérdida de lote fue `loss`.
    fn after_step(&mut self, learner: &L, iter: usize, loss: f32) -> anyhow::Result<Flow>;
}

/// Los ganchos más sencillos: una función tras cada estimación y otra tras cada paso (con el
/// número de pasos dados y la pérdida del lote), para una curva y una barra de progreso.
pub struct Callbacks<E, S> {
    pub on_eval: E,
    pub on_step: S,
}

impl<L: ?Sized, E: FnMut(&LossPoint), S: FnMut(usize, f32)> Hooks<L> for Callbacks<E, S> {
    fn after_eval(&mut self, _: &L, point: LossPoint, _best: bool) -> anyhow::Result<()> {
        (self.on_eval)(&point);
        Ok(())
    }

    fn after_step(&mut self, _: &L, iter: usize, loss: f32) -> anyhow::Result<Flow> {
        (self.on_step)(iter + 1, loss);
        Ok(Flow::Continue)
    }
}

// ANCHOR: train
/// El bucle de `gpt.py`: `max_iters` pasos, con una estimación cada `eval_interval` pasos y
/// en el último (y otra al parar antes de tiempo, si los ganchos lo piden).
pub fn train<L: Learner>(
    learner: &mut L,
    ds: &Dataset,
    hooks: &mut impl Hooks<L>,
) -> anyhow::Result<Finish> {
    let (max_iters, eval_interval) = learner.schedule();
    while learner.progress().step < max_iters {
        let iter = learner.progress().step;
        // De vez en cuando, la pérdida en entrenamiento y en validación.
        if iter.is_multiple_of(eval_interval) || iter == max_iters - 1 {
            evaluate(learner, ds, hooks)?;
        }
        // Un lote, la pérdida, sus derivadas y un paso del optimizador.
        let loss = learner.train_step(ds)?;
        if let Flow::Stop(finish) = hooks.after_step(learner, iter, loss)? {
            evaluate(learner, ds, hooks)?;
            return Ok(finish);
        }
    }
    Ok(Finish::Completed)
}

/// `estimate_loss`, apuntada en el historial y avisada a los ganchos; una sola vez por paso.
fn evaluate<L: Learner>(l: &mut L, ds: &Dataset, hooks: &mut impl Hooks<L>) -> anyhow::Result<()> {
    if l.progress().estimated_now() {
        return Ok(());
    }
    let point = l.estimate_loss(ds)?;
    let best = l.progress_mut().record(point);
    hooks.after_eval(l, point, best)
}
// ANCHOR_END: train

/// Lo que ocupa entrenar `cfg`, por arriba y sin crear nada: los pesos, sus derivadas y los
/// dos momentos de AdamW (4 copias de cada parámetro) más las activaciones que el paso hacia
/// delante guarda para el de vuelta, y los lotes de las estimaciones. `None` si la cuenta no
/// cabe en 64 bits. Sirve para rechazar un tamaño imposible con una cifra antes de reservar
/// nada.
pub fn training_memory(cfg: &GptConfig) -> Option<u64> {
    let [v, t, c, l, b, h] = [
        cfg.vocab_size,
        cfg.block_size,
        cfg.n_embd,
        cfg.n_layer,
        cfg.batch_size,
        cfg.n_head,
    ]
    .map(|x| x as f64);
    // Por capa: unos 24 vectores de tamaño C por posición y 3 matrices T×T por cabeza.
    let activations = l * (b * t * c * 24.0 + b * h * t * t * 3.0) + b * t * (v * 3.0 + c * 4.0);
    let eval = estimate::eval_memory(cfg.eval_iters, cfg.batch_size, cfg.block_size);
    estimate::bytes(4.0 * (4.0 * param_count(cfg) + activations) + eval)
}

/// Los parámetros de `cfg`, contados en `f64` (sin desbordarse con tamaños absurdos).
fn param_count(cfg: &GptConfig) -> f64 {
    let [v, t, c, l] = [cfg.vocab_size, cfg.block_size, cfg.n_embd, cfg.n_layer].map(|x| x as f64);
    2.0 * v * c + t * c + l * (12.0 * c * c + 13.0 * c) + 2.0 * c + v
}

/// Lo que ocupa en el disco un punto de control para reanudar: pesos y los dos momentos de
/// AdamW.
pub fn checkpoint_bytes(cfg: &GptConfig) -> Option<u64> {
    estimate::bytes(param_count(cfg) * 12.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::gpt::Preset;

    /// La fórmula de nanoGPT (`get_lr`), escrita aparte para comparar.
    fn nanogpt(step: usize, warmup: usize, max: usize, hi: f64, lo: f64) -> f64 {
        if step < warmup {
            hi * (step + 1) as f64 / warmup as f64
        } else if step > max {
            lo
        } else {
            let r = (step - warmup) as f64 / (max - warmup) as f64;
            lo + 0.5 * (1.0 + (std::f64::consts::PI * r).cos()) * (hi - lo)
        }
    }

    #[test]
    fn warmup_cosine_matches_nanogpt_at_and_between_the_edges() {
        use rand::Rng as _;
        let mut r = rng::seeded(57);
        for _ in 0..500 {
            let warmup = r.random_range(1..50);
            let max = warmup + r.random_range(1..500);
            let (hi, lo) = (r.random_range(1e-4..1e-2), r.random_range(0.0..1e-4));
            for step in [
                0,
                warmup - 1,
                warmup,
                max,
                max + 1,
                r.random_range(0..max + 20),
            ] {
                let (got, want) = (
                    warmup_cosine_lr(step, warmup, max, hi, lo),
                    nanogpt(step, warmup, max, hi, lo),
                );
                assert!(
                    (got - want).abs() <= 1e-15 + 1e-12 * want,
                    "{step}: {got} {want}"
                );
            }
        }
        // Los valores que se ven a mano: la recta, la cima, la mitad y el final.
        assert_eq!(warmup_cosine_lr(0, 10, 110, 1.0, 0.0), 0.1);
        assert_eq!(warmup_cosine_lr(9, 10, 110, 1.0, 0.0), 1.0);
        assert_eq!(warmup_cosine_lr(10, 10, 110, 1.0, 0.0), 1.0);
        assert!((warmup_cosine_lr(60, 10, 110, 1.0, 0.2) - 0.6).abs() < 1e-12);
        assert!((warmup_cosine_lr(110, 10, 110, 1.0, 0.2) - 0.2).abs() < 1e-12);
        assert_eq!(warmup_cosine_lr(111, 10, 110, 1.0, 0.2), 0.2);
    }

    #[test]
    fn the_config_schedule_is_fixed_or_warmup_and_cosine() {
        let mut cfg = GptConfig::preset(Preset::Cpu, 89);
        assert!((0..cfg.max_iters).all(|s| cfg.learning_rate_at(s) == 1e-3));
        cfg.lr_schedule = LrSchedule::WarmupCosine;
        assert_eq!(warmup_steps(cfg.max_iters), 100);
        assert!((cfg.learning_rate_at(0) - 1e-5).abs() < 1e-15);
        assert!((cfg.learning_rate_at(100) - 1e-3).abs() < 1e-15);
        let last = cfg.learning_rate_at(cfg.max_iters - 1);
        assert!(last > 1e-4 && last < 1.001e-4, "{last}");
        // Sube hasta el calentamiento y después nunca sube.
        let lrs: Vec<f64> = (0..cfg.max_iters)
            .map(|s| cfg.learning_rate_at(s))
            .collect();
        assert!(lrs[..100].windows(2).all(|w| w[0] < w[1]));
        assert!(lrs[99..].windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-12)));
        // Con muy pocos pasos, también una tasa finita y positiva en cada uno.
        for max_iters in 1..5 {
            cfg.max_iters = max_iters;
            for s in 0..max_iters {
                let lr = cfg.learning_rate_at(s);
                assert!(
                    lr.is_finite() && lr > 0.0,
                    "{max_iters} pasos, paso {s}: {lr}"
                );
            }
        }
    }
}
