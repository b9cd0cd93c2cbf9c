//! Capítulo 2 — Codificación: del texto a números y de vuelta.

use std::process::ExitCode;

use clap::Parser;
use gpt_desde_cero::println;
use gpt_desde_cero::text::tokenizer::Tokenizer;
use gpt_desde_cero::tools::cli;

/// Capítulo 2: construye el vocabulario de caracteres y codifica y decodifica un texto.
#[derive(Parser)]
#[command(name = "02_codificacion")]
struct Args {
    #[command(flatten)]
    corpus: cli::CorpusArgs,
    /// Texto que codificar y decodificar
    #[arg(long, default_value = "hola")]
    texto: String,
}

fn main() -> ExitCode {
    cli::run(|| {
        let args: Args = cli::parse();
        let corpus = args.corpus.load()?;
        // ANCHOR: main
        let tokenizer = Tokenizer::from_text(&corpus.text);
        println!("Vocabulario (los caracteres distintos, ordenados):");
        println!("{}", tokenizer.vocabulary());
        println!("Tamaño del vocabulario: {}", tokenizer.vocab_size());
        println!();

        let ids = tokenizer.encode(&args.texto)?;
        println!("encode({:?}) = {:?}", args.texto, ids);
        println!("decode({:?}) = {:?}", ids, tokenizer.decode(&ids)?);
        // ANCHOR_END: main
        println!();

        // ANCHOR: unknown
        // El Quijote no tiene «k» ni «w»: codificar «kiwi» es un error que nombra el carácter.
        match tokenizer.encode("kiwi") {
            Ok(ids) => println!("encode(\"kiwi\") = {ids:?}"),
            Err(e) => println!("encode(\"kiwi\") falla: {e}"),
        }
        // ANCHOR_END: unknown
        Ok(())
    })
}
