//! Califica los ejercicios: compara cada función calificada con la biblioteca en muchas
//! entradas y dice, en español, qué ejercicio está superado y cuál no (con una pista).
//!
//! - `cargo test`: califica las soluciones de referencia (todas deben pasar).
//! - `cargo ejercicios [capNN]`: califica tus archivos de `ejercicios/`.
//! - `... -- --deben-fallar`: comprueba que ningún calificador aprueba un esbozo sin hacer
//!   (lo usa la integración continua con los archivos sin tocar).

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;

use gpt_desde_cero::ejercicios::GRADING_STUDENT;

mod calificadores;

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
    for ex in calificadores::all() {
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
