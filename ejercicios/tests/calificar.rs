//! Califica tus archivos de `ejercicios/` con los calificadores del proyecto (los mismos que
//! `cargo test` pasa a las soluciones de referencia). `cargo ejercicios -- --deben-fallar`
//! comprueba que ningún calificador aprueba un esbozo sin hacer (lo usa la integración continua).
// Las pruebas escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

use std::process::ExitCode;

#[path = "../../tests/calificadores/mod.rs"]
mod calificadores;

/// Tus soluciones.
mod graded {
    pub use ejercicios::*;
}

fn main() -> ExitCode {
    calificadores::run(true)
}
