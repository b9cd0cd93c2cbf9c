//! Capítulo 3 — El texto como tensor, y la división en entrenamiento y validación.

use std::process::ExitCode;

use clap::Parser;
use gpt_desde_cero::println;
use gpt_desde_cero::text::dataset::{self, Dataset, TRAIN_FRACTION};
use gpt_desde_cero::text::tokenizer::{CharName, Tokenizer};
use gpt_desde_cero::{tools::cli, tools::pretty};

/// Capítulo 3: codifica todo el texto en un tensor 1-D y lo divide 90/10.
#[derive(Parser)]
#[command(name = "03_tensores")]
struct Args {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Cuántos identificadores del principio mostrar
    #[arg(long, value_name = "N", default_value_t = 1000)]
    mostrar: usize,
}

fn main() -> ExitCode {
    cli::run(|| {
        let args: Args = cli::parse();
        let corpus = args.corpus.load()?;
        let tokenizer = Tokenizer::from_text(&corpus.text);
        // ANCHOR: tensor
        let data = dataset::encode_text(&tokenizer, &corpus.text)?;
        println!(
            "El texto como tensor: forma {}, tipo u32",
            pretty::shape(data.shape())
        );
        let shown = args.mostrar.min(data.len());
        println!("Los primeros {shown} identificadores:");
        let head = data.as_slice().expect("memoria contigua");
        println!("{}", pretty::ids(&head[..shown], 18));
        // ANCHOR_END: tensor
        println!();

        // ANCHOR: split
        let ds = Dataset::split(&data, TRAIN_FRACTION);
        println!(
            "División {:.0}/{:.0}: n = {}",
            TRAIN_FRACTION * 100.0,
            (1.0 - TRAIN_FRACTION) * 100.0,
            pretty::integer(ds.train.len())
        );
        println!(
            "  entrenamiento: {} tokens",
            pretty::integer(ds.train.len())
        );
        println!("  validación:    {} tokens", pretty::integer(ds.val.len()));
        let val = ds.val.as_slice().expect("memoria contigua");
        println!("Validación: {}", pretty::ids_elided(val, 3));
        // ANCHOR_END: split
        println!();

        // ANCHOR: counts
        let counts = dataset::token_counts(data.view(), tokenizer.vocab_size());
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
        println!("Los diez caracteres más frecuentes:");
        for &i in order.iter().take(10) {
            let share = 100.0 * counts[i] as f64 / data.len() as f64;
            let name = CharName(tokenizer.chars()[i]);
            let (count, share) = (pretty::integer(counts[i]), pretty::decimal(share, 1));
            println!("  {i:>2} {name:<16} {count:>7} veces ({share} %)");
        }
        // ANCHOR_END: counts
        Ok(())
    })
}
