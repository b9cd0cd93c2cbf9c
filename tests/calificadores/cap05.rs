//! Calificadores del capítulo 05.

use super::*;
use gpt_desde_cero::model::bigram;
use ndarray::Array2;

fn random_logits(r: &mut rng::Rng, scale: f32) -> (Array2<f32>, Vec<u32>) {
    let n = r.random_range(1..20);
    let c = r.random_range(2..30);
    let values = rng::normal_vec(r, n * c, 0.0, scale);
    let logits = Array2::from_shape_vec((n, c), values).unwrap();
    let targets = (0..n).map(|_| r.random_range(0..c as u32)).collect();
    (logits, targets)
}

pub fn exercises() -> Vec<Exercise> {
    vec![
        Exercise {
            id: "cap05::cross_entropy",
            title: "Ejercicio 5.1 — Entropía cruzada estable",
            file: "ejercicios/cap05_bigram.rs",
            hint: "resta el máximo de cada fila antes de `exp()`; súmalo de vuelta tras `ln()`.",
            grade: || {
                many(200, 51, |r| {
                    // Una de cada cuatro pruebas con logits enormes: ahí falla la versión ingenua.
                    let scale = if r.random_range(0..4) == 0 {
                        1000.0
                    } else {
                        3.0
                    };
                    let (logits, targets) = random_logits(r, scale);
                    check_close(
                        &format!("logits de forma {:?} (escala {scale})", logits.dim()),
                        &[graded::cap05::cross_entropy(logits.view(), &targets)],
                        &[bigram::cross_entropy(logits.view(), &targets)],
                        1e-5,
                    )
                })
            },
        },
        Exercise {
            id: "cap05::cross_entropy_grad",
            title: "Ejercicio 5.2 — El gradiente a mano",
            file: "ejercicios/cap05_bigram.rs",
            hint: "cada fila es softmax(fila)/N, con 1/N restado en la columna del objetivo.",
            grade: || {
                many(200, 52, |r| {
                    let (logits, targets) = random_logits(r, 3.0);
                    let got = graded::cap05::cross_entropy_grad(logits.view(), &targets);
                    let want = bigram::cross_entropy_grad(logits.view(), &targets);
                    if got.dim() != want.dim() {
                        return Err(format!(
                            "la forma debe ser {:?} y es {:?}",
                            want.dim(),
                            got.dim()
                        ));
                    }
                    check_close(
                        &format!("logits de forma {:?}", logits.dim()),
                        got.as_slice()
                            .unwrap_or(&got.iter().copied().collect::<Vec<_>>()),
                        want.as_slice().unwrap(),
                        1e-5,
                    )
                })
            },
        },
        Exercise {
            id: "cap05::adamw_step",
            title: "Ejercicio 5.3 — Un paso de AdamW",
            file: "ejercicios/cap05_bigram.rs",
            hint: "actualiza m y v, corrige el sesgo con 1 − βᵗ y aplica el decaimiento a w.",
            grade: || {
                many(50, 53, |r| {
                    let n = r.random_range(1..40);
                    let lr = [1e-3f32, 1e-2, 0.1][r.random_range(0..3)];
                    let start = rng::normal_vec(r, n, 0.0, 1.0);
                    let mut w = start.clone();
                    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
                    let mut reference = Array2::from_shape_vec((1, n), start).unwrap();
                    let mut opt = bigram::AdamW::new((1, n), lr);
                    for t in 1..=5 {
                        let g = rng::normal_vec(r, n, 0.0, 1.0);
                        graded::cap05::adamw_step(&mut w, &g, &mut m, &mut v, t, lr);
                        opt.step(&mut reference, &Array2::from_shape_vec((1, n), g).unwrap());
                        check_close(
                            &format!("{n} pesos, lr = {lr}, tras el paso t = {t}"),
                            &w,
                            reference.as_slice().unwrap(),
                            1e-5,
                        )?;
                    }
                    Ok(())
                })
            },
        },
        Exercise {
            id: "cap05::sample",
            title: "Ejercicio 5.4 — Muestrear de una distribución",
            file: "ejercicios/cap05_bigram.rs",
            hint: "suma las probabilidades en orden y devuelve el primer índice con suma > u.",
            grade: || {
                check(
                    "([0.2, 0.5, 0.3], 0.69)",
                    graded::cap05::sample(&[0.2, 0.5, 0.3], 0.69),
                    1,
                )?;
                many(500, 54, |r| {
                    let k = r.random_range(1..12);
                    let mut probs: Vec<f32> = (0..k)
                        .map(|_| {
                            if r.random_range(0..4) == 0 {
                                0.0
                            } else {
                                r.random()
                            }
                        })
                        .collect();
                    let total: f32 = probs.iter().sum();
                    if total == 0.0 {
                        probs[0] = 1.0;
                    } else {
                        probs.iter_mut().for_each(|p| *p /= total);
                    }
                    let u: f32 = r.random();
                    check(
                        &format!("(probs = {probs:?}, u = {u})"),
                        graded::cap05::sample(&probs, u),
                        bigram::sample_with(&probs, u),
                    )
                })
            },
        },
    ]
}
