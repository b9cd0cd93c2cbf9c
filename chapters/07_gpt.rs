//! Capítulo 7 — El GPT completo: entrenar, guardar, reanudar y generar texto.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Args as ClapArgs, Parser, Subcommand};
use gpt_desde_cero::model::gpt::{self, GptConfig, Sampling};
use gpt_desde_cero::model::train::{Finish, Trainer};
use gpt_desde_cero::text::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::pretty;
use gpt_desde_cero::tools::training::{self, DeviceChoice, ModelArgs, Outputs, RunOptions};
use gpt_desde_cero::{eprintln, println};
use gpt_desde_cero::{model::ladder, tools::cli, tools::generation, tools::resources, tools::rng};

/// Capítulo 7: el GPT completo del cuaderno. Entrena, genera texto y recorre la escalera.
#[derive(Parser)]
#[command(name = "07_gpt")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Entrena el GPT y guarda puntos de control y la curva de pérdida en la carpeta de salidas
    Entrenar(TrainArgs),
    /// Genera texto con un punto de control guardado
    Generar(generation::GenerateArgs),
    /// Entrena cada peldaño de la construcción del modelo y compara sus pérdidas
    Escalera(LadderArgs),
}

#[derive(ClapArgs)]
struct TrainArgs {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    train: cli::TrainingArgs,
    #[command(flatten)]
    run: training::RunArgs,
}

#[derive(ClapArgs)]
struct LadderArgs {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Pasos de entrenamiento de cada peldaño
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = cli::at_least_one)]
    pasos: usize,
    /// Lotes por estimación de la pérdida final
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = cli::at_least_one)]
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
        let args: Args = cli::parse_with(|c| {
            c.mut_subcommand("entrenar", |e| cli::with_training_defaults(e, &[]))
        });
        match args.command {
            Command::Entrenar(a) => train_command(a),
            Command::Generar(a) => generate_command(a),
            Command::Escalera(a) => ladder_command(a),
        }
    })
}

/// El texto, sus identificadores y la división 90/10 (capítulos 1 a 3).
fn data(corpus: &cli::CorpusArgs) -> anyhow::Result<(Tokenizer, Dataset)> {
    let corpus = corpus.load()?;
    let tokenizer = Tokenizer::from_text(&corpus.text);
    let data = dataset::encode_text(&tokenizer, &corpus.text)?;
    Ok((tokenizer, Dataset::split(&data, TRAIN_FRACTION)))
}

fn train_command(a: TrainArgs) -> anyhow::Result<()> {
    let (device, kernels) = training::executor(a.run.dispositivo, a.run.implementacion)?;
    let (tokenizer, ds) = data(&a.corpus)?;
    let cfg = training::gpt_config(&a.train, &a.model, tokenizer.vocab_size())?;
    ds.check_block_size(cfg.block_size)?;
    let salidas = a.train.salidas.clone().expect("tiene valor por defecto");
    let seed = a.train.semilla.expect("tiene valor por defecto");
    let outputs = Outputs {
        last: salidas.join("gpt.safetensors"),
        best: salidas.join("gpt-mejor.safetensors"),
    };
    // La carpeta es de este proceso hasta el final; si algo falla antes de escribir nada en
    // ella, no queda una carpeta vacía.
    let _dir = training::check_before_training(&salidas, &cfg, &outputs, a.run.existing())?;
    let mut trainer = start_or_resume(
        &outputs,
        &cfg,
        seed,
        &tokenizer,
        &device,
        kernels,
        a.run.reanudar,
    )?;

    println!("Dispositivo: {}", training::device_name(&device));
    println!("Implementación: {}", trainer.kernels.name());
    println!(
        "Configuración «{}»:\n  {}",
        a.model.preset,
        training::describe(&cfg)
    );
    println!("{}", gpt::format_param_count(trainer.model.params.count()));

    training::install_ctrl_c();
    let options = RunOptions {
        time_limit: a.run.max_minutos,
        outputs: Some(outputs.clone()),
    };
    let vocabulary = tokenizer.chars().to_vec();
    let mut watch = training::Watch::new(
        &trainer,
        &salidas,
        format!("GPT, configuración {}", a.model.preset),
    );
    let finish = training::run(&mut trainer, &ds, &vocabulary, &options, |e| watch.event(e));
    let finish = finish?;
    watch.summary(&trainer, finish, &outputs);
    if finish == Finish::Interrupted {
        return Err(cli::Interrupted.into());
    }
    Ok(())
}

// ANCHOR: resume
/// Un entrenamiento nuevo o, con `--reanudar`, el guardado en `outputs.last`: el mismo
/// modelo, el mismo optimizador y el mismo paso, comprobando que es el mismo entrenamiento.
fn start_or_resume(
    outputs: &Outputs,
    cfg: &GptConfig,
    seed: u64,
    tokenizer: &Tokenizer,
    device: &candle_core::Device,
    kernels: std::sync::Arc<dyn gpt_desde_cero::model::kernels::Kernels>,
    resume: bool,
) -> anyhow::Result<Trainer> {
    if !resume {
        return Ok(Trainer::new(cfg, device, seed, kernels)?);
    }
    let path = &outputs.last;
    let trainer = training::load_to_resume(path, cfg, seed, tokenizer, device, kernels)?;
    println!(
        "Reanudando «{}» en el paso {}",
        path.display(),
        pretty::integer(trainer.progress.step)
    );
    Ok(trainer)
}
// ANCHOR_END: resume

fn generate_command(a: generation::GenerateArgs) -> anyhow::Result<()> {
    resources::check_memory("generar tantos caracteres", generation::memory(a.tokens))?;
    let (device, kernels) = training::executor(a.dispositivo, a.implementacion)?;
    let loaded = generation::load(&a.checkpoint, &device)?;
    let tokenizer = Tokenizer::from_chars(loaded.vocabulary.clone())?;
    let (text, prompt) = generation::prompt(&tokenizer, &a.prompt)?;
    let model = loaded.model;
    let (step, params) = (
        pretty::integer(loaded.progress.step),
        gpt::format_param_count(model.params.count()),
    );
    eprintln!(
        "Modelo: «{}» (paso {step}, {params})",
        a.checkpoint.display()
    );

    // ANCHOR: generate
    let sampling = Sampling {
        temperature: a.temperatura as f32,
        top_k: a.top_k,
        top_p: a.top_p,
    };
    let mut rng = rng::seeded(a.semilla);
    let mut out = generation::TextOut::new(a.ancho);
    out.write(&text);
    let start = Instant::now();
    let on_token = |id: u32| out.write(tokenizer.chars()[id as usize].encode_utf8(&mut [0; 4]));
    // Por defecto, con caché KV (mismo texto, mucho más rápido); con --sin-cache, el
    // contexto entero en cada carácter, como el cuaderno.
    let decoder = generation::decoder(&model, kernels.as_ref(), !a.sin_cache)?;
    gpt::generate(decoder, &prompt, a.tokens, sampling, &mut rng, on_token)?;
    let seconds = start.elapsed().as_secs_f64();
    out.finish()?;
    // ANCHOR_END: generate
    let how = ["con caché KV", "sin caché"][usize::from(a.sin_cache)];
    let rate = a.tokens as f64 / seconds.max(1e-9);
    eprintln!(
        "{} caracteres en {} s: {} caracteres/s ({how})",
        pretty::integer(a.tokens),
        pretty::decimal(seconds, 2),
        pretty::decimal(rate, 0)
    );
    Ok(())
}

fn ladder_command(a: LadderArgs) -> anyhow::Result<()> {
    let device = training::select_device(a.dispositivo)?;
    let (tokenizer, ds) = data(&a.corpus)?;
    let setup = ladder::LadderSetup {
        max_iters: a.pasos,
        eval_iters: a.eval_lotes,
        seed: a.semilla,
        ..ladder::LadderSetup::new(tokenizer.vocab_size())
    };
    ds.check_block_size(setup.block_size)?;
    resources::check_memory("la escalera", setup.training_memory())?;
    println!("Dispositivo: {}", training::device_name(&device));
    println!("{}\n", setup.describe());
    println!("| peldaño | parámetros | pérdida de validación | tiempo |");
    println!("| --- | ---: | ---: | ---: |");
    for rung in ladder::Rung::ALL {
        let bar = cli::step_bar(setup.max_iters as u64, rung.name());
        let result = ladder::train_rung(rung, &setup, &ds, &device, |done| {
            bar.set_position(done as u64)
        })?;
        bar.finish_and_clear();
        let (name, params, val, secs) = (
            rung.name(),
            pretty::integer(result.params),
            pretty::decimal(result.val_loss.into(), 4),
            pretty::decimal(result.seconds, 1),
        );
        println!("| {name} | {params} | {val} | {secs} s |");
    }
    Ok(())
}
