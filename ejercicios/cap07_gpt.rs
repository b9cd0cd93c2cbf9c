//! # Ejercicios del capítulo 7: el GPT completo
//!
//! Aquí montas tu propio GPT, pieza a pieza, con tensores de candle (y su `backward()`: las
//! derivadas ya no se escriben a mano). Completa cada función (quita el `todo!()`) y
//! califícate con:
//!
//! ```text
//! cargo ejercicios cap07
//! ```
//!
//! Cada pieza recibe los **pesos** de la biblioteca (`Head`, `MultiHeadAttention`, `Block`,
//! `Gpt`…: sus campos son públicos) y hace las cuentas con tus funciones: tu cabeza usa tu
//! dropout, tu bloque usa tu LayerNorm, tu atención y tu red de avance, y así hasta el modelo
//! entero. Cuando las tengas todas, entrénalo sobre el Quijote:
//!
//! ```text
//! cargo ejercicios --entrenar gpt
//! ```
//!
//! Las formas: `B` secuencias por lote, `T` posiciones, `C = n_embd` canales, `d_k` el tamaño
//! de una cabeza (`head_size`) y `V` el vocabulario. Las operaciones de candle devuelven
//! `Result`: encadénalas con `?`. Qué operaciones necesita cada pieza te lo dice
//! `cargo ejercicios --pista 7.N`.
#![allow(unused_variables, unused_imports)]

use candle_core::{D, DType, IndexOp, Module, Result, Tensor};
use gpt_desde_cero::model::adamw::AdamW;
use gpt_desde_cero::model::estimate::Losses;
use gpt_desde_cero::model::gpt::{
    Activation, Block, FeedForward, Gpt, Head, Mode, MultiHeadAttention,
};
use gpt_desde_cero::model::layers::{self, LayerNorm};
use gpt_desde_cero::model::train::{eval_rng, step_rng};
use gpt_desde_cero::text::batches::to_tensor;
use gpt_desde_cero::text::dataset::Dataset;
use gpt_desde_cero::tools::rng::Rng;
use rand::Rng as _;

// ANCHOR: ejercicio_7_1
/// **Ejercicio 7.1 — Dropout.**
///
/// Al entrenar (`Mode::Train(rng)`), cada valor de `x` se apaga (vale 0) con probabilidad `p`,
/// y los que quedan se multiplican por `1/(1−p)` para que la media no cambie. Al evaluar
/// (`Mode::Eval`), o si `p` es 0, `x` pasa tal cual y **no** se saca ningún número del RNG.
///
/// Saca un número `rng.random::<f32>()` por elemento de `x`, en el orden en que están
/// guardados (el de `x.flatten_all()`): el elemento se apaga si su número es menor que `p`.
/// Así tus máscaras serán las mismas que las de la biblioteca con la misma semilla.
pub fn dropout(x: &Tensor, p: f32, mode: &mut Mode) -> Result<Tensor> {
    todo!("apaga con probabilidad p y escala los demás, solo al entrenar")
}
// ANCHOR_END: ejercicio_7_1

/// **Ejercicio 7.2 — LayerNorm.**
///
/// Normaliza cada vector de la última dimensión de `x (…, C)`: le resta su media, lo divide
/// por `√(varianza + eps)` (la varianza *sin* corrección: la media de los cuadrados de lo
/// centrado) y después multiplica por `ln.weight (C)` y suma `ln.bias (C)`. `eps` es `ln.eps`.
///
/// Usa operaciones sueltas de candle: la LayerNorm fusionada de `candle_nn` no tiene derivada,
/// y el calificador comprueba que las derivadas lleguen a `x`, a `weight` y a `bias`.
pub fn layer_norm(ln: &LayerNorm, x: &Tensor) -> Result<Tensor> {
    todo!("centra, divide por la desviación y aplica weight y bias")
}

/// **Ejercicio 7.3 — Una cabeza de autoatención.**
///
/// La del capítulo 6, ahora con candle, con lotes y con dropout: de `x (B, T, C)` salen
/// `k`, `q` y `v` (`head.key`, `head.query`, `head.value`, capas lineales sin sesgo, cada una
/// `(B, T, d_k)`). Los pesos son la softmax con máscara (la de tu ejercicio 6.2, que aquí ya
/// tienes en candle) de las afinidades `q · kᵀ / √d_k (B, T, T)`, con tu `dropout`
/// (`head.dropout`) sobre ellos; la salida es `pesos · v (B, T, d_k)`.
pub fn head_forward(head: &Head, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    todo!("afinidades escaladas, máscara, softmax, dropout y suma ponderada")
}

/// **Ejercicio 7.4 — Atención de varias cabezas.**
///
/// Aplica tu `head_forward` con cada cabeza de `sa.heads`, **en orden**, a la misma `x`;
/// concatena sus salidas en la última dimensión (`(B, T, n_head · d_k)`), pásalas por la
/// proyección `sa.proj` y termina con tu `dropout` (probabilidad `sa.dropout`). El orden
/// importa al entrenar: cada dropout saca sus números del mismo RNG.
pub fn multi_head_attention(
    sa: &MultiHeadAttention,
    x: &Tensor,
    mask: &Tensor,
    mode: &mut Mode,
) -> Result<Tensor> {
    todo!("cada cabeza, concatenar, proyectar y dropout")
}

/// **Ejercicio 7.5 — La red de avance.**
///
/// `x (B, T, C)` → `ffwd.up` (ensancha a `4·C`) → la no linealidad → `ffwd.down` (vuelve a
/// `C`) → tu `dropout` con `ffwd.dropout`. La no linealidad es la que pide `ffwd.activation`:
/// ReLU, como el cuaderno, o GELU con `cargo ejercicios --entrenar gpt --activacion gelu`.
/// Aplícala con [`activation`], aquí abajo: ya está escrita, y con GELU usa tu ejercicio 6.4.
pub fn feed_forward(ffwd: &FeedForward, x: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    todo!("lineal, ReLU, lineal y dropout")
}

/// La no linealidad de la red de avance (ya escrita: no es un ejercicio). `Activation::Relu`
/// es `max(0, x)`; `Activation::Gelu` es **tu** `gelu` del ejercicio 6.4, aplicada a cada
/// valor con `layers::map_elementwise`, que saca sus derivadas de tu propia función: si tu
/// GELU está mal, tu GPT con `--activacion gelu` entrena peor, y se nota.
pub fn activation(x: &Tensor, which: Activation) -> Result<Tensor> {
    match which {
        Activation::Relu => x.relu(),
        Activation::Gelu => layers::map_elementwise(x, crate::cap06::gelu),
    }
}

/// **Ejercicio 7.6 — El bloque con conexiones residuales.**
///
/// Un bloque hace dos cosas, cada una precedida de una LayerNorm y **sumada** a su entrada
/// (la conexión residual): primero la comunicación (tu atención de varias cabezas, con
/// `block.ln1` y `block.sa`) y después el cómputo (tu red de avance, con `block.ln2` y
/// `block.ffwd`). Devuelve `(B, T, C)`. Las sumas dejan un camino directo de la salida a la
/// entrada, por el que las derivadas llegan sin debilitarse a los primeros bloques.
pub fn block_forward(block: &Block, x: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    todo!("dos subcapas, cada una con su LayerNorm y su suma residual")
}

/// **Ejercicio 7.7 — El modelo entero.**
///
/// De `idx (B, T)` (identificadores) a logits `(B, T, V)`. La entrada de los bloques es la
/// incrustación de cada token (`model.token_embedding_table`, `(B, T, C)`) más la de su
/// posición `0, 1, …, T−1` (`model.position_embedding_table`, `(T, C)`, la misma para todas
/// las secuencias del lote: sin ella, la atención no sabría qué carácter va antes). Pasa por
/// tus bloques (`model.blocks`, en orden, con la máscara causal `(T, T)`), por tu LayerNorm
/// con `model.ln_f` y por la capa `model.lm_head`.
pub fn gpt_forward(model: &Gpt, idx: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    todo!("incrustaciones de token y de posición, bloques, ln_f y lm_head")
}

/// **Ejercicio 7.8 — La pérdida.**
///
/// La entropía cruzada media de predecir `targets (B, T)` con tu `gpt_forward` (con el mismo
/// `mode`: al entrenar, con dropout), como
/// `F.cross_entropy(logits.view(B*T, C), targets.view(B*T))` del cuaderno. Devuelve un
/// tensor escalar (para poder llamar a `backward()`).
pub fn gpt_loss(model: &Gpt, idx: &Tensor, targets: &Tensor, mode: &mut Mode) -> Result<Tensor> {
    todo!("logits, formas planas y entropía cruzada")
}

/// **Ejercicio 7.9 — `estimate_loss`.**
///
/// La pérdida media, sin dropout (`Mode::Eval`), de `eval_iters` lotes al azar de
/// entrenamiento (`ds.train`) y después de `eval_iters` de validación (`ds.val`), sacados con
/// tu `get_batch` del capítulo 4 (`crate::cap04::get_batch`) y `rng`, con el `batch_size` y
/// el `block_size` de `model.config`, y medida con **tu** `gpt_loss`. Devuelve
/// `Losses { train, val }`.
pub fn estimate_loss(
    model: &Gpt,
    ds: &Dataset,
    eval_iters: usize,
    rng: &mut Rng,
) -> Result<Losses> {
    todo!("la media de eval_iters lotes de cada parte")
}

/// **Ejercicio 7.10 — El bucle de entrenamiento.**
///
/// Entrena `model` durante `model.config.max_iters` pasos con `optimizer`, como el bucle del
/// cuaderno, con tus piezas: cada paso `iter` es un paso de AdamW con las derivadas de tu
/// `gpt_loss` **entrenando** (con dropout) sobre un lote de tu `get_batch`, y se avisa con
/// `on_step(iter, pérdida del lote)`. Antes del paso, si `iter` es múltiplo de
/// `eval_interval` o es el último (`max_iters − 1`), se estima la pérdida con tu
/// `estimate_loss` (`eval_iters` de la configuración) y se avisa con `on_eval(iter, pérdidas)`.
///
/// Los números al azar: la estimación usa el RNG `eval_rng(seed, iter)`; el lote y las
/// máscaras del dropout del paso salen, en ese orden, de un mismo RNG `step_rng(seed, iter)`.
/// Así tu entrenamiento da exactamente los números de la biblioteca, y el calificador lo
/// compara paso a paso.
pub fn train(
    model: &Gpt,
    optimizer: &mut AdamW,
    ds: &Dataset,
    seed: u64,
    mut on_step: impl FnMut(usize, f32),
    mut on_eval: impl FnMut(usize, Losses),
) -> Result<()> {
    todo!("estimar de vez en cuando, lote, pérdida, derivadas y AdamW")
}

/// **Ejercicio 7.11 — Generar, con recorte del contexto.**
///
/// Empieza con los tokens de `prompt` y añade `max_new_tokens`, uno a uno: el modelo solo
/// sabe mirar `block_size` posiciones (su tabla de posiciones no tiene más), así que en cada
/// paso le das solo los **últimos** `model.config.block_size` tokens, como `(1, T)`. De los
/// logits de tu `gpt_forward` (sin dropout) toma los de la **última** posición, conviértelos
/// en un `Vec<f32>` y deja que `choose(&logits)` elija el siguiente token: quien te llama
/// decide cómo (`cargo ejercicios --generar` le pasa tu temperatura, tu top-k y tu top-p,
/// los ejercicios 5.6, 7.12 y 7.13). Devuelve solo los tokens nuevos.
pub fn generate(
    model: &Gpt,
    prompt: &[u32],
    max_new_tokens: usize,
    mut choose: impl FnMut(&[f32]) -> u32,
) -> Result<Vec<u32>> {
    todo!("recorta, predice, elige y añade")
}

/// **Ejercicio 7.12 — Muestreo top-k.**
///
/// Antes de sortear el siguiente carácter podemos quedarnos solo con los `k` más probables:
/// devuelve una copia de `logits` donde cada valor **menor** que el `k`-ésimo más alto pasa a
/// ser `f32::NEG_INFINITY` (probabilidad cero tras la softmax). Los empates con el `k`-ésimo
/// se quedan. Si `k` es 0 o no es menor que `logits.len()`, devuelve los logits sin tocar.
///
/// Ejemplo: `top_k_filter(&[1.0, 3.0, 2.0], 2)` → `[-inf, 3.0, 2.0]`.
pub fn top_k_filter(logits: &[f32], k: usize) -> Vec<f32> {
    todo!("deja los k logits más altos")
}

/// **Ejercicio 7.13 (más allá) — Muestreo top-p (núcleo).**
///
/// Top-k corta siempre en `k`, aunque la distribución esté muy concentrada o muy repartida.
/// Top-p (Holtzman y otros, 2019) se queda con el grupo **más pequeño** de los más probables
/// cuya probabilidad sumada llega al menos a `p` (`0 < p ≤ 1`): ordena los logits de mayor a
/// menor, calcula sus probabilidades (softmax), y acumula hasta que la suma sea `≥ p`; los que
/// quedan dentro conservan su logit y el resto pasa a `f32::NEG_INFINITY`. El más probable
/// siempre se queda. Si hay empates en el borde, se quedan todos los iguales al último que
/// entró.
///
/// Ejemplo: con probabilidades `[0,5, 0,3, 0,2]` y `p = 0,7` se quedan los dos primeros.
pub fn top_p_filter(logits: &[f32], p: f32) -> Vec<f32> {
    todo!("el núcleo de probabilidad p")
}
