//! Capítulo 7 — El GPT completo: entrenar, guardar, reanudar y generar texto.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args as ClapArgs, Parser, Subcommand};
use gpt_desde_cero::model::gpt::{self, GptConfig, Preset, Sampling};
use gpt_desde_cero::model::train::{
    self, DeviceChoice, Event, Finish, Outputs, RunOptions, Trainer,
};
use gpt_desde_cero::text::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::checkpoint::{self, CheckpointError};
use gpt_desde_cero::tools::lock::OutputDir;
use gpt_desde_cero::{eprintln, println};
use gpt_desde_cero::{
    fast::kernels, fast::kv_cache, model::ladder, tools::cli, tools::plot, tools::pretty,
    tools::resources, tools::rng,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Capítulo 7: el GPT completo del cuaderno. Entrena, genera texto y recorre la escalera.
#[derive(Parser)]
#[command(name = "07_gpt")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Entrena el GPT y guarda checkpoints y la curva de pérdida en la carpeta de salidas
    Entrenar(TrainArgs),
    /// Genera texto con un checkpoint guardado
    Generar(GenerateArgs),
    /// Entrena cada peldaño de la construcción del modelo y compara sus pérdidas
    Escalera(LadderArgs),
}

#[derive(ClapArgs)]
struct TrainArgs {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Configuración de partida (las opciones de abajo cambian valores sueltos)
    #[arg(long, value_enum, default_value_t = Preset::Cpu)]
    preset: Preset,
    /// Secuencias por lote (batch_size)
    #[arg(long, value_name = "N")]
    lote: Option<usize>,
    /// Longitud del contexto (block_size)
    #[arg(long, value_name = "N")]
    bloque: Option<usize>,
    /// Dimensión de las incrustaciones (n_embd)
    #[arg(long, value_name = "N")]
    embd: Option<usize>,
    /// Cabezas de atención por bloque (n_head)
    #[arg(long, value_name = "N")]
    cabezas: Option<usize>,
    /// Número de bloques (n_layer)
    #[arg(long, value_name = "N")]
    capas: Option<usize>,
    /// Probabilidad de dropout
    #[arg(long, value_name = "P", value_parser = cli::decimal::<f32>)]
    dropout: Option<f32>,
    /// Tasa de aprendizaje de AdamW
    #[arg(long, value_name = "TASA", value_parser = cli::decimal::<f64>)]
    lr: Option<f64>,
    /// Pasos de entrenamiento en total (max_iters)
    #[arg(long, value_name = "N")]
    pasos: Option<usize>,
    /// Estima la pérdida cada N pasos (eval_interval)
    #[arg(long, value_name = "N")]
    eval_cada: Option<usize>,
    /// Lotes por estimación de la pérdida (eval_iters)
    #[arg(long, value_name = "N")]
    eval_lotes: Option<usize>,
    /// Semilla de la inicialización, los lotes y el dropout
    #[arg(long, value_name = "N", default_value_t = rng::DEFAULT_SEED)]
    semilla: u64,
    /// Para limpiamente (estimación y checkpoint) pasados estos minutos
    #[arg(long, value_name = "MIN", value_parser = cli::decimal::<f64>)]
    max_minutos: Option<f64>,
    /// Dónde entrenar (por defecto la GPU si el programa tiene CUDA y hay una; si no, la CPU)
    #[arg(long, value_enum)]
    dispositivo: Option<DeviceChoice>,
    /// Carpeta de los checkpoints y la curva de pérdida
    #[arg(long, value_name = "DIR", default_value = "salidas")]
    salidas: PathBuf,
    /// Continúa el entrenamiento guardado en <salidas>/gpt.safetensors
    #[arg(long, conflicts_with = "sobrescribir")]
    reanudar: bool,
    /// Empieza de cero aunque <salidas> ya tenga checkpoints, y los reemplaza
    #[arg(long)]
    sobrescribir: bool,
}

#[derive(ClapArgs)]
struct GenerateArgs {
    /// Checkpoint con el modelo entrenado
    #[arg(
        long,
        value_name = "RUTA",
        default_value = "salidas/gpt-mejor.safetensors"
    )]
    checkpoint: PathBuf,
    /// Texto inicial (por defecto un salto de línea, como el cuaderno)
    #[arg(
        long,
        value_name = "TEXTO",
        default_value = "\n",
        hide_default_value = true
    )]
    prompt: String,
    /// Cuántos caracteres generar
    #[arg(long, value_name = "N", default_value_t = 500)]
    tokens: usize,
    /// Temperatura: menos de 1 es más conservador; más de 1, más aventurado
    #[arg(long, value_name = "T", default_value_t = 1.0, value_parser = cli::decimal::<f32>)]
    temperatura: f32,
    /// Sortea solo entre los K caracteres más probables
    #[arg(long, value_name = "K")]
    top_k: Option<usize>,
    /// Semilla del sorteo: la misma semilla da el mismo texto
    #[arg(long, value_name = "N", default_value_t = rng::DEFAULT_SEED)]
    semilla: u64,
    /// Parte las líneas a N columnas, entre palabras (por defecto, 80 en una terminal; en una
    /// tubería o un archivo, el texto tal cual); 0, nunca
    #[arg(long, value_name = "N")]
    ancho: Option<usize>,
    /// Dónde ejecutar el modelo
    #[arg(long, value_enum)]
    dispositivo: Option<DeviceChoice>,
    /// Sin caché KV: el bucle del cuaderno, que recalcula todo el contexto en cada carácter
    /// (mucho más lento; el texto es el mismo)
    #[arg(long)]
    sin_cache: bool,
}

#[derive(ClapArgs)]
struct LadderArgs {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Pasos de entrenamiento de cada peldaño
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pasos: usize,
    /// Lotes por estimación de la pérdida final
    #[arg(long, value_name = "N", default_value_t = 50)]
    eval_lotes: usize,
    /// Semilla
    #[arg(long, value_name = "N", default_value_t = rng::DEFAULT_SEED)]
    semilla: u64,
    /// Dónde entrenar
    #[arg(long, value_enum)]
    dispositivo: Option<DeviceChoice>,
}

fn main() -> ExitCode {
    // Antes que nada (véase su documentación): en la CPU el entrenamiento ya usa dos núcleos,
    // una mitad del lote en cada uno, y la generación y la escalera tienen poco trabajo por
    // operación: cada operación de candle, en un solo hilo.
    cli::single_thread_ops();
    cli::run(|| {
        let args: Args = cli::parse();
        match args.command {
            Command::Entrenar(a) => train_command(a),
            Command::Generar(a) => generate_command(a),
            Command::Escalera(a) => ladder_command(a),
        }
    })
}

/// La configuración del preset con los valores que el usuario cambió.
fn config_from(a: &TrainArgs, vocab_size: usize) -> anyhow::Result<GptConfig> {
    let mut c = GptConfig::preset(a.preset, vocab_size);
    let set = |slot: &mut usize, v: Option<usize>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut c.batch_size, a.lote);
    set(&mut c.block_size, a.bloque);
    set(&mut c.n_embd, a.embd);
    set(&mut c.n_head, a.cabezas);
    set(&mut c.n_layer, a.capas);
    set(&mut c.max_iters, a.pasos);
    set(&mut c.eval_interval, a.eval_cada);
    set(&mut c.eval_iters, a.eval_lotes);
    c.dropout = a.dropout.unwrap_or(c.dropout);
    c.learning_rate = a.lr.unwrap_or(c.learning_rate);
    c.validate()?;
    Ok(c)
}

fn describe(c: &GptConfig) -> String {
    format!(
        "lote {}, bloque {}, n_embd {}, {} cabezas, {} capas, dropout {}, lr {},\n  {} pasos \
         (estimación cada {} pasos con {} lotes)",
        c.batch_size,
        c.block_size,
        c.n_embd,
        c.n_head,
        c.n_layer,
        c.dropout,
        c.learning_rate,
        c.max_iters,
        c.eval_interval,
        c.eval_iters
    )
}

fn step_bar(total: usize, done: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:25} {pos}/{len} pasos · {prefix} · quedan {eta}")
            .expect("plantilla fija"),
    );
    bar.set_position(done as u64);
    bar
}

fn train_command(a: TrainArgs) -> anyhow::Result<()> {
    let device = train::select_device(a.dispositivo)?;
    let corpus = a.corpus.load()?;
    let tokenizer = Tokenizer::from_text(&corpus.text);
    let data = dataset::encode_text(&tokenizer, &corpus.text)?;
    let ds = Dataset::split(&data, TRAIN_FRACTION);
    let cfg = config_from(&a, tokenizer.vocab_size())?;
    ds.check_block_size(cfg.block_size)?;
    let time_limit = time_limit(a.max_minutos)?;
    let outputs = Outputs {
        last: a.salidas.join("gpt.safetensors"),
        best: a.salidas.join("gpt-mejor.safetensors"),
    };
    // La carpeta es de este proceso hasta el final; si algo falla antes de escribir nada en
    // ella, no queda una carpeta vacía.
    let _output_dir = check_before_training(&a, &cfg, &outputs)?;

    // ANCHOR: resume
    let mut trainer = if a.reanudar {
        let path = &outputs.last;
        let loaded = checkpoint::load(path, &device)?;
        if loaded.vocabulary != tokenizer.chars() {
            return Err(CheckpointError::OtherVocabulary {
                path: path.clone(),
                saved: loaded.vocabulary.len(),
                current: tokenizer.vocab_size(),
            }
            .into());
        }
        let mut differences = checkpoint::resume_differences(&loaded.config, &cfg);
        if loaded.progress.seed != a.semilla {
            differences.push(format!(
                "semilla = {} en el checkpoint y {} ahora",
                loaded.progress.seed, a.semilla
            ));
        }
        if !differences.is_empty() {
            return Err(CheckpointError::OtherConfig {
                path: path.clone(),
                differences,
            }
            .into());
        }
        let mut t = Trainer::from_checkpoint(loaded, path, kernels::for_device(&device))?;
        // Los pasos totales y las estimaciones sí se pueden cambiar al reanudar.
        t.model.config = cfg.clone();
        println!(
            "Reanudando «{}» en el paso {}",
            path.display(),
            t.progress.step
        );
        t
    } else {
        Trainer::new(&cfg, &device, a.semilla, kernels::for_device(&device))?
    };
    // ANCHOR_END: resume
    if trainer.progress.step >= cfg.max_iters {
        anyhow::bail!(
            "el checkpoint ya tiene {} pasos y se pidieron {}: usa --pasos con un número mayor",
            trainer.progress.step,
            cfg.max_iters
        );
    }

    println!("Dispositivo: {}", train::device_name(&device));
    println!("Configuración (preset {}):\n  {}", a.preset, describe(&cfg));
    println!("{}", gpt::format_param_count(trainer.model.params.count()));

    train::install_ctrl_c();
    let start_step = trainer.progress.step;
    let tokens_per_step = (cfg.batch_size * cfg.block_size) as f64;
    let bar = step_bar(cfg.max_iters, start_step);
    let mut history = trainer.progress.history.clone();
    let start = Instant::now();
    let options = RunOptions {
        time_limit,
        outputs: Some(outputs.clone()),
    };
    let vocabulary = tokenizer.chars().to_vec();
    let finish = train::run(
        &mut trainer,
        &ds,
        &vocabulary,
        &options,
        |event| match event {
            Event::Eval { point, best } => {
                history.push(point);
                let mark = if best { " (mejor)" } else { "" };
                bar.suspend(|| {
                    println!(
                        "paso {}: pérdida de entrenamiento {:.4}, de validación {:.4}{mark}",
                        point.step, point.train, point.val
                    )
                });
                let title = format!("GPT, preset {}", a.preset);
                if let Err(e) = plot::save_loss_curve(&a.salidas, "gpt-curva", &title, &history) {
                    bar.suspend(|| eprintln!("aviso: {e}"));
                }
            }
            Event::Step { step, loss } => {
                let done = (step + 1 - start_step) as f64;
                let secs = start.elapsed().as_secs_f64().max(1e-9);
                bar.set_position(step as u64 + 1);
                bar.set_message(format!("pérdida {loss:.3}"));
                bar.set_prefix(format!("{:.0} tokens/s", done * tokens_per_step / secs));
            }
        },
    );
    bar.finish_and_clear();
    let finish = finish?;

    let steps = trainer.progress.step - start_step;
    let secs = start.elapsed().as_secs_f64();
    match finish {
        Finish::Completed => println!("Entrenamiento completo: {} pasos.", trainer.progress.step),
        Finish::OutOfTime => println!(
            "Se acabó el tiempo (--max-minutos): parado en el paso {}.",
            trainer.progress.step
        ),
        Finish::Interrupted => println!(
            "Interrumpido con Ctrl-C: parado en el paso {}, con su checkpoint guardado \
             (sigue con --reanudar).",
            trainer.progress.step
        ),
    }
    println!(
        "Tiempo: {steps} pasos en {secs:.1} s ({:.1} ms/paso de media con las estimaciones, {:.0} tokens/s)",
        1000.0 * secs / steps.max(1) as f64,
        steps as f64 * tokens_per_step / secs
    );
    if let Some(best) = trainer.progress.best_val {
        println!("Mejor pérdida de validación: {best:.4}");
    }
    println!(
        "Checkpoints: {} (para reanudar)\ny {} (el de mejor validación)",
        outputs.last.display(),
        outputs.best.display()
    );
    println!(
        "Curva de pérdida: {} y {}",
        a.salidas.join("gpt-curva.svg").display(),
        a.salidas.join("gpt-curva.csv").display()
    );
    if finish == Finish::Interrupted {
        return Err(cli::Interrupted.into());
    }
    Ok(())
}

/// `--max-minutos`, comprobado: un número finito, no negativo, que quepa en un `Duration`.
fn time_limit(minutes: Option<f64>) -> anyhow::Result<Option<Duration>> {
    let Some(m) = minutes else { return Ok(None) };
    // 0 vale: un solo paso, con su estimación y su checkpoint.
    if !(m.is_finite() && m >= 0.0) {
        anyhow::bail!("--max-minutos debe ser un número de minutos (0 o más) y es {m}");
    }
    let limit = Duration::try_from_secs_f64(m * 60.0)
        .map_err(|_| anyhow::anyhow!("--max-minutos es demasiado grande ({m})"))?;
    Ok(Some(limit))
}

/// Todo lo que puede impedir el entrenamiento, comprobado antes de empezarlo: que caben en la
/// memoria el modelo y en el disco sus checkpoints, que la carpeta de salida sirve y no la
/// usa otro proceso (se queda reservada mientras viva lo que devuelve), y que no se pisa un
/// modelo entrenado sin pedirlo.
fn check_before_training(
    a: &TrainArgs,
    cfg: &GptConfig,
    outputs: &Outputs,
) -> anyhow::Result<OutputDir> {
    resources::check_memory("entrenar este modelo", train::training_memory(cfg))?;
    let dir = OutputDir::claim(&a.salidas)?;
    let existing = [&outputs.last, &outputs.best]
        .into_iter()
        .find(|p| p.exists());
    if let Some(existing) = existing.filter(|_| !a.reanudar && !a.sobrescribir) {
        anyhow::bail!(
            "«{}» ya tiene un modelo entrenado y empezar de cero lo reemplazaría. Para \
             seguir entrenándolo usa --reanudar; para reemplazarlo, --sobrescribir; o \
             elige otra carpeta con --salidas",
            existing.display()
        );
    }
    if a.reanudar && !outputs.last.exists() {
        anyhow::bail!(
            "no hay nada que reanudar: no existe «{}». Entrena primero sin --reanudar, o \
             indica con --salidas la carpeta del entrenamiento",
            outputs.last.display()
        );
    }
    // Dos checkpoints (el último y el mejor) y el temporal de la escritura en curso; los que
    // ya existen se reemplazan y su sitio se reutiliza.
    let one = train::checkpoint_bytes(cfg).unwrap_or(u64::MAX);
    let existing: u64 = [&outputs.last, &outputs.best]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let needed = one.saturating_mul(3).saturating_sub(existing);
    resources::check_disk("guardar los checkpoints", &a.salidas, needed)?;
    Ok(dir)
}

fn generate_command(a: GenerateArgs) -> anyhow::Result<()> {
    if !(a.temperatura.is_finite() && a.temperatura > 0.0) {
        anyhow::bail!(
            "la temperatura debe ser un número positivo y es {}",
            a.temperatura
        );
    }
    if a.top_k == Some(0) {
        anyhow::bail!("--top-k debe ser al menos 1");
    }
    // El texto generado se guarda entero (un identificador y su carácter por posición).
    let text_bytes = (a.tokens as u64).checked_mul(8);
    resources::check_memory("generar tantos caracteres", text_bytes)?;
    let device = train::select_device(a.dispositivo)?;
    let loaded = load_for_generation(&a.checkpoint, &device)?;
    let tokenizer = Tokenizer::from_chars(loaded.vocabulary.clone())?;
    if a.prompt.is_empty() {
        anyhow::bail!("el texto inicial (--prompt) no puede estar vacío");
    }
    // El texto inicial por defecto es un salto de línea, como en el cuaderno; un modelo
    // entrenado con un texto sin saltos de línea empieza por su primer carácter.
    let mut a = a;
    if a.prompt == "\n" && !loaded.vocabulary.contains(&'\n') {
        a.prompt = loaded.vocabulary[0].to_string();
        eprintln!(
            "Nota: el vocabulario del modelo no tiene salto de línea; empiezo por «{}».",
            a.prompt
        );
    }
    let context = "el texto inicial (--prompt) tiene un carácter que el modelo no conoce";
    let text = tokenizer.adapt(&a.prompt).context(context)?;
    if text != a.prompt.as_str() {
        eprintln!(
            "Nota: el texto inicial se pasó a la forma de Unicode del vocabulario (tildes como en el corpus)."
        );
    }
    let prompt = tokenizer.encode(&text).context(context)?;
    eprintln!(
        "Modelo: «{}» (paso {}, {})",
        a.checkpoint.display(),
        loaded.progress.step,
        gpt::format_param_count(loaded.model.params.count())
    );

    // ANCHOR: generate
    let sampling = Sampling {
        temperature: a.temperatura,
        top_k: a.top_k,
    };
    let mut rng = rng::seeded(a.semilla);
    let mut out = std::io::stdout().lock();
    // En una terminal, renglones de 80 columnas partidos entre palabras; en una tubería o un
    // archivo, exactamente los caracteres del modelo.
    let width = a.ancho.unwrap_or(if out.is_terminal() { 80 } else { 0 });
    let mut lines = pretty::Wrapper::new(width); // con 0, sin partir
    let mut write_error = None;
    let mut write = |out: &mut std::io::StdoutLock, piece: &str| {
        if let Err(e) = out.write_all(piece.as_bytes()).and_then(|_| out.flush()) {
            write_error.get_or_insert(e);
        }
    };
    write(&mut out, &lines.push(&text));
    let start = Instant::now();
    let on_token = |id: u32| {
        let ch = tokenizer.chars()[id as usize];
        write(&mut out, &lines.push(ch.encode_utf8(&mut [0; 4])));
    };
    // Por defecto, con caché KV (mismo texto, mucho más rápido); con --sin-cache, el del libro.
    let model = &loaded
        .model
        .clone()
        .with_kernels(kernels::for_device(&device));
    if a.sin_cache {
        gpt::generate(model, &prompt, a.tokens, sampling, &mut rng, on_token)?;
    } else {
        kv_cache::generate(model, &prompt, a.tokens, sampling, &mut rng, on_token)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let last = lines.finish() + "\n";
    write(&mut out, &last);
    // ANCHOR_END: generate
    let how = if a.sin_cache {
        "sin caché"
    } else {
        "con caché KV"
    };
    let rate = a.tokens as f64 / seconds.max(1e-9);
    eprintln!(
        "{} caracteres en {seconds:.2} s: {rate:.0} caracteres/s ({how})",
        a.tokens
    );
    if let Some(e) = write_error {
        anyhow::bail!(
            "no se pudo escribir el texto generado: {}",
            resources::io_detail(&e)
        );
    }
    Ok(())
}

fn load_for_generation(
    path: &Path,
    device: &candle_core::Device,
) -> anyhow::Result<checkpoint::Loaded> {
    if !path.exists() {
        anyhow::bail!(
            "no existe el checkpoint «{}»; entrena primero con `07_gpt entrenar` o indica otro con --checkpoint",
            path.display()
        );
    }
    Ok(checkpoint::load(path, device)?)
}

fn ladder_command(a: LadderArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.pasos > 0, "--pasos debe ser al menos 1");
    anyhow::ensure!(a.eval_lotes > 0, "--eval-lotes debe ser al menos 1");
    let device = train::select_device(a.dispositivo)?;
    let corpus = a.corpus.load()?;
    let tokenizer = Tokenizer::from_text(&corpus.text);
    let data = dataset::encode_text(&tokenizer, &corpus.text)?;
    let ds = Dataset::split(&data, TRAIN_FRACTION);
    let setup = ladder::LadderSetup {
        max_iters: a.pasos,
        eval_iters: a.eval_lotes,
        seed: a.semilla,
        ..ladder::LadderSetup::new(tokenizer.vocab_size())
    };
    ds.check_block_size(setup.block_size)?;
    // El peldaño más grande (el último, con el doble de capas); la escalera estima su pérdida
    // lote a lote, así que de la estimación solo cuenta uno.
    let largest = GptConfig {
        eval_iters: 1,
        ..setup.gpt_config(ladder::Rung::DropoutAndScale)
    };
    resources::check_memory("la escalera", train::training_memory(&largest))?;
    println!("Dispositivo: {}", train::device_name(&device));
    println!("{}", setup.describe());
    println!();
    println!("| peldaño | parámetros | pérdida de validación | tiempo |");
    println!("| --- | ---: | ---: | ---: |");
    let total = setup.max_iters.saturating_add(setup.eval_iters);
    for rung in ladder::Rung::ALL {
        let bar = cli::step_bar(total as u64, rung.name());
        bar.set_prefix(format!(
            "(los últimos {} son la estimación)",
            setup.eval_iters
        ));
        let result = ladder::train_rung(rung, &setup, &ds, &device, |done| {
            bar.set_position(done as u64)
        })?;
        bar.finish_and_clear();
        println!(
            "| {} | {} | {:.4} | {:.1} s |",
            rung.name(),
            result.params,
            result.val_loss,
            result.seconds
        );
    }
    Ok(())
}
