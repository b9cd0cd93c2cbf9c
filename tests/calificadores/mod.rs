//! Utilidades de los calificadores, y un archivo por capítulo con los suyos.
//!
//! Para añadir los ejercicios de un capítulo: crea `capNN.rs` con `pub fn exercises()`,
//! declara el módulo aquí y añádelo a [`all`].
#![allow(dead_code)]

pub use gpt_desde_cero::ejercicios::graded;
pub use gpt_desde_cero::{
    text::batches, text::corpus, text::dataset, text::tokenizer::Tokenizer, tools::rng,
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
    pub hint: &'static str,
    pub grade: fn() -> Grade,
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

pub fn many(cases: usize, seed: u64, mut case: impl FnMut(&mut rng::Rng) -> Grade) -> Grade {
    let mut r = rng::seeded(seed);
    (0..cases).try_for_each(|_| case(&mut r))
}

/// Como [`check`], para números reales: iguales salvo `tol` (absoluta o relativa). Un NaN o
/// un infinito nunca se dan por buenos.
pub fn check_close(input: &str, got: &[f32], want: &[f32], tol: f32) -> Grade {
    let bad = got.len() != want.len()
        || got
            .iter()
            .zip(want)
            .any(|(g, w)| !g.is_finite() || (g - w).abs() > tol * w.abs().max(1.0));
    if bad {
        let mut g = format!("{got:?}");
        let mut w = format!("{want:?}");
        g.truncate(200);
        w.truncate(200);
        Err(format!(
            "con {input}\n      se esperaba {w}\n      y se obtuvo {g}"
        ))
    } else {
        Ok(())
    }
}
