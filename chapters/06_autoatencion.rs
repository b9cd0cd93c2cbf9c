//! Capítulo 6 — Autoatención: del promedio con bucles a una cabeza entrenada sobre el Quijote.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use candle_core::Device;
use clap::Parser;
use gpt_desde_cero::model::attention::{
    self, HeadModel, HeadModelConfig, HeadWeights, TrainConfig,
};
use gpt_desde_cero::model::bigram::{self, HandBigram};
use gpt_desde_cero::model::layers::Params;
use gpt_desde_cero::text::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::lock::OutputDir;
use gpt_desde_cero::{eprintln, print, println};
use gpt_desde_cero::{tools::cli, tools::heatmap, tools::pretty, tools::resources, tools::rng};

/// Capítulo 6: el truco matemático de la autoatención, una cabeza en ndarray y en candle, y un
/// modelo pequeño con una cabeza entrenado sobre el corpus, con el mapa de sus pesos de atención.
#[derive(Parser)]
#[command(name = "06_autoatencion")]
struct Args {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    #[command(flatten)]
    train: cli::TrainingArgs,
    /// Frase cuyos pesos de atención se dibujan
    #[arg(long, value_name = "TEXTO", default_value = "En un lugar de la Mancha")]
    frase: String,
}

/// Los valores por defecto del capítulo (el modelo con una cabeza).
const DEFAULTS: &[(&str, &str)] = &[
    ("pasos", "5000"),
    ("lote", "32"),
    ("bloque", "32"),
    ("lr", "0.003"),
    ("eval_cada", "500"),
    ("eval_lotes", "200"),
];

fn main() -> ExitCode {
    // El modelo es diminuto (matrices de 32 × 32): un hilo es lo más rápido.
    cli::single_thread_ops();
    cli::run(|| {
        let args: Args = cli::parse_with(|c| cli::with_training_defaults(c, DEFAULTS));
        let t = &args.train;
        let (pasos, lote, bloque) = (t.pasos.unwrap(), t.lote.unwrap(), t.bloque.unwrap());
        let (lr, eval_cada, eval_lotes) =
            (t.lr.unwrap(), t.eval_cada.unwrap(), t.eval_lotes.unwrap());
        let (semilla, salidas) = (t.semilla.unwrap(), t.salidas.clone().unwrap());
        anyhow::ensure!(!args.frase.is_empty(), "--frase no puede estar vacía");
        // La carpeta de salida, antes de entrenar: un nombre equivocado no cuesta el trabajo,
        // y otro proceso no la usa a la vez (los temporales que dejó uno que murió se borran).
        let _output_dir = OutputDir::claim(&salidas)?;
        let corpus = args.corpus.load()?;
        let tokenizer = Tokenizer::from_text(&corpus.text);
        let cannot =
            "la frase no se puede codificar con el vocabulario del corpus; elige otra con --frase";
        // Las tildes del Quijote son caracteres aparte: «ñ» tecleada se pasa a «n» + tilde.
        let phrase = tokenizer.adapt(&args.frase).context(cannot)?;
        let phrase: String = phrase.chars().take(bloque).collect();
        let phrase_ids = tokenizer.encode(&phrase).context(cannot)?;
        let data = dataset::encode_text(&tokenizer, &corpus.text)?;
        let ds = Dataset::split(&data, TRAIN_FRACTION);
        ds.check_block_size(bloque)?;

        println!("== 1. El truco matemático: promediar el pasado ==");
        // ANCHOR: averages
        let mut rng = rng::seeded(semilla);
        let x = attention::toy_input(4, 8, 2, &mut rng); // (B, T, C)
        println!(
            "x: forma {} (semilla {})",
            pretty::shape(x.shape()),
            semilla
        );
        println!(
            "x[0] =\n{}",
            attention::format_matrix(x.index_axis(ndarray::Axis(0), 0), 4)
        );
        let v1 = attention::average_loops(x.view());
        let v2 = attention::average_tril(x.view());
        let v3 = attention::average_softmax(x.view());
        println!("Versión 1, con bucles: xbow[0] =");
        println!(
            "{}",
            attention::format_matrix(v1.index_axis(ndarray::Axis(0), 0), 4)
        );
        println!("Versión 2, pesos triangulares normalizados (T = 8):");
        println!(
            "{}",
            attention::format_matrix(attention::tril_weights(8).view(), 4)
        );
        println!("Versión 3, softmax de ceros con −∞ encima de la diagonal: los mismos pesos.");
        let d12 = attention::max_abs_diff(v1.view(), v2.view());
        let d13 = attention::max_abs_diff(v1.view(), v3.view());
        println!(
            "Diferencia máxima entre la versión 1 y la 2: {};\nentre la 1 y la 3: {}",
            pretty::decimal(d12.into(), 6),
            pretty::decimal(d13.into(), 6)
        );
        // ANCHOR_END: averages
        println!();

        println!("== 2. Una cabeza de autoatención (ndarray) ==");
        // ANCHOR: head
        let mut rng = rng::seeded(semilla);
        let (n_embd, head_size) = (32, 16);
        let x = attention::toy_input(4, 8, n_embd, &mut rng);
        let weights = HeadWeights::random(
            n_embd,
            head_size,
            attention::linear_init_std(n_embd),
            &mut rng,
        );
        let head = attention::head_forward(&weights, x.view());
        println!(
            "x: forma {}; clave, consulta y valor: {} → {head_size};\nsalida: forma {}",
            pretty::shape(x.shape()),
            n_embd,
            pretty::shape(head.out.shape())
        );
        println!("Pesos de atención del primer elemento del lote, wei[0]:");
        println!(
            "{}",
            attention::format_matrix(head.weights.index_axis(ndarray::Axis(0), 0), 4)
        );
        // ANCHOR_END: head
        println!();

        println!("== 3. Por qué se escala por 1/√head_size ==");
        // ANCHOR: scale
        let mut rng = rng::seeded(semilla);
        let var = attention::scale_variances(4, 8, head_size, &mut rng);
        let d4 = |v: f32| pretty::decimal(v.into(), 4);
        println!("Varianza de k: {}; de q: {}", d4(var.key), d4(var.query));
        println!(
            "Varianza de q·kᵀ sin escalar: {} (del orden de head_size = {head_size})",
            d4(var.unscaled)
        );
        println!(
            "Varianza de q·kᵀ/√{head_size}: {} (del orden de 1)",
            d4(var.scaled)
        );
        let example = attention::SOFTMAX_EXAMPLE;
        let sharp: Vec<f32> = example.iter().map(|v| v * 8.0).collect();
        println!(
            "softmax({}) =\n    {}",
            vector(&example),
            vector(&attention::softmax(&example))
        );
        println!(
            "softmax({}) =\n    {}",
            vector(&sharp),
            vector(&attention::softmax(&sharp))
        );
        // ANCHOR_END: scale
        println!();

        println!("== 4. La misma cabeza en candle ==");
        // ANCHOR: candle
        let device = Device::Cpu;
        let mut params = Params::new(&device);
        let candle_head = attention::Head::from_weights(&mut params, "head", &weights)?;
        let (out, wei) =
            candle_head.forward_with_weights(&attention::to_tensor3(x.view(), &device)?)?;
        let d_out = attention::max_abs_diff(attention::from_tensor3(&out)?.view(), head.out.view());
        let d_wei =
            attention::max_abs_diff(attention::from_tensor3(&wei)?.view(), head.weights.view());
        println!(
            "Parámetros de la cabeza: {} (3 matrices de {head_size} × {n_embd})",
            pretty::integer(params.count())
        );
        println!(
            "Diferencia máxima con ndarray: salida {}, pesos {}",
            pretty::decimal(d_out.into(), 6),
            pretty::decimal(d_wei.into(), 6)
        );
        // ANCHOR_END: candle
        println!();

        println!("== 5. Un modelo con una cabeza, entrenado ==");
        // ANCHOR: train
        let mut rng = rng::seeded(semilla);
        let config = HeadModelConfig::new(tokenizer.vocab_size(), bloque);
        let cfg = TrainConfig {
            steps: pasos,
            batch_size: lote,
            learning_rate: lr,
            eval_interval: eval_cada,
            eval_iters: eval_lotes,
        };
        resources::check_memory(
            "entrenar el modelo de una cabeza",
            attention::training_memory(&config, &cfg),
        )?;
        let model = HeadModel::new(config, &device, &mut rng)?;
        println!(
            "Incrustaciones de token {}×{n} y de posición {}×{n}, una cabeza de {},\ncapa lineal {} → {}: {} parámetros",
            config.vocab_size,
            config.block_size,
            config.head_size,
            config.head_size,
            config.vocab_size,
            pretty::integer(model.params().count()),
            n = config.n_embd,
        );
        println!(
            "Entrenando {} pasos (lote {}, contexto {}, AdamW con lr {}):",
            pretty::integer(cfg.steps),
            pretty::integer(cfg.batch_size),
            pretty::integer(config.block_size),
            pretty::number(cfg.learning_rate)
        );
        let bar = cli::step_bar(cfg.steps as u64, "Entrenando");
        let started = Instant::now();
        let history = attention::train(
            &model,
            &ds,
            &cfg,
            &mut rng,
            |_, _| bar.inc(1),
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
            pretty::decimal(seconds, 1),
            pretty::decimal(cfg.steps as f64 / seconds, 0)
        );
        let last = *history.last().expect("siempre hay una estimación final");
        let head_val = last.val;
        anyhow::ensure!(
            history
                .iter()
                .all(|l| l.train.is_finite() && l.val.is_finite()),
            "la pérdida dejó de ser un número finito: el entrenamiento se desestabilizó. \
             Prueba con una tasa de aprendizaje menor (--lr)"
        );
        println!();

        // ANCHOR: bigram
        println!("El bigrama del capítulo 5 con el mismo presupuesto, para comparar:");
        let mut rng = rng::seeded(semilla);
        let table = bigram::initial_table(tokenizer.vocab_size(), &mut rng);
        let mut reference = HandBigram::new(table, lr as f32);
        let bigram_cfg = bigram::TrainConfig {
            steps: cfg.steps,
            batch_size: cfg.batch_size,
            block_size: config.block_size,
            lr: lr as f32,
            eval_interval: cfg.steps.max(1),
            eval_iters: cfg.eval_iters,
        };
        let bar = cli::step_bar(cfg.steps as u64, "Bigrama");
        let report = bigram::train(
            &mut reference,
            &ds,
            &bigram_cfg,
            &mut rng,
            |_, _| bar.inc(1),
            |_| {},
        )?;
        bar.finish_and_clear();
        let bigram_val = report
            .curve
            .last()
            .expect("siempre hay una estimación final")
            .val;
        let d4 = |v: f32| pretty::decimal(v.into(), 4);
        println!(
            "Pérdida de validación en el paso {}:",
            pretty::integer(last.step)
        );
        println!("  bigrama (una tabla, sin contexto): {}", d4(bigram_val));
        println!("  una cabeza de autoatención:        {}", d4(head_val));
        // ANCHOR_END: bigram
        println!();

        println!("== 6. ¿A qué mira la cabeza? ==");
        // ANCHOR: heatmap
        let wei = model.attention(&phrase_ids)?;
        let labels: Vec<char> = phrase.chars().collect();
        println!(
            "Pesos de atención para «{phrase}»\n(fila: quien pregunta; columna: a quién mira):"
        );
        print!("{}", heatmap::ascii(wei.view(), &labels));
        let profile = attention::attention_profile(wei.view());
        println!(
            "Peso medio que cada carácter da a sí mismo: {}; al anterior: {};\na los demás: {}",
            pretty::decimal(profile.own.into(), 2),
            pretty::decimal(profile.previous.into(), 2),
            pretty::decimal(profile.rest.into(), 2)
        );
        let figure = salidas.join("atencion.svg");
        let title = format!("Atención de la cabeza entrenada: «{phrase}»");
        heatmap::svg(&figure, wei.view(), &labels, &title)?;
        println!("Mapa de calor: {}", figure.display());
        // ANCHOR_END: heatmap
        println!();

        println!("== 7. Texto generado por el modelo con una cabeza ==");
        let start = tokenizer.encode("\n").map_or(0, |ids| ids[0]);
        let ids = model.generate(&[start], 300, &mut rng)?;
        println!("{}", pretty::wrap(&tokenizer.decode(&ids)?, 80));
        Ok(())
    })
}

/// Un vector con cuatro decimales y la norma del libro: `[0,1000; -0,2000; ...]` (con la coma
/// decimal, los elementos se separan con punto y coma).
fn vector(values: &[f32]) -> String {
    let cells: Vec<String> = values
        .iter()
        .map(|&v| pretty::decimal(v.into(), 4))
        .collect();
    format!("[{}]", cells.join("; "))
}
