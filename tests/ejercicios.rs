//! Califica las soluciones de referencia con los mismos calificadores que usan tus ejercicios:
//! así `cargo test` prueba a los calificadores. Tus archivos de `ejercicios/` se califican con
//! `cargo ejercicios` (el paquete `ejercicios`, aparte: un ejercicio a medias no rompe nada).
// Las pruebas escriben con los `println!` de siempre (véase clippy.toml).
#![allow(clippy::disallowed_macros)]

use std::process::ExitCode;

mod calificadores;

/// Las soluciones de referencia (¡no mires hasta intentarlo!).
#[path = "calificadores/referencia"]
mod graded {
    pub mod cap01;
    pub mod cap02;
    pub mod cap03;
    pub mod cap04;
    pub mod cap05;
    pub mod cap06;
    pub mod cap07;
}

fn main() -> ExitCode {
    calificadores::run(false)
}
