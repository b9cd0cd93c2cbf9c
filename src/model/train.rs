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
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use candle_core::{Device, Tensor};
use ndarray::Array2;

use crate::fast::parallel;
use crate::model::adamw::{AdamW, AdamWConfig};
use crate::model::gpt::{Gpt, GptConfig, Mode};
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
    /// Un entrenamiento nuevo: pesos aleatorios desde la semilla, optimizador a cero.
    pub fn new(cfg: &GptConfig, device: &Device, seed: u64) -> candle_core::Result<Self> {
        let model = Gpt::new(cfg, device, &mut init_rng(seed))?;
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

    /// Continúa un entrenamiento guardado.
    pub fn from_checkpoint(
        loaded: Loaded,
        path: &std::path::Path,
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
            model: loaded.model,
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
        let mut rng = step_rng(self.progress.seed, self.progress.step);
        let (x, y) = get_batch(ds, Split::Train, cfg.batch_size, cfg.block_size, &mut rng);
        let dev = self.model.device();
        let (x, y) = (to_tensor(&x, dev)?, to_tensor(&y, dev)?);
        if dev.is_cpu() && cfg.batch_size >= 2 {
            // En la CPU, el lote se parte en dos mitades (ver `loss_and_grads_in_halves`).
            let (loss, grads) = self.loss_and_grads_in_halves(&x, &y, rng)?;
            self.optimizer.step(&grads)?;
            self.progress.step += 1;
            return Ok(loss);
        }
        let loss = self.model.loss(&x, &y, &mut Mode::Train(&mut rng))?;
        let grads = loss.backward()?;
        self.optimizer.step(&grads)?;
        self.progress.step += 1;
        loss.to_scalar::<f32>()
    }
    // ANCHOR_END: train_step

    /// La pérdida media de un lote es la media de las pérdidas de sus dos mitades (pesadas por
    /// su tamaño), y su derivada, la media de las derivadas. Cada mitad hace su forward y su
    /// backward por separado y, si la máquina tiene dos núcleos, a la vez: así se usan los dos
    /// sin repartir cada operación pequeña entre hilos (que cuesta más de lo que ahorra). La
    /// partición no depende de los núcleos, así que el resultado es el mismo en cualquier
    /// máquina; la segunda mitad saca sus máscaras de dropout de su propio flujo del RNG.
    pub fn loss_and_grads_in_halves(
        &self,
        x: &Tensor,
        y: &Tensor,
        first_rng: Rng,
    ) -> candle_core::Result<(f32, candle_core::backprop::GradStore)> {
        let b = self.model.config.batch_size;
        let half = b / 2;
        let mut second_rng = rng::seeded(self.progress.seed);
        second_rng.set_stream((1 << 62) | self.progress.step as u64);
        let parts = [(0, half, first_rng), (half, b - half, second_rng)];
        let model = &self.model;
        let run = |(start, len, mut r): (usize, usize, Rng)| {
            let loss = model.loss(
                &x.narrow(0, start, len)?,
                &y.narrow(0, start, len)?,
                &mut Mode::Train(&mut r),
            )?;
            let grads = loss.backward()?;
            Ok::<_, candle_core::Error>((loss.to_scalar::<f32>()?, grads, len as f64 / b as f64))
        };
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        let [p0, p1] = parts;
        let (r0, r1) = if parallel {
            std::thread::scope(|s| {
                let h = s.spawn(|| run(p1));
                let r0 = run(p0);
                (
                    r0,
                    h.join()
                        .expect("el hilo de la segunda mitad no entra en pánico"),
                )
            })
        } else {
            (run(p0), run(p1))
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

    // ANCHOR: estimate_loss
    /// `estimate_loss()`: la pérdida media en `eval_iters` lotes de cada parte, sin dropout.
    pub fn estimate_loss(&self, ds: &Dataset) -> candle_core::Result<LossPoint> {
        let cfg = &self.model.config;
        let mut rng = eval_rng(self.progress.seed, self.progress.step);
        let mut mean = |split| -> candle_core::Result<f32> {
            // Primero se sortean los lotes, en orden; luego se evalúan.
            let batches: Vec<_> = (0..cfg.eval_iters)
                .map(|_| get_batch(ds, split, cfg.batch_size, cfg.block_size, &mut rng))
                .collect();
            let total: f64 = self.losses(&batches)?.iter().map(|&l| l as f64).sum();
            Ok((total / cfg.eval_iters as f64) as f32)
        };
        let train = mean(Split::Train)?;
        let val = mean(Split::Val)?;
        Ok(LossPoint {
            step: self.progress.step,
            train,
            val,
        })
    }
    // ANCHOR_END: estimate_loss

    /// La pérdida sin dropout de cada lote, en su orden. En la CPU, los lotes se reparten entre
    /// los dos núcleos: cada pérdida es la misma la calcule quien la calcule, y se suman
    /// después en el orden de los lotes, así que el resultado no cambia.
    fn losses(&self, batches: &[(Array2<u32>, Array2<u32>)]) -> candle_core::Result<Vec<f32>> {
        let dev = self.model.device();
        let loss = |(x, y): &(Array2<u32>, Array2<u32>)| {
            let (x, y) = (to_tensor(x, dev)?, to_tensor(y, dev)?);
            self.model.loss(&x, &y, &mut Mode::Eval)?.to_scalar::<f32>()
        };
        if dev.is_cpu() {
            let work = |(x, _): &(Array2<u32>, Array2<u32>)| x.len() * self.model.config.n_embd;
            parallel::map_in_two(batches, work, loss)
        } else {
            batches.iter().map(loss).collect()
        }
    }

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

extern "C" fn on_sigint(_: libc::c_int) {
    // Solo operaciones seguras dentro de una señal: una variable atómica y `_exit`.
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: `_exit` es segura en un manejador de señales.
        unsafe { libc::_exit(130) };
    }
}

/// Con esto, el primer Ctrl-C pide parar tras el paso en curso (guardando el checkpoint) y
/// el segundo corta en seco. Aun cortando en seco, el checkpoint anterior queda entero
/// porque cada escritura es atómica.
pub fn install_ctrl_c() {
    #[cfg(unix)]
    // SAFETY: instalamos un manejador que solo toca una variable atómica.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
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
    let evaluate = |trainer: &mut Trainer, on_event: &mut dyn FnMut(Event)| -> anyhow::Result<()> {
        if trainer.progress.history.last().map(|p| p.step) == Some(trainer.progress.step) {
            return Ok(()); // ya estimada (al reanudar justo en un punto de evaluación)
        }
        let point = trainer.estimate_loss(ds)?;
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
            anyhow::bail!(
                "la pérdida dejó de ser un número finito ({loss}) en el paso {iter}: el \
                 entrenamiento se ha desestabilizado. Prueba con una tasa de aprendizaje menor \
                 (--lr). El último checkpoint guardado sigue intacto."
            );
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
