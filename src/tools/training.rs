//! La maquinaria alrededor del bucle de entrenamiento de la lección ([`model::train::train`]):
//! puntos de control, Ctrl-C, el límite de tiempo y la vigilancia de una pérdida que diverge.
//! Todo entra por los ganchos del bucle ([`Hooks`]); el bucle no sabe nada de esto.
//!
//! También el dispositivo en el que se ejecuta (la CPU o una GPU con CUDA).
//!
//! [`model::train::train`]: crate::model::train::train

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use candle_core::Device;

use crate::model::adamw::{AdamW, AdamWConfig};
use crate::model::estimate::LossPoint;
use crate::model::gpt::{Activation, GptConfig, LrSchedule, Preset};
use crate::model::kernels::Kernels;
use crate::model::train::{self, Finish, Flow, Hooks, Learner, Trainer};
use crate::text::dataset::Dataset;
use crate::text::tokenizer::Tokenizer;
use crate::tools::checkpoint::{self, CheckpointError, Loaded};
use crate::tools::lock::OutputDir;
use crate::tools::pretty::{decimal, integer};
use crate::tools::resources;

/// Dónde guardar: el último estado (para reanudar) y el de mejor validación (para generar).
#[derive(Debug, Clone)]
pub struct Outputs {
    pub last: PathBuf,
    pub best: PathBuf,
}

/// Opciones del entrenamiento vigilado.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Parar limpiamente (estimación y punto de control) pasado este tiempo.
    pub time_limit: Option<Duration>,
    /// Puntos de control; sin ellos, solo se entrena en memoria.
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

/// Guarda el estado completo de un entrenamiento (pesos, optimizador, progreso) en `path`.
pub fn save(trainer: &Trainer, path: &Path, vocabulary: &[char]) -> Result<(), CheckpointError> {
    checkpoint::save(
        path,
        &trainer.model,
        vocabulary,
        &trainer.progress,
        Some(&trainer.optimizer),
    )
}

/// Continúa un entrenamiento guardado en `path`, con el modelo ejecutado por `kernels`.
pub fn resume(
    loaded: Loaded,
    path: &Path,
    kernels: Arc<dyn Kernels>,
) -> Result<Trainer, CheckpointError> {
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
    Ok(Trainer {
        model: loaded.model,
        kernels,
        optimizer,
        progress: loaded.progress,
    })
}

/// Los ganchos de [`run`]: puntos de control tras cada estimación, ni un paso más con una
/// pérdida que no es finita, Ctrl-C y el límite de tiempo.
struct Supervisor<'a, F: FnMut(Event)> {
    options: &'a RunOptions,
    vocabulary: &'a [char],
    start: Instant,
    /// El paso del último punto de control escrito, para decir la verdad si algo sale mal
    /// después.
    saved: Option<usize>,
    on_event: F,
}

impl<L: Learner + AsRef<Trainer>, F: FnMut(Event)> Hooks<L> for Supervisor<'_, F> {
    fn after_eval(&mut self, learner: &L, point: LossPoint, best: bool) -> anyhow::Result<()> {
        let trainer = learner.as_ref();
        if !(point.train.is_finite() && point.val.is_finite()) {
            return Err(self.diverged(point.val, point.step));
        }
        if let Some(out) = &self.options.outputs {
            if best {
                save(trainer, &out.best, self.vocabulary)?;
            }
            save(trainer, &out.last, self.vocabulary)?;
            self.saved = Some(trainer.progress.step);
        }
        (self.on_event)(Event::Eval { point, best });
        Ok(())
    }

    fn after_step(&mut self, _learner: &L, iter: usize, loss: f32) -> anyhow::Result<Flow> {
        if !loss.is_finite() {
            return Err(self.diverged(loss, iter));
        }
        (self.on_event)(Event::Step { step: iter, loss });
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Ok(Flow::Stop(Finish::Interrupted));
        }
        let late = self.options.time_limit;
        if late.is_some_and(|limit| self.start.elapsed() >= limit) {
            return Ok(Flow::Stop(Finish::OutOfTime));
        }
        Ok(Flow::Continue)
    }
}

impl<F: FnMut(Event)> Supervisor<'_, F> {
    /// El error de un entrenamiento que diverge (una pérdida NaN o infinita en el paso
    /// `step`), que dice qué puntos de control quedan: nada se guarda después de que la
    /// pérdida deje de ser finita, y los guardados antes siguen intactos.
    fn diverged(&self, loss: f32, step: usize) -> anyhow::Error {
        let kept = match (&self.options.outputs, self.saved) {
            (None, _) => String::new(),
            (Some(out), Some(s)) => format!(
                " No se guardó nada de este paso: «{}» sigue siendo el del paso {}.",
                out.last.display(),
                integer(s)
            ),
            (Some(_), None) => " En esta ejecución no se llegó a guardar ningún punto de \
                 control; los que hubiera en la carpeta siguen como estaban."
                .to_string(),
        };
        let step = integer(step);
        anyhow::anyhow!(
            "la pérdida dejó de ser un número finito ({loss}) en el paso {step}: el \
             entrenamiento se ha desestabilizado. Prueba con una tasa de aprendizaje menor \
             (--lr).{kept}"
        )
    }
}

/// Entrena con el bucle de la lección, vigilado: guarda puntos de control tras cada estimación
/// (el último y el de mejor validación), para con un error si la pérdida deja de ser finita
/// (sin guardar nada más), para limpiamente con Ctrl-C ([`install_ctrl_c`]) o pasado
/// `time_limit`, y al terminar guarda el estado final. Cuenta lo que pasa con `on_event`.
///
/// Vale para el [`Trainer`] de la biblioteca y para cualquier otro [`Learner`] que guarde el
/// suyo (el modelo, el optimizador y el progreso), como el GPT montado con las piezas de los
/// ejercicios: se guardan igual.
pub fn run<L: Learner + AsRef<Trainer>>(
    trainer: &mut L,
    ds: &Dataset,
    vocabulary: &[char],
    options: &RunOptions,
    on_event: impl FnMut(Event),
) -> anyhow::Result<Finish> {
    let mut supervisor = Supervisor {
        options,
        vocabulary,
        start: Instant::now(),
        saved: None,
        on_event,
    };
    let finish = train::train(trainer, ds, &mut supervisor)?;
    if let Some(out) = &options.outputs {
        save(trainer.as_ref(), &out.last, vocabulary)
            .with_context(|| "al guardar el estado final")?;
    }
    Ok(finish)
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Con esto, el primer Ctrl-C pide parar tras el paso en curso (con su estimación y su punto
/// de control) y el segundo corta enseguida, pero nunca a mitad de una escritura: espera a que
/// acabe el punto de control en curso, así que no quedan temporales. Sale con 130, el código
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

/// Qué implementación ejecuta el GPT (véase `model::kernels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Implementation {
    /// Exactamente el código del capítulo 7: operaciones sueltas de candle
    Libro,
    /// Las mismas cuentas con operaciones fusionadas y los dos núcleos (solo en la CPU)
    Rapida,
}

/// El dispositivo y la implementación pedidos (`--dispositivo`, `--implementacion`): sin
/// pedir implementación, la rápida en la CPU y la del libro en la GPU. La rápida solo existe
/// en la CPU: pedirla con `--dispositivo cuda` es un error de uso (código 2), que se dice
/// antes de buscar ninguna GPU.
pub fn executor(
    device: Option<DeviceChoice>,
    choice: Option<Implementation>,
) -> anyhow::Result<(Device, Arc<dyn Kernels>)> {
    if device == Some(DeviceChoice::Cuda) && choice == Some(Implementation::Rapida) {
        return Err(rapid_only_on_cpu());
    }
    let device = select_device(device)?;
    let kernels = implementation(&device, choice)?;
    Ok((device, kernels))
}

fn rapid_only_on_cpu() -> anyhow::Error {
    crate::tools::cli::UsageError(
        "--implementacion rapida solo existe en la CPU; con --dispositivo cuda se usa la del \
         libro (--implementacion libro)"
            .to_string(),
    )
    .into()
}

/// La implementación pedida para `device` (véase [`executor`]).
pub fn implementation(
    device: &Device,
    choice: Option<Implementation>,
) -> anyhow::Result<Arc<dyn Kernels>> {
    match (choice, device.is_cpu()) {
        (Some(Implementation::Rapida), false) => Err(rapid_only_on_cpu()),
        (Some(Implementation::Libro), _) | (None, false) => {
            Ok(Arc::new(crate::model::kernels::Reference))
        }
        (Some(Implementation::Rapida), true) | (None, true) => {
            Ok(Arc::new(crate::fast::kernels::Fast))
        }
    }
}

/// Cómo entrenar el GPT, además de las opciones comunes ([`crate::tools::cli::TrainingArgs`]):
/// la configuración predefinida y los tamaños del modelo.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Configuración de partida (las opciones de abajo cambian valores sueltos)
    #[arg(long, value_enum, default_value_t = Preset::Cpu)]
    pub preset: Preset,
    /// Dimensión de las incrustaciones (n_embd)
    #[arg(long, value_name = "N", value_parser = crate::tools::cli::at_least_one)]
    pub embd: Option<usize>,
    /// Cabezas de atención por bloque (n_head)
    #[arg(long, value_name = "N", value_parser = crate::tools::cli::at_least_one)]
    pub cabezas: Option<usize>,
    /// Número de bloques (n_layer)
    #[arg(long, value_name = "N", value_parser = crate::tools::cli::at_least_one)]
    pub capas: Option<usize>,
    /// Probabilidad de dropout, en [0, 1)
    #[arg(long, value_name = "P", value_parser = dropout)]
    pub dropout: Option<f32>,
    /// La no linealidad de la red de avance
    #[arg(long, value_enum, value_name = "ACTIVACION", default_value_t = Activation::Relu)]
    pub activacion: Activation,
    /// Tasa de aprendizaje con calentamiento y coseno: sube en línea recta el primer 5 % de los
    /// pasos hasta --lr y baja como medio coseno hasta la décima parte
    #[arg(long)]
    pub lr_coseno: bool,
}

/// Una probabilidad de dropout: en `[0, 1)`.
fn dropout(text: &str) -> Result<f32, String> {
    let p: f32 = crate::tools::cli::decimal(text)?;
    if !(0.0..1.0).contains(&p) {
        return Err(format!("debe estar en [0, 1) y es {p}"));
    }
    Ok(p)
}

/// La configuración predefinida con los valores que el usuario cambió, comprobada.
pub fn gpt_config(
    train: &crate::tools::cli::TrainingArgs,
    model: &ModelArgs,
    vocab_size: usize,
) -> anyhow::Result<GptConfig> {
    let mut c = GptConfig::preset(model.preset, vocab_size);
    let sizes = [
        (&mut c.batch_size, train.lote),
        (&mut c.block_size, train.bloque),
        (&mut c.n_embd, model.embd),
        (&mut c.n_head, model.cabezas),
        (&mut c.n_layer, model.capas),
        (&mut c.max_iters, train.pasos),
        (&mut c.eval_interval, train.eval_cada),
        (&mut c.eval_iters, train.eval_lotes),
    ];
    for (slot, value) in sizes {
        *slot = value.unwrap_or(*slot);
    }
    c.dropout = model.dropout.unwrap_or(c.dropout);
    c.learning_rate = train.lr.unwrap_or(c.learning_rate);
    c.activation = model.activacion;
    if model.lr_coseno {
        c.lr_schedule = LrSchedule::WarmupCosine;
    }
    c.validate().map_err(crate::tools::cli::config_error)?;
    Ok(c)
}

/// La configuración en dos renglones, para contarla.
pub fn describe(c: &GptConfig) -> String {
    let mut text = format!(
        "lote {}, bloque {}, n_embd {}, {} cabezas, {} capas, dropout {}, lr {},\n  {} pasos \
         (estimación cada {} pasos con {} lotes)",
        c.batch_size,
        c.block_size,
        c.n_embd,
        c.n_head,
        c.n_layer,
        crate::tools::pretty::number(c.dropout),
        crate::tools::pretty::number(c.learning_rate),
        integer(c.max_iters),
        integer(c.eval_interval),
        c.eval_iters
    );
    // Los «más allá», si se pidieron, en un renglón más.
    let mut extras = Vec::new();
    if c.activation == Activation::Gelu {
        extras.push("GELU en la red de avance".to_string());
    }
    if c.lr_schedule == LrSchedule::WarmupCosine {
        let warmup = train::warmup_steps(c.max_iters);
        extras.push(format!(
            "tasa con calentamiento de {warmup} {} y coseno hasta {}",
            if warmup == 1 { "paso" } else { "pasos" },
            c.learning_rate / train::MIN_LR_DIVISOR
        ));
    }
    if !extras.is_empty() {
        text.push_str(&format!("\n  {}", extras.join("; ")));
    }
    text
}

/// Qué hacer con lo que ya haya en la carpeta de salida.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Negarse si ya hay un modelo entrenado.
    Refuse,
    /// Seguir el entrenamiento guardado.
    Resume,
    /// Empezar de cero y reemplazarlo.
    Overwrite,
}

/// Todo lo que puede impedir el entrenamiento, comprobado antes de empezarlo: que caben en la
/// memoria el modelo y en el disco sus puntos de control, que la carpeta de salida sirve y no
/// la usa otro proceso (queda reservada mientras viva lo que devuelve), y que no se pisa un
/// modelo entrenado sin pedirlo.
pub fn check_before_training(
    dir: &Path,
    cfg: &GptConfig,
    outputs: &Outputs,
    existing: Existing,
) -> anyhow::Result<OutputDir> {
    resources::check_memory("entrenar este modelo", train::training_memory(cfg))?;
    let claimed = OutputDir::claim(dir)?;
    refuse_to_replace(
        &[outputs.last.as_path(), outputs.best.as_path()],
        existing,
        "Para seguir entrenándolo usa --reanudar; para reemplazarlo, --sobrescribir; o elige \
         otra carpeta con --salidas",
    )?;
    if existing == Existing::Resume && !outputs.last.exists() {
        anyhow::bail!(
            "no hay nada que reanudar: no existe «{}». Entrena primero sin --reanudar, o \
             indica con --salidas la carpeta del entrenamiento",
            outputs.last.display()
        );
    }
    // Dos puntos de control (el último y el mejor) y el temporal de la escritura en curso;
    // los que ya existen se reemplazan y su sitio se reutiliza.
    let one = train::checkpoint_bytes(cfg).unwrap_or(u64::MAX);
    let present: u64 = [&outputs.last, &outputs.best]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let needed = one.saturating_mul(3).saturating_sub(present);
    resources::check_disk("guardar los puntos de control", dir, needed)?;
    Ok(claimed)
}

/// Con [`Existing::Refuse`], un error si ya existe alguno de los modelos `paths`: empezar de
/// cero lo reemplazaría. `what_to_do` dice cómo seguir (las opciones de cada programa).
pub fn refuse_to_replace(
    paths: &[&Path],
    existing: Existing,
    what_to_do: &str,
) -> anyhow::Result<()> {
    let found = paths.iter().find(|p| p.exists());
    if let Some(found) = found.filter(|_| existing == Existing::Refuse) {
        anyhow::bail!(
            "«{}» ya tiene un modelo entrenado y empezar de cero lo reemplazaría. {what_to_do}",
            found.display()
        );
    }
    Ok(())
}

/// Lee el punto de control de `path` para seguir entrenándolo con `cfg`, `seed` y el
/// vocabulario de `tokenizer`: se niega, diciendo en qué difieren, si no es el mismo
/// entrenamiento (los pasos totales y las estimaciones sí pueden cambiar).
pub fn load_to_resume(
    path: &Path,
    cfg: &GptConfig,
    seed: u64,
    tokenizer: &Tokenizer,
    device: &Device,
    kernels: Arc<dyn Kernels>,
) -> anyhow::Result<Trainer> {
    let loaded = checkpoint::load(path, device)?;
    if loaded.vocabulary != tokenizer.chars() {
        return Err(CheckpointError::OtherVocabulary {
            path: path.to_path_buf(),
            saved: loaded.vocabulary.len(),
            current: tokenizer.vocab_size(),
        }
        .into());
    }
    let mut differences = checkpoint::resume_differences(&loaded.config, cfg);
    if loaded.progress.seed != seed {
        differences.push(format!(
            "semilla = {} en el punto de control y {seed} ahora",
            loaded.progress.seed
        ));
    }
    if !differences.is_empty() {
        return Err(CheckpointError::OtherConfig {
            path: path.to_path_buf(),
            differences,
        }
        .into());
    }
    let mut trainer = resume(loaded, path, kernels)?;
    trainer.model.config = cfg.clone();
    if trainer.progress.step >= cfg.max_iters {
        anyhow::bail!(
            "el punto de control ya tiene {} pasos y se pidieron {}: usa --pasos con un número \
             mayor",
            integer(trainer.progress.step),
            integer(cfg.max_iters)
        );
    }
    Ok(trainer)
}

impl RunArgs {
    /// Qué hacer con lo que ya haya en la carpeta de salida (`--reanudar`, `--sobrescribir`).
    pub fn existing(&self) -> Existing {
        match (self.reanudar, self.sobrescribir) {
            (true, _) => Existing::Resume,
            (false, true) => Existing::Overwrite,
            (false, false) => Existing::Refuse,
        }
    }
}

/// Cómo ejecutar un entrenamiento del GPT: cuánto tiempo, dónde, con qué código y qué hacer
/// con lo que ya haya en la carpeta de salida.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Para limpiamente (estimación y punto de control) pasados estos minutos
    #[arg(long, value_name = "MIN", value_parser = crate::tools::cli::minutes)]
    pub max_minutos: Option<std::time::Duration>,
    /// Dónde entrenar (por defecto la GPU si el programa tiene CUDA y hay una; si no, la CPU)
    #[arg(long, value_enum)]
    pub dispositivo: Option<DeviceChoice>,
    /// Qué código ejecuta el modelo (por defecto, la rápida en la CPU y la del libro en la GPU)
    #[arg(long, value_enum)]
    pub implementacion: Option<Implementation>,
    /// Continúa el entrenamiento guardado en <salidas>/gpt.safetensors
    #[arg(long, conflicts_with = "sobrescribir")]
    pub reanudar: bool,
    /// Empieza de cero aunque <salidas> ya tenga puntos de control, y los reemplaza
    #[arg(long)]
    pub sobrescribir: bool,
}

/// Lo que cuenta un entrenamiento mientras dura: una barra de progreso con la pérdida del
/// último lote y los tokens por segundo, cada estimación en un renglón y la curva de pérdida,
/// dibujada de nuevo tras cada estimación. Al final, [`Watch::summary`] da el resumen.
pub struct Watch {
    bar: indicatif::ProgressBar,
    history: Vec<LossPoint>,
    /// La pérdida del lote de cada paso de esta ejecución, para la línea fina de la curva
    /// (al reanudar, la de los pasos anteriores no se guardó: la línea empieza en este).
    step_losses: Vec<(usize, f32)>,
    start: Instant,
    start_step: usize,
    tokens_per_step: f64,
    dir: PathBuf,
    title: String,
}

impl Watch {
    /// Para `trainer`, que guarda su curva en `dir` con el título `title`.
    pub fn new(trainer: &Trainer, dir: &Path, title: String) -> Self {
        let cfg = trainer.config();
        let bar = crate::tools::cli::step_bar(cfg.max_iters as u64, "Entrenando");
        bar.set_position(trainer.progress.step as u64);
        Self {
            bar,
            history: trainer.progress.history.clone(),
            step_losses: Vec::new(),
            start: Instant::now(),
            start_step: trainer.progress.step,
            tokens_per_step: (cfg.batch_size * cfg.block_size) as f64,
            dir: dir.to_path_buf(),
            title,
        }
    }

    /// Cuenta lo que acaba de pasar.
    pub fn event(&mut self, event: Event) {
        match event {
            Event::Eval { point, best } => {
                self.history.push(point);
                let mark = if best { " (mejor)" } else { "" };
                let step = integer(point.step);
                let (train, val) = (decimal(point.train.into(), 4), decimal(point.val.into(), 4));
                self.bar.suspend(|| {
                    crate::println!(
                        "paso {step}: pérdida de entrenamiento {train}, de validación {val}{mark}"
                    )
                });
                let saved = crate::tools::plot::save_loss_curve_with_steps(
                    &self.dir,
                    "gpt-curva",
                    &self.title,
                    &self.history,
                    &self.step_losses,
                );
                if let Err(e) = saved {
                    self.bar.suspend(|| crate::eprintln!("aviso: {e}"));
                }
            }
            Event::Step { step, loss } => {
                self.step_losses.push((step, loss));
                let done = (step + 1 - self.start_step) as f64;
                let seconds = self.start.elapsed().as_secs_f64().max(1e-9);
                let rate = done * self.tokens_per_step / seconds;
                self.bar.set_position(step as u64 + 1);
                self.bar.set_prefix(format!(
                    "pérdida {}, {} tokens/s",
                    decimal(loss.into(), 3),
                    decimal(rate, 0)
                ));
            }
        }
    }

    /// Quita la barra y cuenta cómo terminó, cuánto tardó y dónde quedó todo.
    pub fn summary(self, trainer: &Trainer, finish: Finish, outputs: &Outputs) {
        self.bar.finish_and_clear();
        let (step, secs) = (trainer.progress.step, self.start.elapsed().as_secs_f64());
        let steps = step - self.start_step;
        let step = integer(step);
        match finish {
            Finish::Completed => crate::println!("Entrenamiento completo: {step} pasos."),
            Finish::OutOfTime => {
                crate::println!("Se acabó el tiempo (--max-minutos): parado en el paso {step}.")
            }
            Finish::Interrupted => crate::println!(
                "Interrumpido con Ctrl-C: parado en el paso {step}, con su punto de control \
                 guardado (sigue con --reanudar)."
            ),
        }
        crate::println!(
            "Tiempo: {} pasos en {} s ({} ms/paso de media con las estimaciones, {} tokens/s)",
            integer(steps),
            decimal(secs, 1),
            decimal(1000.0 * secs / steps.max(1) as f64, 1),
            decimal(steps as f64 * self.tokens_per_step / secs, 0)
        );
        if let Some(best) = trainer.progress.best_val {
            crate::println!("Mejor pérdida de validación: {}", decimal(best.into(), 4));
        }
        crate::println!(
            "Puntos de control: {} (para reanudar)\ny {} (el de mejor validación)",
            outputs.last.display(),
            outputs.best.display()
        );
        let curve = |ext| {
            self.dir
                .join(format!("gpt-curva.{ext}"))
                .display()
                .to_string()
        };
        crate::println!("Curva de pérdida: {} y {}", curve("svg"), curve("csv"));
    }
}
