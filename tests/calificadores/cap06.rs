//! Calificadores del capítulo 06.

use gpt_desde_cero::model::attention::{self, HeadWeights};
use ndarray::{Array, Array2, Dimension};

use super::*;

/// Compara dos tensores: [`check_array`] con la tolerancia de este capítulo.
fn close<D: Dimension>(input: &str, got: Array<f32, D>, want: Array<f32, D>, tol: f32) -> Grade {
    check_array(input, &got, &want, tol)
}

fn random_shape(r: &mut rng::Rng) -> (usize, usize, usize) {
    (
        r.random_range(1..5),
        r.random_range(1..13),
        r.random_range(1..9),
    )
}

/// 6.3: si la salida `got` es la de una cabeza con una escala equivocada (ninguna, `1/d_k`,
/// `√d_k` o `1/√C`) y no la de `1/√d_k`, qué escala parece y qué cambiar. Las salidas de esas
/// escalas se calculan con la cabeza de la biblioteca multiplicando la consulta por un factor:
/// las afinidades q·kᵀ se multiplican por él. Sin la escala, la softmax no da un múltiplo de
/// la salida buena, así que [`check_close`] no lo reconoce por sí solo.
fn wrong_scale(
    w: &HeadWeights,
    x: ndarray::ArrayView3<f32>,
    got: &ndarray::Array3<f32>,
    want: &ndarray::Array3<f32>,
) -> Option<String> {
    let (hs, c) = (w.head_size(), w.n_embd());
    let (hs_f, c_f) = (hs as f32, c as f32);
    let scale = format!("\n      (la escala es 1/√d_k, con d_k = head_size = {hs})");
    let candidates = [
        (
            hs_f.sqrt(),
            format!("tus valores son los de q·kᵀ sin escalar: ¿olvidaste dividir por √d_k?{scale}"),
        ),
        (
            hs_f.sqrt().recip(),
            format!("tus valores son los de q·kᵀ dividido por d_k: ¿d_k en vez de √d_k?{scale}"),
        ),
        (
            hs_f,
            format!(
                "tus valores son los de q·kᵀ multiplicado por √d_k: ¿en vez de dividir?{scale}"
            ),
        ),
        (
            (hs_f / c_f).sqrt(),
            format!(
                "tus valores son los de q·kᵀ dividido por √C (C = n_embd = {c}): ¿√C en vez de \
                 √d_k?{scale}"
            ),
        ),
    ];
    candidates.into_iter().find_map(|(factor, why)| {
        let scaled = HeadWeights {
            query: &w.query * factor,
            ..w.clone()
        };
        let other = attention::head_forward(&scaled, x).out;
        // Solo si esa escala da otra salida y la tuya coincide con ella.
        let differs = check_array("", &other, want, 1e-4).is_err();
        (differs && check_array("", got, &other, 1e-4).is_ok()).then_some(why)
    })
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap06::average_tril",
            title: "Ejercicio 6.1 — El promedio con una matriz triangular",
            file: "ejercicios/cap06_autoatencion.rs",
            hint: "la fila i de `wei` vale 1/(i+1) en las columnas 0..=i; multiplica `wei` por \
                   cada secuencia `(T, C)` del lote.",
            more_hints: &[
                "`Array2::from_shape_fn((t, t), |(i, j)| …)` construye `wei`; `x.outer_iter()` recorre las secuencias `(T, C)`; `wei.dot(&x_b)` multiplica; `out.index_axis_mut(Axis(0), b).assign(…)` guarda.",
                "t = `x.len_of(Axis(1))`; wei[i, j] = 1/(i+1) si j ≤ i, si no 0; `out = Array3::zeros(x.raw_dim())` y, para cada secuencia b, `out[b] = wei · x_b`.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(100, 61, |r| {
                    let (b, t, c) = random_shape(r);
                    let x = attention::toy_input(b, t, c, r);
                    let input = format!("x de forma ({b}, {t}, {c})");
                    let got = with_input(&input, || graded::cap06::average_tril(x.view()));
                    close(&input, got, attention::average_tril(x.view()), 1e-5)
                })
            },
        },
        Exercise {
            id: "cap06::causal_softmax",
            title: "Ejercicio 6.2 — Softmax con máscara causal",
            file: "ejercicios/cap06_autoatencion.rs",
            hint: "encima de la diagonal, peso 0; en el resto, exp / suma de la fila. Resta el \
                   máximo de la fila antes de `exp` para no desbordar.",
            more_hints: &[
                "`scores.outer_iter().enumerate()` da cada fila con su índice; `take(i + 1)` se queda con las columnas permitidas; `Array2::zeros(scores.raw_dim())` deja el futuro a 0.",
                "para cada fila i: el máximo de las columnas 0..=i, exp(s − máximo) de cada una, divide por su suma y escríbelas en `wei[[i, j]]`; las demás siguen a 0.",
            ],
            optional: false,
            needs: &[],
            grade: || {
                many(150, 62, |r| {
                    let t = r.random_range(1..13);
                    // Afinidades pequeñas, medianas y enormes (para pillar el desbordamiento).
                    let scale = [1.0, 10.0, 200.0][r.random_range(0..3)];
                    let values = rng::normal_vec(r, t * t, 0.0, scale);
                    let scores = Array2::from_shape_vec((t, t), values).unwrap();
                    let input = format!("afinidades {t}×{t} de escala {scale}");
                    let got = with_input(&input, || graded::cap06::causal_softmax(scores.view()));
                    // La softmax de cada fila entera, sin máscara: el error más común.
                    let unmasked = Array2::from_shape_fn((t, t), |(i, j)| {
                        let row = scores.row(i);
                        let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                        (row[j] - m).exp() / row.iter().map(|v| (v - m).exp()).sum::<f32>()
                    });
                    let want = attention::causal_softmax(scores.view());
                    let differs = close(&input, unmasked.clone(), want.clone(), 1e-5).is_err();
                    if differs && close(&input, got.clone(), unmasked, 1e-5).is_ok() {
                        return Err(format!(
                            "con {input}\n      tus pesos son la softmax de la fila entera: falta la \
                             máscara (encima de la diagonal, el futuro, deben valer 0)"
                        ));
                    }
                    close(&input, got, want, 1e-5)
                })
            },
        },
        Exercise {
            id: "cap06::head_forward",
            title: "Ejercicio 6.3 — Una cabeza de autoatención",
            file: "ejercicios/cap06_autoatencion.rs",
            hint: "k, q y v son x·Wᵀ; las afinidades q·kᵀ se multiplican por 1/√head_size antes \
                   de la máscara y la softmax; la salida es pesos·v.",
            more_hints: &[
                "`x.index_axis(Axis(0), b)` es la secuencia b; `x_b.dot(&key.t())` proyecta todas las posiciones a la vez (`key.t()` traspone sin copiar); `(hs as f32).sqrt()`; tu `causal_softmax`.",
                "para cada b: k, q y v = x_b·Wᵀ; afinidades = q.dot(&k.t()) / √d_k; pesos = causal_softmax(afinidades); out[b] = pesos.dot(&v) (`assign` en `out`, de forma (B, T, d_k)).",
            ],
            optional: false,
            needs: &["cap06::causal_softmax"],
            grade: || {
                many(60, 63, |r| {
                    let (b, t, c) = random_shape(r);
                    let hs = r.random_range(1..9);
                    let x = attention::toy_input(b, t, c, r);
                    let w = HeadWeights::random(c, hs, 1.0, r);
                    let input = format!("x de forma ({b}, {t}, {c}) y head_size = {hs}");
                    let got = with_input(&input, || {
                        graded::cap06::head_forward(
                            x.view(),
                            w.key.view(),
                            w.query.view(),
                            w.value.view(),
                        )
                    });
                    let want = attention::head_forward(&w, x.view()).out;
                    let result = close(&input, got.clone(), want.clone(), 1e-4);
                    if result.is_err()
                        && let Some(why) = wrong_scale(&w, x.view(), &got, &want)
                    {
                        return Err(format!("con {input}\n      {why}"));
                    }
                    result
                })
            },
        },
        Exercise {
            id: "cap06::gelu",
            title: "Ejercicio 6.4 (más allá) — GELU",
            file: "ejercicios/cap06_autoatencion.rs",
            hint: "elemento a elemento: ½·x·(1 + tanh(√(2/π)·(x + 0,044715·x³))). Ojo con el cubo y con la raíz de 2/π (no de 2π).",
            more_hints: &[
                "`x.mapv(|v| …)` aplica una función a cada elemento; `tanh`, `powi(3)` y `(2.0 / PI).sqrt()`.",
                "calcula c = √(2/π) una vez y devuelve `x.mapv(|v| 0.5 * v * (1.0 + (c * (v + 0.044715 * v³)).tanh()))`; comprueba `gelu(0) = 0`.",
            ],
            optional: true,
            needs: &[],
            grade: || {
                many(100, 64, |r| {
                    let (n, c) = (r.random_range(1..6), r.random_range(1..9));
                    let scale = [0.5f32, 3.0, 30.0][r.random_range(0..3)];
                    let x = Array2::from_shape_vec((n, c), rng::normal_vec(r, n * c, 0.0, scale))
                        .unwrap();
                    let rows: Vec<String> = x
                        .rows()
                        .into_iter()
                        .map(|row| nums(&row.to_vec()))
                        .collect();
                    let input = format!(
                        "x de forma ({n}, {c}) y escala {}: [{}]",
                        num(scale),
                        rows.join(" ")
                    );
                    let got = with_input(&input, || graded::cap06::gelu(x.view()));
                    let k = (2.0 / std::f64::consts::PI).sqrt();
                    let want = x.mapv(|v| {
                        let v = f64::from(v);
                        (0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh())) as f32
                    });
                    close(&input, got, want, 1e-5)
                })
            },
        },
    ]
}
