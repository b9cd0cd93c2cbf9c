//! # gpt-desde-cero
//!
//! Biblioteca del libro «GPT desde cero»: un modelo de lenguaje a nivel de caracteres,
//! construido paso a paso sobre el texto de *Don Quijote*.
//!
//! Cada módulo es una idea del libro; cada capítulo (`chapters/NN_*.rs`) es un programa
//! corto que narra y llama a estos módulos.

pub mod adamw;
pub mod attention;
pub mod batches;
pub mod bigram;
pub mod checkpoint;
pub mod cli;
pub mod corpus;
pub mod dataset;
pub mod ejercicios;
pub mod escalera;
pub mod formato;
pub mod fused;
pub mod fused_attention;
pub mod fused_linear;
pub mod gpt;
pub mod heatmap;
pub mod kv_cache;
pub mod layers;
mod matrix;
pub mod parallel;
pub mod plot;
pub mod rng;
pub mod tokenizer;
pub mod train;
