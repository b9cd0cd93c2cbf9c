//! Capítulo 1 — Los datos: descarga el Quijote (una sola vez) y mira qué hay dentro.

use std::process::ExitCode;

use clap::Parser;
use gpt_desde_cero::println;
use gpt_desde_cero::{text::corpus, tools::cli, tools::pretty};

/// Capítulo 1: descarga el texto del Quijote, lo guarda en datos/ y muestra cómo empieza.
#[derive(Parser)]
#[command(name = "01_datos")]
struct Args {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Cuántos caracteres del principio mostrar
    #[arg(long, value_name = "N", default_value_t = 3000)]
    mostrar: usize,
}

fn main() -> ExitCode {
    cli::run(|| {
        let args: Args = cli::parse();
        // ANCHOR: main
        let corpus = args.corpus.load()?;
        let text = &corpus.text;
        println!(
            "Caracteres del texto: {}",
            pretty::integer(text.chars().count())
        );
        println!("Bytes en UTF-8:       {}", pretty::integer(text.len()));
        println!();
        println!("Los primeros {} caracteres:", args.mostrar);
        println!("{}", corpus::prefix_chars(text, args.mostrar));
        // ANCHOR_END: main
        Ok(())
    })
}
