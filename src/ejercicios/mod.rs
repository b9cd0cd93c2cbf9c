//! Los ejercicios del libro y cómo se califican.
//!
//! Cada capítulo tiene un archivo en la carpeta `ejercicios/` con funciones por completar
//! (`todo!()`), y aquí una solución de referencia escrita de otra manera. Las pruebas de
//! `tests/ejercicios.rs` comparan la versión calificada con la biblioteca en muchas entradas:
//! - `cargo test` califica las soluciones de referencia (y así prueba a los calificadores);
//! - `cargo ejercicios` (alias de `cargo test --features ejercicios --test ejercicios`)
//!   califica tus archivos.

/// Tus soluciones: los archivos de la carpeta `ejercicios/` de la raíz del proyecto.
#[path = "../../ejercicios"]
pub mod student {
    #[path = "cap01_datos.rs"]
    pub mod cap01;
    #[path = "cap02_codificacion.rs"]
    pub mod cap02;
    #[path = "cap03_tensores.rs"]
    pub mod cap03;
    #[path = "cap04_lotes.rs"]
    pub mod cap04;
    #[path = "cap05_bigram.rs"]
    pub mod cap05;
    #[path = "cap06_autoatencion.rs"]
    pub mod cap06;
    #[path = "cap07_gpt.rs"]
    pub mod cap07;
}

/// Las soluciones de referencia (¡no mires hasta intentarlo!).
pub mod reference {
    pub mod cap01;
    pub mod cap02;
    pub mod cap03;
    pub mod cap04;
    pub mod cap05;
    pub mod cap06;
    pub mod cap07;
}

/// La versión que se califica: la tuya con `--features ejercicios`, la de referencia si no.
#[cfg(feature = "ejercicios")]
pub use student as graded;

/// La versión que se califica: la tuya con `--features ejercicios`, la de referencia si no.
#[cfg(not(feature = "ejercicios"))]
pub use reference as graded;

/// Verdadero si se están calificando los archivos del alumno.
pub const GRADING_STUDENT: bool = cfg!(feature = "ejercicios");
