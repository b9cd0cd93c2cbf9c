//! Tus ejercicios, un archivo por capítulo. Complétalos (quita cada `todo!()`) y califícate con
//! `cargo ejercicios` (todos) o `cargo ejercicios cap05` (un capítulo).
#![allow(unused_variables, unused_imports, unused_mut)]

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
