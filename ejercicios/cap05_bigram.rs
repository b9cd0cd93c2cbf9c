//! # Ejercicios del capítulo 5: el modelo bigrama
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
/// Debe funcionar con logits enormes (1000 o −1000): `exp(1000.0_f32)` es infinito, así que
/// la fórmula tal cual no vale.
pub fn cross_entropy(logits: ArrayView2<f32>, targets: &[u32]) -> f32 {
    todo!("la media de log_sum_exp(fila) − fila[objetivo]")
}

/// **Ejercicio 5.2 — El gradiente a mano.**
///
/// Devuelve la derivada de la pérdida del ejercicio anterior respecto de cada logit: una
/// matriz `(N, C)` cuya fila `i` es `(softmax(fila i) − one_hot(targets[i])) / N`. También
/// con logits enormes, como en 5.1.
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
pub fn sample(probs: &[f32], u: f32) -> usize {
    todo!("el índice donde la suma acumulada supera u")
}

/// **Ejercicio 5.5 — La pérdida de la tabla y su gradiente.**
///
/// Junta tus piezas en el paso completo del bigrama: los logits de cada posición son la fila
/// `table[x[i]]` (forma `(N, V)`), la pérdida es tu `cross_entropy` y el gradiente de la
/// **tabla** (forma `(V, V)`) se obtiene de tu `cross_entropy_grad`: la fila `i` de la derivada
/// de los logits va a la fila `x[i]` de la tabla. Un mismo token puede salir varias veces en
/// `x`: sus contribuciones se **suman**. Las filas de tokens que no aparecen quedan a cero.
/// Devuelve `(pérdida, gradiente)`. Tu bigrama de la prueba final se entrena con esta función.
pub fn table_loss_and_grad(table: &Array2<f32>, x: &[u32], y: &[u32]) -> (f32, Array2<f32>) {
    todo!("logits, pérdida y gradiente de la tabla")
}

/// **Ejercicio 5.6 — Muestrear con temperatura.**
///
/// Divide cada logit por la temperatura τ (`temperature`, > 0), convierte el resultado en
/// probabilidades con una softmax estable y elige un índice con tu `sample` y el número
/// uniforme `u`. Con temperatura 1 es el muestreo del cuaderno; con menos de 1 la distribución
/// se afila (el más probable gana más a menudo) y con más de 1 se aplana. Los logits pueden
/// ser grandes.
pub fn sample_with_temperature(logits: &[f32], temperature: f32, u: f32) -> usize {
    todo!("logits / τ, softmax y tu sample")
}

/// **Ejercicio 5.7 (más allá) — Calentamiento y coseno.**
///
/// El cuaderno usa una tasa de aprendizaje fija. Los entrenamientos grandes (GPT-2, nanoGPT)
/// la cambian con el paso: primero la suben en línea recta durante `warmup` pasos y después
/// la bajan siguiendo medio coseno hasta `min_lr` en el paso `max_steps`:
///
/// ```text
/// step < warmup:        max_lr · (step + 1) / warmup
/// step > max_steps:     min_lr
/// si no:                r = (step − warmup) / (max_steps − warmup)
///                       min_lr + ½ · (1 + cos(π · r)) · (max_lr − min_lr)
/// ```
///
/// Siempre `warmup < max_steps`. Haz las cuentas en `f64`.
pub fn warmup_cosine_lr(
    step: usize,
    warmup: usize,
    max_steps: usize,
    max_lr: f64,
    min_lr: f64,
) -> f64 {
    todo!("la tasa de aprendizaje del paso")
}
