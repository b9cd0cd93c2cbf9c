//! Califica los ejercicios: compara cada función calificada con la biblioteca en muchas
//! entradas y dice, en español, qué ejercicio está superado y cuál no (con una pista).
//!
//! - `cargo test`: califica las soluciones de referencia (todas deben pasar).
//! - `cargo ejercicios [capNN]`: califica tus archivos de `ejercicios/`.
//! - `... -- --deben-fallar`: comprueba que ningún calificador aprueba un esbozo sin hacer
//!   (lo usa la integración continua con los archivos sin tocar).

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use gpt_desde_cero::ejercicios::{GRADING_STUDENT, graded};
use gpt_desde_cero::{batches, corpus, dataset, rng, tokenizer::Tokenizer};
use ndarray::Array1;
use rand::Rng as _;

type Grade = Result<(), String>;

struct Exercise {
    id: &'static str,
    title: &'static str,
    file: &'static str,
    hint: &'static str,
    grade: fn() -> Grade,
}

/// Caracteres para textos de prueba: ASCII, letras con tilde, marcas combinantes, y alguno
/// de cuatro bytes, para que UTF-8 no pase desapercibido.
const ALPHABET: &[char] = &[
    'a', 'b', 'e', 'l', 'o', 'A', 'Z', ' ', '\n', ',', '.', '¿', '?', 'ñ', 'á', 'é', 'Ñ', '«', '»',
    '–', '\u{0301}', '\u{0303}', '𝔔', '0', '9',
];

fn random_text(r: &mut rng::Rng, max_len: usize) -> String {
    let len = r.random_range(0..=max_len);
    (0..len)
        .map(|_| ALPHABET[r.random_range(0..ALPHABET.len())])
        .collect()
}

fn short(s: &str) -> String {
    let p = corpus::prefix_chars(s, 40);
    if p.len() < s.len() {
        format!("{p:?}…")
    } else {
        format!("{p:?}")
    }
}

/// Compara `got` con `want` y, si difieren, explica con qué entrada.
fn check<T: PartialEq + std::fmt::Debug>(input: &str, got: T, want: T) -> Grade {
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

fn many(cases: usize, seed: u64, mut case: impl FnMut(&mut rng::Rng) -> Grade) -> Grade {
    let mut r = rng::seeded(seed);
    (0..cases).try_for_each(|_| case(&mut r))
}

fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap01::count_chars",
            title: "Ejercicio 1.1 — Contar caracteres",
            file: "ejercicios/cap01_datos.rs",
            hint: "`text.len()` cuenta bytes; `text.chars()` recorre caracteres.",
            grade: || {
                check("\"año\"", graded::cap01::count_chars("año"), 3)?;
                many(300, 11, |r| {
                    let t = random_text(r, 60);
                    check(
                        &short(&t),
                        graded::cap01::count_chars(&t),
                        t.chars().count(),
                    )
                })
            },
        },
        Exercise {
            id: "cap01::first_chars",
            title: "Ejercicio 1.2 — Los primeros caracteres",
            file: "ejercicios/cap01_datos.rs",
            hint: "`text.char_indices().nth(n)` da el byte donde empieza el carácter n.",
            grade: || {
                check(
                    "(\"año nuevo\", 3)",
                    graded::cap01::first_chars("año nuevo", 3),
                    "año",
                )?;
                many(300, 12, |r| {
                    let t = random_text(r, 40);
                    let n = r.random_range(0..50);
                    check(
                        &format!("({}, {n})", short(&t)),
                        graded::cap01::first_chars(&t, n),
                        corpus::prefix_chars(&t, n),
                    )
                })
            },
        },
        Exercise {
            id: "cap02::vocabulary",
            title: "Ejercicio 2.1 — El vocabulario",
            file: "ejercicios/cap02_codificacion.rs",
            hint: "ordena los caracteres con `sort()` y quita los repetidos con `dedup()`.",
            grade: || {
                many(300, 21, |r| {
                    let t = random_text(r, 80);
                    check(
                        &short(&t),
                        graded::cap02::vocabulary(&t),
                        Tokenizer::from_text(&t).chars().to_vec(),
                    )
                })
            },
        },
        Exercise {
            id: "cap02::encode",
            title: "Ejercicio 2.2 — Codificar",
            file: "ejercicios/cap02_codificacion.rs",
            hint: "el identificador de un carácter es su posición en el vocabulario ordenado.",
            grade: || {
                many(300, 22, |r| {
                    let t = random_text(r, 80);
                    let tok = Tokenizer::from_text(&t);
                    check(
                        &short(&t),
                        graded::cap02::encode(tok.chars(), &t),
                        tok.encode(&t)
                            .expect("todo carácter está en el vocabulario"),
                    )
                })
            },
        },
        Exercise {
            id: "cap02::decode",
            title: "Ejercicio 2.3 — Decodificar",
            file: "ejercicios/cap02_codificacion.rs",
            hint: "`vocab[id as usize]` es el carácter del identificador `id`.",
            grade: || {
                let vocab = Tokenizer::from_text(&ALPHABET.iter().collect::<String>());
                many(300, 23, |r| {
                    let len = r.random_range(0..60);
                    let ids: Vec<u32> = (0..len)
                        .map(|_| r.random_range(0..vocab.vocab_size() as u32))
                        .collect();
                    check(
                        &format!("{ids:?}"),
                        graded::cap02::decode(vocab.chars(), &ids),
                        vocab.decode(&ids).expect("identificadores válidos"),
                    )
                })
            },
        },
        Exercise {
            id: "cap03::split_point",
            title: "Ejercicio 3.1 — Dónde cortar",
            file: "ejercicios/cap03_tensores.rs",
            hint: "`(train_fraction * len as f64) as usize`.",
            grade: || {
                check(
                    "(1038397, 0.9)",
                    graded::cap03::split_point(1038397, 0.9),
                    934557,
                )?;
                many(500, 31, |r| {
                    let len = r.random_range(0..2_000_000);
                    let f = [0.5, 0.8, 0.9, 0.95, 0.1][r.random_range(0..5)];
                    check(
                        &format!("({len}, {f})"),
                        graded::cap03::split_point(len, f),
                        dataset::split_point(len, f),
                    )
                })
            },
        },
        Exercise {
            id: "cap03::token_counts",
            title: "Ejercicio 3.2 — Contar tokens",
            file: "ejercicios/cap03_tensores.rs",
            hint: "recorre los identificadores y suma uno en `counts[id as usize]`.",
            grade: || {
                many(200, 32, |r| {
                    let vocab_size = r.random_range(1..100);
                    let len = r.random_range(0..500);
                    let ids: Array1<u32> = (0..len)
                        .map(|_| r.random_range(0..vocab_size as u32))
                        .collect();
                    check(
                        &format!("vocab_size = {vocab_size}, ids = {:?}", ids.to_vec()),
                        graded::cap03::token_counts(ids.view(), vocab_size),
                        dataset::token_counts(ids.view(), vocab_size),
                    )
                })
            },
        },
        Exercise {
            id: "cap04::context_target_pairs",
            title: "Ejercicio 4.1 — Pares contexto → objetivo",
            file: "ejercicios/cap04_lotes.rs",
            hint: "para t en 1..chunk.len(): contexto `chunk[..t]`, objetivo `chunk[t]`.",
            grade: || {
                many(200, 41, |r| {
                    let len = r.random_range(0..12);
                    let chunk: Vec<u32> = (0..len).map(|_| r.random_range(0..89)).collect();
                    check(
                        &format!("{chunk:?}"),
                        graded::cap04::context_target_pairs(&chunk),
                        batches::context_target_pairs(&chunk),
                    )
                })
            },
        },
        Exercise {
            id: "cap04::batch_at",
            title: "Ejercicio 4.2 — Armar un lote",
            file: "ejercicios/cap04_lotes.rs",
            hint: "la fila de `y` es la de `x` corrida un lugar: empieza en `i + 1`.",
            grade: || {
                many(200, 42, |r| {
                    let len = r.random_range(20..200);
                    let data: Array1<u32> = (0..len).map(|_| r.random_range(0..89)).collect();
                    let block = r.random_range(1..16);
                    let batch = r.random_range(1..6);
                    let starts: Vec<usize> =
                        (0..batch).map(|_| r.random_range(0..len - block)).collect();
                    check(
                        &format!("starts = {starts:?}, block_size = {block}"),
                        graded::cap04::batch_at(data.view(), &starts, block),
                        batches::batch_at(data.view(), &starts, block),
                    )
                })
            },
        },
    ]
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "pánico sin mensaje".into());
    if msg.starts_with("not yet implemented") {
        format!("aún sin hacer (todo!: {msg})").replace("not yet implemented: ", "")
    } else {
        format!("la función entró en pánico: {msg}")
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let must_fail = args.iter().any(|a| a == "--deben-fallar");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();

    // Los `todo!()` y pánicos del alumno se informan abajo, no como una traza.
    panic::set_hook(Box::new(|_| {}));

    let who = if GRADING_STUDENT {
        "tus archivos de ejercicios/"
    } else {
        "las soluciones de referencia"
    };
    println!("\nCalificando {who}\n");

    let (mut passed, mut failed) = (0, 0);
    let mut wrongly_passed = Vec::new();
    for ex in exercises() {
        if !filters.is_empty() && !filters.iter().any(|f| ex.id.contains(f.as_str())) {
            continue;
        }
        let result = panic::catch_unwind(AssertUnwindSafe(ex.grade))
            .unwrap_or_else(|p| Err(panic_message(p.as_ref())));
        match result {
            Ok(()) => {
                passed += 1;
                println!("  ✔ {} ({}): superado", ex.title, ex.id);
                wrongly_passed.push(ex.id);
            }
            Err(why) => {
                failed += 1;
                println!("  ✘ {} ({}): no superado", ex.title, ex.id);
                println!("      {why}");
                println!("      archivo: {}", ex.file);
                println!("      pista: {}", ex.hint);
            }
        }
    }
    let total = passed + failed;
    println!("\nResultado: {passed} de {total} ejercicios superados.");

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
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
