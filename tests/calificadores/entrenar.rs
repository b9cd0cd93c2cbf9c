//! La prueba final: `cargo ejercicios --entrenar bigram` y `cargo ejercicios --entrenar gpt`
//! entrenan sobre el Quijote los modelos montados con **tus** piezas, dibujan su curva y
//! generan texto. Antes comprueban que las piezas que necesitan estén superadas y, si falta
//! alguna, dicen cuál.
//!
//! `--comprobar` (lo usa la integración continua) entrena además el mismo modelo con la
//! biblioteca y falla si las pérdidas de validación finales se separan más de 0,03.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use super::*;
use candle_core::Device;
use gpt_desde_cero::model::adamw::{AdamW, AdamWConfig};
use gpt_desde_cero::model::bigram::{self, Bigram, HandBigram, TrainConfig};
use gpt_desde_cero::model::estimate::LossPoint;
use gpt_desde_cero::model::estimate::Losses;
use gpt_desde_cero::model::gpt::{Activation, Gpt, GptConfig, LrSchedule, Preset};
use gpt_desde_cero::model::sampling::Sampling;
use gpt_desde_cero::model::train::{self, Trainer};
use gpt_desde_cero::text::dataset::{Dataset, TRAIN_FRACTION};
use gpt_desde_cero::tools::lock::OutputDir;
use gpt_desde_cero::tools::training::{self, RunOptions};
use gpt_desde_cero::tools::{cli, plot, pretty};
use ndarray::Array2;

/// Cuánto pueden separarse tu pérdida de validación final y la de la biblioteca.
const TOLERANCE: f32 = 0.03;

/// Las piezas que usa tu bigram.
const BIGRAM_PIECES: &[&str] = &[
    "cap04::batch_at",
    "cap05::cross_entropy",
    "cap05::cross_entropy_grad",
    "cap05::adamw_step",
    "cap05::sample",
    "cap05::table_loss_and_grad",
    "cap05::sample_with_temperature",
];

struct Options {
    model: String,
    preset: Preset,
    check: bool,
    /// `--activacion gelu`: tu GELU (6.4) en la red de avance.
    activation: Activation,
    /// `--lr-coseno`: tu calendario (5.7) para la tasa de aprendizaje.
    cosine: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut it = args.iter();
    let model = match it.next().map(String::as_str) {
        Some(m @ ("gpt" | "bigram")) => m.to_string(),
        Some(other) => return Err(format!("no sé entrenar «{other}»: elige `bigram` o `gpt`")),
        None => return Err("¿qué modelo? `--entrenar bigram` o `--entrenar gpt`".into()),
    };
    let mut options = Options {
        model,
        preset: Preset::Cpu,
        check: false,
        activation: Activation::Relu,
        cosine: false,
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--comprobar" => options.check = true,
            "--lr-coseno" => options.cosine = true,
            "--activacion" => {
                let name = it
                    .next()
                    .ok_or("a --activacion le falta el nombre (relu o gelu)")?;
                options.activation = Activation::from_name(name)
                    .ok_or_else(|| format!("activación desconocida «{name}»: relu o gelu"))?;
            }
            "--preset" => {
                let name = it
                    .next()
                    .ok_or("a --preset le falta el nombre (diminuto o cpu)")?;
                options.preset = match name.as_str() {
                    "diminuto" => Preset::Diminuto,
                    "cpu" => Preset::Cpu,
                    "cuaderno" => Preset::Cuaderno,
                    other => {
                        return Err(format!(
                            "preset desconocido «{other}»: diminuto, cpu o cuaderno"
                        ));
                    }
                };
            }
            other => {
                return Err(format!(
                    "opción desconocida «{other}» (valen --preset, --activacion, --lr-coseno y \
                     --comprobar)"
                ));
            }
        }
    }
    Ok(options)
}

/// Califica las piezas `ids`, en su orden (el de sus dependencias), hasta la primera que falta;
/// si falta alguna, dice solo esa (las que dependen de ella tampoco valdrían todavía) y
/// devuelve `false`.
fn pieces_ready(ids: &[&str], what: &str) -> bool {
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
    println!("Tu {what} aún no puede entrenar: le falta esta pieza, la primera sin superar:");
    let number = e.number();
    println!("  ✘ {} — `cargo ejercicios {number}`", e.title);
    let flag = what.to_lowercase();
    println!(
        "\nLas piezas que la usan esperan a que la superes. Después vuelve a pedir `cargo \
         ejercicios --entrenar {flag}`: si falta otra, te diré cuál."
    );
    false
}

/// El Quijote (de la caché `datos/`, o descargado la primera vez) tokenizado y partido.
fn quijote() -> Result<(Tokenizer, Dataset), String> {
    let corpus = download::load(None).map_err(|e| format!("no pude cargar el Quijote: {e}"))?;
    let tokenizer = Tokenizer::from_text(&corpus.text);
    let data = dataset::encode_text(&tokenizer, &corpus.text).map_err(|e| e.to_string())?;
    Ok((tokenizer, Dataset::split(&data, TRAIN_FRACTION)))
}

/// Entrena, informa y, con `--comprobar`, compara con la biblioteca.
pub fn main(args: &[String], grading_student: bool) -> ExitCode {
    // cargo ejecuta las pruebas en la carpeta de su paquete (`ejercicios/` para las tuyas):
    // el corpus (`datos/`) y las salidas (`salidas/`) son los de la raíz del proyecto.
    let root = if grading_student {
        concat!(env!("CARGO_MANIFEST_DIR"), "/..")
    } else {
        env!("CARGO_MANIFEST_DIR")
    };
    if let Err(e) = std::env::set_current_dir(root) {
        println!("error: no pude entrar en la carpeta del proyecto ({root}): {e}");
        return ExitCode::FAILURE;
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
    let result = if options.model == "bigram" {
        if !pieces_ready(BIGRAM_PIECES, "bigram") {
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
            .chain(cap07::GPT_PIECES.iter().copied())
            .collect();
        if !pieces_ready(&pieces, "GPT") {
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Tu bigram para el bucle de la biblioteca: tu pérdida, tu gradiente y tu AdamW.
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

fn train_bigram(_options: &Options, who: &str) -> Result<(), String> {
    let _dir = claim("salidas/mi_bigram")?;
    let (tokenizer, ds) = quijote()?;
    let cfg = TrainConfig::default();
    let seed = rng::DEFAULT_SEED;
    let mut r = rng::seeded(seed);
    let table = bigram::initial_table(tokenizer.vocab_size(), &mut r);
    let n = table.len();
    let mut model = StudentBigram {
        table: table.clone(),
        m: vec![0.0; n],
        v: vec![0.0; n],
        t: 0,
        lr: cfg.lr,
    };
    println!(
        "{who} bigram: {} pasos con lotes de {}×{}, lr {}, semilla {seed}",
        cfg.steps, cfg.batch_size, cfg.block_size, cfg.lr
    );
    let (curve, seconds) = run_bigram(&mut model, &ds, &cfg, &mut r, true)?;
    let last = curve.last().expect("al menos una estimación").val;
    save_curve("salidas/mi_bigram", "Tu bigram", &curve)?;

    // Texto con tu muestreo: cada carácter sale de la fila del anterior.
    let mut ids = vec![tokenizer.encode("\n").map_or(0, |v| v[0])];
    for _ in 0..300 {
        let row = model
            .table
            .row(*ids.last().expect("no vacío") as usize)
            .to_vec();
        ids.push(graded::cap05::sample_with_temperature(&row, 1.0, r.random()) as u32);
    }
    let text = tokenizer.decode(&ids).map_err(|e| e.to_string())?;
    println!(
        "\nTexto de tu bigram (300 caracteres):\n{}",
        pretty::wrap(&text, 80)
    );
    println!(
        "\nPérdida de validación final: {} ({seconds:.1} s)",
        pretty_loss(last)
    );

    // La biblioteca, con la misma semilla: es rápida, así que siempre se compara.
    let mut r = rng::seeded(seed);
    let table = bigram::initial_table(tokenizer.vocab_size(), &mut r);
    let mut lib = HandBigram::new(table, cfg.lr);
    let (lib_curve, _) = run_bigram(&mut lib, &ds, &cfg, &mut r, false)?;
    compare(last, lib_curve.last().expect("al menos una").val)
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

fn train_gpt(options: &Options, who: &str) -> Result<(), String> {
    let _dir = claim("salidas/mi_gpt")?;
    let (tokenizer, ds) = quijote()?;
    let mut cfg = GptConfig::preset(options.preset, tokenizer.vocab_size());
    cfg.activation = options.activation;
    if options.cosine {
        cfg.lr_schedule = LrSchedule::WarmupCosine;
    }
    let seed = rng::DEFAULT_SEED;
    let model =
        Gpt::new(&cfg, &Device::Cpu, &mut train::init_rng(seed)).map_err(|e| e.to_string())?;
    let mut optimizer = AdamW::new(model.params.vars(), AdamWConfig::with_lr(cfg.learning_rate))
        .map_err(|e| e.to_string())?;
    if options.cosine {
        // La tasa de cada paso la da tu calendario (5.7), con los valores de la biblioteca.
        let (warmup, max, lr) = (
            train::warmup_steps(cfg.max_iters),
            cfg.max_iters,
            cfg.learning_rate,
        );
        optimizer.lr_schedule = Some(std::sync::Arc::new(move |step| {
            graded::cap05::warmup_cosine_lr(step, warmup, max, lr, lr / train::MIN_LR_DIVISOR)
        }));
    }
    println!(
        "{who} GPT, preset {}: {} bloques, {} cabezas, n_embd {}, block_size {}, {} pasos con lotes de {}",
        options.preset,
        cfg.n_layer,
        cfg.n_head,
        cfg.n_embd,
        cfg.block_size,
        cfg.max_iters,
        cfg.batch_size
    );
    let bar = cli::step_bar(cfg.max_iters as u64, "Entrenando");
    let start = Instant::now();
    let mut curve = Vec::new();
    graded::cap07::train(
        &model,
        &mut optimizer,
        &ds,
        seed,
        |_, _| bar.inc(1),
        |step, l: Losses| {
            bar.suspend(|| {
                println!(
                    "  paso {step:>5}: entrenamiento {}, validación {}",
                    pretty_loss(l.train),
                    pretty_loss(l.val)
                )
            });
            curve.push(LossPoint {
                step,
                train: l.train,
                val: l.val,
            });
        },
    )
    .map_err(|e| format!("tu bucle devolvió un error: {e}"))?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let last = curve
        .last()
        .ok_or("tu bucle no estimó la pérdida ni una vez")?
        .val;
    save_curve("salidas/mi_gpt", "Tu GPT", &curve)?;

    let prompt = tokenizer.encode("\n").map_or(vec![0], |v| v);
    let new = graded::cap07::generate(
        &model,
        &prompt,
        500,
        Sampling::default(),
        &mut rng::seeded(seed),
    )
    .map_err(|e| format!("tu generate devolvió un error: {e}"))?;
    let text = tokenizer.decode(&new).map_err(|e| e.to_string())?;
    println!(
        "\nTexto de tu GPT (500 caracteres):\n{}",
        pretty::wrap(&text, 80)
    );
    println!(
        "\nPérdida de validación final: {} ({seconds:.0} s)",
        pretty_loss(last)
    );
    if !options.check {
        if options.preset != Preset::Cpu {
            return Ok(());
        }
        println!(
            "Compárala con la pérdida de validación final de la tabla del capítulo 7 (la de \
             `07_gpt entrenar --preset cpu`), o repite con `--comprobar`, que entrena también el \
             de la biblioteca: si te quedas a menos de 0,03, tu GPT aprende como el del libro."
        );
        return Ok(());
    }
    // La biblioteca, con su implementación rápida, el mismo preset y la misma semilla.
    let device = Device::Cpu;
    let mut lib = Trainer::new(
        &cfg,
        &device,
        seed,
        gpt_desde_cero::fast::kernels::for_device(&device),
    )
    .map_err(|e| e.to_string())?;
    let bar = cli::step_bar(cfg.max_iters as u64, "La biblioteca");
    let options_lib = RunOptions {
        time_limit: None,
        outputs: None,
    };
    let mut lib_last = f32::NAN;
    training::run(&mut lib, &ds, &[], &options_lib, |e| match e {
        training::Event::Eval { point, .. } => lib_last = point.val,
        training::Event::Step { .. } => bar.inc(1),
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    compare(last, lib_last)
}

fn save_curve(dir: &str, title: &str, curve: &[LossPoint]) -> Result<(), String> {
    let (_, svg) =
        plot::save_loss_curve(Path::new(dir), "curva", title, curve).map_err(|e| e.to_string())?;
    println!("La curva de pérdida está en {}", svg.display());
    Ok(())
}

/// Una pérdida con coma decimal, como en el libro.
fn pretty_loss(x: f32) -> String {
    format!("{x:.4}").replace('.', ",")
}

fn compare(mine: f32, lib: f32) -> Result<(), String> {
    let diff = (mine - lib).abs();
    println!(
        "La biblioteca, con la misma semilla: {}. Diferencia: {}.",
        pretty_loss(lib),
        pretty_loss(diff)
    );
    if diff <= TOLERANCE {
        println!("¡Bien! Tu modelo aprende como el del libro (a menos de 0,03).");
        Ok(())
    } else {
        Err(format!(
            "la diferencia ({}) pasa de 0,03: revisa tus piezas con `cargo ejercicios` (¿el orden \
             del RNG, un factor?)",
            pretty_loss(diff)
        ))
    }
}
