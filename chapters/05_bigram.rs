//! Capítulo 5 — El modelo bigram: a mano en ndarray y con autograd en candle.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use gpt_desde_cero::model::bigram::{self, Bigram, CandleBigram, HandBigram, TrainConfig};
use gpt_desde_cero::text::dataset::{self, Dataset, Split, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::lock::OutputDir;
use gpt_desde_cero::{eprintln, println};
use gpt_desde_cero::{
    text::batches, tools::cli, tools::plot, tools::pretty, tools::resources, tools::rng,
};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// Pérdida, gradiente y AdamW escritos a mano sobre ndarray
    Ndarray,
    /// La misma tabla en candle, con autograd y el AdamW de candle-nn
    Candle,
}

/// Capítulo 5: entrena el modelo bigram del cuaderno y genera texto antes y después.
#[derive(Parser)]
#[command(name = "05_bigram")]
struct Args {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Pasos de entrenamiento
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pasos: usize,
    /// Secuencias por lote (batch_size)
    #[arg(long, value_name = "N", default_value_t = 32)]
    lote: usize,
    /// Longitud del contexto (block_size)
    #[arg(long, value_name = "N", default_value_t = 8)]
    bloque: usize,
    /// Tasa de aprendizaje de AdamW
    #[arg(long, value_name = "X", default_value_t = 1e-3, value_parser = cli::decimal::<f32>)]
    lr: f32,
    /// Cada cuántos pasos se estima la pérdida
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    eval_cada: usize,
    /// Lotes que promedia cada estimación de la pérdida
    #[arg(long, value_name = "N", default_value_t = 200)]
    eval_lotes: usize,
    /// Semilla del generador aleatorio (inicialización, lotes y muestreo)
    #[arg(long, value_name = "N", default_value_t = rng::DEFAULT_SEED)]
    semilla: u64,
    /// Con qué se calcula: a mano (ndarray) o con autograd (candle)
    #[arg(long, value_enum, default_value_t = Engine::Ndarray)]
    motor: Engine,
    /// Carpeta donde escribir la curva de pérdida (SVG y CSV)
    #[arg(long, value_name = "RUTA", default_value = "salidas")]
    salidas: PathBuf,
}

fn main() -> ExitCode {
    cli::run(|| {
        let args: Args = cli::parse();
        anyhow::ensure!(args.pasos > 0, "--pasos debe ser al menos 1");
        anyhow::ensure!(args.lote > 0, "--lote debe ser al menos 1");
        anyhow::ensure!(args.bloque > 0, "--bloque debe ser al menos 1");
        anyhow::ensure!(args.eval_cada > 0, "--eval-cada debe ser al menos 1");
        anyhow::ensure!(args.eval_lotes > 0, "--eval-lotes debe ser al menos 1");
        anyhow::ensure!(
            args.lr.is_finite() && args.lr > 0.0,
            "--lr debe ser un número positivo"
        );
        // La carpeta de salida, antes de entrenar: un nombre equivocado no cuesta el trabajo,
        // y otro proceso no la usa a la vez (los temporales que dejó uno que murió se borran).
        let _output_dir = OutputDir::claim(&args.salidas)?;
        let corpus = args.corpus.load()?;
        let tokenizer = Tokenizer::from_text(&corpus.text);
        let data = dataset::encode_text(&tokenizer, &corpus.text)?;
        let ds = Dataset::split(&data, TRAIN_FRACTION);
        ds.check_block_size(args.bloque)?;
        let vocab = tokenizer.vocab_size();
        let cfg = TrainConfig {
            steps: args.pasos,
            batch_size: args.lote,
            block_size: args.bloque,
            lr: args.lr,
            eval_interval: args.eval_cada,
            eval_iters: args.eval_lotes,
        };
        resources::check_memory("entrenar el bigram", bigram::training_memory(&cfg, vocab))?;

        // ANCHOR: init
        let mut rng = rng::seeded(args.semilla);
        let table = bigram::initial_table(vocab, &mut rng);
        println!(
            "La tabla del bigram: forma {}, {} parámetros",
            pretty::shape(table.shape()),
            table.len()
        );

        let (xb, yb) = batches::get_batch(&ds, Split::Train, 4, args.bloque, &mut rng);
        let (x, y) = (xb.as_slice().unwrap(), yb.as_slice().unwrap());
        let logits = bigram::logits(&table, x);
        println!(
            "Logits de un lote de 4×{}: forma {}",
            args.bloque,
            pretty::shape(logits.shape())
        );
        println!(
            "Pérdida inicial en ese lote: {:.4}\n\
             (si la tabla predijera la distribución uniforme: ln {vocab} = {:.4})",
            bigram::cross_entropy(logits.view(), y),
            (vocab as f32).ln()
        );
        // ANCHOR_END: init
        println!();

        // ANCHOR: before
        // Como el cuaderno, empezamos por el salto de línea (o por el primer carácter del
        // vocabulario, si el corpus no tiene ninguno).
        let start = tokenizer.encode("\n").map_or(0, |ids| ids[0]);
        let text = tokenizer.decode(&bigram::generate(&table, start, 100, &mut rng))?;
        println!(
            "Texto antes de entrenar (100 caracteres):\n{}",
            pretty::wrap(&text, 80)
        );
        // ANCHOR_END: before
        println!();

        let mut model: Box<dyn Bigram> = match args.motor {
            Engine::Ndarray => Box::new(HandBigram::new(table, args.lr)),
            Engine::Candle => Box::new(CandleBigram::new(
                &table,
                f64::from(args.lr),
                &candle_core::Device::Cpu,
            )?),
        };
        let engine = match args.motor {
            Engine::Ndarray => "ndarray, a mano",
            Engine::Candle => "candle, con autograd",
        };
        println!(
            "Entrenando {} pasos con {engine} (lote {}, bloque {}, lr {}):",
            cfg.steps, cfg.batch_size, cfg.block_size, cfg.lr
        );
        // ANCHOR: train
        let bar = cli::step_bar(cfg.steps as u64, "Entrenando");
        let started = Instant::now();
        let report = bigram::train(
            model.as_mut(),
            &ds,
            &cfg,
            &mut rng,
            |_, _| bar.inc(1),
            |p| {
                bar.suspend(|| {
                    println!(
                        "paso {:>6}: pérdida de entrenamiento {:.4}, de validación {:.4}",
                        p.step, p.train, p.val
                    )
                })
            },
        )?;
        bar.finish_and_clear();
        // ANCHOR_END: train
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "Tiempo de entrenamiento (con las estimaciones): {seconds:.2} s, {:.0} pasos/s",
            cfg.steps as f64 / seconds
        );
        println!("Pérdida del último lote: {:.4}", report.last_loss);
        anyhow::ensure!(
            report.last_loss.is_finite()
                && report
                    .curve
                    .iter()
                    .all(|p| p.train.is_finite() && p.val.is_finite()),
            "la pérdida dejó de ser un número finito: el entrenamiento se desestabilizó. \
             Prueba con una tasa de aprendizaje menor (--lr)"
        );

        let stem = match args.motor {
            Engine::Ndarray => "bigram_ndarray",
            Engine::Candle => "bigram_candle",
        };
        let (csv, svg) = plot::save_loss_curve(
            &args.salidas,
            stem,
            "Bigram: pérdida durante el entrenamiento",
            &report.curve,
        )?;
        println!("Curva de pérdida: {} y {}", svg.display(), csv.display());
        println!();

        // ANCHOR: after
        let table = model.table()?;
        let text = tokenizer.decode(&bigram::generate(&table, start, 500, &mut rng))?;
        println!(
            "Texto después de entrenar (500 caracteres):\n{}",
            pretty::wrap(&text, 80)
        );
        // ANCHOR_END: after
        Ok(())
    })
}
