//! Convenciones comunes de los programas de cada capítulo: argumentos en español, errores
//! claros en español con salida distinta de cero, y barras de progreso.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Command};
use indicatif::{ProgressBar, ProgressStyle};

use crate::corpus::{self, Corpus};

/// Argumento común a todos los programas: el texto con el que trabajar.
#[derive(Debug, Clone, clap::Args)]
pub struct CorpusArgs {
    /// Usa este archivo de texto UTF-8 en lugar del Quijote (por defecto se descarga y se guarda en datos/)
    #[arg(long, value_name = "RUTA")]
    pub corpus: Option<PathBuf>,
}

impl CorpusArgs {
    /// Carga el corpus y cuenta por la salida de errores de dónde salió.
    pub fn load(&self) -> Result<Corpus, corpus::CorpusError> {
        let corpus = corpus::load(self.corpus.as_deref())?;
        eprintln!("Corpus: {}", corpus.source);
        Ok(corpus)
    }
}

/// Ejecuta el programa de un capítulo: si falla, escribe el error en español y sale con 1.
pub fn run(program: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    // Que `01_datos | head` termine en silencio, como cualquier programa de terminal, en vez
    // de entrar en pánico al escribir en una tubería cerrada.
    #[cfg(unix)]
    // SAFETY: restaurar la acción por defecto de una señal al empezar, sin otros hilos.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match program() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  causa: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Lee los argumentos con ayuda y errores en español. Un error de uso sale con código 2.
pub fn parse<T: clap::Parser>() -> T {
    let mut cmd = in_spanish(T::command());
    let result = cmd
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|m| T::from_arg_matches(&m));
    match result {
        Ok(args) => args,
        Err(err) => {
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                let _ = err.print();
                std::process::exit(0);
            }
            eprintln!("error: {}", describe(&err));
            let usage = cmd.render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ");
            eprintln!("\nUso: {usage}\n\nPrueba con --help para ver las opciones.");
            std::process::exit(2);
        }
    }
}

fn describe(err: &clap::Error) -> String {
    let ctx = |k| err.get(k).map(|v| v.to_string()).unwrap_or_default();
    match err.kind() {
        ErrorKind::UnknownArgument => {
            format!("argumento desconocido «{}»", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::InvalidSubcommand => {
            format!(
                "orden desconocida «{}»",
                ctx(ContextKind::InvalidSubcommand)
            )
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let mut msg = format!(
                "valor no válido «{}» para {}",
                ctx(ContextKind::InvalidValue),
                ctx(ContextKind::InvalidArg)
            );
            if let Some(valid) = err.get(ContextKind::ValidValue) {
                msg.push_str(&format!(" (valores posibles: {valid})"));
            }
            if let Some(source) = std::error::Error::source(err) {
                msg.push_str(&format!(": {source}"));
            }
            msg
        }
        ErrorKind::MissingRequiredArgument => {
            format!(
                "falta un argumento obligatorio: {}",
                ctx(ContextKind::InvalidArg)
            )
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "falta la orden".to_string()
        }
        ErrorKind::ArgumentConflict => format!(
            "{} no se puede usar junto con {}",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::PriorArg)
        ),
        ErrorKind::TooManyValues => {
            format!("demasiados valores para {}", ctx(ContextKind::InvalidArg))
        }
        _ => format!("argumentos no válidos ({})", err.kind()),
    }
}

/// Cambia las partes fijas de la ayuda de clap (títulos, `--help`) al español.
fn in_spanish(mut cmd: Command) -> Command {
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, in_spanish);
    }
    let mut template = String::from("{about-with-newline}\nUso: {usage}\n");
    if cmd.has_subcommands() {
        template.push_str("\nÓrdenes:\n{subcommands}\n");
    }
    if cmd.get_positionals().next().is_some() {
        template.push_str("\nArgumentos:\n{positionals}\n");
    }
    template.push_str("\nOpciones:\n{options}\n{after-help}");
    cmd.disable_help_flag(true)
        .disable_help_subcommand(true)
        .disable_version_flag(true)
        .help_template(template)
        .arg(
            Arg::new("ayuda")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Muestra esta ayuda"),
        )
}

/// Barra de progreso de bytes (descargas). Se oculta sola si la salida no es una terminal.
pub fn byte_bar(len: Option<u64>, message: &'static str) -> ProgressBar {
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} ({bytes_per_sec})")
            .expect("plantilla fija"),
    );
    bar.set_message(message);
    bar
}

/// Barra de progreso de pasos (entrenamiento), con pasos por segundo y tiempo restante.
pub fn step_bar(steps: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {pos}/{len} pasos ({per_sec}, quedan {eta}) {prefix}",
        )
        .expect("plantilla fija"),
    );
    bar.set_message(message);
    bar
}
