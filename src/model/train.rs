//! El bucle de entrenamiento del GPT: lotes, pérdida, derivadas, AdamW, estimaciones
//! periódicas, checkpoints y un final limpio (por tiempo, por Ctrl-C o por NaN).
//!
//! **Reproducible y reanudable.** Todo lo aleatorio sale del RNG del proyecto con la semilla
//! del entrenamiento, y cada paso usa su propio flujo: el paso `s` saca sus lotes y sus
//! máscaras de dropout de `ChaCha8(semilla, flujo s + 1)`, la inicialización usa el flujo 0 y
//! las estimaciones otro flujo aparte. Así el «estado del RNG» de un checkpoint es solo
//! `(semilla, paso)`: reanudar en el paso `k` produce exactamente los mismos números que
//! no haberse detenido nunca, y evaluar más o menos veces no cambia el entrenamiento.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use candle_core::{Device, Tensor};
use ndarray::Array2;

use crate::model::adamw::{AdamW, AdamWConfig};
use crate::model::estimate;
use crate::model::gpt::{Gpt, GptConfig};
use crate::model::kernels::{Kernels, StepId};
use crate::text::batches::get_batch;
use crate::text::dataset::{Dataset, Split};
use crate::tools::checkpoint::{self, CheckpointError, Loaded, Progress};
use crate::tools::plot::LossPoint;
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

/// Un lote de `ndarray` como tensor de candle `(B, T)` en `device`.
pub fn to_tensor(a: &Array2<u32>, device: &Device) -> candle_core::Result<Tensor> {
    Tensor::from_vec(a.iter().copied().collect::<Vec<u32>>(), a.dim(), device)
}

/// El modelo, su optimizador y el progreso.
pub struct Trainer {
    pub model: Gpt,
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
        let model = Gpt::new(cfg, device, &mut init_rng(seed))?.with_kernels(kernels);
        let optimizer = AdamW::new(model.params.vars(), AdamWConfig::with_lr(cfg.learning_rate))?;
        Ok(Self {
            model,
            optimizer,
            progress: Progress {
                step: 0,
                seed,
                best_val: None,
                history: Vec::new(),
            },
        })
    }

    /// Continúa un entrenamiento guardado, con el modelo ejecutado por `kernels`.
    pub fn from_checkpoint(
        loaded: Loaded,
        path: &std::path::Path,
        kernels: Arc<dyn Kernels>,
    ) -> Result<Self, CheckpointError> {
        let Some((m, v, t)) = loaded.optimizer else {
            return Err(CheckpointError::NoOptimizerState {
                path: path.to_path_buf(),
            });
        };
        let optimizer = AdamW::with_state(
            loaded.model.params.vars(),
            AdamWConfig::with_lr(loaded.config.learning_rate),
            m,
            v,
            t,
        )?;
        Ok(Self {
            model: loaded.model.with_kernels(kernels),
            optimizer,
            progress: loaded.progress,
        })
    }

    pub fn config(&self) -> &GptConfig {
        &self.model.config
    }

    // ANCHOR: train_step
    /// Un paso de entrenamiento; devuelve la pérdida del lote.
    pub fn train_step(&mut self, ds: &Dataset) -> candle_core::Result<f32> {
        let cfg = &self.model.config;
        let (seed, step) = (self.progress.seed, self.progress.step);
        let mut rng = step_rng(seed, step);
        let (x, y) = get_batch(ds, Split::Train, cfg.batch_size, cfg.block_size, &mut rng);
        let dev = self.model.device();
        let (x, y) = (to_tensor(&x, dev)?, to_tensor(&y, dev)?);
        let kernels = self.model.kernels();
        let id = StepId { seed, step };
        let (loss, grads) = kernels.loss_and_grads(&self.model, &x, &y, &mut rng, id)?;
        kernels.adamw_step(&mut self.optimizer, &grads)?;
        self.progress.step += 1;
        Ok(loss)
    }
    // ANCHOR_END: train_step

    // ANCHOR: estimate_loss
    /// `estimate_loss()`: la pérdida media en `eval_iters` lotes de cada parte, sin dropout.
    pub fn estimate_loss(&self, ds: &Dataset) -> candle_core::Result<LossPoint> {
        let cfg = &self.model.config;
        let mut rng = eval_rng(self.progress.seed, self.progress.step);
        let batch = (cfg.batch_size, cfg.block_size);
        let losses = estimate::estimate_loss(ds, batch, cfg.eval_iters, &mut rng, |batches| {
            let dev = self.model.device();
            let batches = batches
                .iter()
                .map(|(x, y)| Ok((to_tensor(x, dev)?, to_tensor(y, dev)?)))
                .collect::<candle_core::Result<Vec<_>>>()?;
            self.model.kernels().losses(&self.model, &batches)
        })?;
        Ok(LossPoint {
            step: self.progress.step,
            train: losses.train,
            val: losses.val,
        })
    }
    // ANCHOR_END: estimate_loss

    /// Guarda el estado completo (pesos, optimizador, progreso) en `path`.
    pub fn save(&self, path: &std::path::Path, vocabulary: &[char]) -> Result<(), CheckpointError> {
        checkpoint::save(
            path,
            &self.model,
            vocabulary,
            &self.progress,
            Some(&self.optimizer),
        )
    }
}

/// Dónde guardar: el último estado (para reanudar) y el de mejor validación (para generar).
#[derive(Debug, Clone)]
pub struct Outputs {
    pub last: PathBuf,
    pub best: PathBuf,
}

/// Opciones del bucle.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Parar limpiamente (estimación y checkpoint) pasado este tiempo.
    pub time_limit: Option<Duration>,
    /// Checkpoints; sin ellos, solo se entrena en memoria.
    pub outputs: Option<Outputs>,
}

/// Lo que va pasando, para que el programa lo cuente.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Se estimó la pérdida; `best` si es la mejor validación hasta ahora.
    Eval { point: LossPoint, best: bool },
    /// Se dio un paso con esta pérdida de lote.
    Step { step: usize, loss: f32 },
}

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

/// Lo que ocupa en el disco un checkpoint para reanudar: pesos y los dos momentos de AdamW.
pub fn checkpoint_bytes(cfg: &GptConfig) -> Option<u64> {
    estimate::bytes(param_count(cfg) * 12.0)
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

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Con esto, el primer Ctrl-C pide parar tras el paso en curso (con su estimación y su
/// checkpoint) y el segundo corta enseguida, pero nunca a mitad de una escritura: espera a
/// que acabe el checkpoint en curso, así que no quedan temporales. Sale con 130, el código
/// de un programa interrumpido. (El crate `ctrlc` atiende Ctrl-C y `kill` en Linux, macOS y
/// Windows.)
pub fn install_ctrl_c() {
    let installed = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            crate::tools::resources::exit_between_writes(130);
        }
    });
    if let Err(e) = installed {
        // Sin manejador, Ctrl-C corta como en cualquier programa: se avisa y se sigue.
        crate::eprintln!(
            "aviso: no se pudo atender Ctrl-C ({e}); si lo pulsas, se pierde el paso en curso"
        );
    }
}

// ANCHOR: run
/// Entrena hasta `max_iters` pasos, estimando la pérdida cada `eval_interval` pasos (y en el
/// último, como el cuaderno), guardando checkpoints y parando limpiamente si hace falta.
pub fn run(
    trainer: &mut Trainer,
    ds: &Dataset,
    vocabulary: &[char],
    options: &RunOptions,
    mut on_event: impl FnMut(Event),
) -> anyhow::Result<Finish> {
    let start = Instant::now();
    let cfg = trainer.config().clone();
    // El paso del último checkpoint escrito en esta ejecución, para decir la verdad si algo
    // sale mal después.
    let mut saved: Option<usize> = None;
    let mut evaluate =
        |trainer: &mut Trainer, on_event: &mut dyn FnMut(Event)| -> anyhow::Result<()> {
            if trainer.progress.history.last().map(|p| p.step) == Some(trainer.progress.step) {
                return Ok(()); // ya estimada (al reanudar justo en un punto de evaluación)
            }
            let point = trainer.estimate_loss(ds)?;
            if !(point.train.is_finite() && point.val.is_finite()) {
                return Err(diverged(point.val, point.step, saved, options));
            }
            let best = trainer.progress.best_val.is_none_or(|b| point.val < b);
            trainer.progress.history.push(point);
            if best {
                trainer.progress.best_val = Some(point.val);
            }
            if let Some(out) = &options.outputs {
                if best {
                    trainer.save(&out.best, vocabulary)?;
                }
                trainer.save(&out.last, vocabulary)?;
                saved = Some(trainer.progress.step);
            }
            on_event(Event::Eval { point, best });
            Ok(())
        };
    let mut finish = Finish::Completed;
    while trainer.progress.step < cfg.max_iters {
        let iter = trainer.progress.step;
        if iter.is_multiple_of(cfg.eval_interval) || iter == cfg.max_iters - 1 {
            evaluate(trainer, &mut on_event)?;
        }
        let loss = trainer.train_step(ds)?;
        if !loss.is_finite() {
            return Err(diverged(loss, iter, saved, options));
        }
        on_event(Event::Step { step: iter, loss });
        if INTERRUPTED.load(Ordering::SeqCst) {
            finish = Finish::Interrupted;
            break;
        }
        if options
            .time_limit
            .is_some_and(|limit| start.elapsed() >= limit)
        {
            finish = Finish::OutOfTime;
            break;
        }
    }
    if finish != Finish::Completed {
        evaluate(trainer, &mut on_event)?;
    }
    if let Some(out) = &options.outputs {
        trainer
            .save(&out.last, vocabulary)
            .with_context(|| "al guardar el estado final")?;
    }
    Ok(finish)
}
// ANCHOR_END: run

/// El error de un entrenamiento que diverge (una pérdida NaN o infinita en el paso `step`),
/// que dice qué checkpoints quedan: nada se guarda después de que la pérdida deje de ser
/// finita, y los guardados antes siguen intactos.
fn diverged(loss: f32, step: usize, saved: Option<usize>, options: &RunOptions) -> anyhow::Error {
    let kept = match (&options.outputs, saved) {
        (None, _) => String::new(),
        (Some(out), Some(s)) => format!(
            " No se guardó nada de este paso: «{}» sigue siendo el del paso {s}.",
            out.last.display()
        ),
        (Some(_), None) => " En esta ejecución no se llegó a guardar ningún checkpoint; los que \
             hubiera en la carpeta siguen como estaban."
            .to_string(),
    };
    anyhow::anyhow!(
        "la pérdida dejó de ser un número finito ({loss}) en el paso {step}: el entrenamiento \
         se ha desestabilizado. Prueba con una tasa de aprendizaje menor (--lr).{kept}"
    )
}

/// Qué dispositivo usar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    Cpu,
    Cuda,
}

/// El dispositivo pedido, o por defecto CUDA si el programa se compiló con `--features cuda`
/// y hay una GPU, y si no la CPU.
pub fn select_device(choice: Option<DeviceChoice>) -> anyhow::Result<Device> {
    match choice {
        Some(DeviceChoice::Cpu) => Ok(Device::Cpu),
        None => Ok(Device::cuda_if_available(0).unwrap_or(Device::Cpu)),
        Some(DeviceChoice::Cuda) => {
            if !cfg!(feature = "cuda") {
                anyhow::bail!(
                    "este programa se compiló sin CUDA; vuelve a compilarlo con `--features cuda` \
                     (hace falta una GPU NVIDIA y CUDA 13) o usa --dispositivo cpu"
                );
            }
            Device::new_cuda(0).map_err(|e| {
                anyhow::anyhow!("no se pudo usar la GPU (¿hay una GPU NVIDIA y CUDA 13?): {e}")
            })
        }
    }
}

/// Nombre del dispositivo para mostrarlo.
pub fn device_name(device: &Device) -> &'static str {
    if device.is_cuda() {
        "GPU (CUDA)"
    } else {
        "CPU"
    }
}
