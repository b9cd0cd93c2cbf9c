//! # gpt-desde-cero
//!
//! Biblioteca del libro «GPT desde cero»: un modelo de lenguaje a nivel de caracteres,
//! construido paso a paso sobre el texto de *Don Quijote*.
//!
//! La casa tiene tres partes, cada una en su carpeta:
//!
//! - [`text`] y [`model`]: **la lección**, el código que el libro enseña.
//! - [`fast`]: **la maquinaria de velocidad**, otra implementación de las mismas operaciones,
//!   probada contra la de la lección (capítulo «Rendimiento»). El programa elige cuál ejecuta
//!   el modelo al construirlo ([`model::kernels::Kernels`]); `model` no usa nada de `fast`.
//! - [`tools`]: **las herramientas**: línea de órdenes, puntos de control, gráficas y el RNG.
//!
//! ## Mapa: capítulo → módulos
//!
//! | capítulo | programa | módulos |
//! | --- | --- | --- |
//! | 1. Los datos | `01_datos` | [`text::corpus`], [`tools::download`] |
//! | 2. Codificación | `02_codificacion` | [`text::tokenizer`] |
//! | 3. Tensores | `03_tensores` | [`text::dataset`] |
//! | 4. Lotes | `04_lotes` | [`text::batches`], [`tools::rng`] |
//! | 5. El modelo bigrama | `05_bigram` | [`model::bigram`], [`model::estimate`], [`model::sampling`] |
//! | 6. Autoatención | `06_autoatencion` | [`model::attention`], [`model::layers`] |
//! | 7. El GPT completo | `07_gpt` | [`model::gpt`], [`model::layers`], [`model::kernels`], [`model::adamw`], [`model::train`] |
//! | 8. Entrenar en serio | `07_gpt` (`entrenar --reanudar`, `escalera`, `generar`) | [`tools::training`], [`tools::checkpoint`], [`model::ladder`], [`fast::kv_cache`] |
//! | Rendimiento | bancos de pruebas | [`fast`] ([`fast::kernels`]: la implementación rápida) |
//!
//! Cada capítulo (`chapters/NN_*.rs`) es un programa corto que narra y llama a estos módulos.

pub mod text {
    //! Del texto a los lotes (capítulos 1–4).
    pub mod batches;
    pub mod corpus;
    pub mod dataset;
    pub mod tokenizer;
}

pub mod model {
    //! La lección: los modelos, su entrenamiento y su generación (capítulos 5–7).
    pub mod adamw;
    pub mod attention;
    pub mod bigram;
    pub mod bridge;
    pub mod estimate;
    pub mod gpt;
    pub mod kernels;
    pub mod ladder;
    pub mod layers;
    pub mod sampling;
    pub mod train;
}

pub mod fast {
    //! La maquinaria de velocidad: operaciones fusionadas, caché KV y los dos núcleos.
    pub mod fused;
    pub mod fused_attention;
    pub mod fused_linear;
    pub mod host_step;
    pub mod kernels;
    pub mod kv_cache;
    pub(crate) mod matrix;
    pub mod parallel;
}

pub mod tools {
    //! Las herramientas: línea de órdenes, puntos de control, gráficas, formato y el RNG.
    pub mod checkpoint;
    pub mod cli;
    pub mod download;
    pub mod generation;
    pub mod heatmap;
    pub mod lock;
    pub mod plot;
    pub mod pretty;
    pub mod resources;
    pub mod rng;
    pub mod training;
}
