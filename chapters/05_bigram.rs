//! Capítulo 5 — El modelo bigrama: a mano en ndarray y con autograd en candle.

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

/// Capítulo 5: entrena el modelo bigrama del cuaderno y genera texto antes y después.
#[derive(Parser)]
#[command(name = "05_bigram")]
struct Args {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    #[command(flatten)]
    train: cli::TrainingArgs,
    /// Con qué se calcula: a mano (ndarray) o con autograd (candle)
    #[arg(long, value_enum, default_value_t = Engine::Ndarray)]
    motor: Engine,
}

/// Los valores por defecto del capítulo: los del cuaderno para el bigrama.
const DEFAULTS: &[(&str, &str)] = &[
    ("pasos", "10000"),
    ("lote", "32"),
    ("bloque", "8"),
    ("lr", "0.001"),
    ("eval_cada", "1000"),
    ("eval_lotes", "200"),
];

fn main() -> ExitCode {
    cli::run(|| {
        let args: Args = cli::parse_with(|c| cli::with_training_defaults(c, DEFAULTS));
        let t = &args.train;
        let (steps, lote, bloque) = (t.pasos.unwrap(), t.lote.unwrap(), t.bloque.unwrap());
        let (lr, semilla, salidas) = (
            t.lr.unwrap(),
            t.semilla.unwrap(),
            t.salidas.clone().unwrap(),
        );
        // La carpeta de salida, antes de entrenar: un nombre equivocado no cuesta el trabajo,
        // y otro proceso no la usa a la vez (los temporales que dejó uno que murió se borran).
        let _output_dir = OutputDir::claim(&salidas)?;
        let corpus = args.corpus.load()?;
        let tokenizer = Tokenizer::from_text(&corpus.text);
        let data = dataset::encode_text(&tokenizer, &corpus.text)?;
        let ds = Dataset::split(&data, TRAIN_FRACTION);
        ds.check_block_size(bloque)?;
        let vocab = tokenizer.vocab_size();
        let cfg = TrainConfig {
            steps,
            batch_size: lote,
            block_size: bloque,
            lr: lr as f32,
            eval_interval: t.eval_cada.unwrap(),
            eval_iters: t.eval_lotes.unwrap(),
        };
        resources::check_memory("entrenar el bigrama", bigram::training_memory(&cfg, vocab))?;

        // ANCHOR: init
        let mut rng = rng::seeded(semilla);
        let table = bigram::initial_table(vocab, &mut rng);
        println!(
            "La tabla del bigrama: forma {}, {} parámetros",
            pretty::shape(table.shape()),
            pretty::integer(table.len())
        );

        let (xb, yb) = batches::get_batch(&ds, Split::Train, 4, bloque, &mut rng);
        let (x, y) = (xb.as_slice().unwrap(), yb.as_slice().unwrap());
        let logits = bigram::logits(&table, x);
        println!(
            "Logits de un lote de 4×{}: forma {}",
            bloque,
            pretty::shape(logits.shape())
        );
        println!(
            "Pérdida inicial en ese lote: {}\n\
             (si la tabla predijera la distribución uniforme: ln {vocab} = {})",
            pretty::decimal(bigram::cross_entropy(logits.view(), y).into(), 4),
            pretty::decimal((vocab as f32).ln().into(), 4)
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
            Engine::Ndarray => Box::new(HandBigram::new(table, cfg.lr)),
            Engine::Candle => Box::new(CandleBigram::new(&table, lr, &candle_core::Device::Cpu)?),
        };
        let engine = match args.motor {
            Engine::Ndarray => "ndarray, a mano",
            Engine::Candle => "candle, con autograd",
        };
        println!(
            "Entrenando {} pasos con {engine} (lote {}, bloque {}, lr {}):",
            pretty::integer(cfg.steps),
            pretty::integer(cfg.batch_size),
            pretty::integer(cfg.block_size),
            pretty::number(cfg.lr)
        );
        // ANCHOR: train
        let bar = cli::step_bar(cfg.steps as u64, "Entrenando");
        let started = Instant::now();
        let mut step_losses = Vec::with_capacity(cfg.steps);
        let report = bigram::train(
            model.as_mut(),
            &ds,
            &cfg,
            &mut rng,
            |step, loss| {
                step_losses.push((step, loss));
                bar.inc(1)
            },
            |p| {
                bar.suspend(|| {
                    println!(
                        "paso {:>6}: pérdida de entrenamiento {}, de validación {}",
                        pretty::integer(p.step),
                        pretty::decimal(p.train.into(), 4),
                        pretty::decimal(p.val.into(), 4)
                    )
                })
            },
        )?;
        bar.finish_and_clear();
        // ANCHOR_END: train
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "Tiempo de entrenamiento (con las estimaciones): {} s, {} pasos/s",
            pretty::decimal(seconds, 2),
            pretty::decimal(cfg.steps as f64 / seconds, 0)
        );
        println!(
            "Pérdida del último lote: {}",
            pretty::decimal(report.last_loss.into(), 4)
        );
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
        let (csv, svg) = plot::save_loss_curve_with_steps(
            &salidas,
            stem,
            "Bigrama: pérdida durante el entrenamiento",
            &report.curve,
            &step_losses,
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
