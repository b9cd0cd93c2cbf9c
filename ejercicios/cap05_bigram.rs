//! # Ejercicios del capítulo 5: el modelo bigram
//!
//! Completa cada función (quita el `todo!()`) y califícate con:
//!
//! ```text
//! cargo ejercicios cap05
//! ```
#![allow(unused_variables)]

use ndarray::{Array2, ArrayView2};

/// **Ejercicio 5.1 — Entropía cruzada estable.**
///
/// `logits` tiene forma `(N, C)` y `targets` tiene `N` clases correctas. Devuelve la media,
/// sobre las filas, de `−ln softmax(fila)[objetivo] = ln Σⱼ exp(fila[j]) − fila[objetivo]`.
///
/// Debe funcionar con logits enormes (1000 o −1000): `exp(1000.0_f32)` es infinito.
///
/// Pista: `ln Σ exp(zⱼ) = m + ln Σ exp(zⱼ − m)` para cualquier `m`; con `m = max(z)` ningún
/// exponente es positivo.
pub fn cross_entropy(logits: ArrayView2<f32>, targets: &[u32]) -> f32 {
    todo!("la media de log_sum_exp(fila) − fila[objetivo]")
}

/// **Ejercicio 5.2 — El gradiente a mano.**
///
/// Devuelve la derivada de la pérdida del ejercicio anterior respecto de cada logit: una
/// matriz `(N, C)` cuya fila `i` es `(softmax(fila i) − one_hot(targets[i])) / N`.
///
/// Pista: calcula el softmax de cada fila (restando el máximo), divide por `N` y resta
/// `1/N` en la columna del objetivo.
pub fn cross_entropy_grad(logits: ArrayView2<f32>, targets: &[u32]) -> Array2<f32> {
    todo!("(softmax − one_hot) / N")
}

/// **Ejercicio 5.3 — Un paso de AdamW.**
///
/// Actualiza en su sitio los pesos `w`, y los momentos `m` y `v`, con el gradiente `g` en el
/// paso número `t` (empieza en 1), con `lr` y los valores de PyTorch: β₁ = 0,9,
/// β₂ = 0,999, ε = 1e-8, decaimiento de pesos 0,01. Para cada elemento:
///
/// ```text
/// m ← β₁·m + (1−β₁)·g           v ← β₂·v + (1−β₂)·g²
/// m̂ = m / (1 − β₁ᵗ)             v̂ = v / (1 − β₂ᵗ)
/// w ← w·(1 − lr·0,01) − lr · m̂ / (√v̂ + ε)
/// ```
///
/// Pista: `powi(t)` eleva un `f32` a un entero; recorre los cuatro slices a la vez con `zip`
/// o con índices.
pub fn adamw_step(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], t: i32, lr: f32) {
    todo!("un paso de AdamW")
}

/// **Ejercicio 5.4 — Muestrear de una distribución.**
///
/// `probs` suma 1 y `u` es un número uniforme en `[0, 1)`. Devuelve el primer índice `i` en
/// que la suma acumulada `probs[0] + … + probs[i]` supera `u`. Así, el índice `i` sale con
/// probabilidad `probs[i]`. Con `probs = [0.2, 0.5, 0.3]`: `u = 0.1 → 0`, `u = 0.69 → 1`,
/// `u = 0.7 → 2`. Si por redondeo ninguna suma supera `u`, devuelve el último índice con
/// probabilidad positiva.
///
/// Pista: un acumulador y un `for` con `enumerate`.
pub fn sample(probs: &[f32], u: f32) -> usize {
    todo!("el índice donde la suma acumulada supera u")
}
