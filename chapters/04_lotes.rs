//! Capítulo 4 — Contexto, objetivos y lotes: los ejemplos con los que aprende el modelo.

use std::process::ExitCode;

use clap::Parser;
use gpt_desde_cero::println;
use gpt_desde_cero::text::batches::{self, get_batch};
use gpt_desde_cero::text::dataset::{self, Dataset, Split, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::{tools::cli, tools::pretty, tools::resources, tools::rng};

/// Capítulo 4: muestra los pares contexto → objetivo y un lote aleatorio con semilla.
#[derive(Parser)]
#[command(name = "04_lotes")]
struct Args {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Longitud del contexto (block_size)
    #[arg(long, value_name = "N", default_value_t = 8)]
    bloque: usize,
    /// Secuencias por lote (batch_size)
    #[arg(long, value_name = "N", default_value_t = 4)]
    lote: usize,
    /// Semilla del generador aleatorio
    #[arg(long, value_name = "N", default_value_t = rng::DEFAULT_SEED)]
    semilla: u64,
}

fn main() -> ExitCode {
    cli::run(|| {
        let args: Args = cli::parse();
        anyhow::ensure!(args.lote > 0, "--lote debe ser al menos 1");
        anyhow::ensure!(args.bloque > 0, "--bloque debe ser al menos 1");
        // x e y: dos matrices lote × bloque de u32.
        let batch_bytes = u64::try_from(8 * args.lote as u128 * args.bloque as u128).ok();
        resources::check_memory("un lote de ese tamaño", batch_bytes)?;
        let corpus = args.corpus.load()?;
        let tokenizer = Tokenizer::from_text(&corpus.text);
        let data = dataset::encode_text(&tokenizer, &corpus.text)?;
        let ds = Dataset::split(&data, TRAIN_FRACTION);
        ds.check_block_size(args.bloque)?;

        // ANCHOR: pairs
        let chunk = &ds.train.as_slice().expect("memoria contigua")[..=args.bloque];
        println!("block_size = {}", args.bloque);
        println!("train_data[..=block_size] = {chunk:?}");
        for (context, target) in batches::context_target_pairs(chunk) {
            println!("cuando el contexto es {context:?} el objetivo es {target}");
        }
        // ANCHOR_END: pairs
        println!();

        // ANCHOR: batch
        let mut rng = rng::seeded(args.semilla);
        let (x, y) = get_batch(&ds, Split::Train, args.lote, args.bloque, &mut rng);
        println!("Un lote de entrenamiento (semilla {}):", args.semilla);
        println!("entradas x: forma {}", pretty::shape(x.shape()));
        println!("{}", pretty::ids_2d(x.view()));
        println!("objetivos y: forma {}", pretty::shape(y.shape()));
        println!("{}", pretty::ids_2d(y.view()));
        // ANCHOR_END: batch
        println!();

        // ANCHOR: rows
        println!("Las mismas filas como texto (x → y):");
        for (xr, yr) in x.rows().into_iter().zip(y.rows()) {
            let xs = tokenizer.decode(&xr.to_vec())?;
            let ys = tokenizer.decode(&yr.to_vec())?;
            println!("  {xs:?} → {ys:?}");
        }
        // ANCHOR_END: rows
        Ok(())
    })
}
