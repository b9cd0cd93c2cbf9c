//! # Ejercicios del capítulo 6: autoatención
//!
//! Completa cada función (quita el `todo!()`) y califícate con:
//!
//! ```text
//! cargo ejercicios cap06
//! ```
//!
//! Las formas son las del libro: `x` tiene forma `(B, T, C)`: `B` secuencias, `T` posiciones
//! y `C` canales por posición. Se comparan tus resultados con los de la biblioteca con una
//! tolerancia pequeña, así que el orden de las sumas no importa.
#![allow(unused_variables)]

use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

/// **Ejercicio 6.1 — El promedio del pasado con una matriz triangular (versión 2).**
///
/// Para cada secuencia `b` y posición `t`, la salida `out[b, t, :]` es la media de
/// `x[b, 0, :]`, …, `x[b, t, :]`. Sin bucles sobre el pasado: con la matriz `wei` de forma
/// `(T, T)`, `wei[i, j] = 1/(i+1)` si `j ≤ i` y `0` si no (triangular inferior, cada fila
/// suma 1), la salida de cada secuencia es `wei · x_b`, de forma `(T, C)`.
///
/// Con `T = 3`, `wei` es:
///
/// ```text
/// [[1,   0,   0  ],
///  [1/2, 1/2, 0  ],
///  [1/3, 1/3, 1/3]]
/// ```
pub fn average_tril(x: ArrayView3<f32>) -> Array3<f32> {
    todo!("el promedio con la matriz triangular")
}

/// **Ejercicio 6.2 — Softmax con máscara causal (versión 3).**
///
/// `scores` es una matriz `(T, T)` de afinidades: `scores[i, j]` dice cuánto le interesa a
/// la posición `i` la posición `j`. Devuelve los pesos de atención: en cada fila `i`, las
/// columnas `j > i` (el futuro) valen exactamente `0`, y las columnas `j ≤ i` valen
/// `exp(scores[i, j]) / Σₖ≤ᵢ exp(scores[i, k])`. Cada fila suma 1.
///
/// Es lo que hace `masked_fill(tril == 0, -inf)` seguido de `softmax`: `exp(−∞) = 0`. Las
/// afinidades pueden ser grandes (hasta cientos), y `exp(100.0)` ya desborda un `f32`.
pub fn causal_softmax(scores: ArrayView2<f32>) -> Array2<f32> {
    todo!("la softmax con máscara")
}

/// **Ejercicio 6.3 — Una cabeza de autoatención.**
///
/// `key`, `query` y `value` tienen forma `(head_size, C)`, como los pesos de
/// `nn.Linear(C, head_size, bias=False)`. Para cada secuencia `b` de `x`, con las claves
/// `k = x_b · keyᵀ`, las consultas `q = x_b · queryᵀ` y los valores `v = x_b · valueᵀ`
/// (cada uno `(T, head_size)`), la salida es
///
/// ```text
/// out[b] = softmax_causal(q · kᵀ / √head_size) · v        de forma (T, head_size)
/// ```
///
/// con la softmax con máscara de tu ejercicio 6.2 (sin el factor `1/√head_size`, las
/// afinidades crecen con el tamaño de la cabeza y la softmax se vuelve casi un máximo).
/// Devuelve la salida `(B, T, head_size)`.
pub fn head_forward(
    x: ArrayView3<f32>,
    key: ArrayView2<f32>,
    query: ArrayView2<f32>,
    value: ArrayView2<f32>,
) -> Array3<f32> {
    todo!("una cabeza de autoatención")
}

/// **Ejercicio 6.4 (más allá) — GELU.**
///
/// La red de avance del cuaderno usa ReLU (`max(0, x)`). GPT-2 usa GELU, una curva suave que
/// deja pasar un poco de los negativos cercanos a cero. Su aproximación con tangente
/// hiperbólica, la de GPT-2, es:
///
/// ```text
/// gelu(x) = ½ · x · (1 + tanh(√(2/π) · (x + 0,044715 · x³)))
/// ```
///
/// Devuelve `gelu` aplicada a cada elemento de `x`, con la misma forma: `gelu(0) = 0`, y para
/// `x` grande se parece a `x`.
pub fn gelu(x: ArrayView2<f32>) -> Array2<f32> {
    todo!("la GELU de cada elemento")
}
