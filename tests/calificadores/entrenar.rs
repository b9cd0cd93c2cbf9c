//! La prueba final: `cargo ejercicios --entrenar bigram` y `cargo ejercicios --entrenar gpt`
//! entrenan sobre el Quijote los modelos montados con **tus** piezas, los guardan, dibujan su
//! curva y comparan su pérdida de validación final con la de la biblioteca. Antes comprueban
//! que las piezas que necesitan estén superadas y, si falta alguna, dicen cuál.
//!
//! - El GPT se entrena con el bucle de la biblioteca y sus ganchos (`tools::training`), el
//!   mismo que `07_gpt entrenar`: tu lote (4.3), tu pérdida (7.8, con todas las piezas que
//!   usa) y tu estimación (7.9), y los puntos de control de la biblioteca, Ctrl-C y
//!   `--reanudar`. Queda en `salidas/mi_gpt/gpt.safetensors` (para reanudar) y
//!   `gpt-mejor.safetensors` (el de mejor validación), con los nombres y las formas de
//!   tensores de la biblioteca: `07_gpt generar --checkpoint …` lo lee.
//! - El bigrama se guarda en `salidas/mi_bigram/bigrama.safetensors`.
//! - La comparación es con una cifra guardada de la biblioteca (`cifras_biblioteca.txt`, que
//!   escribe y comprueba `scripts/cifras.py`, grupo alumno), sin reentrenarla; con otra semilla o
//!   configuración no hay cifra, y se dice. `--comprobar` (lo usa la integración continua)
//!   entrena además la biblioteca con la misma configuración y falla si las pérdidas se
//!   separan más de 0,03.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use super::*;
use candle_core::Device;
use gpt_desde_cero::model::bigram::{self, Bigram, HandBigram, TrainConfig};
use gpt_desde_cero::model::estimate::LossPoint;
use gpt_desde_cero::model::gpt::{self, Activation, GptConfig, LrSchedule, Mode, Preset};
use gpt_desde_cero::model::kernels::Reference;
use gpt_desde_cero::model::train::{self, Finish, Learner, Progress, Trainer, eval_rng, step_rng};
use gpt_desde_cero::text::batches::to_tensor;
use gpt_desde_cero::text::dataset::{Dataset, TRAIN_FRACTION};
use gpt_desde_cero::tools::checkpoint;
use gpt_desde_cero::tools::lock::OutputDir;
use gpt_desde_cero::tools::training::{self, Existing, Outputs, RunOptions};
use gpt_desde_cero::tools::{cli, plot, pretty};
use ndarray::Array2;

/// Cuánto pueden separarse tu pérdida de validación final y la de la biblioteca.
const TOLERANCE: f32 = 0.03;

/// Dónde quedan tus modelos (en la raíz del proyecto).
pub const GPT_DIR: &str = "salidas/mi_gpt";
pub const BIGRAM_DIR: &str = "salidas/mi_bigram";
pub const BIGRAM_FILE: &str = "bigrama.safetensors";

/// Las pérdidas de validación finales de la biblioteca con la semilla por defecto, una por
/// modelo y configuración: las escribe y las comprueba `scripts/cifras.py` (grupo alumno).
const LIBRARY_FIGURES: &str = include_str!("cifras_biblioteca.txt");

/// Las piezas que usa tu bigrama, en el orden de sus dependencias.
const BIGRAM_PIECES: &[&str] = &[
    "cap02::vocabulary",
    "cap02::encode",
    "cap02::decode",
    "cap04::batch_at",
    "cap04::get_batch",
    "cap05::cross_entropy",
    "cap05::cross_entropy_grad",
    "cap05::adamw_step",
    "cap05::sample",
    "cap05::table_loss_and_grad",
    "cap05::sample_with_temperature",
];

/// Las piezas que usa tu GPT al entrenar (y al escribir su muestra del final), en el orden de
/// sus dependencias. El bucle es el de la biblioteca, con sus ganchos (tu 7.10 se comparó con
/// él paso a paso al calificarlo).
const GPT_PIECES: &[&str] = &[
    "cap02::vocabulary",
    "cap02::encode",
    "cap02::decode",
    "cap04::batch_at",
    "cap04::get_batch",
    "cap05::sample",
    "cap05::sample_with_temperature",
    "cap07::dropout",
    "cap07::layer_norm",
    "cap07::head_forward",
    "cap07::multi_head_attention",
    "cap07::feed_forward",
    "cap07::block_forward",
    "cap07::gpt_forward",
    "cap07::gpt_loss",
    "cap07::estimate_loss",
    "cap07::generate",
];

/// Las opciones de `--entrenar`. Para añadir una: un campo aquí, su valor por defecto en
/// [`Options::new`], su rama en [`parse`], su línea en el texto de uso (`USAGE`, en
/// `mod.rs`) y, si cambia la configuración, que [`library_figure`] lo sepa.
struct Options {
    model: String,
    preset: Preset,
    seed: u64,
    check: bool,
    existing: Existing,
    /// `--activacion gelu`: tu GELU (6.4) en la red de avance.
    activation: Activation,
    /// `--lr-coseno`: tu calendario (5.7) para la tasa de aprendizaje.
    cosine: bool,
}

impl Options {
    fn new(model: String) -> Self {
        Self {
            model,
            preset: Preset::Cpu,
            seed: rng::DEFAULT_SEED,
            check: false,
            existing: Existing::Refuse,
            activation: Activation::Relu,
            cosine: false,
        }
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut it = args.iter();
    let model = match it.next().map(String::as_str) {
        Some(m @ ("gpt" | "bigram")) => m.to_string(),
        Some(other) => return Err(format!("no sé entrenar «{other}»: elige `bigram` o `gpt`")),
        None => return Err("¿qué modelo? `--entrenar bigram` o `--entrenar gpt`".into()),
    };
    let mut options = Options::new(model);
    let (mut resume, mut overwrite) = (false, false);
    while let Some(arg) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("a {arg} le falta {what}"))
        };
        match arg.as_str() {
            "--comprobar" => options.check = true,
            "--reanudar" => resume = true,
            "--sobrescribir" => overwrite = true,
            "--lr-coseno" => options.cosine = true,
            "--activacion" => {
                let name = value("el nombre (relu o gelu)")?;
                options.activation = Activation::from_name(&name)
                    .ok_or_else(|| format!("activación desconocida «{name}»: relu o gelu"))?;
            }
            "--preset" => options.preset = preset(&value("el nombre (diminuto, cpu o cuaderno)")?)?,
            "--semilla" => {
                let text = value("el número")?;
                options.seed =
                    cli::decimal(&text).map_err(|e| format!("--semilla «{text}»: {e}"))?;
            }
            other => {
                return Err(format!(
                    "opción desconocida «{other}» para --entrenar (valen --preset, --semilla, \
                     --activacion, --lr-coseno, --reanudar, --sobrescribir y --comprobar)"
                ));
            }
        }
    }
    options.existing = match (resume, overwrite) {
        (true, true) => return Err("--reanudar y --sobrescribir no van juntas: elige una".into()),
        (true, false) => Existing::Resume,
        (false, true) => Existing::Overwrite,
        (false, false) => Existing::Refuse,
    };
    if options.model == "bigram" && options.existing == Existing::Resume {
        return Err(
            "el bigrama entrena en segundos: no hay nada que reanudar (usa --sobrescribir)".into(),
        );
    }
    Ok(options)
}

/// Una configuración predefinida por su nombre.
pub fn preset(name: &str) -> Result<Preset, String> {
    match name {
        "diminuto" => Ok(Preset::Diminuto),
        "cpu" => Ok(Preset::Cpu),
        "cuaderno" => Ok(Preset::Cuaderno),
        other => Err(format!(
            "configuración desconocida «{other}»: diminuto, cpu o cuaderno"
        )),
    }
}

/// Califica las piezas `ids`, en su orden (el de sus dependencias), hasta la primera que falta;
/// si falta alguna, dice solo esa (las que dependen de ella tampoco valdrían todavía) y
/// devuelve `false`. `what` es lo que va a hacer: «Tu GPT aún no puede entrenar».
pub fn pieces_ready(ids: &[&str], what: &str, command: &str) -> bool {
    let mut book = Gradebook::default();
    let mut missing = None;
    for id in ids {
        let ex = all()
            .into_iter()
            .find(|e| e.id == *id)
            .unwrap_or_else(|| panic!("no hay ejercicio {id}"));
        match book.outcome(&ex) {
            Outcome::Passed => {}
            Outcome::Failed(_) => missing = Some(ex),
            Outcome::Blocked { root, .. } => {
                missing = all().into_iter().find(|e| e.id == root);
            }
        }
        if missing.is_some() {
            break;
        }
    }
    let Some(e) = missing else {
        return true;
    };
    println!("{what}: le falta esta pieza, la primera sin superar:");
    let number = e.number();
    println!("  ✘ {} — `cargo ejercicios {number}`", e.title);
    println!(
        "\nLas piezas que la usan esperan a que la superes. Después vuelve a pedir `cargo \
         ejercicios {command}`: si falta otra, te diré cuál."
    );
    false
}

/// El Quijote (de la caché `datos/`, o descargado la primera vez), con **tu** vocabulario
/// (2.1) y **tu** codificación (2.2), partido en entrenamiento y validación.
fn quijote() -> Result<(Vec<char>, Dataset), String> {
    let corpus = download::load(None).map_err(|e| format!("no pude cargar el Quijote: {e}"))?;
    let vocabulary = graded::cap02::vocabulary(&corpus.text);
    if vocabulary.as_slice() != Tokenizer::from_text(&corpus.text).chars() {
        return Err(
            "tu `vocabulary` (2.1) no da el vocabulario del Quijote: vuelve a calificarla con \
             `cargo ejercicios 2.1`"
                .into(),
        );
    }
    let data = Array1::from(graded::cap02::encode(&vocabulary, &corpus.text));
    Ok((vocabulary, Dataset::split(&data, TRAIN_FRACTION)))
}

/// Entra en la raíz del proyecto y hace lo que piden `args` (lo que va tras `--entrenar`).
pub fn main(args: &[String], grading_student: bool) -> ExitCode {
    if let Err(code) = enter_project(grading_student) {
        return code;
    }
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            println!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let who = if grading_student {
        "Tu"
    } else {
        "Con las soluciones de referencia, el"
    };
    let command = format!("--entrenar {}", options.model);
    let result = if options.model == "bigram" {
        if !pieces_ready(BIGRAM_PIECES, "Tu bigrama aún no puede entrenar", &command) {
            return ExitCode::FAILURE;
        }
        train_bigram(&options, who)
    } else {
        // Los «más allá» que se piden, antes que las piezas del GPT.
        let extras = [
            (options.activation == Activation::Gelu).then_some("cap06::gelu"),
            options.cosine.then_some("cap05::warmup_cosine_lr"),
        ];
        let pieces: Vec<&str> = extras
            .into_iter()
            .flatten()
            .chain(GPT_PIECES.iter().copied())
            .collect();
        if !pieces_ready(&pieces, "Tu GPT aún no puede entrenar", &command) {
            return ExitCode::FAILURE;
        }
        if options.activation == Activation::Gelu
            && let Err(e) = cap07::feed_forward_follows_the_activation()
        {
            println!("error: {e}");
            return ExitCode::FAILURE;
        }
        train_gpt(&options, who)
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            println!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// cargo ejecuta las pruebas en la carpeta de su paquete (`ejercicios/` para las tuyas): el
/// corpus (`datos/`) y las salidas (`salidas/`) son los de la raíz del proyecto.
pub fn enter_project(grading_student: bool) -> Result<(), ExitCode> {
    let root = if grading_student {
        concat!(env!("CARGO_MANIFEST_DIR"), "/..")
    } else {
        env!("CARGO_MANIFEST_DIR")
    };
    std::env::set_current_dir(root).map_err(|e| {
        println!("error: no pude entrar en la carpeta del proyecto ({root}): {e}");
        ExitCode::FAILURE
    })
}

/// Tu bigrama para el bucle de la biblioteca: tu pérdida, tu gradiente y tu AdamW.
struct StudentBigram {
    table: Array2<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
    lr: f32,
}

impl Bigram for StudentBigram {
    fn loss(&self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        Ok(graded::cap05::table_loss_and_grad(&self.table, x, y).0)
    }

    fn train_step(&mut self, x: &[u32], y: &[u32]) -> candle_core::Result<f32> {
        let (loss, grad) = graded::cap05::table_loss_and_grad(&self.table, x, y);
        self.t += 1;
        let grad: Vec<f32> = grad.iter().copied().collect();
        let w = self.table.as_slice_mut().expect("tabla contigua");
        graded::cap05::adamw_step(w, &grad, &mut self.m, &mut self.v, self.t, self.lr);
        Ok(loss)
    }

    fn table(&self) -> candle_core::Result<Array2<f32>> {
        Ok(self.table.clone())
    }
}

/// La carpeta de salida de tu modelo, solo para este proceso mientras entrena (como en
/// `07_gpt`): otro `--entrenar` a la vez en la misma carpeta se niega diciendo quién la usa.
fn claim(dir: &str) -> Result<OutputDir, String> {
    OutputDir::claim(Path::new(dir)).map_err(|e| e.to_string())
}

/// Texto de una tabla de bigrama con tu muestreo (5.6 con temperatura 1, que usa tu 5.4):
/// cada carácter sale de la fila del anterior, con un número del RNG por carácter (como
/// `bigram::generate` de la biblioteca).
pub fn bigram_text(
    table: &Array2<f32>,
    start: u32,
    n: usize,
    temperature: f32,
    r: &mut rng::Rng,
) -> Vec<u32> {
    let mut ids = vec![start];
    for _ in 0..n {
        let row = table.row(*ids.last().expect("no vacío") as usize).to_vec();
        let u: f32 = r.random();
        ids.push(graded::cap05::sample_with_temperature(&row, temperature, u) as u32);
    }
    ids
}

/// El primer carácter del texto: el salto de línea, como el cuaderno (o el primero del
/// vocabulario si no lo tiene).
fn newline(vocabulary: &[char]) -> u32 {
    vocabulary.iter().position(|&c| c == '\n').unwrap_or(0) as u32
}

fn train_bigram(options: &Options, who: &str) -> Result<ExitCode, String> {
    let _dir = claim(BIGRAM_DIR)?;
    let path = Path::new(BIGRAM_DIR).join(BIGRAM_FILE);
    training::refuse_to_replace(
        &[path.as_path()],
        options.existing,
        "Para reemplazarlo, pide `cargo ejercicios --entrenar bigram --sobrescribir`; para \
         escribir con él, `cargo ejercicios --generar bigram`.",
    )
    .map_err(|e| e.to_string())?;
    let (vocabulary, ds) = quijote()?;
    let cfg = TrainConfig::default();
    let seed = options.seed;
    // Como `05_bigram`: la tabla al azar, un lote de 4 para ver la pérdida inicial y un texto
    // antes de entrenar, todo del mismo RNG (así, con la misma semilla, el entrenamiento ve los
    // mismos lotes que el del capítulo 5).
    let mut r = rng::seeded(seed);
    let table = bigram::initial_table(vocabulary.len(), &mut r);
    let (xb, yb) = graded::cap04::get_batch(ds.train.view(), 4, cfg.block_size, &mut r);
    let (x, y) = (
        xb.as_slice().expect("contiguo"),
        yb.as_slice().expect("contiguo"),
    );
    let initial = graded::cap05::table_loss_and_grad(&table, x, y).0;
    let before = bigram_text(&table, newline(&vocabulary), 100, 1.0, &mut r);
    println!(
        "{who} bigrama: pérdida inicial en un lote de 4×{} {} (al azar sería ln {} = {})",
        cfg.block_size,
        pretty_loss(initial),
        vocabulary.len(),
        pretty_loss((vocabulary.len() as f32).ln())
    );
    println!(
        "Texto antes de entrenar (100 caracteres):\n{}\n",
        pretty::wrap(&graded::cap02::decode(&vocabulary, &before), 80)
    );
    let n = table.len();
    let mut model = StudentBigram {
        table,
        m: vec![0.0; n],
        v: vec![0.0; n],
        t: 0,
        lr: cfg.lr,
    };
    println!(
        "Entrenando {} pasos con lotes de {}×{}, lr {}, semilla {seed}",
        cfg.steps,
        cfg.batch_size,
        cfg.block_size,
        cfg.lr.to_string().replace('.', ",")
    );
    let (curve, seconds) = run_bigram(&mut model, &ds, &cfg, &mut r, true)?;
    let last = curve.last().expect("al menos una estimación").val;
    save_curve(BIGRAM_DIR, "Tu bigrama", &curve)?;
    checkpoint::save_table(&path, model.table.view(), &vocabulary, cfg.steps, seed)
        .map_err(|e| e.to_string())?;
    println!("Tu bigrama está en {}", path.display());

    let after = bigram_text(&model.table, newline(&vocabulary), 300, 1.0, &mut r);
    println!(
        "\nTexto de tu bigrama (300 caracteres):\n{}",
        pretty::wrap(&graded::cap02::decode(&vocabulary, &after), 80)
    );
    println!(
        "\nPérdida de validación final: {} ({} s). Escribe más con `cargo ejercicios \
         --generar bigram` (con --prompt, --temperatura, --tokens o --semilla).",
        pretty_loss(last),
        format!("{seconds:.1}").replace('.', ",")
    );

    let lib = if options.check {
        // La biblioteca, con el mismo comienzo: la misma tabla, el mismo lote de 4 y el mismo
        // texto de antes, y el mismo entrenamiento.
        let mut r = rng::seeded(seed);
        let table = bigram::initial_table(vocabulary.len(), &mut r);
        let _ = batches::get_batch(&ds, dataset::Split::Train, 4, cfg.block_size, &mut r);
        let _ = bigram::generate(&table, newline(&vocabulary), 100, &mut r);
        let mut lib = HandBigram::new(table, cfg.lr);
        let (lib_curve, _) = run_bigram(&mut lib, &ds, &cfg, &mut r, false)?;
        Some(lib_curve.last().expect("al menos una").val)
    } else {
        None
    };
    finish_comparison(
        last,
        lib,
        library_figure("bigram", seed == rng::DEFAULT_SEED),
    )
}

fn run_bigram<M: Bigram>(
    model: &mut M,
    ds: &Dataset,
    cfg: &TrainConfig,
    r: &mut rng::Rng,
    verbose: bool,
) -> Result<(Vec<LossPoint>, f64), String> {
    let bar = cli::step_bar(cfg.steps as u64, "Entrenando");
    let start = Instant::now();
    let report = bigram::train(
        model,
        ds,
        cfg,
        r,
        |_, _| bar.inc(1),
        |p| {
            if !verbose {
                return;
            }
            bar.suspend(|| {
                println!(
                    "  paso {:>6}: entrenamiento {}, validación {}",
                    p.step,
                    pretty_loss(p.train),
                    pretty_loss(p.val)
                )
            })
        },
    )
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    Ok((report.curve, start.elapsed().as_secs_f64()))
}

/// Tu GPT para el bucle de la biblioteca: los pesos, el optimizador y el progreso son los de
/// un [`Trainer`] (así se guardan y se reanudan igual), y cada paso y cada estimación son
/// tuyos: tu lote (4.3), tu pérdida (7.8, con tu dropout, tu LayerNorm, tu atención…) y tu
/// `estimate_loss` (7.9), con los mismos RNG que la biblioteca.
struct StudentGpt(Trainer);

impl AsRef<Trainer> for StudentGpt {
    fn as_ref(&self) -> &Trainer {
        &self.0
    }
}

impl Learner for StudentGpt {
    fn schedule(&self) -> (usize, usize) {
        self.0.schedule()
    }

    fn progress(&self) -> &Progress {
        &self.0.progress
    }

    fn progress_mut(&mut self) -> &mut Progress {
        &mut self.0.progress
    }

    fn estimate_loss(&mut self, ds: &Dataset) -> candle_core::Result<LossPoint> {
        let (model, progress) = (&self.0.model, &self.0.progress);
        let mut r = eval_rng(progress.seed, progress.step);
        let losses = graded::cap07::estimate_loss(model, ds, model.config.eval_iters, &mut r)?;
        Ok(LossPoint {
            step: progress.step,
            train: losses.train,
            val: losses.val,
        })
    }

    fn train_step(&mut self, ds: &Dataset) -> candle_core::Result<f32> {
        let Trainer {
            model,
            optimizer,
            progress,
            ..
        } = &mut self.0;
        let cfg = &model.config;
        let mut r = step_rng(progress.seed, progress.step);
        let (x, y) =
            graded::cap04::get_batch(ds.train.view(), cfg.batch_size, cfg.block_size, &mut r);
        let (x, y) = (
            to_tensor(&x, model.device())?,
            to_tensor(&y, model.device())?,
        );
        let loss = graded::cap07::gpt_loss(model, &x, &y, &mut Mode::Train(&mut r))?;
        optimizer.step(&loss.backward()?)?;
        progress.step += 1;
        loss.to_scalar::<f32>()
    }
}

fn train_gpt(options: &Options, who: &str) -> Result<ExitCode, String> {
    let (vocabulary, ds) = quijote()?;
    let tokenizer = Tokenizer::from_chars(vocabulary.clone()).map_err(|e| e.to_string())?;
    let mut cfg = GptConfig::preset(options.preset, vocabulary.len());
    cfg.activation = options.activation;
    if options.cosine {
        cfg.lr_schedule = LrSchedule::WarmupCosine;
    }
    ds.check_block_size(cfg.block_size)
        .map_err(|e| e.to_string())?;
    let dir = Path::new(GPT_DIR);
    let outputs = Outputs {
        last: dir.join("gpt.safetensors"),
        best: dir.join("gpt-mejor.safetensors"),
    };
    // Lo mismo que `07_gpt entrenar`: memoria y disco, la carpeta solo para este proceso y
    // ningún modelo entrenado pisado sin pedirlo (dicho con las opciones de aquí).
    training::refuse_to_replace(
        &[outputs.last.as_path(), outputs.best.as_path()],
        options.existing,
        "Para seguir entrenándolo pide `cargo ejercicios --entrenar gpt --reanudar`; para \
         reemplazarlo, `--sobrescribir`; para escribir con él, `cargo ejercicios --generar`.",
    )
    .map_err(|e| e.to_string())?;
    if options.existing == Existing::Resume && !outputs.last.exists() {
        return Err(format!(
            "no hay nada que reanudar: no existe «{}». Entrena primero sin --reanudar",
            outputs.last.display()
        ));
    }
    let _dir = training::check_before_training(dir, &cfg, &outputs, options.existing)
        .map_err(|e| format!("{e:#}"))?;
    let device = Device::Cpu;
    // Tus piezas hacen las cuentas con las operaciones sueltas de candle, como la
    // implementación del libro.
    let kernels = Arc::new(Reference);
    let trainer = if options.existing == Existing::Resume {
        let t = training::load_to_resume(
            &outputs.last,
            &cfg,
            options.seed,
            &tokenizer,
            &device,
            kernels,
        )
        .map_err(|e| format!("{e:#}"))?;
        println!(
            "Reanudando «{}» en el paso {}",
            outputs.last.display(),
            t.progress.step
        );
        t
    } else {
        Trainer::new(&cfg, &device, options.seed, kernels).map_err(|e| e.to_string())?
    };
    let mut student = StudentGpt(trainer);
    if options.cosine {
        // La tasa de cada paso la da tu calendario (5.7), con los valores de la biblioteca.
        let (warmup, max, lr) = (
            train::warmup_steps(cfg.max_iters),
            cfg.max_iters,
            cfg.learning_rate,
        );
        student.0.optimizer.lr_schedule = Some(Arc::new(move |step| {
            graded::cap05::warmup_cosine_lr(step, warmup, max, lr, lr / train::MIN_LR_DIVISOR)
        }));
    }
    println!(
        "{who} GPT, configuración {} (semilla {}):\n  {}",
        options.preset,
        options.seed,
        training::describe(&cfg)
    );
    println!(
        "{}",
        gpt::format_param_count(student.0.model.params.count())
    );

    training::install_ctrl_c();
    let run_options = RunOptions {
        time_limit: None,
        outputs: Some(outputs.clone()),
    };
    let mut watch = training::Watch::new(
        &student.0,
        dir,
        format!("Tu GPT, configuración {}", options.preset),
    );
    let finish = training::run(&mut student, &ds, &vocabulary, &run_options, |e| {
        watch.event(e)
    })
    .map_err(|e| format!("tu GPT no pudo seguir: {e:#}"))?;
    watch.summary(&student.0, finish, &outputs);
    if finish == Finish::Interrupted {
        println!("Sigue donde lo dejaste con `cargo ejercicios --entrenar gpt --reanudar`.");
        return Ok(ExitCode::from(cli::EXIT_INTERRUPTED));
    }
    let last = student
        .0
        .progress
        .history
        .last()
        .ok_or("tu GPT no estimó la pérdida ni una vez")?
        .val;

    // Una muestra con tus piezas; para más, `--generar`.
    let sample = generate_text(
        &student.0.model,
        &vocabulary,
        "\n",
        300,
        Default::default(),
        options.seed,
    )?;
    println!(
        "\nTexto de tu GPT (300 caracteres):\n{}",
        pretty::wrap(&sample, 80)
    );
    println!(
        "\nEscribe más con `cargo ejercicios --generar` (con --prompt, --temperatura, --top-k, \
         --top-p, --tokens o --semilla), o con la biblioteca: `cargo run --bin 07_gpt -- \
         generar --checkpoint {}`.",
        outputs.best.display()
    );
    println!("Pérdida de validación final: {}", pretty_loss(last));

    let lib = if options.check {
        Some(train_library_gpt(&cfg, &ds, options.seed)?)
    } else {
        None
    };
    let same = options.seed == rng::DEFAULT_SEED
        && cfg == GptConfig::preset(options.preset, cfg.vocab_size);
    let key = format!("gpt {}", options.preset);
    finish_comparison(last, lib, library_figure(&key, same))
}

/// Escribe `n` caracteres tras `prompt` con tu GPT (tu `generate` y tu muestreo, ver
/// [`super::generar`]).
fn generate_text(
    model: &gpt::Gpt,
    vocabulary: &[char],
    prompt: &str,
    n: usize,
    sampling: gpt::Sampling,
    seed: u64,
) -> Result<String, String> {
    let ids = graded::cap02::encode(vocabulary, prompt);
    let mut r = rng::seeded(seed);
    let new = graded::cap07::generate(model, &ids, n, |logits| {
        super::generar::choose(logits, sampling, &mut r)
    })
    .map_err(|e| format!("tu generate devolvió un error: {e}"))?;
    Ok(graded::cap02::decode(vocabulary, &new))
}

/// La biblioteca, con su implementación rápida, la misma configuración y la misma semilla;
/// devuelve su pérdida de validación final.
fn train_library_gpt(cfg: &GptConfig, ds: &Dataset, seed: u64) -> Result<f32, String> {
    let device = Device::Cpu;
    let mut lib = Trainer::new(
        cfg,
        &device,
        seed,
        gpt_desde_cero::fast::kernels::for_device(&device),
    )
    .map_err(|e| e.to_string())?;
    let bar = cli::step_bar(cfg.max_iters as u64, "La biblioteca");
    let mut lib_last = f32::NAN;
    training::run(&mut lib, ds, &[], &RunOptions::default(), |e| match e {
        training::Event::Eval { point, .. } => lib_last = point.val,
        training::Event::Step { .. } => bar.inc(1),
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    Ok(lib_last)
}

fn save_curve(dir: &str, title: &str, curve: &[LossPoint]) -> Result<(), String> {
    let (_, svg) =
        plot::save_loss_curve(Path::new(dir), "curva", title, curve).map_err(|e| e.to_string())?;
    println!("La curva de pérdida está en {}", svg.display());
    Ok(())
}

/// Una pérdida con coma decimal, como en el libro.
fn pretty_loss(x: f32) -> String {
    pretty::decimal(x.into(), 4)
}

/// La pérdida de validación final guardada de la biblioteca para `key` («bigram», «gpt
/// cpu»…), si `same` (la semilla y la configuración son las de por defecto) y hay cifra; si
/// no, por qué no se compara.
fn library_figure(key: &str, same: bool) -> Result<f32, String> {
    if !same {
        return Err(
            "con otra semilla o configuración que las de por defecto no hay cifra guardada".into(),
        );
    }
    figure(LIBRARY_FIGURES, key)
        .ok_or_else(|| format!("no hay cifra guardada de la biblioteca para «{key}»"))
}

/// La cifra de `key` en el texto de `cifras_biblioteca.txt` (renglones «clave valor»; los
/// que empiezan por `#` son comentarios).
fn figure(text: &str, key: &str) -> Option<f32> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Compara con la biblioteca: con la entrenada ahora (`--comprobar`), que decide, y si no con
/// la cifra guardada.
fn finish_comparison(
    mine: f32,
    trained: Option<f32>,
    saved: Result<f32, String>,
) -> Result<ExitCode, String> {
    let (lib, how) = match (trained, saved) {
        (Some(lib), _) => (lib, "entrenada ahora con la misma configuración y semilla"),
        (None, Ok(lib)) => (
            lib,
            "la cifra guardada, con la misma configuración y la semilla por defecto",
        ),
        (None, Err(why)) => {
            println!(
                "No lo comparo con la biblioteca: {why} (`--comprobar` la entrena también, con \
                 tu configuración y tu semilla)."
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let diff = (mine - lib).abs();
    println!(
        "La biblioteca ({how}): {}. Diferencia: {}.",
        pretty_loss(lib),
        pretty_loss(diff)
    );
    if diff <= TOLERANCE {
        println!("¡Bien! Tu modelo aprende como el del libro (a menos de 0,03).");
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!(
            "la diferencia ({}) pasa de 0,03: revisa tus piezas con `cargo ejercicios` (¿el orden \
             del RNG, un factor?)",
            pretty_loss(diff)
        ))
    }
}
