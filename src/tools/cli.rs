//! Convenciones comunes de los programas de cada capítulo: argumentos en español, errores
//! claros en español con salida distinta de cero, y barras de progreso.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Command};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::model::gpt::{ConfigError, Preset};
use crate::tools::download::{self, Corpus};
use crate::tools::pretty;

/// Argumento común a todos los programas: el texto con el que trabajar.
#[derive(Debug, Clone, clap::Args)]
pub struct CorpusArgs {
    /// Usa este archivo de texto UTF-8 en lugar del Quijote (por defecto se descarga y se guarda en datos/)
    #[arg(long, value_name = "RUTA")]
    pub corpus: Option<PathBuf>,
}

impl CorpusArgs {
    /// Carga el corpus y cuenta por la salida de errores de dónde salió.
    pub fn load(&self) -> Result<Corpus, download::CorpusError> {
        let corpus = download::load(self.corpus.as_deref())?;
        crate::eprintln!("Corpus: {}", corpus.source);
        Ok(corpus)
    }
}

/// Las opciones de entrenamiento que comparten 05, 06 y 07: los mismos nombres, los mismos
/// tipos y los mismos rangos, comprobados al leerlas (un valor fuera de rango es un error de
/// uso, código 2). Son `Option`: cada programa pone sus valores por defecto con
/// [`with_training_defaults`], y así salen también en su `--help`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainingArgs {
    /// Pasos de entrenamiento (max_iters)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub pasos: Option<usize>,
    /// Secuencias por lote (batch_size)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub lote: Option<usize>,
    /// Longitud del contexto (block_size)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub bloque: Option<usize>,
    /// Tasa de aprendizaje de AdamW (learning_rate)
    #[arg(long, value_name = "TASA", value_parser = positive_decimal)]
    pub lr: Option<f64>,
    /// Estima la pérdida cada N pasos (eval_interval)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub eval_cada: Option<usize>,
    /// Lotes que promedia cada estimación de la pérdida (eval_iters)
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub eval_lotes: Option<usize>,
    /// Semilla del generador aleatorio: inicialización, lotes, dropout y muestreo
    #[arg(long, value_name = "N")]
    pub semilla: Option<u64>,
    /// Carpeta de las salidas (curvas, mapas y puntos de control)
    #[arg(long, value_name = "DIR")]
    pub salidas: Option<PathBuf>,
}

/// Los valores por defecto de [`TrainingArgs`] en un programa: `(opción, valor)`, por ejemplo
/// `("pasos", "10000")`. Se aplican a la orden antes de leer los argumentos.
/// La semilla (la del proyecto) y la carpeta de salidas (`salidas`) tienen el mismo valor por
/// defecto en todos.
pub fn with_training_defaults(
    mut cmd: Command,
    defaults: &[(&'static str, &'static str)],
) -> Command {
    let common = [
        ("semilla", crate::tools::rng::DEFAULT_SEED_TEXT),
        ("salidas", "salidas"),
    ];
    for &(id, value) in common.iter().chain(defaults) {
        cmd = cmd.mut_arg(id, |a| a.default_value(value));
    }
    cmd
}

/// Un número entero de 1 en adelante.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    let n: usize = text.parse().map_err(|e| value_problem(&e))?;
    if n == 0 {
        return Err("debe ser al menos 1".to_string());
    }
    Ok(n)
}

/// Un número decimal positivo y finito (con coma o con punto: [`decimal`]).
pub fn positive_decimal(text: &str) -> Result<f64, String> {
    let x: f64 = decimal(text)?;
    if !(x.is_finite() && x > 0.0) {
        let x = crate::tools::pretty::number(x);
        return Err(format!("debe ser un número positivo y es {x}"));
    }
    Ok(x)
}

/// Una probabilidad acumulada (`--top-p`): un número en `(0, 1]`.
pub fn probability(text: &str) -> Result<f32, String> {
    let p: f32 = decimal(text)?;
    if !(p > 0.0 && p <= 1.0) {
        return Err(format!(
            "debe estar en (0, 1] (mayor que 0 y como mucho 1) y es {p}"
        ));
    }
    Ok(p)
}

/// Unos minutos (`--max-minutos`): un número finito, 0 o más, que quepa en un `Duration`. 0
/// vale: un solo paso, con su estimación y su punto de control.
pub fn minutes(text: &str) -> Result<std::time::Duration, String> {
    let m: f64 = decimal(text)?;
    if !(m.is_finite() && m >= 0.0) {
        let m = crate::tools::pretty::number(m);
        return Err(format!("debe ser un número de minutos (0 o más) y es {m}"));
    }
    std::time::Duration::try_from_secs_f64(m * 60.0)
        .map_err(|_| format!("es demasiado grande ({})", text.trim()))
}

/// Un error de uso que se descubre después de leer los argumentos (una combinación de
/// opciones que no tiene sentido): [`run`] lo cuenta y sale con 2, como los de clap.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Código de salida de un error de uso.
pub const EXIT_USAGE: u8 = 2;

/// Lo que devuelve un programa al que se interrumpió con Ctrl-C tras guardar su trabajo:
/// [`run`] lo cuenta y sale con 130, el código de los programas interrumpidos, para que un
/// guion distinga un entrenamiento cortado de uno completo.
#[derive(Debug, thiserror::Error)]
#[error("interrumpido con Ctrl-C")]
pub struct Interrupted;

/// Código de salida de un programa interrumpido (128 + SIGINT, como en cualquier terminal).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Ejecuta el programa de un capítulo: si falla, escribe el error en español y sale con 1.
/// Si no pudo escribir su salida (un disco lleno), también lo dice y sale con 1.
pub fn run(program: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    quiet_broken_pipe();
    tune_allocator();
    let result = program();
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let result = match (result, STDOUT_ERROR.get()) {
        (Ok(()), Some(detail)) => Err(anyhow::anyhow!(
            "no se pudo escribir la salida del programa: {detail}"
        )),
        (result, _) => result,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Interrupted>() => ExitCode::from(EXIT_INTERRUPTED),
        Err(e) if e.is::<UsageError>() => {
            crate::eprintln!("error: {e}\n\nPrueba con --help para ver las opciones.");
            ExitCode::from(EXIT_USAGE)
        }
        Err(e) => {
            let mut shown = error_text(e.as_ref());
            crate::eprintln!("error: {shown}");
            for cause in e.chain().skip(1).map(error_text) {
                // Muchos errores ya incluyen su causa en el mensaje: no la repetimos.
                if !shown.contains(&cause) {
                    crate::eprintln!("  causa: {cause}");
                    shown.push_str(&cause);
                }
            }
            ExitCode::FAILURE
        }
    }
}

/// Que `01_datos | head` (o `cargo ejercicios --help | head`) termine en silencio, como
/// cualquier programa de terminal, en vez de entrar en pánico al escribir en una tubería
/// cerrada: la señal SIGPIPE vuelve a su acción por defecto. Se llama al empezar.
pub fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: restaurar la acción por defecto de una señal al empezar, sin otros hilos.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// El texto de un error para el usuario: los de entrada/salida, en español ([`io_detail`]);
/// los demás ya traen su mensaje en español.
///
/// [`io_detail`]: crate::tools::resources::io_detail
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    match e.downcast_ref::<std::io::Error>() {
        Some(io) => crate::tools::resources::io_detail(io),
        None => e.to_string(),
    }
}

/// El primer error al escribir en la salida estándar, si lo hubo.
static STDOUT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Escribe en la salida estándar sin entrar en pánico si no se puede (el `println!` de la
/// biblioteca estándar sí entra). El primer error se guarda y [`run`] lo informa al final;
/// mientras tanto el programa sigue, para no perder el trabajo (un punto de control) por una
/// salida que no se pudo mostrar.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        let _ = STDOUT_ERROR.set(crate::tools::resources::io_detail(&e));
    }
}

/// Como el `println!` de siempre, pero un disco lleno o una salida cerrada no acaban en un
/// pánico: véase [`tools::cli::write_stdout`](crate::tools::cli::write_stdout). Los programas
/// lo importan con `use gpt_desde_cero::println;`.
#[macro_export]
macro_rules! println {
    () => {
        $crate::tools::cli::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::tools::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Escribe en la salida de errores sin entrar en pánico si no se puede (`2>/dev/full`, una
/// salida cerrada): si ni los errores se pueden mostrar, el programa sigue y su código de
/// salida dice el resultado.
pub fn write_stderr(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Como el `eprintln!` de siempre, pero sin pánico si la salida de errores no se puede
/// escribir (véase [`tools::cli::write_stderr`](crate::tools::cli::write_stderr)). Los
/// programas lo importan con `use gpt_desde_cero::eprintln;`.
#[macro_export]
macro_rules! eprintln {
    () => {
        $crate::tools::cli::write_stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::tools::cli::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Como el `print!` de siempre, sin pánico si no se puede escribir (véase [`println!`]).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::tools::cli::write_stdout(format_args!($($arg)*))
    };
}

/// Ajusta el reservador de memoria de glibc al entrenamiento: cada paso crea y libera los
/// mismos tensores grandes, y por defecto glibc los pide al sistema con `mmap` y los devuelve
/// al liberarlos, así que el paso siguiente paga otra vez los fallos de página de memoria
/// nueva. Con umbrales altos, la memoria liberada se reutiliza (la mitad de fallos de página
/// y ~10 % menos de CPU en la configuración `cpu`). glibc no deja subir el umbral de `mmap` de
/// 32 MB, y en la configuración del cuaderno hay tensores de 50 MB: sin `mmap` (todo sale
/// del montón y se reutiliza) el paso tarda un 16 % menos. No cambia ningún resultado.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt solo cambia parámetros del reservador; se llama al empezar.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_MAX, 0);
    }
}

/// Si el usuario no fijó `RAYON_NUM_THREADS`, un solo hilo por operación de candle: con las
/// matrices de estos modelos, repartir cada operación entre hilos cuesta más de lo que ahorra
/// (y el entrenamiento ya ocupa dos núcleos con las dos mitades del lote). candle lee esa
/// variable en cada operación. El resultado es el mismo con cualquier número de hilos.
///
/// Debe ser lo primero de `main`, antes de [`run`], de leer los argumentos y de crear ningún
/// hilo (ni la descarga, ni CUDA, ni el manejador de Ctrl-C): cambiar el entorno con otros
/// hilos vivos no es seguro.
pub fn single_thread_ops() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: es lo primero de `main` (véase arriba): aún no hay otros hilos que lean o
        // escriban el entorno a la vez.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
}

/// Lee los argumentos con ayuda y errores en español. Un error de uso sale con código 2.
pub fn parse<T: clap::Parser>() -> T {
    parse_with(|cmd| cmd)
}

/// Como [`parse`], cambiando antes la orden con `adjust` (por ejemplo, los valores por
/// defecto de [`TrainingArgs`] con [`with_training_defaults`]).
pub fn parse_with<T: clap::Parser>(adjust: impl FnOnce(Command) -> Command) -> T {
    let mut cmd = with_spanish_usage(in_spanish(adjust(T::command())));
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
            crate::eprintln!("error: {}", describe(&err));
            // El uso de la orden que falló (p. ej. `07_gpt generar`): el que da clap o, si no
            // lo da (un valor que no se pudo leer), el de la orden escrita en la línea.
            let usage = match err.get(ContextKind::Usage) {
                Some(u) => u.to_string(),
                None => usage_of_typed_command(&mut cmd, std::env::args_os().skip(1)),
            };
            let usage = usage.trim().trim_start_matches("Usage:").trim();
            crate::eprintln!("\nUso: {usage}\n\nPrueba con --help para ver las opciones.");
            std::process::exit(2);
        }
    }
}

/// El uso de la orden más profunda que aparece en `args` (`07_gpt entrenar …` → la de
/// `entrenar`), o el del programa si no hay ninguna.
fn usage_of_typed_command(
    cmd: &mut Command,
    args: impl Iterator<Item = std::ffi::OsString>,
) -> String {
    let mut current = cmd;
    for arg in args {
        let Some(name) = arg.to_str() else { continue };
        let has = current.get_subcommands().any(|s| s.get_name() == name);
        if has {
            current = current.find_subcommand_mut(name).expect("existe");
        }
    }
    current.render_usage().to_string()
}

/// Banderas y valores que cambiaron de nombre: el error lo dice en vez de solo rechazarlos.
const RENAMED: [(&str, &str); 3] = [
    ("--intervalo-eval", "--eval-cada"),
    ("--iter-eval", "--eval-lotes"),
    ("semilla", "cuaderno"),
];

fn renamed_hint(old: &str) -> Option<String> {
    let name = old.split('=').next().unwrap_or(old);
    RENAMED.iter().find(|(o, _)| *o == name).map(|(_, new)| {
        if name.starts_with("--") {
            format!("; ahora se llama «{new}»")
        } else {
            format!("; la configuración «{name}» ahora se llama «{new}»")
        }
    })
}

fn describe(err: &clap::Error) -> String {
    let ctx = |k| err.get(k).map(|v| v.to_string()).unwrap_or_default();
    match err.kind() {
        ErrorKind::UnknownArgument => {
            let arg = ctx(ContextKind::InvalidArg);
            let mut msg = format!("argumento desconocido «{arg}»");
            if let Some(hint) = renamed_hint(&arg) {
                msg.push_str(&hint);
            } else if let Some(suggested) = err.get(ContextKind::SuggestedArg) {
                msg.push_str(&format!("; ¿quisiste decir «{suggested}»?"));
            }
            msg
        }
        ErrorKind::InvalidSubcommand => {
            format!(
                "orden desconocida «{}»",
                ctx(ContextKind::InvalidSubcommand)
            )
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
            if ctx(ContextKind::InvalidValue).is_empty() =>
        {
            format!("falta el valor de {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let mut msg = format!(
                "valor no válido «{}» para {}",
                ctx(ContextKind::InvalidValue),
                ctx(ContextKind::InvalidArg)
            );
            let valid = ctx(ContextKind::ValidValue);
            let preset = ctx(ContextKind::InvalidArg).starts_with("--preset");
            if let Some(hint) = renamed_hint(&ctx(ContextKind::InvalidValue)).filter(|_| preset) {
                msg.push_str(&hint);
            } else if !valid.is_empty() {
                msg.push_str(&format!(" (valores posibles: {valid})"));
            }
            if let Some(source) = std::error::Error::source(err) {
                msg.push_str(&format!(": {}", value_problem(source)));
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
        ErrorKind::ArgumentConflict
            if ctx(ContextKind::InvalidArg) == ctx(ContextKind::PriorArg) =>
        {
            format!("{} aparece dos veces", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::ArgumentConflict => format!(
            "{} no se puede usar junto con {}",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::PriorArg)
        ),
        ErrorKind::TooManyValues => {
            format!("demasiados valores para {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::NoEquals => {
            format!("{} necesita su valor con «=»", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => format!(
            "número de valores incorrecto para {}",
            ctx(ContextKind::InvalidArg)
        ),
        ErrorKind::InvalidUtf8 => "un argumento no es texto UTF-8 válido".to_string(),
        _ => format!("argumentos no válidos ({})", err.kind()),
    }
}

/// Lee un número decimal de la línea de órdenes con coma o con punto decimal (`0,001` o
/// `0.001`, también `1e-3` y un `+` delante, como Rust). Es el lector de todas las opciones
/// decimales de los programas: `#[arg(value_parser = cli::decimal::<f64>)]`. Un separador de
/// miles (`1.000,5`) es ambiguo y se rechaza con una pista.
pub fn decimal<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    let commas = text.matches(',').count();
    let normalized = match commas {
        0 => text.to_string(),
        1 if !text.contains('.') => text.replace(',', "."),
        _ => {
            return Err(format!(
                "«{text}» no es un número: escribe solo la coma decimal (0,001) o solo el punto (0.001), sin separar los miles"
            ));
        }
    };
    normalized
        .trim()
        .parse()
        .map_err(|_| format!("«{text}» no es un número decimal (por ejemplo 0,001, 0.001 o 1e-3)"))
}

/// Por qué no se pudo leer un valor: los errores de números de la biblioteca estándar vienen
/// en inglés, así que los explicamos en español.
fn value_problem(source: &(dyn std::error::Error + 'static)) -> String {
    use std::num::IntErrorKind;
    if let Some(e) = source.downcast_ref::<std::num::ParseIntError>() {
        return match e.kind() {
            IntErrorKind::Empty => "está vacío",
            IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                "el número es demasiado grande"
            }
            IntErrorKind::Zero => "no puede ser cero",
            _ => "no es un número entero válido",
        }
        .to_string();
    }
    if source.is::<std::num::ParseFloatError>() {
        return "no es un número decimal (por ejemplo 0,001, 0.001 o 1e-3)".to_string();
    }
    source.to_string()
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
    // clap escribe «[default: …]» y «[possible values: …]»: los ponemos nosotros, en español.
    let ids: Vec<clap::Id> = cmd.get_arguments().map(|a| a.get_id().clone()).collect();
    for id in ids {
        cmd = cmd.mut_arg(id, spanish_arg_help);
    }
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

/// Añade a la ayuda de un argumento su valor por defecto y sus valores posibles, en español.
fn spanish_arg_help(arg: Arg) -> Arg {
    if !arg.get_action().takes_values() {
        return arg; // los interruptores (`--algo` sin valor) no muestran nada de esto
    }
    // `--lr -0.1` y `--max-minutos -inf` son la opción con ese valor (que después se rechaza
    // con su explicación), no otras banderas.
    let arg = arg.allow_hyphen_values(true);
    let mut extra = Vec::new();
    if !arg.is_hide_default_value_set() {
        let defaults: Vec<_> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy())
            .collect();
        if !defaults.is_empty() {
            extra.push(format!("[por defecto: {}]", defaults.join(" ")));
        }
    }
    if !arg.is_hide_possible_values_set() {
        let values: Vec<_> = (arg.get_value_parser().possible_values())
            .into_iter()
            .flatten()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if !values.is_empty() {
            extra.push(format!("[valores posibles: {}]", values.join(", ")));
        }
    }
    if extra.is_empty() {
        return arg;
    }
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let help = format!("{help} {}", extra.join(" ")).trim().to_string();
    arg.hide_default_value(true)
        .hide_possible_values(true)
        .help(help)
}

/// La línea de uso en español («[OPCIONES]» en vez de «[OPTIONS]»), para la ayuda y los errores,
/// también en las órdenes (`07_gpt generar …`).
fn with_spanish_usage(cmd: Command) -> Command {
    let mut built = cmd.clone();
    built.build(); // así cada orden conoce su nombre completo
    spanish_usage_from(cmd, &mut built)
}

fn spanish_usage_from(mut cmd: Command, built: &mut Command) -> Command {
    let usage = built.render_usage().to_string();
    let usage = usage
        .trim_start_matches("Usage: ")
        .replace("[OPTIONS]", "[OPCIONES]")
        .replace("<COMMAND>", "<ORDEN>")
        .replace("[COMMAND]", "[ORDEN]");
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        if let Some(sub) = built.find_subcommand_mut(&name) {
            cmd = cmd.mut_subcommand(&name, |s| spanish_usage_from(s, sub));
        }
    }
    cmd.override_usage(usage)
}

/// Las configuraciones predefinidas del GPT como valores de una opción (`--preset cpu`), con
/// su ayuda en español. Vive aquí, y no junto a [`Preset`], porque la lección no sabe nada de
/// la línea de órdenes.
impl clap::ValueEnum for Preset {
    fn value_variants<'a>() -> &'a [Self] {
        &Preset::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let help = match self {
            Preset::Diminuto => "Minúscula, para las pruebas: segundos",
            Preset::Cpu => "La de nanoGPT para CPU: unos minutos en un portátil",
            Preset::Cuaderno => {
                "La del cuaderno: 10,8 millones de parámetros, pensado para una GPU"
            }
        };
        Some(clap::builder::PossibleValue::new(self.name()).help(help))
    }
}

impl clap::ValueEnum for crate::model::gpt::Activation {
    fn value_variants<'a>() -> &'a [Self] {
        use crate::model::gpt::Activation;
        &[Activation::Relu, Activation::Gelu]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use crate::model::gpt::Activation;
        let help = match self {
            Activation::Relu => "max(0, x), la del cuaderno",
            Activation::Gelu => "La curva suave de GPT-2 (la del ejercicio 6.4)",
        };
        Some(clap::builder::PossibleValue::new(self.name()).help(help))
    }
}

/// La opción de la línea de órdenes que cambia cada campo de [`GptConfig`], para los
/// errores de configuración ([`ConfigError`] solo nombra el campo).
///
/// [`GptConfig`]: crate::model::gpt::GptConfig
pub fn config_option(field: &str) -> Option<&'static str> {
    Some(match field {
        "block_size" => "--bloque",
        "n_embd" => "--embd",
        "n_head" => "--cabezas",
        "n_layer" => "--capas",
        "batch_size" => "--lote",
        "max_iters" => "--pasos",
        "eval_interval" => "--eval-cada",
        "eval_iters" => "--eval-lotes",
        "dropout" => "--dropout",
        "learning_rate" => "--lr",
        _ => return None,
    })
}

/// Un error de configuración con la opción que lo arregla: «… (cámbialo con --bloque)».
pub fn config_error(e: ConfigError) -> anyhow::Error {
    match config_option(e.field) {
        Some(option) => anyhow::anyhow!("{e} (cámbialo con {option})"),
        None => e.into(),
    }
}

/// Barra de progreso de pasos (entrenamiento), con pasos por segundo y tiempo restante. Los
/// números van con la norma del libro (`{pos}`, `{len}` y `{per_sec}` de indicatif los
/// escriben a la inglesa: «2,345.1234/s»), y el tiempo con sus unidades («3 min 05 s»; `{eta}`
/// escribe «3m»).
pub fn step_bar(steps: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(steps);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:30} {paso}/{pasos} pasos ({ritmo}, quedan {quedan}) {prefix}",
        )
        .expect("plantilla fija")
        .with_key("paso", |s: &ProgressState, w: &mut dyn fmt::Write| {
            let _ = w.write_str(&pretty::integer(s.pos()));
        })
        .with_key("pasos", |s: &ProgressState, w: &mut dyn fmt::Write| {
            let _ = w.write_str(&s.len().map_or_else(|| "?".to_string(), pretty::integer));
        })
        .with_key("ritmo", |s: &ProgressState, w: &mut dyn fmt::Write| {
            let _ = w.write_str(&pretty::per_second(s.per_sec()));
        })
        .with_key("quedan", |s: &ProgressState, w: &mut dyn fmt::Write| {
            let _ = w.write_str(&pretty::duration(s.eta()));
        }),
    );
    bar.set_message(message);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ejemplo() -> Command {
        let opcion = Arg::new("modo")
            .long("modo")
            .value_parser(["a", "b"])
            .default_value("a")
            .help("El modo");
        let sub = Command::new("sub").about("Una orden").arg(opcion);
        with_spanish_usage(in_spanish(Command::new("prog").subcommand(sub)))
    }

    #[test]
    fn la_ayuda_de_las_ordenes_esta_en_espanol() {
        let mut cmd = ejemplo();
        cmd.build();
        let root = cmd.render_help().to_string();
        assert!(root.contains("Uso: prog [ORDEN]"), "{root}");
        assert!(root.contains("Órdenes:"), "{root}");
        let sub = cmd.find_subcommand_mut("sub").unwrap();
        let help = sub.render_help().to_string();
        assert!(help.contains("Uso: prog sub [OPCIONES]"), "{help}");
        assert!(
            help.contains("El modo [por defecto: a] [valores posibles: a, b]"),
            "{help}"
        );
        for en in ["Usage", "OPTIONS", "default:", "possible values"] {
            assert!(!help.contains(en), "{help}");
        }
    }

    #[test]
    fn los_errores_de_uso_estan_en_espanol() {
        let mut cmd = ejemplo();
        let err = cmd
            .try_get_matches_from_mut(["prog", "sub", "--mod", "a"])
            .unwrap_err();
        let msg = describe(&err);
        assert_eq!(
            msg,
            "argumento desconocido «--mod»; ¿quisiste decir «--modo»?"
        );
        let usage = err.get(ContextKind::Usage).unwrap().to_string();
        assert!(usage.contains("prog sub [OPCIONES]"), "{usage}");

        let err = cmd
            .try_get_matches_from_mut(["prog", "sub", "--modo", "c"])
            .unwrap_err();
        assert_eq!(
            describe(&err),
            "valor no válido «c» para --modo <modo> (valores posibles: a, b)"
        );
        let err = cmd
            .try_get_matches_from_mut(["prog", "sub", "--modo"])
            .unwrap_err();
        assert_eq!(describe(&err), "falta el valor de --modo <modo>");
    }

    #[test]
    fn los_numeros_mal_escritos_se_explican_en_espanol() {
        let e = "ocho".parse::<usize>().unwrap_err();
        assert_eq!(value_problem(&e), "no es un número entero válido");
        let e = "300".parse::<u8>().unwrap_err();
        assert_eq!(value_problem(&e), "el número es demasiado grande");
        let e = "0;5".parse::<f64>().unwrap_err();
        assert_eq!(
            value_problem(&e),
            "no es un número decimal (por ejemplo 0,001, 0.001 o 1e-3)"
        );
    }

    #[test]
    fn los_decimales_se_escriben_con_coma_o_con_punto() {
        assert_eq!(decimal::<f64>("0,001"), Ok(0.001));
        assert_eq!(decimal::<f64>("0.001"), Ok(0.001));
        assert_eq!(decimal::<f64>("+5"), Ok(5.0));
        assert_eq!(decimal::<f32>("1e-3"), Ok(1e-3));
        assert_eq!(decimal::<f64>("-inf"), Ok(f64::NEG_INFINITY));
        let e = decimal::<f64>("1.000,5").unwrap_err();
        assert!(e.contains("sin separar los miles"), "{e}");
        let e = decimal::<f64>("0,0,1").unwrap_err();
        assert!(e.contains("sin separar los miles"), "{e}");
        let e = decimal::<f64>("tres").unwrap_err();
        assert!(e.contains("no es un número decimal"), "{e}");
    }

    #[test]
    fn una_probabilidad_esta_en_el_intervalo_abierto_por_abajo() {
        assert_eq!(probability("0,9"), Ok(0.9));
        assert_eq!(probability("1"), Ok(1.0));
        for bad in ["0", "-0,5", "1,01", "NaN", "inf"] {
            let e = probability(bad).unwrap_err();
            assert!(e.contains("(0, 1]"), "{bad}: {e}");
        }
        assert!(probability("uno").is_err());
    }
}
