//! Calificadores del capítulo 06.

use gpt_desde_cero::model::attention::{self, HeadWeights};
use ndarray::{Array, Array2, Dimension};

use super::*;

/// Compara dos arreglos: [`check_array`] con la tolerancia de este capítulo.
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

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap06::average_tril",
            title: "Ejercicio 6.1 — El promedio con una matriz triangular",
            file: "ejercicios/cap06_autoatencion.rs",
            hint: "la fila i de `wei` vale 1/(i+1) en las columnas 0..=i; multiplica `wei` por \
                   cada secuencia `(T, C)` del lote.",
            optional: false,
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
            optional: false,
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
            optional: false,
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
                    close(&input, got, attention::head_forward(&w, x.view()).out, 1e-4)
                })
            },
        },
        Exercise {
            id: "cap06::gelu",
            title: "Ejercicio 6.4 (más allá) — GELU",
            file: "ejercicios/cap06_autoatencion.rs",
            hint: "elemento a elemento: ½·x·(1 + tanh(√(2/π)·(x + 0,044715·x³))). Ojo con el cubo y con la raíz de 2/π (no de 2π).",
            optional: true,
            grade: || {
                many(100, 64, |r| {
                    let (n, c) = (r.random_range(1..6), r.random_range(1..9));
                    let scale = [0.5f32, 3.0, 30.0][r.random_range(0..3)];
                    let x = Array2::from_shape_vec((n, c), rng::normal_vec(r, n * c, 0.0, scale))
                        .unwrap();
                    let input = format!("x de forma ({n}, {c}) y escala {scale}: {x:?}");
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
