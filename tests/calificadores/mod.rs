//! Utilidades de los calificadores, y un archivo por capítulo con los suyos.
//!
//! Para añadir los ejercicios de un capítulo: crea `capNN.rs` con `pub fn exercises()`,
//! declara el módulo aquí y añádelo a [`all`].
#![allow(dead_code)]

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

// La versión que se califica: cada programa de pruebas define `graded` en su raíz (las
// soluciones de referencia en `tests/ejercicios.rs`, los archivos del alumno en
// `ejercicios/tests/calificar.rs`). Es la capa de adaptadores: los calificadores solo la usan
// a ella.
pub(crate) use crate::graded;
pub use gpt_desde_cero::{
    text::batches, text::corpus, text::dataset, text::tokenizer::Tokenizer, tools::download,
    tools::rng,
};
pub use ndarray::Array1;
pub use rand::Rng as _;

pub mod cap01;
pub mod cap02;
pub mod cap03;
pub mod cap04;
pub mod cap05;
pub mod cap06;
pub mod cap07;
pub mod entrenar;
pub mod generar;

/// Todos los ejercicios, en el orden del libro.
pub fn all() -> Vec<Exercise> {
    [
        cap01::exercises(),
        cap02::exercises(),
        cap03::exercises(),
        cap04::exercises(),
        cap05::exercises(),
        cap06::exercises(),
        cap07::exercises(),
    ]
    .concat()
}

pub type Grade = Result<(), String>;

#[derive(Clone)]
pub struct Exercise {
    pub id: &'static str,
    pub title: &'static str,
    pub file: &'static str,
    /// La primera pista: la idea.
    pub hint: &'static str,
    /// Las siguientes, una cada vez que se pide `--pista`: la API que hace falta y, al final,
    /// los pasos.
    pub more_hints: &'static [&'static str],
    /// Un ejercicio «más allá» del cuaderno: cuenta aparte y no hace falta para la prueba final.
    pub optional: bool,
    /// Los ejercicios (por su `id`) cuyas piezas usa tu solución de este: si alguno aún falla,
    /// este no se califica y se dice cuál arreglar primero.
    pub needs: &'static [&'static str],
    pub grade: fn() -> Grade,
}

impl Exercise {
    /// Todas sus pistas, de la idea a los pasos.
    pub fn hints(&self) -> Vec<&'static str> {
        std::iter::once(self.hint)
            .chain(self.more_hints.iter().copied())
            .collect()
    }

    /// Su número: `5.4`.
    pub fn number(&self) -> &'static str {
        self.title.split_whitespace().nth(1).unwrap_or(self.id)
    }
}

/// Lo que se sabe de un ejercicio en esta ejecución.
#[derive(Clone, Debug)]
pub enum Outcome {
    Passed,
    /// Su calificador lo rechaza, con este diagnóstico.
    Failed(String),
    /// No se calificó: usa la pieza `via`, que no está superada porque falla `root` (la
    /// misma `via` o una de la que esta depende).
    Blocked {
        via: &'static str,
        root: &'static str,
    },
}

/// Califica ejercicios teniendo en cuenta de qué piezas dependen: antes de calificar uno,
/// califica (una sola vez por ejecución) los que usa; si alguno falla, no lo califica.
#[derive(Default)]
pub struct Gradebook {
    outcomes: std::collections::HashMap<&'static str, Outcome>,
}

impl Gradebook {
    pub fn outcome(&mut self, ex: &Exercise) -> Outcome {
        if let Some(o) = self.outcomes.get(ex.id) {
            return o.clone();
        }
        let mut outcome = None;
        for dep in ex.needs {
            let dep_ex = all()
                .into_iter()
                .find(|e| e.id == *dep)
                .unwrap_or_else(|| panic!("{} depende de {dep}, que no existe", ex.id));
            match self.outcome(&dep_ex) {
                Outcome::Passed => {}
                Outcome::Failed(_) => {
                    outcome = Some(Outcome::Blocked {
                        via: dep_ex.id,
                        root: dep_ex.id,
                    });
                }
                Outcome::Blocked { root, .. } => {
                    outcome = Some(Outcome::Blocked {
                        via: dep_ex.id,
                        root,
                    });
                }
            }
            if outcome.is_some() {
                break;
            }
        }
        let outcome = outcome.unwrap_or_else(|| match grade_with_time_limit(ex) {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        });
        self.outcomes.insert(ex.id, outcome.clone());
        outcome
    }
}

/// El número de un ejercicio por su `id`.
pub fn number_of(id: &str) -> &'static str {
    all()
        .into_iter()
        .find(|e| e.id == id)
        .map_or("?", |e| e.number())
}

/// «7.4 usa tu 7.3, que aún falla: arregla primero 7.3».
pub fn blocked_message(ex: &Exercise, via: &str, root: &str) -> String {
    let (n, v, r) = (ex.number(), number_of(via), number_of(root));
    if via == root {
        format!("{n} usa tu {v}, que aún falla: arregla primero {v}")
    } else {
        format!("{n} usa tu {v}, que usa tu {r}, que aún falla: arregla primero {r}")
    }
}

/// Caracteres para textos de prueba: ASCII, letras con tilde, marcas combinantes, y alguno
/// de cuatro bytes, para que UTF-8 no pase desapercibido.
pub const ALPHABET: &[char] = &[
    'a', 'b', 'e', 'l', 'o', 'A', 'Z', ' ', '\n', ',', '.', '¿', '?', 'ñ', 'á', 'é', 'Ñ', '«', '»',
    '–', '\u{0301}', '\u{0303}', '𝔔', '0', '9',
];

pub fn random_text(r: &mut rng::Rng, max_len: usize) -> String {
    let len = r.random_range(0..=max_len);
    (0..len)
        .map(|_| ALPHABET[r.random_range(0..ALPHABET.len())])
        .collect()
}

pub fn short(s: &str) -> String {
    let p = corpus::prefix_chars(s, 40);
    if p.len() < s.len() {
        format!("{p:?}…")
    } else {
        format!("{p:?}")
    }
}

thread_local! {
    /// La entrada con la que se está llamando a tu función (para contarla si entra en pánico).
    static CURRENT_INPUT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Llama a tu función con `input` apuntada: si entra en pánico, el informe dice con qué
/// entrada ocurrió.
pub fn with_input<T>(input: &str, f: impl FnOnce() -> T) -> T {
    CURRENT_INPUT.with(|c| *c.borrow_mut() = Some(input.to_string()));
    let out = f();
    CURRENT_INPUT.with(|c| *c.borrow_mut() = None);
    out
}

/// Compara dos tensores de ndarray: misma forma (y si no, si es la traspuesta) y los valores
/// con [`check_close`].
pub fn check_array<D: ndarray::Dimension>(
    input: &str,
    got: &ndarray::Array<f32, D>,
    want: &ndarray::Array<f32, D>,
    tol: f32,
) -> Grade {
    if got.shape() != want.shape() {
        let mut flipped = got.shape().to_vec();
        flipped.reverse();
        let why = if got.ndim() == 2 && flipped == want.shape() {
            " (¿traspuesta?)"
        } else {
            ""
        };
        return Err(format!(
            "con {input}\n      se esperaba la forma {:?}\n      y se obtuvo {:?}{why}",
            want.shape(),
            got.shape()
        ));
    }
    let g: Vec<f32> = got.iter().copied().collect();
    let w: Vec<f32> = want.iter().copied().collect();
    check_close(input, &g, &w, tol)
}

/// Compara `got` con `want` y, si difieren, explica con qué entrada.
pub fn check<T: PartialEq + std::fmt::Debug>(input: &str, got: T, want: T) -> Grade {
    if got == want {
        Ok(())
    } else {
        let mut g = format!("{got:?}");
        let mut w = format!("{want:?}");
        g.truncate(200);
        w.truncate(200);
        Err(format!(
            "con {input}\n      se esperaba {w}\n      y se obtuvo {g}"
        ))
    }
}

/// Texto al azar de hasta `max_len` caracteres de [`ALPHABET`], como estrategia de proptest:
/// al encogerse, el texto se acorta y sus caracteres van hacia el principio del alfabeto.
pub fn text_strategy(max_len: usize) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::strategy::Strategy as _;
    proptest::collection::vec(proptest::sample::select(ALPHABET), 0..=max_len)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Como [`many`], con proptest: prueba `cases` entradas de `strategy` y, si una falla, la
/// **encoge** hasta la más pequeña que sigue fallando, que es la que se enseña. Un pánico de
/// tu función también cuenta como fallo (y también se encoge).
pub fn shrinking<S>(seed: u64, cases: u32, strategy: S, test: impl Fn(S::Value) -> Grade) -> Grade
where
    S: proptest::strategy::Strategy,
    S::Value: std::fmt::Debug,
{
    use proptest::test_runner::{
        Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
    };
    use std::cell::Cell;
    use std::time::{Duration, Instant};
    // Todo explícito: las variables PROPTEST_* del entorno no cambian la calificación. Y
    // proptest nunca corta el encogimiento él mismo, porque al cortarlo escribe en stderr
    // («proptest: Aborting shrinking after…»): el presupuesto lo llevamos nosotros.
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: u32::MAX - 1,
        max_shrink_time: 0,
        verbose: 0,
        ..Config::default()
    };
    // El presupuesto del encogimiento: tantas pruebas como proptest por defecto (4 por caso)
    // y nunca más de unos segundos, lejos del límite de tiempo del ejercicio.
    const SHRINK_TIME: Duration = Duration::from_secs(5);
    let shrink_calls = u64::from(cases) * 4;
    let (calls, first_failure) = (Cell::new(0u64), Cell::new(None::<(u64, Instant)>));
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let outcome = runner.run(&strategy, |value| {
        let n = calls.get() + 1;
        calls.set(n);
        if let Some((at, since)) = first_failure.get()
            && (n - at > shrink_calls || since.elapsed() > SHRINK_TIME)
        {
            // Presupuesto agotado: «pasa» sin llamar a tu función, y proptest vuelve a la
            // última entrada que falló (la más pequeña hasta ahora).
            return Ok(());
        }
        let result = test(value);
        if result.is_err() && first_failure.get().is_none() {
            first_failure.set(Some((n, Instant::now())));
        }
        result.map_err(TestCaseError::fail)
    });
    // Un pánico dentro de `with_input` deja su entrada apuntada; proptest ya lo contó.
    CURRENT_INPUT.with(|c| *c.borrow_mut() = None);
    match outcome {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, value)) => {
            let reason = reason.message().to_string();
            if reason.contains("not yet implemented") {
                let what = reason.split("not yet implemented: ").nth(1).unwrap_or("");
                return Err(format!("aún sin hacer (todo!: {what})"));
            }
            // Un pánico llega como «… panicked …»: le ponemos la entrada y la línea.
            if !reason.starts_with("con ") {
                let at = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
                return Err(format!(
                    "con {value:?} (la entrada más pequeña que encontré)\n      {}",
                    describe_panic(at.as_deref(), &reason)
                ));
            }
            Err(format!(
                "{reason}\n      (es la entrada más pequeña que falla que encontré)"
            ))
        }
        Err(TestError::Abort(reason)) => Err(format!("la calificación se interrumpió: {reason}")),
    }
}

pub fn many(cases: usize, seed: u64, mut case: impl FnMut(&mut rng::Rng) -> Grade) -> Grade {
    let mut r = rng::seeded(seed);
    (0..cases).try_for_each(|_| case(&mut r))
}

/// Un número real de un mensaje con la norma del libro, con los decimales que necesita:
/// `num(0.25) == "0,25"`, `num(-2.0) == "-2"` (como [`gpt_desde_cero::tools::pretty::number`]).
pub fn num(x: f32) -> String {
    gpt_desde_cero::tools::pretty::number(x)
}

/// Una lista de números reales con la norma del libro: como la coma es la decimal, los separa
/// un punto y coma: `nums(&[1.5, -2.0, 0.25]) == "[1,5; -2; 0,25]"`.
pub fn nums(xs: &[f32]) -> String {
    let items: Vec<String> = xs.iter().map(|&x| num(x)).collect();
    format!("[{}]", items.join("; "))
}

/// Como [`check`], para números reales: iguales salvo `tol` (absoluta o relativa). Un NaN o
/// un infinito nunca se dan por buenos.
pub fn check_close(input: &str, got: &[f32], want: &[f32], tol: f32) -> Grade {
    let bad = got.len() != want.len()
        || got
            .iter()
            .zip(want)
            .any(|(g, w)| !g.is_finite() || (g - w).abs() > tol * w.abs().max(1.0));
    if !bad {
        return Ok(());
    }
    if got.len() != want.len() {
        return Err(format!(
            "con {input}\n      se esperaban {} números y se obtuvieron {}",
            want.len(),
            got.len()
        ));
    }
    // En vectores largos, lo útil es el trozo alrededor de la primera diferencia.
    let first = got
        .iter()
        .zip(want)
        .position(|(g, w)| !g.is_finite() || (g - w).abs() > tol * w.abs().max(1.0))
        .unwrap_or(0);
    let (from, to) = (first.saturating_sub(3), (first + 4).min(got.len()));
    let why = if got[first].is_nan() {
        " (un NaN: ¿una división por cero o el exp de un número enorme?)".to_string()
    } else if !got[first].is_finite() {
        " (un infinito: ¿restaste el máximo antes del exp?)".to_string()
    } else if let Some(factor) = constant_factor(got, want) {
        format!(
            " (todos tus valores son {} veces los esperados: ¿sobra o falta un factor, \
             como 1/N o 1/√d_k?)",
            gpt_desde_cero::tools::pretty::decimal(factor.into(), 4)
        )
    } else {
        String::new()
    };
    Err(format!(
        "con {input}\n      primera diferencia en la posición {first} de {}{why}\n      \
         se esperaba [{from}..{to}] = {}\n      y se obtuvo [{from}..{to}] = {}",
        got.len(),
        nums(&want[from..to]),
        nums(&got[from..to])
    ))
}

/// Si `got` es `want` multiplicado por una misma constante (distinta de 1), esa constante.
fn constant_factor(got: &[f32], want: &[f32]) -> Option<f32> {
    let pairs: Vec<(f32, f32)> = got
        .iter()
        .zip(want)
        .filter(|(_, w)| w.abs() > 1e-3)
        .map(|(&g, &w)| (g, w))
        .collect();
    let &(g0, w0) = pairs.first()?;
    let factor = g0 / w0;
    let same = pairs.len() >= 2
        && factor.is_finite()
        && (factor - 1.0).abs() > 1e-3
        && pairs
            .iter()
            .all(|(g, w)| (g / w - factor).abs() <= 1e-3 * factor.abs().max(1.0));
    same.then_some(factor)
}

/// Dónde ocurrió el último pánico (archivo:línea), lo apunta el gancho de [`run`].
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Tiempo máximo de un ejercicio: más es, casi seguro, un bucle que no termina.
const TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Ejercicio 5.2, `5.2`; capítulo, `cap5`, `cap05` o `5`; o parte del nombre: `cross_entropy`.
fn matches(ex: &Exercise, filter: &str) -> bool {
    let f = filter.trim().to_lowercase();
    let chapter = f.strip_prefix("cap").unwrap_or(&f);
    if let Ok(n) = chapter.parse::<u32>() {
        return ex.id.starts_with(&format!("cap{n:02}::"));
    }
    if f.contains('.') && f.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return ex.title.starts_with(&format!("Ejercicio {f} "));
    }
    ex.id.contains(&f)
}

/// Si `filter` es exactamente el nombre de una función (`cross_entropy`) o un identificador
/// entero (`cap05::cross_entropy`).
fn matches_exactly(ex: &Exercise, filter: &str) -> bool {
    let f = filter.trim().to_lowercase();
    ex.id == f || ex.id.split("::").nth(1) == Some(f.as_str())
}

/// Los ejercicios que eligen los filtros, en el orden del libro: cada filtro que nombra
/// exactamente una función elige solo esa (`cross_entropy` es 5.1, no también 5.2); si no,
/// todos los que lo contienen.
fn select(filters: &[&String]) -> Vec<Exercise> {
    let all = all();
    let exact: Vec<bool> = filters
        .iter()
        .map(|f| all.iter().any(|ex| matches_exactly(ex, f)))
        .collect();
    all.into_iter()
        .filter(|ex| {
            filters.is_empty()
                || filters.iter().zip(&exact).any(|(f, &exact)| {
                    if exact {
                        matches_exactly(ex, f)
                    } else {
                        matches(ex, f)
                    }
                })
        })
        .collect()
}

/// Cómo se usa, para `--help` y para una opción desconocida.
const USAGE: &str = "\
Uso: cargo ejercicios [FILTRO…] [OPCIÓN…]

Califica tus ejercicios (ejercicios/capNN_*.rs). Sin filtro, todos.

Filtros:
  cap5, cap05 o 5      un capítulo
  5.2                  un ejercicio, por su número
  cross_entropy        un ejercicio, por el nombre de su función (si ninguna se
                       llama exactamente así, todas las que lo contienen)

Opciones:
  --pista FILTRO       la siguiente pista de esos ejercicios, sin calificar:
                       cada vez una más (la idea, la API, los pasos)
  --reiniciar FILTRO   devuelve sus archivos a como venían (con git: el archivo
                       entero del capítulo)
  --entrenar bigram|gpt [--preset diminuto|cpu|cuaderno] [--semilla N]
             [--reanudar | --sobrescribir] [--comprobar]
                       entrena tu modelo con tus piezas (antes comprueba que
                       estén superadas), con una barra y el tiempo que queda;
                       lo guarda en salidas/mi_gpt/ (gpt.safetensors y
                       gpt-mejor.safetensors) o en salidas/mi_bigram/, y
                       compara su pérdida final con la cifra guardada de la
                       biblioteca (con la semilla por defecto). Ctrl-C para y
                       guarda; --reanudar sigue el GPT; --sobrescribir
                       empieza de cero; --comprobar entrena también la
                       biblioteca y compara con ella
  --generar [gpt|bigram] [--checkpoint RUTA] [--prompt TEXTO] [--temperatura τ]
            [--top-k K] [--top-p P] [--tokens N] [--semilla N] [--ancho N]
                       escribe con tu modelo guardado (por defecto
                       salidas/mi_gpt/gpt-mejor.safetensors) y tus piezas: tu
                       tokenizador, tu generate, tu muestreo con temperatura,
                       tu top-k y tu top-p (estos dos, solo el GPT)
    (gpt) --activacion relu|gelu   la no linealidad: gelu usa tu 6.4
    (gpt) --lr-coseno    calentamiento y coseno: tu 5.7 da la tasa de cada paso
  --deben-fallar       comprueba que ningún calificador aprueba un esbozo sin
                       hacer (lo usa la integración continua)
  -h, --help           esta ayuda";

/// Opciones de las pruebas de Rust (libtest) que `cargo test -- …` pasa a todos los
/// programas de pruebas: aquí no significan nada y se ignoran.
fn is_libtest_option(arg: &str) -> bool {
    matches!(
        arg,
        "--nocapture" | "--no-capture" | "--show-output" | "--quiet" | "-q" | "--exact"
    ) || ["--test-threads=", "--color=", "--format="]
        .iter()
        .any(|p| arg.starts_with(p))
}

/// Califica `ex` en un hilo aparte, con [`TIME_LIMIT`]; si se pasa, lo dice y termina.
fn grade_with_time_limit(ex: &Exercise) -> Grade {
    let (tx, rx) = std::sync::mpsc::channel();
    let grade = ex.grade;
    std::thread::spawn(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(grade))
            .unwrap_or_else(|p| Err(panic_message(p.as_ref())));
        let _ = tx.send(result);
    });
    match rx.recv_timeout(TIME_LIMIT) {
        Ok(result) => result,
        Err(_) => {
            println!("  ✘ {} ({}): no superado", ex.title, ex.id);
            println!(
                "      no terminó en {} s: ¿un bucle que no acaba nunca? Se para aquí.",
                TIME_LIMIT.as_secs()
            );
            println!("      archivo: {}", ex.file);
            println!("{}", ask_for_hint(ex));
            std::process::exit(1);
        }
    }
}

/// Cómo pedir una pista de `ex` (un fallo ya no la da entera).
fn ask_for_hint(ex: &Exercise) -> String {
    format!(
        "      Pide una pista con: cargo ejercicios --pista {}",
        ex.number()
    )
}

/// El archivo (en `ejercicios/`, ignorado por git) donde se apunta cuántas pistas de cada
/// ejercicio has pedido: una línea `id nivel` por ejercicio. Las pruebas lo cambian con la
/// variable `CALIFICAR_PISTAS`.
fn hints_file() -> std::path::PathBuf {
    std::env::var_os("CALIFICAR_PISTAS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/.pistas").into())
}

/// Los nombres de los niveles de pista.
const HINT_LEVELS: [&str; 3] = ["la idea", "lo que necesitas", "los pasos"];

/// `--pista`: la siguiente pista de cada ejercicio elegido (con las anteriores encima). Con
/// las soluciones de referencia, todas y sin apuntar nada.
fn show_hints(chosen: &[Exercise], grading_student: bool) -> ExitCode {
    let path = hints_file();
    let mut reached: Vec<(String, usize)> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (id, n) = l.split_once(' ')?;
            Some((id.to_string(), n.trim().parse().ok()?))
        })
        .collect();
    for ex in chosen {
        let hints = ex.hints();
        let before = reached
            .iter()
            .find(|(id, _)| id == ex.id)
            .map_or(0, |r| r.1);
        let level = if grading_student {
            (before + 1).min(hints.len())
        } else {
            hints.len()
        };
        println!("{}", ex.title);
        println!("      archivo: {} ({})", ex.file, ex.id);
        for (i, hint) in hints.iter().enumerate().take(level) {
            let name = HINT_LEVELS.get(i).copied().unwrap_or("más");
            let new = if grading_student && i + 1 == level && before < level {
                " (nueva)"
            } else {
                ""
            };
            println!(
                "{}",
                wrap_hint(
                    &format!("pista {} de {}, {name}{new}:", i + 1, hints.len()),
                    hint
                )
            );
        }
        if grading_student && before >= hints.len() {
            println!("      Ya tienes todas sus pistas; la solución está plegada en el libro.");
        } else if level < hints.len() {
            println!(
                "      La siguiente, con la misma orden: cargo ejercicios --pista {}",
                ex.number()
            );
        }
        match reached.iter_mut().find(|(id, _)| id == ex.id) {
            Some(r) => r.1 = level,
            None => reached.push((ex.id.to_string(), level)),
        }
    }
    if grading_student {
        let text: String = reached
            .iter()
            .map(|(id, n)| format!("{id} {n}\n"))
            .collect();
        if let Err(e) = std::fs::write(&path, text) {
            println!(
                "(no pude apuntar las pistas que llevas en {}: {e})",
                path.display()
            );
        }
    }
    ExitCode::SUCCESS
}

/// `      pista: …`, partida en líneas de 80 columnas como mucho (las de después, con la
/// misma sangría que el resto del informe).
fn wrap_hint(label: &str, hint: &str) -> String {
    let mut out = format!("      {label}");
    let mut width = out.chars().count();
    for word in hint.split_whitespace() {
        let len = word.chars().count();
        if width + 1 + len > 80 {
            out.push_str("\n     ");
            width = 5;
        }
        out.push(' ');
        out.push_str(word);
        width += 1 + len;
    }
    out
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "pánico sin mensaje".into());
    let input = CURRENT_INPUT
        .with(|c| c.borrow_mut().take())
        .map(|i| format!("con {i}\n      "))
        .unwrap_or_default();
    if msg.starts_with("not yet implemented") {
        format!("aún sin hacer (todo!: {msg})").replace("not yet implemented: ", "")
    } else {
        let at = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
        format!("{input}{}", describe_panic(at.as_deref(), &msg))
    }
}

/// «la función entró en pánico en archivo:línea: mensaje», y, si el mensaje es un
/// desbordamiento, qué suele significar.
fn describe_panic(at: Option<&str>, msg: &str) -> String {
    let at = at.map(|a| format!(" en {a}")).unwrap_or_default();
    let mut out = format!("la función entró en pánico{at}: {msg}");
    // Un bucle sin fin que solo suma a un contador: al optimizar, el compilador se salta las
    // vueltas y llega directo al desbordamiento del contador. Se explica como el límite de
    // tiempo.
    if msg.starts_with("attempt to") && msg.ends_with("with overflow") {
        out.push_str(
            "\n      (un número no cabe en su tipo: ¿un bucle que no acaba nunca? Si un \
             contador\n      crece sin parar, el compilador se salta las vueltas y llega \
             directo a su\n      desbordamiento)",
        );
    }
    out
}

/// El texto de un error o de un pánico sin trazas (backtraces): candle las añade a sus
/// errores si `RUST_BACKTRACE` o `RUST_LIB_BACKTRACE` están en el entorno, en mitad de la
/// frase. [`run`] quita esas variables al empezar; esto es la segunda defensa.
pub fn without_backtrace(text: &str) -> String {
    // La forma Debug de un error con traza: `WithBacktrace { inner: …, backtrace: Backtrace
    // [{ fn: … }, …] }`, en una sola línea.
    let mut text = text.to_string();
    while let Some(start) = text.find(", backtrace: Backtrace [") {
        let open = start + ", backtrace: Backtrace ".len();
        let mut depth = 0usize;
        let mut end = text.len();
        for (i, c) in text[open..].char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        text.replace_range(start..end, "");
    }
    // La forma Display: líneas «   3: candle_core::…» y «             at /ruta:12:5», y las
    // cabeceras «stack backtrace:».
    let is_frame = |line: &str| {
        let l = line.trim_start();
        let numbered = l
            .split_once(": ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        (numbered && line.starts_with(' '))
            || (l.starts_with("at ") && line.starts_with("    "))
            || l == "stack backtrace:"
            || l.starts_with("note: Some details are omitted")
            || l.starts_with("note: run with `RUST_BACKTRACE")
    };
    let kept: Vec<&str> = text.lines().filter(|l| !is_frame(l)).collect();
    let mut out = kept.join("\n");
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// `--reiniciar <filtro>`: devuelve a su estado original (el del repositorio, con `git
/// checkout`) los archivos de los ejercicios elegidos. Ojo: es el archivo entero del capítulo.
fn reset_files(chosen: &[Exercise], filters: &[&String], grading_student: bool) -> ExitCode {
    if !grading_student {
        println!(
            "error: --reiniciar es para tus ejercicios: `cargo ejercicios -- --reiniciar 5.2`"
        );
        return ExitCode::FAILURE;
    }
    if filters.is_empty() {
        println!(
            "error: --reiniciar necesita qué reiniciar (cap5, 5.2, cross_entropy): no borro \
             todos tus ejercicios de golpe"
        );
        return ExitCode::FAILURE;
    }
    let mut files: Vec<&str> = chosen.iter().map(|ex| ex.file).collect();
    files.dedup();
    // Las pruebas del paquete `ejercicios` corren en `ejercicios/`; la raíz está encima.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["checkout", "--"])
        .args(&files)
        .status();
    match status {
        Ok(s) if s.success() => {
            for f in &files {
                println!("reiniciado: {f} (vuelve a tener sus todo!())");
            }
            ExitCode::SUCCESS
        }
        _ => {
            println!(
                "error: no pude reiniciar con git; copia el archivo original del repositorio: {}",
                files.join(", ")
            );
            ExitCode::FAILURE
        }
    }
}

/// Califica y lo cuenta: `grading_student` dice si son los archivos del alumno (`cargo
/// ejercicios`) o las soluciones de referencia (`cargo test`).
pub fn run(grading_student: bool) -> ExitCode {
    // Con RUST_BACKTRACE=1 (muchos lo tienen puesto), candle mete una traza de decenas de
    // líneas en cada error, en mitad del informe. Se quitan antes de crear ningún hilo (y
    // antes de la primera traza, que fija para siempre si se capturan).
    // SAFETY: es lo primero que hace `main`, con un solo hilo.
    unsafe {
        std::env::remove_var("RUST_BACKTRACE");
        std::env::remove_var("RUST_LIB_BACKTRACE");
    }
    // Los entrenamientos de la prueba final, con los hilos y el reservador de memoria de los
    // programas del libro: un hilo por operación de candle (con dos, en estas matrices, el paso
    // va más despacio) y la memoria liberada se reutiliza. No cambia ningún resultado.
    gpt_desde_cero::tools::cli::single_thread_ops();
    gpt_desde_cero::tools::cli::tune_allocator();
    // `cargo ejercicios --help | head` termina en silencio.
    gpt_desde_cero::tools::cli::quiet_broken_pipe();
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Lo que va tras `--entrenar` o `--generar` son sus opciones, no filtros.
    let until = args
        .iter()
        .position(|a| a == "--entrenar" || a == "--generar")
        .unwrap_or(args.len());
    let ours = &args[..until];
    if ours.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    const KNOWN: &[&str] = &["--deben-fallar", "--pista", "--reiniciar"];
    if let Some(unknown) = ours
        .iter()
        .find(|a| a.starts_with('-') && !KNOWN.contains(&a.as_str()) && !is_libtest_option(a))
    {
        println!("error: opción desconocida «{unknown}»\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let must_fail = ours.iter().any(|a| a == "--deben-fallar");
    let hints_only = ours.iter().any(|a| a == "--pista");
    let reset = ours.iter().any(|a| a == "--reiniciar");
    let filters: Vec<&String> = ours.iter().filter(|a| !a.starts_with('-')).collect();
    let chosen = select(&filters);
    if chosen.is_empty() {
        println!(
            "error: ningún ejercicio coincide con {filters:?}. Elige un capítulo (cap5, cap05), \
             un ejercicio (5.2) o el nombre de una función (cross_entropy)."
        );
        return ExitCode::FAILURE;
    }
    if reset {
        return reset_files(&chosen, &filters, grading_student);
    }
    if hints_only {
        if filters.is_empty() {
            println!(
                "error: --pista necesita de qué ejercicio: `cargo ejercicios --pista 5.4` (o de \
                 un capítulo: `--pista cap05`)"
            );
            return ExitCode::FAILURE;
        }
        return show_hints(&chosen, grading_student);
    }

    // Los `todo!()` y pánicos del alumno se informan abajo, no como una traza: el gancho solo
    // apunta dónde ocurrió.
    panic::set_hook(Box::new(|info| {
        let mut at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        // Si el pánico salta dentro de una biblioteca (un índice fuera de rango en ndarray),
        // lo que sirve es la línea de tu archivo que la llamó: la buscamos en la traza.
        if !at.as_deref().is_some_and(|a| a.contains("ejercicios/")) {
            let trace = std::backtrace::Backtrace::force_capture().to_string();
            // Los archivos del alumno aparecen como `at ./capNN_….rs:línea:columna`.
            let yours = trace.lines().map(str::trim).find_map(|l| {
                let path = l.strip_prefix("at ./cap")?;
                let (file, line) = path.split_once(".rs:")?;
                let line = line.split(':').next()?;
                Some(format!("ejercicios/cap{file}.rs:{line}"))
            });
            if yours.is_some() {
                at = yours;
            }
        }
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }));

    if until < args.len() {
        let rest = &args[until + 1..];
        let code = if args[until] == "--entrenar" {
            entrenar::main(rest, grading_student)
        } else {
            generar::main(rest, grading_student)
        };
        // 2: un error en sus opciones (ya dicho); debajo, cómo se usa.
        if code == ExitCode::from(2) {
            println!("\n{USAGE}");
        }
        return code;
    }

    let who = if grading_student {
        "tus archivos de ejercicios/"
    } else {
        "las soluciones de referencia"
    };
    println!("\nCalificando {who}\n");

    let mut wrongly_passed = Vec::new();
    // Por capítulo: superados y total, de los obligatorios y de los opcionales.
    let mut by_chapter: Vec<(&str, [usize; 4])> = Vec::new();
    let mut book = Gradebook::default();
    for ex in &chosen {
        // `--deben-fallar` prueba cada calificador por sí solo, sin mirar sus dependencias.
        let outcome = if must_fail {
            match grade_with_time_limit(ex) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            }
        } else {
            book.outcome(ex)
        };
        let chapter = ex.id.split("::").next().unwrap_or(ex.id);
        if by_chapter.last().is_none_or(|c| c.0 != chapter) {
            by_chapter.push((chapter, [0; 4]));
        }
        let counts = &mut by_chapter.last_mut().expect("recién añadido").1;
        let slot = if ex.optional { 2 } else { 0 };
        counts[slot + 1] += 1;
        match outcome {
            Outcome::Passed => {
                counts[slot] += 1;
                println!("  ✔ {} ({}): superado", ex.title, ex.id);
                wrongly_passed.push(ex.id);
            }
            Outcome::Failed(why) => {
                println!("  ✘ {} ({}): no superado", ex.title, ex.id);
                println!("      {}", without_backtrace(&why));
                println!("      archivo: {}", ex.file);
                println!("{}", ask_for_hint(ex));
            }
            Outcome::Blocked { via, root } => {
                println!("  ✘ {} ({}): sin calificar", ex.title, ex.id);
                println!("      {}", blocked_message(ex, via, root));
            }
        }
    }
    println!();
    let mut sum = [0; 4];
    for (chapter, c) in &by_chapter {
        let optional = if c[3] > 0 {
            format!(" (más allá: {} de {})", c[2], c[3])
        } else {
            String::new()
        };
        println!("{chapter}: {} de {}{optional}", c[0], c[1]);
        sum.iter_mut().zip(c).for_each(|(s, v)| *s += v);
    }
    let [passed, required, optional_passed, optional] = sum;
    let total = required + optional;
    let failed = total - passed - optional_passed;
    let extra = if optional > 0 {
        format!(" (y {optional_passed} de {optional} «más allá», opcionales)")
    } else {
        String::new()
    };
    println!("\nResultado: {passed} de {required} ejercicios superados{extra}.");
    // Solo si no hubo filtro: con uno, los demás capítulos ni se han calificado.
    if grading_student && filters.is_empty() && passed == required && required > 0 && !must_fail {
        println!(
            "\nCon todos los obligatorios superados, entrena tus modelos: \
             `cargo ejercicios --entrenar bigram` y `cargo ejercicios --entrenar gpt`."
        );
    }
    let passed = passed + optional_passed;

    if must_fail {
        // Modo de la integración continua: un calificador que aprueba un esbozo es un defecto.
        if total == 0 {
            println!("error: ningún ejercicio coincide con el filtro");
            return ExitCode::FAILURE;
        }
        if wrongly_passed.is_empty() {
            println!("Bien: los {total} calificadores rechazan los esbozos sin hacer.");
            println!("calificadores: {total} passed, 0 failed");
            return ExitCode::SUCCESS;
        }
        println!(
            "error: estos calificadores aprueban un esbozo sin hacer: {}",
            wrongly_passed.join(", ")
        );
        println!("calificadores: {} passed, {} failed", failed, passed);
        return ExitCode::FAILURE;
    }
    println!("ejercicios: {passed} passed, {failed} failed");
    if total == 0 {
        println!("error: ningún ejercicio coincide con el filtro");
        return ExitCode::FAILURE;
    }
    // Tus ejercicios opcionales sin hacer no cuentan como fallo; las soluciones de
    // referencia deben superarlos todos.
    let required_failed = required - sum[0];
    if failed == 0 || (grading_student && required_failed == 0) {
        ExitCode::SUCCESS
    } else {
        if grading_student {
            // cargo añade después su «error: test failed … Caused by»: solo repite esto.
            println!(
                "(Las líneas de cargo que vienen a continuación, «error: test failed…», solo \
                 dicen que queda algún ejercicio por superar.)"
            );
        }
        ExitCode::FAILURE
    }
}
