//! # Ejercicios del capítulo 4: contexto, objetivos y lotes
//!
//! Completa cada función (quita el `todo!()`) y califícate con:
//!
//! ```text
//! cargo ejercicios cap04
//! ```
#![allow(unused_variables)]

use gpt_desde_cero::tools::rng::Rng;
use ndarray::{Array2, ArrayView1};
use rand::Rng as _;

/// **Ejercicio 4.1 — Pares contexto → objetivo.**
///
/// Un trozo de `k + 1` tokens contiene `k` ejemplos: para `t` de 1 a `k`, el contexto son los
/// primeros `t` tokens y el objetivo es el token siguiente. Con `chunk = [27, 38, 37]`:
/// `[([27], 38), ([27, 38], 37)]`. Un trozo de 0 o 1 tokens no tiene ejemplos.
pub fn context_target_pairs(chunk: &[u32]) -> Vec<(Vec<u32>, u32)> {
    todo!("los pares (contexto, objetivo)")
}

/// **Ejercicio 4.2 — Armar un lote.**
///
/// Para cada inicio `i` de `starts`, la fila correspondiente de `x` es
/// `data[i..i + block_size]` y la de `y` es `data[i + 1..i + block_size + 1]`: los mismos
/// tokens desplazados una posición. Devuelve `(x, y)`, ambos de forma
/// `(starts.len(), block_size)`. Todos los inicios son válidos.
pub fn batch_at(
    data: ArrayView1<u32>,
    starts: &[usize],
    block_size: usize,
) -> (Array2<u32>, Array2<u32>) {
    todo!("apila los bloques de entrada y de objetivo")
}

/// **Ejercicio 4.3 — Un lote al azar (`get_batch`).**
///
/// Sortea `batch_size` inicios con `rng`, uno tras otro, cada uno uniforme entre `0` y
/// `data.len() - block_size` (sin incluir este último), como
/// `torch.randint(len(data) - block_size, (batch_size,))`, y arma el lote con tu `batch_at`.
/// Devuelve `(x, y)`, de forma `(batch_size, block_size)`. Sortea exactamente así (un número
/// por fila, en orden, con `random_range`): el GPT de tu prueba final usará esta función y
/// sus lotes deben ser los mismos que los de la biblioteca con la misma semilla.
pub fn get_batch(
    data: ArrayView1<u32>,
    batch_size: usize,
    block_size: usize,
    rng: &mut Rng,
) -> (Array2<u32>, Array2<u32>) {
    todo!("sortea los inicios y arma el lote")
}
